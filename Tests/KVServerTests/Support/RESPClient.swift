import Foundation
import KVTestSupport

/// A RESP2 reply as a test sees it.
enum Reply: Hashable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([Reply]?)

    static func text(_ s: String) -> Reply { .bulk(Array(s.utf8)) }
    static let null = Reply.bulk(nil)
    static let ok = Reply.simple("OK")

    var string: String? {
        switch self {
        case .simple(let s), .error(let s): return s
        case .bulk(let b?): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    var elements: [Reply] {
        if case .array(let a?) = self { return a }
        return []
    }

    var isError: Bool {
        if case .error = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .simple(let s): return "+\(s)"
        case .error(let s): return "-\(s)"
        case .integer(let n): return ":\(n)"
        case .bulk(nil): return "(nil)"
        case .bulk(let b?): return "\"\(String(decoding: b, as: UTF8.self))\""
        case .array(nil): return "*(nil)"
        case .array(let a?): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

struct ClientError: Error, CustomStringConvertible {
    let description: String
}

/// A blocking client over a plain socket: what a test needs to send exact bytes (valid or
/// not) and read replies, with a receive timeout so a hung server fails the test instead of
/// hanging it.
final class RESPClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0

    init(port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(description: "socket: errno \(errno)") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(fd)
            throw ClientError(description: "connect to port \(port): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Sends raw bytes.
    func send(raw: [UInt8]) throws {
        var sent = 0
        while sent < raw.count {
            let n = raw[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ClientError(description: "send: errno \(errno)") }
            sent += n
        }
    }

    func send(raw: String) throws { try send(raw: Array(raw.utf8)) }

    static func encode(_ args: [[UInt8]]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for a in args {
            out += Array("$\(a.count)\r\n".utf8)
            out += a
            out += [13, 10]
        }
        return out
    }

    /// Sends one command as a RESP array and reads its reply.
    @discardableResult
    func call(_ args: [[UInt8]]) throws -> Reply {
        try send(raw: Self.encode(args))
        return try readReply()
    }

    @discardableResult
    func call(_ args: String...) throws -> Reply {
        try call(args.map { Array($0.utf8) })
    }

    /// Closes the write side (a half-sent frame, then disconnect).
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// True once the server has closed the connection (reads EOF).
    func isClosedByServer() -> Bool {
        while true {
            if position < buffer.count { return false }
            guard (try? fill()) == true else { return true }
        }
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { return false }
        guard n > 0 else { throw ClientError(description: "recv: errno \(errno) (timeout or reset)") }
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func byte() throws -> UInt8 {
        while position >= buffer.count {
            guard try fill() else { throw ClientError(description: "connection closed by server") }
        }
        position += 1
        return buffer[position - 1]
    }

    private func line() throws -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == 13 {
                _ = try byte()  // \n
                return String(decoding: out, as: UTF8.self)
            }
            out.append(b)
        }
    }

    func readReply() throws -> Reply {
        let kind = try byte()
        let text = try line()
        switch kind {
        case UInt8(ascii: "+"): return .simple(text)
        case UInt8(ascii: "-"): return .error(text)
        case UInt8(ascii: ":"):
            guard let n = Int(text) else { throw ClientError(description: "bad integer \(text)") }
            return .integer(n)
        case UInt8(ascii: "$"):
            guard let n = Int(text) else { throw ClientError(description: "bad bulk length \(text)") }
            if n < 0 { return .bulk(nil) }
            var out: [UInt8] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try byte()) }
            _ = try byte()
            _ = try byte()
            return .bulk(out)
        case UInt8(ascii: "*"):
            guard let n = Int(text) else { throw ClientError(description: "bad array length \(text)") }
            if n < 0 { return .array(nil) }
            var items: [Reply] = []
            for _ in 0..<n { items.append(try readReply()) }
            return .array(items)
        default:
            throw ClientError(description: "unexpected reply type byte \(kind)")
        }
    }
}
