import Dispatch
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A replica's connection to its primary: connects, authenticates (`masterauth`), announces
/// its port, asks for the stream with PSYNC (its history's id and offset, so a short
/// disconnection resumes from the primary's backlog), then hands the frames to a
/// `ReplicaApplier` and acknowledges what it applied (`REPLCONF ACK`). Any failure — a refused
/// handshake, a damaged frame, a write the store refused, a primary silent for `repl-timeout`
/// — closes the connection, and a new one starts a second later, until `stop`.
final class ReplicaLink: Sendable {
    struct Context: Sendable {
        let db: Database
        let source: ReplicationSource
        let status: ReplicaStatus
        let settings: @Sendable () -> ReplicationSettings
        let listeningPort: Int
        let group: any EventLoopGroup
        let logger: Logger
    }

    let host: String
    let port: Int
    private let context: Context
    private let stopped = Atomic<Bool>(false)
    private let channel = Mutex<(any Channel)?>(nil)
    private let applier = Mutex<ReplicaApplier?>(nil)
    private let timer = Mutex<RepeatedTask?>(nil)

    /// Bytes queued for the applier past which the connection stops reading, and the level
    /// below which it reads again.
    static let readPauseBytes = 64 << 20

    init(host: String, port: Int, context: Context) {
        self.host = host
        self.port = port
        self.context = context
    }

    func start() {
        let t = context.group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.tick()
        }
        timer.withLock { $0 = t }
        connect()
    }

    /// Closes the connection and stops applying; returns once no frame is being applied.
    func stop() {
        stopped.store(true, ordering: .releasing)
        timer.withLock { $0?.cancel(); $0 = nil }
        channel.withLock { $0 }?.close(promise: nil)
        applier.withLock { $0 }?.cancel()
        context.status.linkDown()
    }

    /// Drops the connection; a new one starts a second later (asking from this server's
    /// history as it is then).
    func reconnect() {
        channel.withLock { $0 }?.close(promise: nil)
    }

    /// Once a second: acknowledge (the primary counts a replica that stays silent as lagging),
    /// and give up on a primary that has sent nothing for `repl-timeout`.
    private func tick() {
        guard let ch = channel.withLock({ $0 }) else { return }
        let timeout = UInt64(max(1, context.settings().timeoutSeconds)) * 1000
        if context.status.millisecondsSinceIO > timeout {
            context.logger.warning("replication: no data from primary \(host):\(port) for \(timeout / 1000) s; reconnecting")
            ch.close(promise: nil)
            return
        }
        if context.status.isUp { sendAck(on: ch) }
    }

    private func sendAck(on ch: any Channel) {
        ch.writeAndFlush(Self.command(["REPLCONF", "ACK", String(context.source.offset)], ch.allocator), promise: nil)
    }

    private func connect() {
        guard !stopped.load(ordering: .acquiring) else { return }
        let newApplier = ReplicaApplier(
            db: context.db, source: context.source, status: context.status,
            drained: { [weak self] in self?.drained() },
            fail: { [weak self] why in self?.drop(why) })
        applier.withLock { $0 = newApplier }
        context.status.heardFromPrimary()
        let handshake = handshakeCommands()
        let logger = context.logger
        let status = context.status
        ClientBootstrap(group: context.group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(
                        ReplicaLinkHandler(applier: newApplier, status: status, handshake: handshake, logger: logger))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { [self] result in
                switch result {
                case .success(let ch):
                    channel.withLock { $0 = ch }
                    if stopped.load(ordering: .acquiring) { ch.close(promise: nil) }
                    ch.closeFuture.whenComplete { [self] _ in
                        channel.withLock { if $0 === ch { $0 = nil } }
                        status.linkDown()
                        // Off the loop: cancelling waits for a frame being applied. Down again
                        // after it: a resume queued before the close must not leave it up.
                        DispatchQueue.global().async { [self] in
                            newApplier.cancel()
                            status.linkDown()
                            reconnectSoon()
                        }
                    }
                case .failure(let error):
                    logger.warning("replication: connecting to primary \(host):\(port): \(error)")
                    status.linkDown()
                    reconnectSoon()
                }
            }
    }

    private func reconnectSoon() {
        guard !stopped.load(ordering: .acquiring) else { return }
        context.group.next().scheduleTask(in: .seconds(1)) { [self] in connect() }
    }

    /// The applier caught up: read again if reading was paused, and acknowledge.
    private func drained() {
        guard let ch = channel.withLock({ $0 }) else { return }
        ch.setOption(.autoRead, value: true).whenComplete { _ in }
        if context.status.isUp { sendAck(on: ch) }
    }

    /// The applier could not apply a frame: the stream is given up and asked for again.
    private func drop(_ why: String) {
        context.logger.error("replication: \(why); reconnecting")
        channel.withLock { $0 }?.close(promise: nil)
    }

    /// AUTH (with `masterauth`), PING, REPLCONF listening-port / ip-address / capa, PSYNC:
    /// sent together, answered in order.
    private func handshakeCommands() -> [[String]] {
        let s = context.settings()
        var commands: [[String]] = []
        if let password = s.masterAuth, !password.isEmpty {
            commands.append(s.masterUser.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        commands.append(["PING"])
        commands.append(["REPLCONF", "listening-port", String(s.announcePort > 0 ? s.announcePort : context.listeningPort)])
        if let ip = s.announceIP { commands.append(["REPLCONF", "ip-address", ip]) }
        commands.append(["REPLCONF", "capa", ReplicationFrame.format])
        let (replid, offset) = (context.source.replid, context.source.offset)
        commands.append(["PSYNC", replid, String(offset + 1)])
        return commands
    }

    static func command(_ words: [String], _ allocator: ByteBufferAllocator) -> ByteBuffer {
        var b = allocator.buffer(capacity: 64)
        b.writeString("*\(words.count)\r\n")
        for w in words { b.writeString("$\(w.utf8.count)\r\n\(w)\r\n") }
        return b
    }
}

/// The link's channel handler, on its event loop: sends the handshake, reads its replies line
/// by line, then decodes frames for the applier, pausing reads while the applier is far behind.
final class ReplicaLinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let applier: ReplicaApplier
    private let status: ReplicaStatus
    private let handshake: [[String]]
    private let logger: Logger
    private var buffer = ByteBuffer()
    private var repliesAwaited = 0
    private var streaming = false

    init(applier: ReplicaApplier, status: ReplicaStatus, handshake: [[String]], logger: Logger) {
        self.applier = applier
        self.status = status
        self.handshake = handshake
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 256)
        for words in handshake {
            var b = ReplicaLink.command(words, context.channel.allocator)
            out.writeBuffer(&b)
        }
        repliesAwaited = handshake.count
        context.writeAndFlush(NIOAny(out), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        status.heardFromPrimary()
        do {
            try process(context)
        } catch {
            logger.error("replication: \(error); reconnecting")
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.warning("replication: connection to the primary: \(error); reconnecting")
        context.close(promise: nil)
    }

    private func process(_ context: ChannelHandlerContext) throws {
        while !streaming {
            guard let line = takeLine() else {
                guard buffer.readableBytes <= 1 << 16 else { throw ReplicationError.protocolViolation("a handshake reply of over 64 KiB") }
                return
            }
            if line.isEmpty { continue }  // a keepalive newline
            repliesAwaited -= 1
            if repliesAwaited > 0 {
                if line.hasPrefix("-") { throw ReplicationError.refused(line) }
                continue
            }
            // PSYNC's answer.
            let words = line.split(separator: " ").map(String.init)
            if words.first == "+FULLRESYNC", words.count == 3, let offset = Int64(words[2]), offset >= 0, offset < 1 << 62 {
                status.syncStarted()
                applier.beginFullSync(replid: words[1], offset: offset)
                logger.info("replication: full synchronisation from offset \(offset)")
            } else if words.first == "+CONTINUE" {
                applier.resume(replid: words.count > 1 ? words[1] : "")
                logger.info("replication: resumed the stream")
            } else {
                throw ReplicationError.refused(line)
            }
            streaming = true
        }
        while let frame = try ReplicationFrame.decode(&buffer) {
            applier.submit(frame)
        }
        buffer.discardReadBytes()
        if applier.waitingBytes > ReplicaLink.readPauseBytes {
            context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
        }
    }

    /// One CRLF-terminated line, without the CRLF; nil until a whole line is in.
    private func takeLine() -> String? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
            return nil
        }
        let length = lf - view.startIndex
        guard var bytes = buffer.readBytes(length: length + 1) else { return nil }
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
