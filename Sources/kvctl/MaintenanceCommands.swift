import ArgumentParser
import KVCollections
import KVStore

#if canImport(Glibc)
import Glibc
#endif

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compact a key range (or everything) down the levels now.",
        discussion: "Drops overwritten, deleted and expired data. Example: kvctl --db ./data compact --from a --to m")

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @Option(help: ArgumentHelp("First key (inclusive).", valueName: "key")) var from: String?
    @Option(help: ArgumentHelp("Last key (inclusive).", valueName: "key")) var to: String?

    func run() throws {
        let enc = try encoding.byteEncoding()
        let dir = try target.requireDirectory("compact")
        let t = try DirectoryTarget(path: dir)
        defer { try? t.close() }
        let started = Terminal.now()
        let before = t.store.statistics().liveTableBytes
        do { try t.store.compactRange(from: try from.map { try enc.decode($0) }, to: try to.map { try enc.decode($0) }) } catch let e as KVError {
            throw KVCtlError.from(e)
        }
        let after = t.store.statistics().liveTableBytes
        Terminal.err("compacted in \(String(format3: Terminal.now() - started)) s: table bytes \(before) → \(after)")
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read every block and record, check every checksum; exit 3 if anything is damaged.",
        discussion: """
            Checks every table (footer, index, filter, properties, every data block and entry),
            every log and MANIFEST record, and CURRENT, each problem printed with its file and
            offset — reading the files, without opening the store. A torn log tail (what a
            crash leaves) is reported as a note, not as damage. When the files are sound it
            then opens the store and checks the keyspace: each collection's element count
            equals its metadata's, a list's positions have no gap, a sorted set's members and
            score index agree, and every other element is garbage of an older version waiting
            for compaction; each broken invariant names its key (exit 3).
            Example: kvctl --db ./data verify
            """)

    @OptionGroup var target: TargetOptions
    @Flag(help: "As JSON.") var json = false

    func run() throws {
        let dir = try target.requireDirectory("verify")
        let report: VerifyReport
        do { report = try Verifier.verify(directory: dir) } catch { throw KVCtlError.from(error) }
        if json {
            let findings = report.findings.map {
                "{\"file\":\(jsonString($0.file)),\"offset\":\($0.offset),\"reason\":\(jsonString($0.reason)),\"corruption\":\($0.isCorruption)}"
            }
            Terminal.out("{\"tables\":\(report.tablesChecked),\"blocks\":\(report.blocksChecked),\"entries\":\(report.entriesChecked),"
                + "\"logs\":\(report.logsChecked),\"log_records\":\(report.logRecordsChecked),\"manifests\":\(report.manifestsChecked),"
                + "\"findings\":[\(findings.joined(separator: ","))]}")
        } else {
            for f in report.findings {
                Terminal.out((f.isCorruption ? Terminal.red("corrupt: ") : "note: ") + f.description)
            }
            Terminal.err("checked \(report.tablesChecked) tables (\(report.blocksChecked) blocks, \(report.entriesChecked) entries), "
                + "\(report.logsChecked) logs (\(report.logRecordsChecked) records), \(report.manifestsChecked) MANIFESTs")
        }
        let corrupt = report.corruptFiles
        if !corrupt.isEmpty {
            throw KVCtlError.corruption("\(corrupt.count) damaged file\(corrupt.count == 1 ? "" : "s"): \(corrupt.joined(separator: ", "))")
        }
        let keyspace = try Self.verifyKeyspace(dir)
        if json {
            let problems = keyspace.problems.map { "{\"key\":\(jsonString(ByteEncoding.escaped.encode($0.key))),\"problem\":\(jsonString($0.problem))}" }
            Terminal.out("{\"keyspace\":{\"strings\":\(keyspace.strings),\"collections\":\(keyspace.collections),\"elements\":\(keyspace.elements),"
                + "\"garbage\":\(keyspace.garbage),\"problems\":[\(problems.joined(separator: ","))]}}")
        } else {
            for p in keyspace.problems { Terminal.out(Terminal.red("broken: ") + "key \(ByteEncoding.escaped.encode(p.key)): \(p.problem)") }
            Terminal.err("keyspace: \(keyspace.strings) strings, \(keyspace.collections) collections (\(keyspace.elements) elements), "
                + "\(keyspace.garbage) elements of dropped collections awaiting compaction")
        }
        if !keyspace.isClean {
            throw KVCtlError.corruption("\(keyspace.problems.count) broken keyspace invariant\(keyspace.problems.count == 1 ? "" : "s"), first at key \(ByteEncoding.escaped.encode(keyspace.problems[0].key))")
        }
        if !json { Terminal.err("no damage found") }
    }

    /// The keyspace's invariants, with the store opened (its files are known sound).
    static func verifyKeyspace(_ dir: String) throws -> KeyspaceReport {
        var options = Options()
        options.createIfMissing = false
        Keyspace.install(in: &options)
        let store: KVStore
        do { store = try KVStore.open(at: dir, options: options) } catch { throw KVCtlError.from(error) }
        defer { try? store.close() }
        do { return try Keyspace.verify(store) } catch { throw KVCtlError.from(error) }
    }
}

struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the MANIFEST from the tables and logs that can be read.",
        discussion: """
            As LevelDB's RepairDB: every readable table is kept (damaged ones are salvaged
            block by block), every log is replayed into a new table, range deletions are
            recovered from readable MANIFEST records, and a new MANIFEST lists it all; then
            the store is fully compacted. Damaged files and replayed logs are moved to
            lost/ in the directory, never deleted. Reports what was lost.
            Example: kvctl --db ./data repair
            """)

    @OptionGroup var target: TargetOptions

    func run() throws {
        let dir = try target.requireDirectory("repair")
        let report: RepairReport
        do { report = try Repairer.repair(directory: dir) } catch { throw KVCtlError.from(error) }
        for t in report.tablesKept { Terminal.out("kept \(t)") }
        for t in report.tablesSalvaged { Terminal.out("salvaged \(t.file): \(t.entriesKept) entries kept, \(t.blocksLost) damaged blocks lost (original in lost/)") }
        for t in report.tablesLost { Terminal.out(Terminal.red("lost ") + "\(t.file): \(t.reason) (moved to lost/)") }
        for l in report.logsConverted {
            Terminal.out("replayed \(l.file): \(l.operations) operations" + (l.problem.map { "; \($0)" } ?? ""))
        }
        for m in report.manifestProblems { Terminal.out("MANIFEST damaged, range deletions after the damage are lost: \(m)") }
        Terminal.out("recovered \(report.rangeDeletionsRecovered) range deletions; last sequence \(report.lastSequence); \(report.entriesAfterRepair) keys after repair")
    }
}

struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a store's files (asks first unless --yes).",
        discussion: """
            Removes the store's own files (tables, logs, MANIFESTs, CURRENT, LOCK, LOG, lost/)
            and then the directory if nothing else is in it. Refuses while the store is open.
            Example: kvctl --db ./scratch destroy --yes
            """)

    @OptionGroup var target: TargetOptions
    @Flag(help: "Do not ask for confirmation.") var yes = false

    func run() throws {
        let dir = try target.requireDirectory("destroy")
        guard access(dir, F_OK) == 0 else { throw KVCtlError.notFound("no directory \(dir)") }
        // Opening takes the lock: a running server makes this fail with a clear message.
        do {
            var options = Options()
            options.createIfMissing = false
            let store = try KVStore.open(at: dir, options: options)
            try store.close()
        } catch {
            throw KVCtlError.from(error)
        }
        if !yes {
            guard isatty(0) == 1 else { throw KVCtlError.usage("destroy asks for confirmation on a terminal; pass --yes to skip it") }
            FDWriter.writeAll(2, Array("Delete every KVStore file in \(dir)? Type 'yes' to confirm: ".utf8))
            guard let line = readLine(), line.trimmingCharacters() == "yes" else {
                Terminal.err("not destroyed")
                throw KVCtlError.failed("cancelled")
            }
        }
        var removed = 0
        try removeStoreFiles(dir, &removed)
        Terminal.err("removed \(removed) files from \(dir)")
    }

    private func removeStoreFiles(_ dir: String, _ removed: inout Int) throws {
        guard let d = opendir(dir) else { throw KVCtlError.io("cannot read \(dir): \(String(cString: strerror(errno)))") }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(d)
        for name in names where Self.isStoreFile(name) {
            let path = dir + "/" + name
            if name == "lost" {
                try removeStoreFiles(path, &removed)
                rmdir(path)
                continue
            }
            guard unlink(path) == 0 else { throw KVCtlError.io("cannot remove \(path): \(String(cString: strerror(errno)))") }
            removed += 1
        }
        rmdir(dir)  // only succeeds when nothing else is left
    }

    static func isStoreFile(_ name: String) -> Bool {
        if ["CURRENT", "LOCK", "LOG", "LOG.old", "lost"].contains(name) { return true }
        if name.hasPrefix("MANIFEST-") { return true }
        for suffix in [".sst", ".log", ".dbtmp"] where name.hasSuffix(suffix) {
            return name.dropLast(suffix.count).allSatisfy { $0.isNumber }
        }
        return false
    }
}

extension String {
    func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed())
    }
}
