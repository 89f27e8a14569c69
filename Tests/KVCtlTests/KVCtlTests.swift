import Foundation
import KVServer
import KVStore
import KVStoreTesting
import KVTestSupport
import Logging
import Testing

/// The built `kvctl` binary, run as a subprocess: exit statuses, stdout and stderr as an
/// operator sees them.
@Suite struct KVCtlTests {
    /// Runs kvctl with `args` (and `stdin`), with NO_COLOR so nothing depends on a terminal.
    @discardableResult
    func kvctl(_ args: [String], stdin: [UInt8] = []) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        return try runProcess(productPath("kvctl"), args, stdin: stdin, environment: env)
    }

    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    @Test func binaryKeysAndValuesRoundTripThroughEveryEncoding() throws {
        let dir = TemporaryDirectory("kvctl-enc")
        let db = ["--db", dir.path]
        var rng = SplitMix64(seed: 3)
        for i in 0..<8 {
            let key = (0..<(1 + i * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let value = (0..<(i * 37)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // hex in, hex out
            #expect(try kvctl(db + ["put", "--hex", hex(key), hex(value)]).status == 0)
            #expect(try kvctl(db + ["get", "--hex", hex(key)]).text == hex(value) + "\n")
            // escaped out (the default), then escaped back in, gives the same bytes
            let escapedKey = try kvctl(db + ["scan", "--hex", "--from", hex(key), "--limit", "1", "--keys-only"]).text
            #expect(escapedKey == hex(key) + "\n")
            let shown = try kvctl(db + ["get", "--hex", hex(key), "--format", "tsv"])
            #expect(shown.text == hex(key) + "\t" + hex(value) + "\n")
            let escaped = try kvctl(db + ["--encoding", "escaped", "get", "--hex", hex(key)])  // --hex wins
            #expect(escaped.text == hex(value) + "\n")
        }
        // The escaped encoding: bytes that need it, both ways.
        #expect(try kvctl(db + ["put", "a\\tb\\x00\\\\", "line1\\nline2\\xff"]).status == 0)
        #expect(try kvctl(db + ["get", "--hex", hex(Array("a\tb".utf8) + [0, 92])]).text == hex(Array("line1\nline2".utf8) + [255]) + "\n")
        #expect(try kvctl(db + ["get", "a\\tb\\x00\\\\"]).text == "line1\\nline2\\xff\n")
        // JSON output keeps the encoded text as a JSON string.
        #expect(try kvctl(db + ["get", "a\\tb\\x00\\\\", "--format", "json"]).text
                == #"{"key":"a\\tb\\x00\\\\","value":"line1\\nline2\\xff"}"# + "\n")
        // Raw: the bytes themselves.
        #expect(try kvctl(db + ["put", "--encoding", "raw", "plain", "héllo"]).status == 0)
        #expect(try kvctl(db + ["get", "--encoding", "raw", "plain"]).stdout == Array("héllo\n".utf8))
        // Values from stdin and from a file, byte for byte.
        let blob: [UInt8] = (0..<3000).map { UInt8($0 % 256) }
        #expect(try kvctl(db + ["put", "blob"], stdin: blob).status == 0)
        #expect(try kvctl(db + ["get", "--hex", hex(Array("blob".utf8))]).text.dropLast() == Substring(hex(blob)))
        let file = dir.file("value.bin")
        try Data(blob.reversed()).write(to: URL(fileURLWithPath: file))
        #expect(try kvctl(db + ["put", "fromfile", "--file", file]).status == 0)
        #expect(try kvctl(db + ["get", "--hex", hex(Array("fromfile".utf8))]).text.dropLast() == Substring(hex(blob.reversed())))
    }

    @Test func importThenExportGivesTheSameBytes() throws {
        let source = TemporaryDirectory("kvctl-export")
        var rng = SplitMix64(seed: 9)
        var lines: [String] = []
        var seen = Set<[UInt8]>()
        while lines.count < 2000 {
            let key = (0..<Int.random(in: 1...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            guard seen.insert(key).inserted else { continue }
            let value = (0..<Int.random(in: 0...60, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var line = ["--", ""]  // placeholder
            line = [hex(key), hex(value)]
            if lines.count % 10 == 0 { line.append(String(4_000_000_000_000 + lines.count)) }  // some with expiry
            lines.append(line.joined(separator: "\t"))
        }
        // Exports are in key order: sort the input by key bytes to compare byte for byte.
        lines.sort { a, b in
            let ka = a.split(separator: "\t")[0], kb = b.split(separator: "\t")[0]
            return ka < kb  // same-length-prefix hex order equals byte order only per digit: use bytes
        }
        lines.sort { a, b in
            let ka = Array(a.split(separator: "\t")[0].utf8), kb = Array(b.split(separator: "\t")[0].utf8)
            return hexBytes(ka).lexicographicallyPrecedes(hexBytes(kb))
        }
        let input = Array((lines.joined(separator: "\n") + "\n").utf8)
        let imported = try kvctl(["--db", source.path, "--hex", "import", "--batch", "300"], stdin: input)
        #expect(imported.status == 0)
        #expect(imported.stderr.contains("imported 2000 records"))
        let tsv = try kvctl(["--db", source.path, "--hex", "export"])
        #expect(tsv.status == 0)
        #expect(tsv.stdout == input)
        // JSON lines through a second store, then back to TSV: still the same bytes.
        let json = try kvctl(["--db", source.path, "export", "--format", "json"])
        let copy = TemporaryDirectory("kvctl-copy")
        #expect(try kvctl(["--db", copy.path, "import"], stdin: json.stdout).status == 0)
        #expect(try kvctl(["--db", copy.path, "--hex", "export"]).stdout == input)
        #expect(try kvctl(["--db", copy.path, "count"]).text == "2000\n")
        // A bad line names its line number and exits 2.
        let bad = try kvctl(["--db", copy.path, "import"], stdin: Array("ok\tfine\nno-tab-here\n".utf8))
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("stdin:2"))
    }

    func hexBytes(_ h: [UInt8]) -> [UInt8] {
        stride(from: 0, to: h.count, by: 2).map { UInt8(String(decoding: h[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
    }

    @Test func dataCommandsAndExitStatuses() throws {
        let dir = TemporaryDirectory("kvctl-data")
        let db = ["--db", dir.path]
        for i in 0..<30 { try kvctl(db + ["put", String(format: "user:%02d", i), "v\(i)"]) }
        try kvctl(db + ["put", "other", "x"])
        #expect(try kvctl(db + ["count"]).text == "31\n")
        #expect(try kvctl(db + ["count", "--prefix", "user:"]).text == "30\n")
        #expect(try kvctl(db + ["scan", "--prefix", "user:1", "--keys-only"]).text == (10..<20).map { "user:\($0)\n" }.joined())
        #expect(try kvctl(db + ["scan", "--from", "user:05", "--to", "user:08", "--format", "tsv"]).text == "user:05\tv5\nuser:06\tv6\nuser:07\tv7\n")
        #expect(try kvctl(db + ["scan", "--reverse", "--limit", "2"]).text == "user:29 => v29\nuser:28 => v28\n")
        #expect(try kvctl(db + ["delete-range", "--prefix", "user:2"]).status == 0)
        #expect(try kvctl(db + ["count"]).text == "21\n")
        #expect(try kvctl(db + ["delete", "other"]).status == 0)
        let missing = try kvctl(db + ["delete", "other"])
        #expect(missing.status == 1 && missing.stderr.contains("not found"))
        let notThere = try kvctl(db + ["get", "nope"])
        #expect(notThere.status == 1 && notThere.stdout.isEmpty)
        // TTL: stored and shown.
        #expect(try kvctl(db + ["put", "temp", "t", "--ttl", "3600"]).status == 0)
        let withExpiry = try kvctl(db + ["get", "temp", "--format", "json"]).text
        #expect(withExpiry.contains("\"expires_at\":"))
    }

    @Test func usageErrorsExitTwoWithAHelpfulMessage() throws {
        let dir = TemporaryDirectory("kvctl-usage")
        let cases: [([String], String)] = [
            (["get"], "Missing expected argument '<key>'"),
            (["--db", dir.path, "frobnicate"], "unknown command 'frobnicate'"),
            (["--db", dir.path, "scan", "--format", "xml"], "--format must be text, tsv or json"),
            (["--db", dir.path, "--server", "127.0.0.1:1", "get", "k"], "give --db or --server, not both"),
            (["get", "k"], "--db DIR or --server HOST:PORT"),
            (["--db", dir.path, "get", "--hex", "zz"], "is not hex"),
            (["--db", dir.path, "get", "bad\\q"], "unknown escape"),
            (["--db", dir.path, "scan", "--limit=-1"], "--limit must not be negative"),
            (["--db", dir.path, "delete-range"], "give --from, --to or --prefix"),
        ]
        for (args, message) in cases {
            let r = try kvctl(args)
            #expect(r.status == 2, "kvctl \(args.joined(separator: " ")) exited \(r.status)")
            #expect(r.stderr.contains(message), "kvctl \(args.joined(separator: " ")) said: \(r.stderr)")
            #expect(!r.stderr.contains("\u{1B}["), "colors despite NO_COLOR")
        }
        let help = try kvctl(["scan", "--help"])
        #expect(help.status == 0 && help.text.contains("--prefix") && help.text.contains("Examples"))
        let top = try kvctl(["--help"])
        #expect(top.status == 0 && top.text.contains("Exit status"))
    }

    @Test func verifyFindsAFlippedByteAndExitsThreeNamingTheFile() throws {
        let dir = TemporaryDirectory("kvctl-verify")
        let db = ["--db", dir.path]
        let lines = (0..<3000).map { "key\($0)\tvalue-\($0)-padding-padding" }.joined(separator: "\n")
        #expect(try kvctl(db + ["import"], stdin: Array(lines.utf8)).status == 0)
        #expect(try kvctl(db + ["compact"]).status == 0)
        let clean = try kvctl(db + ["verify"])
        #expect(clean.status == 0, "\(clean.stderr)")
        let table = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }.sorted().first!
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: dir.file(table))))
        bytes[bytes.count / 3] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file(table)))
        let r = try kvctl(db + ["verify"])
        #expect(r.status == 3)
        #expect(r.text.contains(table) && r.text.contains("corrupt"))
        #expect(r.stderr.contains(table))
        let json = try kvctl(db + ["verify", "--json"])
        #expect(json.status == 3 && json.text.contains("\"corruption\":true"))
    }

    @Test func repairRecoversEveryKeyFromIntactTablesAfterTheManifestIsDeleted() throws {
        let dir = TemporaryDirectory("kvctl-repair")
        let db = ["--db", dir.path]
        do {
            var options = Options()
            options.writeBufferSize = 64 << 10
            options.targetFileSize = 64 << 10
            let store = try KVStore.open(at: dir.path, options: options)
            for i in 0..<5000 { try store.put(Array("k\(i)".utf8), Array("v\(i)".utf8)) }
            for i in stride(from: 0, to: 5000, by: 7) { try store.put(Array("k\(i)".utf8), Array("new\(i)".utf8)) }
            try store.deleteRange(from: Array("k4".utf8), to: Array("k5".utf8))
            try store.close()
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasPrefix("MANIFEST-") || name == "CURRENT" {
            try FileManager.default.removeItem(atPath: dir.file(name))
        }
        let broken = try kvctl(db + ["get", "k1"])
        #expect(broken.status == 3 && broken.stderr.contains("run repair"))
        let r = try kvctl(db + ["repair"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text.contains("keys after repair"))
        // Every key back with its newest value; the range deletion, still in the log, is
        // recovered too, so [k4, k5) stays deleted.
        #expect(r.text.contains("recovered 1 range deletions"))
        let exported = try kvctl(db + ["export"]).text
        var expected = ""
        for i in (0..<5000).sorted(by: { "k\($0)" < "k\($1)" }) where !"k\(i)".hasPrefix("k4") {
            expected += "k\(i)\t\(i % 7 == 0 ? "new" : "v")\(i)\n"
        }
        #expect(exported == expected)
        #expect(try kvctl(db + ["verify"]).status == 0)
    }

    /// `kvctl checkpoint` and `kvctl backup` as an operator runs them: a checkpoint of a
    /// directory and of a live server, two backups of a changing store (the second copies
    /// only the new tables), list, verify (then a damaged copy found, exit 3), restore.
    @Test func checkpointsAndIncrementalBackupsFromTheCommandLine() throws {
        let dir = TemporaryDirectory("kvctl-backup")
        let db = ["--db", dir.file("db")]
        let first = (0..<3000).map { "a\($0)\tfirst \($0)" }.joined(separator: "\n")
        #expect(try kvctl(db + ["import"], stdin: Array(first.utf8)).status == 0)
        let cp = try kvctl(db + ["checkpoint", "--to", dir.file("cp")])
        #expect(cp.status == 0 && cp.text.contains("hard-linked"), "\(cp.text)")
        #expect(try kvctl(["--db", dir.file("cp"), "count"]).text == "3000\n")
        #expect(try kvctl(db + ["checkpoint", "--to", dir.file("cp")]).status != 0, "an existing target is refused")

        let b1 = try kvctl(db + ["backup", "--to", dir.file("backups")])
        #expect(b1.status == 0, "\(b1.text)")
        #expect(b1.text.contains("backup 1:") && b1.text.contains("reused 0 "), "\(b1.text)")
        let second = (0..<1000).map { "b\($0)\tsecond \($0)" }.joined(separator: "\n")
        #expect(try kvctl(db + ["import"], stdin: Array(second.utf8)).status == 0)
        let b2 = try kvctl(db + ["backup", "create", "--to", dir.file("backups")])
        #expect(b2.status == 0 && b2.text.contains("backup 2:"), "\(b2.text)")
        #expect(!b2.text.contains("reused 0 "), "the first backup's tables are shared: \(b2.text)")
        let list = try kvctl(["backup", "list", dir.file("backups")]).text.split(separator: "\n")
        #expect(list.count == 3 && list[1].hasPrefix("1\t") && list[2].hasPrefix("2\t"), "\(list)")
        #expect(try kvctl(["backup", "verify", dir.file("backups")]).status == 0)
        #expect(try kvctl(["backup", "restore", dir.file("backups"), "1", "--to", dir.file("r1")]).status == 0)
        #expect(try kvctl(["backup", "restore", dir.file("backups"), "--to", dir.file("r2")]).status == 0)  // the newest
        #expect(try kvctl(["--db", dir.file("r1"), "count"]).text == "3000\n")
        #expect(try kvctl(["--db", dir.file("r2"), "count"]).text == "4000\n")
        #expect(try kvctl(["--db", dir.file("r2"), "get", "b999"]).text == "second 999\n")
        #expect(try kvctl(["--db", dir.file("r2"), "verify"]).status == 0)

        // A flipped byte in a shared table: verify names it and exits 3.
        let shared = try FileManager.default.contentsOfDirectory(atPath: dir.file("backups/shared")).sorted()
        let victim = dir.file("backups/shared/" + shared[0])
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: victim)))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        let damaged = try kvctl(["backup", "verify", dir.file("backups")])
        #expect(damaged.status == 3 && damaged.text.contains(shared[0]), "\(damaged.text)")
        #expect(try kvctl(["backup", "restore", dir.file("backups"), "1", "--to", dir.file("r3")]).status == 3)

        // Through a server: SAVE there, then the checkpoint moved to --to.
        var config = ServerConfig()
        config.port = 0
        config.directory = dir.file("served")
        var quiet = Logger(label: "kvctl-test")
        quiet.logLevel = .critical
        let server = try KVServer.start(config, logger: quiet)
        defer { server.shutdown() }
        let via = ["--server", "127.0.0.1:\(server.port)"]
        #expect(try kvctl(via + ["import"], stdin: Array(first.utf8)).status == 0)
        let remote = try kvctl(via + ["checkpoint", "--to", dir.file("served-cp")])
        #expect(remote.status == 0 && remote.text.contains("sequence 3001"), "\(remote.text)")
        #expect(try kvctl(["--db", dir.file("served-cp"), "count"]).text == "3000\n")
        #expect(try kvctl(via + ["backup", "--to", dir.file("served-backups")]).status == 0)
        #expect(try kvctl(["backup", "verify", dir.file("served-backups")]).status == 0)
    }

    @Test func serverModeGivesTheSameOutputAsTheDirectory() throws {
        let serverDir = TemporaryDirectory("kvctl-server")
        let plainDir = TemporaryDirectory("kvctl-plain")
        var config = ServerConfig()
        config.port = 0
        config.directory = serverDir.path
        config.requirePassword = "pw"
        var quiet = Logger(label: "kvctl-test")
        quiet.logLevel = .critical
        let server = try KVServer.start(config, logger: quiet)
        defer { server.shutdown() }
        let address = "127.0.0.1:\(server.port)"
        let viaServer = ["--server", address, "--password", "pw"]
        let viaDir = ["--db", plainDir.path]
        // 2,500 records: server scans and exports page through RANGE 1,000 keys at a time.
        let input = (0..<2500).map { "item:\(String(format: "%04d", $0))\tvalue \($0)\\x00" }.joined(separator: "\n")
        for target in [viaServer, viaDir] {
            #expect(try kvctl(target + ["import"], stdin: Array(input.utf8)).status == 0)
            #expect(try kvctl(target + ["put", "--hex", "00ff01", "0a0d"]).status == 0)
        }
        let commands: [[String]] = [
            ["get", "item:0042"], ["get", "--hex", "00ff01"], ["get", "missing"],
            ["scan", "--prefix", "item:1", "--limit", "5"], ["scan", "--from", "item:2490", "--format", "json"],
            ["scan", "--reverse", "--limit", "3", "--keys-only"], ["scan", "--reverse", "--limit", "2100", "--keys-only"],
            ["count"], ["count", "--prefix", "item:2"],
            ["export"], ["delete", "item:0000"], ["delete", "item:0000"], ["delete-range", "--from", "item:03", "--to", "item:04"],
            ["count"],
        ]
        for c in commands {
            let a = try kvctl(viaServer + c)
            let b = try kvctl(viaDir + c)
            #expect(a.status == b.status && a.stdout == b.stdout, "kvctl \(c.joined(separator: " ")): server \(a.status) \(a.text.prefix(200)) vs directory \(b.status) \(b.text.prefix(200))")
        }
        // The server holds the directory: kvctl says so and points at --server.
        let locked = try kvctl(["--db", serverDir.path, "get", "item:0001"])
        #expect(locked.status == 5 && locked.stderr.contains("--server"))
        // A wrong password is refused clearly.
        let wrong = try kvctl(["--server", address, "--password", "nope", "get", "item:0001"])
        #expect(wrong.status == 5 && wrong.stderr.contains("refused the password"))
        // No server there: exit 4.
        let none = try kvctl(["--server", "127.0.0.1:1", "get", "x"])
        #expect(none.status == 4)
    }

    @Test func inspectDecodesLogsTablesAndManifests() throws {
        let dir = TemporaryDirectory("kvctl-inspect")
        do {
            let store = try KVStore.open(at: dir.path)
            try store.put("alpha", "one")
            try store.put(Array("beta".utf8), Array("two".utf8), expiresAt: 4_000_000_000_000)
            try store.deleteRange(from: Array("c".utf8), to: Array("d".utf8))
            try store.flush()
            try store.put("gamma", "three")
            try store.delete("alpha")
            // Closing leaves the last writes in the log.
            try store.close()
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        let log = names.filter { $0.hasSuffix(".log") }.sorted().last!
        let wal = try kvctl(["inspect", "wal", dir.file(log)])
        #expect(wal.status == 0)
        #expect(wal.text.contains("put gamma = three") && wal.text.contains("delete alpha"))
        let table = names.first { $0.hasSuffix(".sst") }!
        let sst = try kvctl(["inspect", "sst", dir.file(table), "--entries"])
        #expect(sst.status == 0)
        #expect(sst.text.contains("entries: 2") && sst.text.contains("alpha @1 put = one"))
        #expect(sst.text.contains("beta @2 put-expiring = two  (expires at 4000000000000 ms)"))
        let sstJSON = try kvctl(["inspect", "sst", dir.file(table), "--json"])
        #expect(sstJSON.text.hasPrefix("{\"properties\":"))
        let manifest = names.first { $0.hasPrefix("MANIFEST-") }!
        let m = try kvctl(["inspect", "manifest", dir.file(manifest)])
        #expect(m.status == 0 && m.text.contains("+ L0 \(table)") && m.text.contains("range deletion [c .. d)"))
        // A damaged log record: exit 3, naming the file (before anything opens the store,
        // which would replay and retire the log).
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: dir.file(log))))
        let walLines = wal.text.split(separator: "\n").filter { $0.hasPrefix("offset ") }
        #expect(walLines.count >= 2)
        let pristine = bytes
        bytes[bytes.count - 3] ^= 0xff  // inside the last record: a torn tail, as a crash leaves
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file(log)))
        let torn = try kvctl(["inspect", "wal", dir.file(log)])
        #expect(torn.status == 0 && torn.stderr.contains("torn tail") && torn.stderr.contains(log), "\(torn.stderr)")
        bytes = pristine
        bytes[30] ^= 0xff  // inside the first record, with valid records after it: corruption
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file(log)))
        let bad = try kvctl(["inspect", "wal", dir.file(log)])
        #expect(bad.status == 3 && bad.stderr.contains(log), "\(bad.stderr)")
        try Data(pristine).write(to: URL(fileURLWithPath: dir.file(log)))
        let levels = try kvctl(["--db", dir.path, "levels"])
        #expect(levels.text.contains("level 0"), "\(levels.stderr)")
        let stats = try kvctl(["--db", dir.path, "stats"])
        #expect(stats.status == 0 && stats.text.contains("Level"))
    }

    @Test func destroyAsksUnlessYesAndRefusesAnOpenStore() throws {
        let parent = TemporaryDirectory("kvctl-destroy")
        let path = parent.file("store")
        #expect(try kvctl(["--db", path, "put", "k", "v"]).status == 0)
        let asked = try kvctl(["--db", path, "destroy"])  // stdin is not a terminal
        #expect(asked.status == 2 && asked.stderr.contains("--yes"))
        #expect(FileManager.default.fileExists(atPath: path + "/CURRENT"))
        do {
            let store = try KVStore.open(at: path)
            let refused = try kvctl(["--db", path, "destroy", "--yes"])
            #expect(refused.status == 5 && refused.stderr.contains("locked"))
            try store.close()
        }
        let done = try kvctl(["--db", path, "destroy", "--yes"])
        #expect(done.status == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
