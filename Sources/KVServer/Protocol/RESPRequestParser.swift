import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A request that breaks the protocol. The server answers `-ERR Protocol error: <message>`
/// and closes the connection, as Redis does: after a framing error nothing that follows on
/// the connection can be trusted to start at a command boundary.
public struct RESPProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was wrong, in Redis's words.
    public let message: String
    /// The reply text: `Protocol error: <message>`.
    public var description: String { "Protocol error: \(message)" }
}

/// Size limits the parser enforces while reading (Redis's names in parentheses).
public struct RESPLimits: Sendable {
    /// Longest inline command line, and longest `*`/`$` header line (64 KiB, as Redis).
    public var maxInlineLength = 64 << 10
    /// Largest bulk string a client may send (`proto-max-bulk-len`, default 512 MiB).
    public var maxBulkLength = 512 << 20
    /// Most arguments in one command (Redis allows up to 2^31; we default to 1 Mi).
    public var maxArguments = 1 << 20
    /// Before AUTH (when a password is set) Redis allows at most 10 arguments of 16 KiB.
    public var maxUnauthenticatedArguments = 10
    /// The largest bulk string before AUTH (16 KiB, as Redis).
    public var maxUnauthenticatedBulkLength = 16 << 10

    /// Redis's defaults.
    public init() {}
}

/// Reads RESP2 requests (`*N` arrays of `$len` bulk strings) and inline commands (a line
/// typed by a person) from a connection's buffer, one command at a time.
///
/// Incremental: a command split across reads resumes where it stopped — the arguments read
/// so far are kept, and a bulk string is taken only once all of it has arrived — so a slow
/// sender of a large command costs linear, not quadratic, work. Nothing is sized from a
/// length the client declares: an argument array grows as arguments arrive, and a bulk
/// string's bytes are copied out of the buffer only when complete.
package struct RESPRequestParser {
    var limits: RESPLimits
    /// Set by the connection once the client has authenticated (or when no password is set).
    var authenticated = true

    private var args: [[UInt8]] = []
    /// Arguments still to come in the multibulk being read; 0 when between commands.
    private var remaining = 0

    package init(limits: RESPLimits) {
        self.limits = limits
    }

    /// The next complete command in `buffer` (its bytes consumed), or nil if more input is
    /// needed. An empty command (`*0`, a blank line) is skipped, as Redis does.
    mutating func next(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> [[UInt8]]? {
        var command: [[UInt8]]?
        try parse(&buffer, limit: 1) { command = $0 }
        return command
    }

    /// Hands every complete command in `buffer` to `emit`, in order, consuming their bytes
    /// (at most `limit` commands). Commands before a protocol error are emitted before it
    /// is thrown, so the server answers them first, as Redis does.
    ///
    /// One pass over the readable bytes through a raw pointer: the per-byte work of a
    /// pipelined batch should be scanning, not reference counting of buffer views.
    package mutating func parse(_ buffer: inout ByteBuffer, limit: Int = .max, _ emit: ([[UInt8]]) -> Void) throws(RESPProtocolError) {
        let outcome = buffer.withUnsafeReadableBytes { raw in scan(raw, limit: limit, emit) }
        buffer.moveReaderIndex(forwardBy: outcome.consumed)
        if let error = outcome.error { throw error }
    }

    private mutating func scan(
        _ raw: UnsafeRawBufferPointer, limit: Int, _ emit: ([[UInt8]]) -> Void
    ) -> (consumed: Int, error: RESPProtocolError?) {
        let count = raw.count
        guard let base = raw.baseAddress else { return (0, nil) }
        var pos = 0
        var emitted = 0
        /// Index of the first `byte` at or after `from`, or nil.
        func find(_ byte: Int32, from: Int) -> Int? {
            guard from < count, let p = memchr(base + from, byte, count - from) else { return nil }
            return base.distance(to: UnsafeRawPointer(p))
        }
        while emitted < limit {
            if remaining == 0 {
                guard pos < count else { return (pos, nil) }
                if raw[pos] != UInt8(ascii: "*") {
                    guard let nl = find(0x0a, from: pos) else {
                        if count - pos > limits.maxInlineLength { return (pos, RESPProtocolError(message: "too big inline request")) }
                        return (pos, nil)
                    }
                    var end = nl
                    if end > pos && raw[end - 1] == 0x0d { end -= 1 }
                    guard let args = Self.splitArguments(UnsafeRawBufferPointer(rebasing: raw[pos..<end])) else {
                        return (pos, RESPProtocolError(message: "unbalanced quotes in request"))
                    }
                    pos = nl + 1
                    if !args.isEmpty {
                        emit(args)
                        emitted += 1
                    }
                    continue
                }
                guard let cr = find(0x0d, from: pos + 1), cr - pos <= limits.maxInlineLength else {
                    if count - pos > limits.maxInlineLength { return (pos, RESPProtocolError(message: "too big mbulk count string")) }
                    return (pos, nil)
                }
                guard cr + 1 < count else { return (pos, nil) }
                let argLimit = authenticated ? limits.maxArguments : limits.maxUnauthenticatedArguments
                guard let n = Self.parseInteger(UnsafeRawBufferPointer(rebasing: raw[(pos + 1)..<cr])), n <= argLimit else {
                    return (pos, RESPProtocolError(message: authenticated ? "invalid multibulk length" : "unauthenticated multibulk length"))
                }
                pos = cr + 2
                if n <= 0 { continue }
                remaining = n
                args = []
                args.reserveCapacity(min(n, 64))  // never sized from the declared count alone
            }
            while remaining > 0 {
                guard pos < count else { return (pos, nil) }
                let marker = raw[pos]
                guard marker == UInt8(ascii: "$") else {
                    let shown = marker >= 0x20 && marker < 0x7f ? String(UnicodeScalar(marker)) : "\\x" + String(marker, radix: 16)
                    return (pos, RESPProtocolError(message: "expected '$', got '\(shown)'"))
                }
                guard let cr = find(0x0d, from: pos + 1), cr - pos <= limits.maxInlineLength else {
                    if count - pos > limits.maxInlineLength { return (pos, RESPProtocolError(message: "too big bulk count string")) }
                    return (pos, nil)
                }
                guard cr + 1 < count else { return (pos, nil) }
                let lengthLimit = authenticated ? limits.maxBulkLength : limits.maxUnauthenticatedBulkLength
                guard let length = Self.parseInteger(UnsafeRawBufferPointer(rebasing: raw[(pos + 1)..<cr])),
                      length >= 0, length <= lengthLimit else {
                    return (pos, RESPProtocolError(message: authenticated ? "invalid bulk length" : "unauthenticated bulk length"))
                }
                let start = cr + 2
                // Redis skips the two bytes after the payload without looking at them; so do
                // we. Until all of it is here, leave the header unconsumed and wait.
                guard count - start - 2 >= length else { return (pos, nil) }
                args.append(Array(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])))
                pos = start + length + 2
                remaining -= 1
            }
            let command = args
            args = []
            emit(command)
            emitted += 1
        }
        return (pos, nil)
    }

    /// A decimal integer as Redis's `string2ll` accepts it (optional minus, no plus, no
    /// spaces), or nil.
    static func parseInteger<C: Collection<UInt8>>(_ digits: C) -> Int? {
        var it = digits.makeIterator()
        guard var c = it.next() else { return nil }
        var negative = false
        if c == UInt8(ascii: "-") {
            negative = true
            guard let d = it.next() else { return nil }
            c = d
        }
        // Accumulated negatively, so Int.min (whose magnitude Int cannot hold) parses too.
        var value = 0
        while true {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.subtractingReportingOverflow(Int(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = a
            guard let n = it.next() else { break }
            c = n
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    /// Splits a line into arguments as Redis's `sdssplitargs`: blanks separate arguments;
    /// "double quotes" allow `\n \r \t \b \a \\ \" \xHH` escapes; 'single quotes' allow `\'`;
    /// a closing quote must be followed by a blank or the end. Nil for unbalanced quotes.
    static func splitArguments(_ line: some Collection<UInt8>) -> [[UInt8]]? {
        let bytes = Array(line)
        var out: [[UInt8]] = []
        var i = 0
        let n = bytes.count
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while true {
            while i < n && isSpace(bytes[i]) { i += 1 }
            if i >= n { return out }
            var current: [UInt8] = []
            var inDouble = false
            var inSingle = false
            var done = false
            while !done {
                let c: UInt8? = i < n ? bytes[i] : nil
                if inDouble {
                    guard let c else { return nil }  // unterminated quotes
                    if c == UInt8(ascii: "\\"), i + 3 < n, bytes[i + 1] == UInt8(ascii: "x"),
                       let hi = hex(bytes[i + 2]), let lo = hex(bytes[i + 3]) {
                        current.append(hi << 4 | lo)
                        i += 3
                    } else if c == UInt8(ascii: "\\"), i + 1 < n {
                        i += 1
                        switch bytes[i] {
                        case UInt8(ascii: "n"): current.append(0x0a)
                        case UInt8(ascii: "r"): current.append(0x0d)
                        case UInt8(ascii: "t"): current.append(0x09)
                        case UInt8(ascii: "b"): current.append(0x08)
                        case UInt8(ascii: "a"): current.append(0x07)
                        default: current.append(bytes[i])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        if i + 1 < n && !isSpace(bytes[i + 1]) { return nil }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else if inSingle {
                    guard let c else { return nil }
                    if c == UInt8(ascii: "\\"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "'") {
                        i += 1
                        current.append(UInt8(ascii: "'"))
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < n && !isSpace(bytes[i + 1]) { return nil }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else {
                    switch c {
                    case nil: done = true
                    case let c? where isSpace(c): done = true
                    case UInt8(ascii: "\"")?: inDouble = true
                    case UInt8(ascii: "'")?: inSingle = true
                    case let c?: current.append(c)
                    }
                }
                if i < n { i += 1 }
            }
            out.append(current)
        }
    }
}
