#if canImport(Glibc)
import Glibc
#endif

/// Where output goes and how it looks: data to stdout, diagnostics to stderr, colors only on
/// a terminal and never with NO_COLOR (https://no-color.org).
enum Terminal {
    static let stdoutIsTTY = isatty(1) == 1
    static let stderrIsTTY = isatty(2) == 1
    static let colors = stderrIsTTY && getenv("NO_COLOR") == nil

    static func out(_ line: String) {
        standardOutput.write(line)
        standardOutput.write("\n")
    }

    static func err(_ line: String) {
        standardOutput.flush()  // keep the order a person sees on a shared terminal
        FDWriter.writeAll(2, Array((line + "\n").utf8))
    }

    /// `text` in bold red on a color terminal (for "error:").
    static func red(_ text: String) -> String { colors ? "\u{1B}[1;31m\(text)\u{1B}[0m" : text }
    static func bold(_ text: String) -> String { colors && stdoutIsTTY && getenv("NO_COLOR") == nil ? "\u{1B}[1m\(text)\u{1B}[0m" : text }

    /// A progress line on stderr, redrawn in place; nothing when stderr is not a terminal.
    static func progress(_ line: String) {
        guard stderrIsTTY else { return }
        FDWriter.writeAll(2, Array(("\r\u{1B}[2K" + line).utf8))
    }

    static func endProgress() {
        guard stderrIsTTY else { return }
        FDWriter.writeAll(2, Array("\r\u{1B}[2K".utf8))
    }

    /// Seconds on a monotonic clock.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// JSON string literal of `s` (quotes included).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case let c where c.value < 0x20:
            let hex = String(c.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// Output formats for records (one per line).
enum RecordFormat: String, CaseIterable {
    /// `key => value`, for people.
    case text
    /// `key<TAB>value[<TAB>expires-at-ms]`; the escaped and hex encodings never contain tabs.
    case tsv
    /// JSON lines: `{"key":…,"value":…,"expires_at":…}`.
    case json

    func line(key: [UInt8], value: [UInt8]?, expiresAt: UInt64? = nil, encoding: ByteEncoding) -> String {
        let k = encoding.encode(key)
        switch self {
        case .text:
            guard let value else { return k }
            var s = k + " => " + encoding.encode(value)
            if let e = expiresAt { s += "  (expires at \(e) ms)" }
            return s
        case .tsv:
            guard let value else { return k }
            var s = k + "\t" + encoding.encode(value)
            if let e = expiresAt { s += "\t\(e)" }
            return s
        case .json:
            var s = "{\"key\":" + jsonString(k)
            if let value { s += ",\"value\":" + jsonString(encoding.encode(value)) }
            if let e = expiresAt { s += ",\"expires_at\":\(e)" }
            return s + "}"
        }
    }
}

/// Buffered output to a file descriptor, written with write(2): kvctl is single-threaded,
/// and C's FILE streams are shared mutable state Swift 6 rightly refuses to touch.
final class FDWriter {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var failed: Int32 = 0

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Writes what is buffered; remembers the first errno (EPIPE, ENOSPC …).
    func flush() {
        guard !buffer.isEmpty else { return }
        if !Self.writeAll(fd, buffer) && failed == 0 { failed = errno }
        buffer.removeAll(keepingCapacity: true)
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}

/// kvctl's stdout. Single-threaded use only (the CLI runs on its main thread).
nonisolated(unsafe) let standardOutput = FDWriter(fd: 1)
