#if canImport(Glibc)
import Glibc
#endif

/// Why talking to a server failed.
public enum KVClientError: Error, Equatable, CustomStringConvertible {
    case connect(host: String, port: Int, errno: Int32)
    case resolve(host: String)
    case io(operation: String, errno: Int32)
    case closedByServer
    case protocolViolation(String)

    /// The failure in words, for logs and error messages.
    public var description: String {
        switch self {
        case .connect(let host, let port, let e): return "cannot connect to \(host):\(port): \(String(cString: strerror(e)))"
        case .resolve(let host): return "cannot resolve \(host)"
        case .io(let op, let e): return "\(op) failed: \(e == EAGAIN ? "timed out" : String(cString: strerror(e)))"
        case .closedByServer: return "the server closed the connection"
        case .protocolViolation(let s): return "bad reply from the server: \(s)"
        }
    }
}

/// A blocking RESP2 connection: one request, one reply, or pipelines of them. For tools and
/// tests (kvctl, kvbench, the server's tests), not for event-loop code. Not thread-safe: use
/// one per thread.
public final class RESPConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    private var scratch = [UInt8](repeating: 0, count: 64 << 10)

    /// Connects to `host:port` (IPv4 or IPv6 literal, or a name), with send and receive
    /// timeouts of `timeoutSeconds` so a stuck server fails the caller instead of hanging it.
    public init(host: String = "127.0.0.1", port: Int, timeoutSeconds: Int = 10) throws(KVClientError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { throw .resolve(host: host) }
        defer { freeaddrinfo(list) }
        var lastErrno: Int32 = ECONNREFUSED
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        var connected: Int32 = -1
        while let ai = candidate {
            let s = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            if s >= 0 {
                if connect(s, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
                    connected = s
                    break
                }
                lastErrno = errno
                close(s)
            }
            candidate = ai.pointee.ai_next
        }
        guard connected >= 0 else { throw .connect(host: host, port: port, errno: lastErrno) }
        fd = connected
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// The RESP2 encoding of a command: an array of bulk strings.
    public static func encode(_ args: [[UInt8]]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for a in args {
            out += Array("$\(a.count)\r\n".utf8)
            out += a
            out += [13, 10]
        }
        return out
    }

    /// Sends `args` as one command and returns its reply (an error reply is a value, not a
    /// thrown error: the connection is still fine).
    @discardableResult
    public func call(_ args: [[UInt8]]) throws(KVClientError) -> RESPValue {
        try send(raw: Self.encode(args))
        return try readReply()
    }

    /// Sends one command whose arguments are the UTF-8 bytes of `args` and returns the reply.
    @discardableResult
    public func call(_ args: String...) throws(KVClientError) -> RESPValue {
        try call(args.map { Array($0.utf8) })
    }

    /// Sends every command at once, then reads their replies in order.
    public func pipeline(_ commands: [[[UInt8]]]) throws(KVClientError) -> [RESPValue] {
        var bytes: [UInt8] = []
        for c in commands { bytes += Self.encode(c) }
        try send(raw: bytes)
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    /// Sends bytes as they are (tests send malformed frames this way).
    public func send(raw: [UInt8]) throws(KVClientError) {
        var sent = 0
        while sent < raw.count {
            let n = raw[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(operation: "send", errno: errno) }
            sent += n
        }
    }

    /// Sends `raw` as it is (tests of malformed input), without reading a reply.
    public func send(raw: String) throws(KVClientError) { try send(raw: Array(raw.utf8)) }

    /// Closes the sending side (the server sees end of input).
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// True once the server has closed the connection (end of input, or reset), false if it
    /// sends anything first.
    public func isClosedByServer() -> Bool {
        if position < buffer.count { return false }
        do {
            return try !fill()
        } catch {
            return true
        }
    }

    /// Reads one reply, RESP2 or RESP3.
    public func readReply() throws(KVClientError) -> RESPValue {
        let kind = try byte()
        let text = try line()
        switch kind {
        case UInt8(ascii: "+"): return .simple(text)
        case UInt8(ascii: "-"): return .error(text)
        case UInt8(ascii: ":"):
            guard let n = Int(text) else { throw .protocolViolation("bad integer '\(text)'") }
            return .integer(n)
        case UInt8(ascii: "$"):
            guard let n = Int(text), n >= -1 else { throw .protocolViolation("bad bulk length '\(text)'") }
            return n < 0 ? .bulk(nil) : .bulk(try payload(n))
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let n = Int(text), n >= -1 else { throw .protocolViolation("bad aggregate length '\(text)'") }
            if n < 0 { return .array(nil) }
            var items: [RESPValue] = []
            for _ in 0..<n { items.append(try readReply()) }
            switch kind {
            case UInt8(ascii: "~"): return .set(items)
            case UInt8(ascii: ">"): return .push(items)
            default: return .array(items)
            }
        case UInt8(ascii: "%"):
            guard let n = Int(text), n >= 0 else { throw .protocolViolation("bad map length '\(text)'") }
            var items: [RESPValue] = []
            for _ in 0..<(2 * n) { items.append(try readReply()) }
            return .map(items)
        case UInt8(ascii: "_"): return .nullValue
        case UInt8(ascii: ","): return .double(text)
        case UInt8(ascii: "#"): return .boolean(text == "t")
        case UInt8(ascii: "("): return .bigNumber(text)
        case UInt8(ascii: "="):
            guard let n = Int(text), n >= 4 else { throw .protocolViolation("bad verbatim length '\(text)'") }
            let bytes = try payload(n)
            return .verbatim(format: String(decoding: bytes[0..<3], as: UTF8.self), text: Array(bytes[4...]))
        case UInt8(ascii: "!"):
            guard let n = Int(text), n >= 0 else { throw .protocolViolation("bad blob error length '\(text)'") }
            return .error(String(decoding: try payload(n), as: UTF8.self))
        default:
            throw .protocolViolation("unexpected reply type byte \(kind)")
        }
    }

    /// `n` bytes and the CRLF after them.
    private func payload(_ n: Int) throws(KVClientError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(n, 1 << 20))
        while out.count < n {
            if position >= buffer.count {
                guard try fill() else { throw .closedByServer }
            }
            let take = min(n - out.count, buffer.count - position)
            out += buffer[position..<(position + take)]
            position += take
        }
        _ = try byte()
        _ = try byte()
        return out
    }

    /// False at end of input.
    private func fill() throws(KVClientError) -> Bool {
        if position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { return false }
            guard n > 0 else { throw .io(operation: "recv", errno: errno) }
            buffer.append(contentsOf: scratch[0..<n])
            return true
        }
    }

    private func byte() throws(KVClientError) -> UInt8 {
        while position >= buffer.count {
            guard try fill() else { throw .closedByServer }
        }
        position += 1
        return buffer[position - 1]
    }

    private func line() throws(KVClientError) -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == 13 {
                _ = try byte()
                return String(decoding: out, as: UTF8.self)
            }
            out.append(b)
        }
    }
}
