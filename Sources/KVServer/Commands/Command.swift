import KVCollections
import KVStore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// How a command may run relative to the connection's event loop: what the table says about
/// it before it runs, and what `CommandRunner` honours.
enum Execution: Sendable {
    /// Cheap: runs on the event loop (GET, SET under `everysec`, PING …). Its reads and
    /// writes are non-blocking (`ReadOptions.nonBlocking`, `WriteOptions.nonBlocking`, key
    /// locks by try-lock): when one would wait — for the disk, a lock, a write stall — the
    /// command stops before it has changed anything and the runner moves it to a blocking
    /// thread, so a cold read never stalls the loop's other clients.
    case inline
    /// A write: inline unless the fsync policy is `always`, when it waits for the group
    /// commit's fdatasync on a blocking thread, so the loop serves others meanwhile and the
    /// waiting writes of many connections share one sync.
    case write
    /// May walk many keys or do I/O (SCAN, KEYS, RANGE, FLUSHDB, SAVE, INFO): always on a
    /// blocking thread.
    case blocking
    /// A write that may leave its client blocked until a key is ready (BLPOP …): runs as a
    /// write; when it blocks, the connection waits on its event loop (no thread waits) until
    /// a writer serves it, its timeout passes or it is unblocked.
    case blocksClient

    /// Whether a command of this kind starts on a blocking thread rather than the loop.
    func startsOnThread(syncsEveryWrite: Bool) -> Bool {
        switch self {
        case .inline: return false
        case .write, .blocksClient: return syncsEveryWrite
        case .blocking: return true
        }
    }
}

/// What a command is to MULTI.
enum TransactionRole: Sendable {
    /// Queued after MULTI, run by EXEC (almost every command).
    case queued
    /// Runs at once even after MULTI: MULTI, DISCARD, WATCH, QUIT, RESET.
    case control
    /// EXEC: runs the queue; an error before it runs (wrong arity) discards the transaction,
    /// and it runs where the most demanding of its queued commands must.
    case commit
}

typealias EntryAnswer = @Sendable (
    _ entry: MainEntry, _ session: inout Session, _ out: inout RESPReplyWriter
) throws(CommandError) -> Void

package typealias CommandFunction = @Sendable (
    _ server: ServerContext, _ session: inout Session, _ args: [[UInt8]], _ out: inout RESPReplyWriter
) throws(CommandError) -> Void

/// One command: what COMMAND and COMMAND DOCS report about it, and its implementation.
///
/// A class, immutable: every request passes its command through lookup, admission, the
/// runner and the bookkeeping after it, and as a struct each of those copies retained and
/// released its strings, flags and closures (`Command` value-witness copies were about 2% of
/// a pipelined GET's profile, 2026-12-07); a reference is one count.
package final class Command: Sendable {
    /// Lowercase, as COMMAND reports it.
    package let name: String
    /// Position in `CommandTable.all`, for per-command statistics (-1 until the table numbers it).
    let id: Int
    /// Redis's arity: N means exactly N arguments (the name included), -N at least N.
    let arity: Int
    let flags: [String]
    let firstKey: Int
    let lastKey: Int
    let step: Int
    let group: String
    let summary: String
    let since: String
    let complexity: String
    /// The argument synopsis shown by HELP-style output and docs/SERVER.md.
    let usage: String
    let execution: Execution
    /// Answered before AUTH (AUTH, HELLO, QUIT).
    let allowedUnauthenticated: Bool
    /// Reads or writes keys it does not name (FLUSHDB, DELRANGE, SCAN, KEYS …): inside EXEC
    /// it needs every key locked, not just named ones.
    let spansKeyspace: Bool
    let transaction: TransactionRole
    /// Flagged `write`: refused by a read-only replica and under `min-replicas-to-write`.
    let isWrite: Bool
    /// Flagged `loading`: answered while a replica loads a snapshot (the rest get LOADING).
    let runsWhileLoading: Bool
    /// For a command whose keys move with its arguments (`numkeys key …`, ZUNIONSTORE's
    /// destination and sources): finds them (Redis's "movablekeys").
    let movableKeys: (@Sendable ([[UInt8]]) -> [[UInt8]])?
    package let run: CommandFunction
    /// For a pure write that needs no read (plain SET, MSET): adds its effect to a batch and
    /// returns true, so the connection can commit a pipelined run of them together. False
    /// when these arguments need the full command (options, or an error to report).
    let appendToBatch: (@Sendable (_ args: [[UInt8]], _ batch: inout WriteBatch) -> Bool)?
    /// For a read that answers from its one key's main entry (GET): the reply for the entry a
    /// pipelined multi-get found (`PipelinedReads`); nil for every other command.
    let answerFromEntry: EntryAnswer?

    init(
        _ name: String, id: Int = -1, arity: Int, flags: [String], keys: (Int, Int, Int) = (0, 0, 0),
        group: String, since: String = "1.0.0", complexity: String = "O(1)",
        usage: String = "", summary: String, execution: Execution = .inline,
        allowedUnauthenticated: Bool = false, spansKeyspace: Bool = false, transaction: TransactionRole = .queued,
        movableKeys: (@Sendable ([[UInt8]]) -> [[UInt8]])? = nil,
        appendToBatch: (@Sendable (_ args: [[UInt8]], _ batch: inout WriteBatch) -> Bool)? = nil,
        answerFromEntry: EntryAnswer? = nil,
        run: @escaping CommandFunction
    ) {
        self.name = name
        self.id = id
        self.arity = arity
        // Redis marks commands whose keys are found by parsing (numkeys …) `movablekeys`.
        self.flags = movableKeys == nil || flags.contains("movablekeys") ? flags : flags + ["movablekeys"]
        (self.firstKey, self.lastKey, self.step) = keys
        self.group = group
        self.summary = summary
        self.since = since
        self.complexity = complexity
        self.usage = usage
        self.execution = execution
        self.allowedUnauthenticated = allowedUnauthenticated
        self.spansKeyspace = spansKeyspace
        self.transaction = transaction
        self.isWrite = flags.contains("write")
        self.runsWhileLoading = flags.contains("loading")
        self.movableKeys = movableKeys
        self.run = run
        self.appendToBatch = appendToBatch
        self.answerFromEntry = answerFromEntry
    }

    /// The same command numbered `id` (the table numbers its commands once sorted).
    func numbered(_ id: Int) -> Command {
        Command(
            name, id: id, arity: arity, flags: flags, keys: (firstKey, lastKey, step), group: group, since: since,
            complexity: complexity, usage: usage, summary: summary, execution: execution,
            allowedUnauthenticated: allowedUnauthenticated, spansKeyspace: spansKeyspace, transaction: transaction,
            movableKeys: movableKeys, appendToBatch: appendToBatch, answerFromEntry: answerFromEntry, run: run)
    }

    /// Redis's ACL category for the command's group (COMMAND INFO, `COMMAND LIST FILTERBY
    /// ACLCAT`): the groups and the categories are named apart in a few places.
    var category: String {
        switch group {
        case "generic": return "keyspace"
        case "sorted-set": return "sortedset"
        case "transactions": return "transaction"
        case "server": return "admin"
        default: return group
        }
    }

    /// The key arguments, from the key positions COMMAND reports.
    func keys(in args: [[UInt8]]) -> [[UInt8]] {
        if let movableKeys { return movableKeys(args) }
        guard firstKey > 0, step > 0 else { return [] }
        let last = lastKey < 0 ? args.count + lastKey : lastKey
        guard firstKey <= last, last < args.count else { return [] }
        return stride(from: firstKey, through: last, by: step).map { args[$0] }
    }

    package func arityAllows(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }
}

// MARK: Argument parsing shared by the commands

enum Arg {
    /// A relative or absolute expiry argument as absolute milliseconds, with Redis's
    /// overflow checks. `name` is the command's name for the error message; `now` is the
    /// server's clock.
    static func expiry(
        _ arg: [UInt8], milliseconds: Bool, absolute: Bool, name: String, allowNonPositive: Bool, now: UInt64
    ) throws(CommandError) -> Int64 {
        let invalid = CommandError.err("invalid expire time in '\(name)' command")
        let n = try Arg.integer(arg)
        if !allowNonPositive && n <= 0 { throw invalid }
        var ms = Int64(n)
        if !milliseconds {
            let (m, o) = ms.multipliedReportingOverflow(by: 1000)
            if o { throw invalid }
            ms = m
        }
        if !absolute {
            let (a, o) = ms.addingReportingOverflow(Int64(clamping: now))
            if o { throw invalid }
            ms = a
        }
        return ms
    }

    /// Case-insensitive ASCII comparison of an argument with an uppercase keyword.
    static func isKeyword(_ arg: [UInt8], _ keyword: StaticString) -> Bool {
        guard arg.count == keyword.utf8CodeUnitCount else { return false }
        let k = UnsafeBufferPointer(start: keyword.utf8Start, count: keyword.utf8CodeUnitCount)
        for i in 0..<arg.count {
            var c = arg[i]
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { c -= 32 }
            if c != k[i] { return false }
        }
        return true
    }

    static func upper(_ arg: [UInt8]) -> String {
        String(decoding: arg.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
    }

    static func string(_ arg: [UInt8]) -> String {
        String(decoding: arg, as: UTF8.self)
    }

    /// A 64-bit integer exactly as Redis's `string2ll` accepts it.
    static func integer(_ arg: [UInt8], error: CommandError = .notInteger) throws(CommandError) -> Int {
        guard arg.count <= 20, let v = RESPRequestParser.parseInteger(arg) else { throw error }
        // string2ll rejects leading zeros ("01") and "-0".
        if arg.count > 1 && (arg[0] == UInt8(ascii: "0") || (arg[0] == UInt8(ascii: "-") && arg[1] == UInt8(ascii: "0"))) {
            throw error
        }
        return v
    }

    /// `numkeys key [key …] rest…` starting at `index`: the keys and what follows them.
    /// `invalid` is the command's error for a count below 1 (or not a number, when
    /// `invalidIncludesText`).
    static func numkeys(
        _ a: [[UInt8]], at index: Int, invalid: CommandError = .err("numkeys should be greater than 0"), invalidIncludesText: Bool = true,
        tooMany: CommandError = .err("Number of keys can't be greater than number of args")
    ) throws(CommandError) -> (keys: [[UInt8]], rest: [[UInt8]]) {
        let n: Int
        if invalidIncludesText {
            n = try integer(a[index], error: invalid)
        } else {
            n = try integer(a[index])
        }
        guard n >= 1 else { throw invalid }
        guard n <= a.count - index - 1 else { throw tooMany }
        return (Array(a[(index + 1)...(index + n)]), Array(a[(index + 1 + n)...]))
    }

    /// A stored value as an integer, for INCR and friends.
    static func storedInteger(_ value: [UInt8]) throws(CommandError) -> Int {
        try integer(value)
    }

    /// A long double as Redis's `string2ld` reads it: what `strtold` accepts, whole, without
    /// leading space, NaN or overflow. INCRBYFLOAT computes in this precision, as Redis does,
    /// so 0.1 + 0.2 prints as 0.3.
    static func longDouble(_ arg: [UInt8]) throws(CommandError) -> Float80 {
        guard !arg.isEmpty, arg.count < 5 * 1024, !arg.contains(0) else { throw CommandError.notFloat }
        let first = arg[0]
        guard first != 0x20, !(first >= 0x09 && first <= 0x0d) else { throw CommandError.notFloat }
        var text = arg
        text.append(0)
        errno = 0
        let (value, consumed): (Float80, Int) = text.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                guard let base = chars.baseAddress else { return (0, -1) }
                var end: UnsafeMutablePointer<CChar>?
                let v = strtold(base, &end)
                return (v, end.map { $0 - base } ?? -1)
            }
        }
        guard consumed == arg.count, !value.isNaN else { throw CommandError.notFloat }
        if errno == ERANGE && (value.isInfinite || value == 0) { throw CommandError.notFloat }
        return value
    }
}
