import ArgumentParser
import KVStore

/// `kvctl`: the operator's command line for KVStore directories and kvserver.
struct KVCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvctl",
        abstract: "Read, write, inspect and repair KVStore data.",
        discussion: """
            Data commands work on a store directory (--db DIR) or a running kvserver
            (--server HOST:PORT); the directory is locked while a server has it open.
            Keys and values are binary-safe: by default they are written and shown with
            escapes (\\xHH, \\t, \\n, \\r, \\\\), with --hex as hexadecimal.

            Exit status: 0 success, 1 not found, 2 usage error, 3 corruption, 4 I/O or
            connection error, 5 other failure (a locked directory, a server error).
            Data goes to stdout, messages to stderr; colors only on a terminal, never with
            NO_COLOR set.

            Examples:
              kvctl --db ./data put greeting "hello world"
              kvctl --db ./data get greeting
              kvctl --db ./data scan --prefix user: --limit 10 --format json
              kvctl --server 127.0.0.1:6380 get greeting
              kvctl --db ./data export > backup.tsv && kvctl --db ./copy import backup.tsv
              kvctl inspect sst ./data/000012.sst --entries
              kvctl --db ./data verify
            """,
        subcommands: [
            Get.self, TypeOf.self, Put.self, Delete.self, Scan.self, Count.self, DeleteRange.self,
            Import.self, Export.self,
            Stats.self, Levels.self, Inspect.self,
            Compact.self, Verify.self, Repair.self, Destroy.self, Checkpoint.self, Backup.self,
        ])
}

/// Where the data is: a directory or a server.
struct TargetOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("The store directory.", valueName: "dir"))
    var directory: String?

    @Option(help: ArgumentHelp("A running kvserver instead of a directory.", valueName: "host:port"))
    var server: String?

    @Option(help: "Password for --server (or set KVCTL_PASSWORD).")
    var password: String?

    func validate() throws {
        if directory != nil && server != nil { throw ValidationError("give --db or --server, not both") }
    }

    /// Opens the target the options name.
    func open(createIfMissing: Bool = false) throws -> any DataTarget {
        if let t = try openServer() { return t }
        guard let directory else { throw KVCtlError.usage("say where the data is: --db DIR or --server HOST:PORT") }
        return try DirectoryTarget(path: directory, createIfMissing: createIfMissing)
    }

    /// The server named by --server, connected and authenticated; nil without --server.
    func openServer() throws -> ServerTarget? {
        guard let server else { return nil }
        return try ServerTarget(address: server, password: password ?? Environment.value("KVCTL_PASSWORD"))
    }

    func requireDirectory(_ command: String) throws -> String {
        if server != nil { throw KVCtlError.usage("\(command) works on a directory (--db DIR), not through a server") }
        guard let directory else { throw KVCtlError.usage("\(command) needs --db DIR") }
        return directory
    }
}

/// How keys and values are written and shown.
struct EncodingOptions: ParsableArguments {
    @Flag(help: "Keys and values in hexadecimal, in and out (same as --encoding hex).")
    var hex = false

    @Option(help: ArgumentHelp("escaped (default), hex or raw.", valueName: "encoding"))
    var encoding: String?

    @Option(help: ArgumentHelp("Output: text (default), tsv or json (JSON lines).", valueName: "format"))
    var format: String?

    func byteEncoding() throws -> ByteEncoding {
        if hex { return .hex }
        guard let encoding else { return .escaped }
        guard let e = ByteEncoding(rawValue: encoding.lowercased()) else {
            throw KVCtlError.usage("--encoding must be escaped, hex or raw (got '\(encoding)')")
        }
        return e
    }

    func recordFormat(default d: RecordFormat = .text) throws -> RecordFormat {
        guard let format else { return d }
        guard let f = RecordFormat(rawValue: format.lowercased()) else {
            throw KVCtlError.usage("--format must be text, tsv or json (got '\(format)')")
        }
        return f
    }
}

/// Runs `body`, closing the target afterwards even when `body` throws.
func withTarget<T>(_ options: TargetOptions, createIfMissing: Bool = false, _ body: (any DataTarget) throws -> T) throws -> T {
    let target = try options.open(createIfMissing: createIfMissing)
    do {
        let result = try body(target)
        try target.close()
        return result
    } catch {
        try? target.close()
        throw error
    }
}

