import ArgumentParser
import KVClient
import KVStore

#if canImport(Glibc)
import Glibc
#endif

struct Checkpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a consistent, openable copy of a store while it is in use.",
        discussion: """
            With --db the store is opened here (no server may have it); with --server the
            server makes the checkpoint (SAVE) in its checkpoint directory and it is moved to
            --to, so kvctl must run on the server's machine. Tables are hard-linked where the
            file system allows. The copy holds every write acknowledged before the command
            began. Open it as a store, or back it up.
            Example: kvctl --server 127.0.0.1:6380 checkpoint --to /backups/cp-monday
            """)

    @OptionGroup var target: TargetOptions
    @Option(help: ArgumentHelp("Directory to create (must not exist).", valueName: "dir")) var to: String

    func run() throws {
        let info = try Self.make(target, to: to)
        Terminal.out("checkpoint \(info.path): \(info.tables) tables (\(info.linkedTables) hard-linked), \(info.tableBytes) bytes, sequence \(info.lastSequence)")
    }

    /// A checkpoint of the target at `to`.
    static func make(_ target: TargetOptions, to: String) throws -> CheckpointInfo {
        if let server = try target.openServer() {
            try server.call([Array("SAVE".utf8)])
            let info = try server.call([Array("INFO".utf8), Array("persistence".utf8)]).string ?? ""
            func field(_ name: String) -> String? {
                info.split(separator: "\r\n").first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)) }
            }
            guard let path = field("last_checkpoint_path"), !path.isEmpty else {
                throw KVCtlError.failed("server \(server.address) made no checkpoint (INFO persistence has no last_checkpoint_path)")
            }
            guard access(to, F_OK) != 0 else { throw KVCtlError.usage("\(to) already exists") }
            guard rename(path, to) == 0 else {
                throw KVCtlError.io("moving the server's checkpoint \(path) to \(to): \(String(cString: strerror(errno))) — run kvctl on the server's machine and file system, or use the checkpoint in place")
            }
            func number(_ name: String) -> Int64 { field(name).flatMap { Int64($0) } ?? 0 }
            return CheckpointInfo(
                path: to, lastSequence: UInt64(number("last_checkpoint_sequence")), tables: Int(number("last_checkpoint_tables")),
                linkedTables: Int(number("last_checkpoint_linked_tables")), tableBytes: number("last_checkpoint_table_bytes"))
        }
        let dir = try target.requireDirectory("checkpoint")
        do {
            let store = try KVStore.open(at: dir, options: { var o = Options(); o.createIfMissing = false; return o }())
            defer { try? store.close() }
            return try store.checkpoint(to: to)
        } catch { throw KVCtlError.from(error, directory: dir) }
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Incremental, checksummed backups: create (the default), list, verify, restore.",
        discussion: """
            A backup directory holds many backups; a table already backed up (same name,
            size and CRC32C) is not copied again, so each backup after the first copies only
            the tables the store wrote since. Every file is checksummed as copied, and again
            by verify and restore.
              kvctl --db ./data backup --to /backups/kv          (or --server HOST:PORT)
              kvctl backup list /backups/kv
              kvctl backup verify /backups/kv 3
              kvctl backup restore /backups/kv 3 --to ./restored
            """,
        subcommands: [BackupCreate.self, BackupList.self, BackupVerify.self, BackupRestore.self],
        defaultSubcommand: BackupCreate.self)
}

struct BackupCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Back up a store (through a checkpoint) into a backup directory.")

    @OptionGroup var target: TargetOptions
    @Option(help: ArgumentHelp("The backup directory (created if missing).", valueName: "dir")) var to: String

    func run() throws {
        let staging = to + "/.checkpoint-\(getpid())"
        var st = stat()
        if stat(to, &st) != 0 && mkdir(to, 0o755) != 0 {
            throw KVCtlError.io("cannot create \(to): \(String(cString: strerror(errno)))")
        }
        _ = try Checkpoint.make(target, to: staging)
        defer { removeCheckpoint(staging) }
        let info: BackupInfo
        do { info = try Backups.create(from: staging, into: to, createdMillis: nowMillis()) } catch { throw KVCtlError.from(error) }
        Terminal.out("backup \(info.id): \(info.files.count) files, \(info.totalBytes) bytes; copied \(info.copiedFiles) files (\(info.copiedBytes) bytes), reused \(info.files.count - info.copiedFiles) from earlier backups; sequence \(info.lastSequence)")
    }
}

struct BackupList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the backups in a backup directory.")

    @Argument(help: "The backup directory.") var backups: String

    func run() throws {
        let all: [BackupInfo]
        do { all = try Backups.list(backups) } catch { throw KVCtlError.from(error) }
        Terminal.out("id\tcreated_unix_ms\tsequence\tfiles\tbytes")
        for b in all { Terminal.out("\(b.id)\t\(b.createdMillis)\t\(b.lastSequence)\t\(b.files.count)\t\(b.totalBytes)") }
    }
}

struct BackupVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-read every file of a backup (all backups when no id) and check sizes and CRC32Cs; exit 3 on damage.")

    @Argument(help: "The backup directory.") var backups: String
    @Argument(help: "Backup id (default: all).") var id: Int?

    func run() throws {
        var ids: [Int] = id.map { [$0] } ?? []
        if id == nil {
            do { ids = try Backups.list(backups).map(\.id) } catch { throw KVCtlError.from(error) }
        }
        var damaged = 0
        for id in ids {
            let problems: [String]
            do { problems = try Backups.verify(backups, id: id) } catch { throw KVCtlError.from(error) }
            for p in problems { Terminal.out(Terminal.red("corrupt: ") + "backup \(id): " + p) }
            if problems.isEmpty { Terminal.err("backup \(id): intact") }
            damaged += problems.isEmpty ? 0 : 1
        }
        if damaged > 0 { throw KVCtlError.corruption("\(damaged) damaged backup\(damaged == 1 ? "" : "s")") }
    }
}

struct BackupRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a backup into a new store directory (checksums checked as it copies).")

    @Argument(help: "The backup directory.") var backups: String
    @Argument(help: "Backup id (default: the newest).") var id: Int?
    @Option(help: ArgumentHelp("Directory to create (must not exist).", valueName: "dir")) var to: String

    func run() throws {
        do {
            guard let id = try id ?? Backups.list(backups).last?.id else { throw KVCtlError.notFound("no backups in \(backups)") }
            let info = try Backups.restore(backups, id: id, to: to)
            Terminal.out("restored backup \(id) into \(to): \(info.files.count) files, sequence \(info.lastSequence)")
        } catch let error as KVError {
            throw KVCtlError.from(error)
        }
    }
}

private func nowMillis() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
}

/// Removes a checkpoint directory kvctl made (its plain files, then it).
private func removeCheckpoint(_ path: String) {
    guard let names = try? PosixFileSystem().children(of: path) else { return }
    for name in names { unlink(path + "/" + name) }
    rmdir(path)
}
