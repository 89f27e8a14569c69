import Dispatch
import Foundation
import KVStore
import NIOCore
import Synchronization

/// A primary's full synchronisation of one replica: `+FULLRESYNC <replid> <offset>`, then a
/// checkpoint of the store (`KVStore.checkpoint(to:)`: its tables hard-linked, as BGSAVE makes
/// one) shipped file by file in checksummed frames, a `snapshotEnd` frame naming the sequence
/// its tables hold exactly, then the feed's collected stream (`ReplicaFeed.goOnline`). Runs on
/// a thread of its own (a sync of a large store takes minutes; no pool thread is held) and
/// waits for the socket every few megabytes, so a slow replica slows its own sync, not the
/// server's memory.
///
/// The feed was attached (at `offset`) before the checkpoint was taken, so every group
/// committed after the checkpoint is in the feed; groups committed in between are in both,
/// and the replica skips those at or below the checkpoint's sequence. The checkpoint lives in
/// `<dir>/replication/outgoing-<n>` while it is sent (its links keep its tables however
/// compaction moves on) and is deleted after.
enum FullSync {
    /// Bytes of file data per frame.
    static let chunkBytes = 1 << 20
    /// Wait for the socket after this many bytes handed to it.
    static let windowBytes = 8 << 20
    /// Numbers the outgoing checkpoints of this process.
    private static let serial = Atomic<Int>(0)

    /// What was sent.
    struct Sent {
        var files = 0
        var bytes: Int64 = 0
        var sequence: UInt64 = 0
    }

    /// Sends the sync; returns what it sent, or throws what stopped it (the connection closed,
    /// the store failed, `stopping` became true: the replica reconnects and asks again).
    static func run(
        store: KVStore, feed: ReplicaFeed, replid: String, offset: Int64, timeoutSeconds: Int, stopping: @Sendable () -> Bool
    ) throws -> Sent {
        let channel = feed.channel
        var line = channel.allocator.buffer(capacity: 64)
        line.writeString("+FULLRESYNC \(replid) \(offset)\r\n")
        var last = channel.writeAndFlush(line)

        let root = workDirectory(store)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let target = root + "/outgoing-\(getpid())-\(serial.add(1, ordering: .relaxed).newValue)"
        defer {
            // Also a half-made one (`.tmp`), if the checkpoint failed.
            try? FileManager.default.removeItem(atPath: target)
            try? FileManager.default.removeItem(atPath: target + ".tmp")
        }
        let info = try store.checkpoint(to: target)

        var sent = Sent(sequence: info.lastSequence)
        var sinceWait = 0
        func send(_ kind: ReplicationFrame.Kind, _ payload: UnsafeRawBufferPointer) throws {
            // The server stopping waits for this thread before its event loops go.
            guard channel.isActive, !stopping() else { throw ChannelError.ioOnClosedChannel }
            var b = channel.allocator.buffer(capacity: ReplicationFrame.headerSize + payload.count)
            ReplicationFrame.write(kind, payload, to: &b)
            last = channel.writeAndFlush(b)
            sinceWait += b.readableBytes
            if sinceWait >= windowBytes {
                try written(last, within: timeoutSeconds)
                sinceWait = 0
            }
        }
        // Tables first, CURRENT last: a replica checks the set when the end frame comes.
        let names = try FileManager.default.contentsOfDirectory(atPath: target).sorted { a, b in
            func rank(_ n: String) -> Int { n == "CURRENT" ? 2 : n.hasPrefix("MANIFEST-") ? 1 : 0 }
            return (rank(a), a) < (rank(b), b)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        for name in names {
            let path = target + "/" + name
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ReplicationError.local("opening \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw ReplicationError.local("stat \(path): \(String(cString: strerror(errno)))") }
            let size = UInt64(st.st_size)
            var header: [UInt8] = []
            ReplicationFrame.appendLE(UInt16(name.utf8.count), to: &header)
            header.append(contentsOf: name.utf8)
            ReplicationFrame.appendLE(size, to: &header)
            try header.withUnsafeBytes { try send(.file, $0) }
            var remaining = size
            while remaining > 0 {
                let n = read(fd, buffer.baseAddress, Int(min(UInt64(chunkBytes), remaining)))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ReplicationError.local("reading \(path): \(n == 0 ? "ended early" : String(cString: strerror(errno)))") }
                try send(.fileData, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                remaining -= UInt64(n)
            }
            sent.files += 1
            sent.bytes += Int64(size)
        }
        var end: [UInt8] = []
        ReplicationFrame.appendLE(info.lastSequence, to: &end)
        ReplicationFrame.appendLE(UInt64(sent.files), to: &end)
        ReplicationFrame.appendLE(UInt64(sent.bytes), to: &end)
        try end.withUnsafeBytes { try send(.snapshotEnd, $0) }
        try written(last, within: timeoutSeconds)
        feed.goOnline()
        return sent
    }

    /// Where a server keeps the checkpoints it sends and receives: inside the store's
    /// directory (its file system, so checkpoints are links, not copies), as SAVE's default
    /// `checkpoints` folder is.
    static func workDirectory(_ store: KVStore) -> String {
        store.path + "/replication"
    }

    /// Deletes what a previous run left (a sync cut off by a crash): called at start.
    static func removeLeftovers(_ store: KVStore) {
        try? FileManager.default.removeItem(atPath: workDirectory(store))
    }

    /// Waits for `write` to reach the socket, at most `seconds` (`repl-timeout`): a replica that
    /// stops reading does not hold this thread and the snapshot forever.
    private static func written(_ write: EventLoopFuture<Void>, within seconds: Int) throws {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<Void, any Error>?>(nil)
        write.whenComplete { r in
            result.withLock { $0 = r }
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(max(1, seconds))) == .success else {
            throw ReplicationError.protocolViolation("the replica read nothing for \(seconds) s (repl-timeout)")
        }
        try result.withLock { $0 }?.get()
    }
}
