import ArgumentParser
import KVStore

#if canImport(Glibc)
import Glibc
#endif

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load records from TSV or JSON lines (a file, or stdin).",
        discussion: """
            TSV: key<TAB>value[<TAB>expires-at-ms] per line. JSON lines:
            {"key": "…", "value": "…", "expires_at": 1700000000000} (expires_at optional).
            Keys and values in the --encoding (escaped by default, as export writes them).
            The format is guessed per line ('{' starts JSON) unless --format says.
            Writes go in batches (--batch records each, atomic on a directory).
            Examples:
              kvctl --db ./data import backup.tsv
              kvctl --db ./data export --format json | kvctl --db ./copy import
            """)

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @Argument(help: "The file to read; stdin when omitted or '-'.") var file: String?
    @Option(help: "Records per batch.") var batch = 1000

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        let enc = try encoding.byteEncoding()
        let forced = try encoding.format.map { _ in try encoding.recordFormat() }
        if forced == .text { throw KVCtlError.usage("import reads tsv or json, not text") }
        let fd: Int32
        if let file, file != "-" {
            fd = open(file, O_RDONLY)
            guard fd >= 0 else { throw KVCtlError.io("cannot open \(file): \(String(cString: strerror(errno)))") }
        } else {
            fd = 0
        }
        defer { if fd != 0 { close(fd) } }
        let started = Terminal.now()
        var records = 0
        var bytes = 0
        var lastDraw = started
        try withTarget(target, createIfMissing: true) { t in
            var pending: [(key: [UInt8], value: [UInt8], expiresAt: UInt64?)] = []
            var lineNumber = 0
            try forEachLine(fd) { line in
                lineNumber += 1
                if line.isEmpty { return }
                let record: (key: [UInt8], value: [UInt8], expiresAt: UInt64?)
                do {
                    let json = forced == .json || (forced == nil && line.first == UInt8(ascii: "{"))
                    record = json ? try Self.parseJSON(line, enc) : try Self.parseTSV(line, enc)
                } catch let e as KVCtlError {
                    throw KVCtlError.usage("\(file ?? "stdin"):\(lineNumber): \(e)")
                }
                bytes += record.key.count + record.value.count
                pending.append(record)
                if pending.count >= batch {
                    try t.write(pending)
                    records += pending.count
                    pending.removeAll(keepingCapacity: true)
                    let now = Terminal.now()
                    if now - lastDraw > 0.2 {
                        lastDraw = now
                        Terminal.progress("imported \(records) records, \(mib(bytes)) MiB, \(Int(Double(records) / (now - started))) records/s")
                    }
                }
            }
            if !pending.isEmpty {
                try t.write(pending)
                records += pending.count
            }
        }
        Terminal.endProgress()
        let seconds = Terminal.now() - started
        Terminal.err("imported \(records) records, \(bytes) bytes of keys and values in \(String(format3: seconds)) s")
    }

    static func parseTSV(_ line: [UInt8], _ enc: ByteEncoding) throws -> (key: [UInt8], value: [UInt8], expiresAt: UInt64?) {
        let fields = line.split(separator: 9, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count >= 2 else { throw KVCtlError.usage("expected key<TAB>value") }
        let key = try enc.decode(String(decoding: fields[0], as: UTF8.self))
        let value = try enc.decode(String(decoding: fields[1], as: UTF8.self))
        var expiresAt: UInt64?
        if fields.count == 3 {
            guard let e = UInt64(String(decoding: fields[2], as: UTF8.self)) else { throw KVCtlError.usage("third field must be an expiry in ms since the epoch") }
            expiresAt = e == 0 ? nil : e
        }
        return (key, value, expiresAt)
    }

    static func parseJSON(_ line: [UInt8], _ enc: ByteEncoding) throws -> (key: [UInt8], value: [UInt8], expiresAt: UInt64?) {
        var parser = FlatJSON(bytes: line)
        let object = try parser.object()
        guard case .string(let k)? = object["key"] else { throw KVCtlError.usage("JSON record needs a \"key\" string") }
        guard case .string(let v)? = object["value"] else { throw KVCtlError.usage("JSON record needs a \"value\" string") }
        var expiresAt: UInt64?
        switch object["expires_at"] {
        case .number(let n)?: expiresAt = n == 0 ? nil : n
        case nil, .null?: break
        default: throw KVCtlError.usage("\"expires_at\" must be a number (ms since the epoch)")
        }
        return (try enc.decode(k), try enc.decode(v), expiresAt)
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every record, from one consistent snapshot, as TSV or JSON lines.",
        discussion: """
            Default format tsv (key<TAB>value[<TAB>expires-at-ms]); --format json for JSON lines.
            Expiry times are exported from directories; through --server they are not, and the
            export is read in pages of 1,000 keys, each consistent but not the whole (use --db
            for one snapshot of everything).
            Example: kvctl --db ./data export --format json > backup.jsonl
            """)

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @Option(help: ArgumentHelp("Write here instead of stdout.", valueName: "path")) var output: String?

    func run() throws {
        let enc = try encoding.byteEncoding()
        let format = try encoding.recordFormat(default: .tsv)
        if format == .text { throw KVCtlError.usage("export writes tsv or json; text cannot be imported back") }
        var writer = standardOutput
        if let output {
            let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw KVCtlError.io("cannot create \(output): \(String(cString: strerror(errno)))") }
            writer = FDWriter(fd: fd)
        }
        defer { if output != nil { close(writer.fd) } }
        let started = Terminal.now()
        var records = 0
        var bytes = 0
        var skipped = 0
        try withTarget(target) { t in
            // A directory's iterator reads one snapshot; a server is read in consistent pages.
            try t.scan(from: nil, to: nil, limit: .max, reverse: false, keysOnly: false) { k, kv in
                // Records are strings; a collection is counted and left out (see below).
                guard case .string(let stored)? = kv else {
                    skipped += 1
                    return
                }
                let v: [UInt8]? = stored.value
                let e = stored.expiresAt
                writer.write(format.line(key: k, value: v ?? [], expiresAt: e, encoding: enc))
                writer.write("\n")
                if writer.failed != 0 { throw KVCtlError.io("write failed: \(String(cString: strerror(writer.failed)))") }
                records += 1
                bytes += k.count + (v?.count ?? 0)
            }
        }
        writer.flush()
        if writer.failed != 0 { throw KVCtlError.io("write failed: \(String(cString: strerror(writer.failed)))") }
        Terminal.err("exported \(records) records, \(bytes) bytes of keys and values in \(String(format3: Terminal.now() - started)) s")
        if skipped > 0 {
            Terminal.err("note: \(skipped) collection\(skipped == 1 ? "" : "s") (hashes, sets, sorted sets, lists) not exported: export writes string records; copy collections with `kvctl checkpoint` or `backup`")
        }
    }
}

/// Calls `body` with each line of `fd` (without its newline).
func forEachLine(_ fd: Int32, _ body: ([UInt8]) throws -> Void) throws {
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw KVCtlError.io("read failed: \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        buffer += chunk[0..<n]
        var start = 0
        while let nl = buffer[start...].firstIndex(of: 10) {
            var end = nl
            if end > start && buffer[end - 1] == 13 { end -= 1 }
            try body(Array(buffer[start..<end]))
            start = nl + 1
        }
        buffer.removeFirst(start)
    }
    if !buffer.isEmpty { try body(buffer) }
}

func mib(_ bytes: Int) -> String { String(format3: Double(bytes) / 1_048_576) }

extension String {
    /// Three decimals (no Foundation).
    init(format3 value: Double) {
        let scaled = Int((value * 1000).rounded())
        let frac = abs(scaled) % 1000
        self = "\(scaled / 1000).\(frac < 10 ? "00" : frac < 100 ? "0" : "")\(frac)"
    }
}

/// Just enough JSON for one flat object per line: string, number, true/false/null values.
struct FlatJSON {
    enum Value: Equatable {
        case string(String)
        case number(UInt64)
        case bool(Bool)
        case null
    }

    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func object() throws -> [String: Value] {
        var out: [String: Value] = [:]
        skipSpace()
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if peek() == UInt8(ascii: "}") { i += 1; return out }
        while true {
            skipSpace()
            let name = try string()
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            out[name] = try value()
            skipSpace()
            if peek() == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "}"))
            skipSpace()
            guard i == bytes.count else { throw KVCtlError.usage("text after the JSON object") }
            return out
        }
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while let c = peek(), c == 32 || c == 9 || c == 13 || c == 10 { i += 1 }
    }

    private mutating func expect(_ c: UInt8) throws {
        guard peek() == c else { throw KVCtlError.usage("bad JSON: expected '\(String(UnicodeScalar(c)))' at column \(i + 1)") }
        i += 1
    }

    private mutating func value() throws -> Value {
        switch peek() {
        case UInt8(ascii: "\"")?: return .string(try string())
        case let c? where c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"):
            var n: UInt64 = 0
            while let d = peek(), d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
                guard !o1 && !o2 else { throw KVCtlError.usage("bad JSON: number too large") }
                n = a
                i += 1
            }
            return .number(n)
        default:
            for (word, v) in [("true", Value.bool(true)), ("false", .bool(false)), ("null", .null)] where bytes[i...].starts(with: word.utf8) {
                i += word.utf8.count
                return v
            }
            throw KVCtlError.usage("bad JSON value at column \(i + 1)")
        }
    }

    private mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while let c = peek() {
            i += 1
            switch c {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let e = peek() else { break }
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "u"):
                    guard i + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16),
                          let scalar = UnicodeScalar(code) else { throw KVCtlError.usage("bad JSON \\u escape") }
                    out += Array(String(Character(scalar)).utf8)
                    i += 4
                default: out.append(e)  // \" \\ \/
                }
            default:
                out.append(c)
            }
        }
        throw KVCtlError.usage("bad JSON: unterminated string")
    }
}
