import ArgumentParser
import KVStore

#if canImport(Glibc)
import Glibc
#endif

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the value of a key (exit 1 if it is not there).",
        discussion: "Example: kvctl --db ./data get greeting")

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @Argument(help: "The key (escaped, or hex with --hex).") var key: String

    func run() throws {
        let enc = try encoding.byteEncoding()
        let format = try encoding.recordFormat()
        let k = try enc.decode(key)
        let found = try withTarget(target) { try $0.get(k) }
        guard let found else { throw KVCtlError.notFound("key \(enc.encode(k)) not found") }
        if format == .text, case .string(let v) = found {
            Terminal.out(enc.encode(v.value))
        } else {
            Terminal.out(format.line(key: k, found, encoding: enc))
        }
    }
}

struct Put: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store a value under a key.",
        discussion: """
            The value comes from the argument, from --file, or from stdin when neither is
            given (its bytes as they are, without decoding).
            Examples:
              kvctl --db ./data put greeting "hello world"
              kvctl --db ./data put --hex 00ff 68690a
              kvctl --db ./data put photo --file photo.jpg
              echo -n 42 | kvctl --db ./data put answer --ttl 60
            """)

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @Argument(help: "The key.") var key: String
    @Argument(help: "The value (omit to read --file or stdin).") var value: String?
    @Option(help: ArgumentHelp("Read the value from this file, byte for byte.", valueName: "path")) var file: String?
    @Option(help: ArgumentHelp("Expire the key after this many seconds.", valueName: "seconds")) var ttl: Int?

    func validate() throws {
        if value != nil && file != nil { throw ValidationError("give the value as an argument or with --file, not both") }
        if let ttl, ttl <= 0 { throw ValidationError("--ttl must be a positive number of seconds") }
    }

    func run() throws {
        let enc = try encoding.byteEncoding()
        let k = try enc.decode(key)
        let v: [UInt8]
        if let value {
            v = try enc.decode(value)
        } else if let file {
            v = try readFile(file)
        } else {
            v = readAll(fd: 0)
        }
        var expiresAt: UInt64?
        if let ttl {
            let (ms, o1) = UInt64(ttl).multipliedReportingOverflow(by: 1000)
            let (at, o2) = Options.systemClock().addingReportingOverflow(ms)
            guard !o1 && !o2 else { throw KVCtlError.usage("--ttl \(ttl) is too large") }
            expiresAt = at
        }
        try withTarget(target, createIfMissing: true) { try $0.put(k, v, expiresAt: expiresAt) }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a key (exit 1 if it was not there).",
        discussion: "Example: kvctl --db ./data delete greeting")

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @Argument(help: "The key.") var key: String

    func run() throws {
        let enc = try encoding.byteEncoding()
        let k = try enc.decode(key)
        let existed = try withTarget(target) { try $0.delete(k) }
        if !existed { throw KVCtlError.notFound("key \(enc.encode(k)) not found") }
    }
}

/// Key-range options shared by scan, count and delete-range.
struct RangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("First key (inclusive).", valueName: "key")) var from: String?
    @Option(help: ArgumentHelp("End key (exclusive).", valueName: "key")) var to: String?
    @Option(help: ArgumentHelp("Only keys starting with this.", valueName: "prefix")) var prefix: String?

    /// The bounds as bytes: [from, to), narrowed by the prefix.
    func bounds(_ enc: ByteEncoding) throws -> (from: [UInt8]?, to: [UInt8]?) {
        var lower = try from.map { try enc.decode($0) }
        var upper = try to.map { try enc.decode($0) }
        if let prefix {
            let p = try enc.decode(prefix)
            if lower.map({ $0.lexicographicallyPrecedes(p) }) ?? true { lower = p }
            if let end = prefixSuccessor(p), upper.map({ end.lexicographicallyPrecedes($0) }) ?? true { upper = end }
        }
        return (lower, upper)
    }
}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List keys and values in key order.",
        discussion: """
            Examples:
              kvctl --db ./data scan --prefix user: --limit 20
              kvctl --db ./data scan --from a --to m --reverse --keys-only
              kvctl --db ./data scan --format json | jq .
            """)

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @OptionGroup var range: RangeOptions
    @Option(help: "At most this many records.") var limit: Int?
    @Flag(help: "Last key first.") var reverse = false
    @Flag(help: "Keys only, no values.") var keysOnly = false

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }

    func run() throws {
        let enc = try encoding.byteEncoding()
        let format = try encoding.recordFormat()
        let (from, to) = try range.bounds(enc)
        try withTarget(target) { t in
            try t.scan(from: from, to: to, limit: limit ?? .max, reverse: reverse, keysOnly: keysOnly) { k, v in
                Terminal.out(format.line(key: k, v, encoding: enc))
            }
        }
    }
}

struct TypeOf: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "type",
        abstract: "Print what a key holds: string, hash, set, zset or list (exit 1 if it is not there).",
        discussion: "Example: kvctl --db ./data type session:1")

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @Argument(help: "The key (escaped, or hex with --hex).") var key: String

    func run() throws {
        let enc = try encoding.byteEncoding()
        let k = try enc.decode(key)
        guard let found = try withTarget(target, { try $0.get(k) }) else { throw KVCtlError.notFound("key \(enc.encode(k)) not found") }
        Terminal.out(found.type.name)
    }
}

struct Count: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count keys (all, or in a range or prefix).",
        discussion: "Example: kvctl --db ./data count --prefix user:")

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @OptionGroup var range: RangeOptions

    func run() throws {
        let (from, to) = try range.bounds(try encoding.byteEncoding())
        let n = try withTarget(target) { try $0.count(from: from, to: to) }
        Terminal.out(String(n))
    }
}

struct DeleteRange: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-range",
        abstract: "Remove every key in [--from, --to) (or with --prefix) in one write.",
        discussion: """
            One range deletion, however many keys: the space is reclaimed by compaction.
            Without --to, the range reaches past the last key.
            Example: kvctl --db ./data delete-range --prefix session:
            """)

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @OptionGroup var range: RangeOptions

    func validate() throws {
        if range.from == nil && range.prefix == nil && range.to == nil {
            throw ValidationError("give --from, --to or --prefix (deleting everything needs --from '')")
        }
    }

    func run() throws {
        let (from, to) = try range.bounds(try encoding.byteEncoding())
        try withTarget(target) { try $0.deleteRange(from: from ?? [], to: to) }
    }
}

/// The whole content of `fd`.
func readAll(fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        out += chunk[0..<n]
    }
    return out
}

func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw KVCtlError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    return readAll(fd: fd)
}
