import ArgumentParser
import KVClient
import KVStore

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the engine's statistics: levels, compactions, stalls, caches.",
        discussion: "Example: kvctl --db ./data stats   (through a server: kvctl --server 127.0.0.1:6380 stats)")

    @OptionGroup var target: TargetOptions
    @Flag(help: "As JSON.") var json = false

    func run() throws {
        if let t = try target.openServer() {
            let text = try t.call([Array("INFO".utf8), Array("engine".utf8), Array("persistence".utf8)]).string ?? ""
            let lines = text.split(separator: "\r\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
            if json {
                Terminal.out("{" + lines.compactMap { l -> String? in
                    guard let c = l.firstIndex(of: ":") else { return nil }
                    return jsonString(String(l[..<c])) + ":" + jsonString(String(l[l.index(after: c)...]))
                }.joined(separator: ",") + "}")
            } else {
                lines.forEach { Terminal.out(String($0)) }
            }
            return
        }
        let dir = try target.requireDirectory("stats")
        let t = try DirectoryTarget(path: dir)
        defer { try? t.close() }
        let s = t.store.statistics()
        if json {
            var fields: [String] = []
            fields.append("\"levels\":[" + s.levels.map { "{\"level\":\($0.level),\"files\":\($0.files),\"bytes\":\($0.bytes),\"score\":\($0.score)}" }.joined(separator: ",") + "]")
            let counters: [(String, Any)] = [
                ("user_bytes_written", s.userBytesWritten), ("wal_bytes_written", s.walBytesWritten), ("wal_syncs", s.walSyncs),
                ("flushes", s.flushes), ("compactions", s.compactions), ("trivial_moves", s.trivialMoves), ("seek_compactions", s.seekCompactions),
                ("compaction_bytes_read", s.compactionBytesRead), ("compaction_bytes_written", s.compactionBytesWritten),
                ("write_amplification", s.writeAmplification), ("stall_seconds", s.stallSeconds), ("live_table_bytes", s.liveTableBytes),
                ("block_cache_hits", s.blockCacheHits), ("block_cache_misses", s.blockCacheMisses), ("last_sequence", s.lastSequence),
            ]
            fields += counters.map { "\"\($0.0)\":\($0.1)" }
            Terminal.out("{" + fields.joined(separator: ",") + "}")
        } else {
            Terminal.out(s.report)
        }
    }
}

struct Levels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the table files of each level with their key ranges and sizes.",
        discussion: "Example: kvctl --db ./data levels --json")

    @OptionGroup var target: TargetOptions
    @OptionGroup var encoding: EncodingOptions
    @Flag(help: "As JSON lines, one per file.") var json = false

    func run() throws {
        let enc = try encoding.byteEncoding()
        let dir = try target.requireDirectory("levels")
        let t = try DirectoryTarget(path: dir)
        defer { try? t.close() }
        let tables: [TableFileInfo]
        do { tables = try t.store.tables() } catch { throw KVCtlError.from(error) }
        if json {
            for f in tables {
                Terminal.out("{\"level\":\(f.level),\"file\":\(jsonString(tableName(f.number))),\"size\":\(f.size),"
                    + "\"smallest\":\(jsonString(enc.encode(f.smallestKey))),\"largest\":\(jsonString(enc.encode(f.largestKey))),"
                    + "\"smallest_sequence\":\(f.smallestSequence),\"largest_sequence\":\(f.largestSequence)}")
            }
            return
        }
        for level in 0..<7 {
            let files = tables.filter { $0.level == level }
            guard !files.isEmpty else { continue }
            let bytes = files.reduce(UInt64(0)) { $0 + $1.size }
            Terminal.out(Terminal.bold("level \(level): \(files.count) files, \(bytes) bytes"))
            for f in files {
                Terminal.out("  \(tableName(f.number))  \(f.size) bytes  [\(enc.encode(f.smallestKey)) .. \(enc.encode(f.largestKey))]  seq \(f.smallestSequence)-\(f.largestSequence)")
            }
        }
        if tables.isEmpty { Terminal.out("no tables (data may still be in the memtable and log)") }
    }
}

func tableName(_ n: UInt64) -> String {
    let d = String(n)
    return String(repeating: "0", count: max(0, 6 - d.count)) + d + ".sst"
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode one file: a write-ahead log, a table or a MANIFEST.",
        discussion: """
            Examples:
              kvctl inspect wal ./data/000003.log
              kvctl inspect sst ./data/000012.sst --entries
              kvctl inspect manifest ./data/MANIFEST-000005 --json
            """,
        subcommands: [InspectWAL.self, InspectSST.self, InspectManifest.self])
}

struct InspectWAL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal", abstract: "Every record of a log: sequence and operations.")

    @Argument(help: "The .log file.") var file: String
    @OptionGroup var encoding: EncodingOptions
    @Flag(help: "As JSON lines, one per record.") var json = false

    func run() throws {
        let enc = try encoding.byteEncoding()
        let log: InspectedLog
        do { log = try Inspection.log(file) } catch { throw KVCtlError.from(error) }
        for r in log.records {
            if json {
                let ops = r.operations.map { op in
                    var s = "{\"op\":\(jsonString(op.kind.rawValue)),\"key\":\(jsonString(enc.encode(op.key)))"
                    if let v = op.value { s += ",\"\(op.kind == .deleteRange ? "end" : "value")\":\(jsonString(enc.encode(v)))" }
                    if let e = op.expiresAt { s += ",\"expires_at\":\(e)" }
                    return s + "}"
                }
                Terminal.out("{\"offset\":\(r.offset),\"sequence\":\(r.sequence),\"operations\":[\(ops.joined(separator: ","))]}")
            } else {
                Terminal.out("offset \(r.offset)  sequence \(r.sequence)  \(r.operations.count) operation\(r.operations.count == 1 ? "" : "s")")
                for op in r.operations {
                    var s = "  \(op.kind.rawValue) \(enc.encode(op.key))"
                    if let v = op.value { s += op.kind == .deleteRange ? " .. \(enc.encode(v))" : " = \(enc.encode(v))" } else if op.kind == .deleteRange { s += " .. end" }
                    if let e = op.expiresAt { s += "  (expires at \(e) ms)" }
                    Terminal.out(s)
                }
            }
        }
        if let t = log.tornTail { Terminal.err("note: \(file): torn tail (what a crash leaves; recovery drops it): \(t)") }
        if log.reservedTail > 0 {
            Terminal.err("note: \(file): ends in \(log.reservedTail) bytes of reserved space (zeros; the log is open or its writer stopped without closing it)")
        }
        if !json { Terminal.err("\(log.records.count) records") }
        if let e = log.corruption { throw KVCtlError.from(e) }
    }
}

struct InspectSST: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sst", abstract: "A table's properties and index; with --entries, every entry.")

    @Argument(help: "The .sst file.") var file: String
    @OptionGroup var encoding: EncodingOptions
    @Flag(help: "Also list every entry (checksums verified).") var entries = false
    @Flag(help: "As JSON.") var json = false

    func run() throws {
        let enc = try encoding.byteEncoding()
        let t: InspectedTable
        do { t = try Inspection.table(file, entries: entries) } catch { throw KVCtlError.from(error) }
        let p = t.properties
        let props: [(String, String)] = [
            ("file_size", "\(t.size)"), ("entries", "\(p.entries)"), ("deletions", "\(p.deletions)"),
            ("data_blocks", "\(p.dataBlocks)"), ("raw_key_bytes", "\(p.rawKeyBytes)"), ("raw_value_bytes", "\(p.rawValueBytes)"),
            ("raw_data_size", "\(p.rawDataSize)"), ("stored_data_size", "\(p.storedDataSize)"), ("index_size", "\(p.indexSize)"),
            ("filter_size", "\(p.filterSize)"), ("compression", "\(p.compression)"), ("bloom_bits_per_key", "\(p.bloomBitsPerKey)"),
            ("smallest_sequence", "\(p.smallestSequence)"), ("largest_sequence", "\(p.largestSequence)"),
        ]
        if json {
            var s = "{\"properties\":{" + props.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",") + "}"
            s += ",\"index\":[" + t.index.map { "{\"last_key\":\(jsonString(enc.encode($0.lastKey))),\"offset\":\($0.offset),\"size\":\($0.size)}" }.joined(separator: ",") + "]"
            if entries {
                s += ",\"entries\":[" + t.entries.map { e in
                    var x = "{\"key\":\(jsonString(enc.encode(e.key))),\"sequence\":\(e.sequence),\"kind\":\(jsonString(e.kind)),\"value\":\(jsonString(enc.encode(e.value)))"
                    if let ex = e.expiresAt { x += ",\"expires_at\":\(ex)" }
                    return x + "}"
                }.joined(separator: ",") + "]"
            }
            Terminal.out(s + "}")
            return
        }
        Terminal.out(Terminal.bold("properties"))
        for (k, v) in props { Terminal.out("  \(k): \(v)") }
        Terminal.out(Terminal.bold("index (\(t.index.count) data blocks)"))
        for i in t.index { Terminal.out("  offset \(i.offset) size \(i.size)  last key \(enc.encode(i.lastKey)) @\(i.sequence)") }
        if entries {
            Terminal.out(Terminal.bold("entries (\(t.entries.count))"))
            for e in t.entries {
                var s = "  \(enc.encode(e.key)) @\(e.sequence) \(e.kind)"
                if e.kind != "delete" { s += " = \(enc.encode(e.value))" }
                if let ex = e.expiresAt { s += "  (expires at \(ex) ms)" }
                Terminal.out(s)
            }
        }
    }
}

struct InspectManifest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest", abstract: "Every version edit of a MANIFEST: files added and removed, counters.")

    @Argument(help: "The MANIFEST-NNNNNN file.") var file: String
    @OptionGroup var encoding: EncodingOptions
    @Flag(help: "As JSON lines, one per edit.") var json = false

    func run() throws {
        let enc = try encoding.byteEncoding()
        let m: InspectedManifest
        do { m = try Inspection.manifest(file) } catch { throw KVCtlError.from(error) }
        for e in m.edits {
            if json {
                var parts = ["\"offset\":\(e.offset)"]
                if let v = e.logNumber { parts.append("\"log_number\":\(v)") }
                if let v = e.nextFileNumber { parts.append("\"next_file_number\":\(v)") }
                if let v = e.lastSequence { parts.append("\"last_sequence\":\(v)") }
                parts.append("\"new_files\":[" + e.newFiles.map {
                    "{\"level\":\($0.level),\"file\":\(jsonString(tableName($0.number))),\"size\":\($0.size),\"smallest\":\(jsonString(enc.encode($0.smallestKey))),\"largest\":\(jsonString(enc.encode($0.largestKey)))}"
                }.joined(separator: ",") + "]")
                parts.append("\"deleted_files\":[" + e.deletedFiles.map { "{\"level\":\($0.level),\"file\":\(jsonString(tableName($0.number)))}" }.joined(separator: ",") + "]")
                parts.append("\"range_deletions\":[" + e.addedRangeDeletions.map {
                    "{\"start\":\(jsonString(enc.encode($0.start))),\"end\":\($0.end.map { jsonString(enc.encode($0)) } ?? "null"),\"sequence\":\($0.sequence)}"
                }.joined(separator: ",") + "]")
                Terminal.out("{" + parts.joined(separator: ",") + "}")
            } else {
                var head = "offset \(e.offset):"
                if let v = e.logNumber { head += " log \(v)" }
                if let v = e.nextFileNumber { head += " next-file \(v)" }
                if let v = e.lastSequence { head += " last-sequence \(v)" }
                Terminal.out(head)
                for f in e.newFiles { Terminal.out("  + L\(f.level) \(tableName(f.number)) \(f.size) bytes [\(enc.encode(f.smallestKey)) .. \(enc.encode(f.largestKey))]") }
                for d in e.deletedFiles { Terminal.out("  - L\(d.level) \(tableName(d.number))") }
                for r in e.addedRangeDeletions { Terminal.out("  range deletion [\(enc.encode(r.start)) .. \(r.end.map { enc.encode($0) + ")" } ?? "end]") @\(r.sequence)") }
                for r in e.removedRangeDeletions { Terminal.out("  range deletion @\(r) retired") }
            }
        }
        if !json { Terminal.err("\(m.edits.count) edits") }
        if let e = m.corruption { throw KVCtlError.from(e) }
    }
}
