import Dispatch
import KVStore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SAVE and BGSAVE: checkpoints of the live store (`KVStore.checkpoint(to:)`), one subfolder
/// of `checkpoint-dir` each, named `checkpoint-<unix ms>`; LASTSAVE and INFO persistence
/// report them. One at a time: a BGSAVE while one runs is refused, as in Redis.
final class Checkpoints: Sendable {
    struct Status: Sendable {
        var inProgress = false
        var lastSuccessMillis: UInt64 = 0
        var lastOK = true
        var lastError = ""
        var lastPath = ""
        var lastSequence: UInt64 = 0
        var lastTables = 0
        var lastLinkedTables = 0
        var lastTableBytes: Int64 = 0
        var lastDurationMillis = 0
        var saves = 0
        /// BGSAVE SCHEDULE arrived while one ran: start another when it ends.
        var scheduled = false
    }

    enum BackgroundStart { case started, scheduled, busy }

    private let store: KVStore
    let root: String
    private let clock: @Sendable () -> UInt64
    private let state = Mutex(Status())

    init(store: KVStore, root: String, clock: @escaping @Sendable () -> UInt64) {
        self.store = store
        // Absolute, so INFO's path works for a tool run from another directory.
        var cwd = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if !root.hasPrefix("/"), getcwd(&cwd, cwd.count) != nil {
            let base = String(decoding: cwd.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            self.root = base + "/" + (root.hasPrefix("./") ? String(root.dropFirst(2)) : root)
        } else {
            self.root = root
        }
        self.clock = clock
    }

    var status: Status { state.locked { $0 } }

    /// SAVE: a checkpoint now, on the calling (blocking) thread.
    func save() throws(CommandError) -> CheckpointInfo {
        guard begin() else { throw .err("Background save already in progress") }
        return try run()
    }

    /// BGSAVE: starts a checkpoint on its own thread. While one runs: busy, or with
    /// `schedule` (BGSAVE SCHEDULE), another starts when it ends.
    func startBackground(schedule: Bool) -> BackgroundStart {
        guard begin() else {
            guard schedule else { return .busy }
            state.locked { $0.scheduled = true }
            return .scheduled
        }
        runInBackground()
        return .started
    }

    private func runInBackground() {
        DispatchQueue.global(qos: .utility).async {
            _ = try? self.run()
            let again = self.state.locked { s -> Bool in
                guard s.scheduled, !s.inProgress else { return false }
                s.scheduled = false
                s.inProgress = true
                return true
            }
            if again { self.runInBackground() }
        }
    }

    private func begin() -> Bool {
        state.locked { s in
            if s.inProgress { return false }
            s.inProgress = true
            return true
        }
    }

    private func run() throws(CommandError) -> CheckpointInfo {
        let started = clock()
        let info: CheckpointInfo
        do { info = try checkpoint(named: "checkpoint-\(started)") } catch {
            state.locked { s in
                s.inProgress = false
                s.lastOK = false
                s.lastError = "\(error)"
            }
            throw .store(error)
        }
        let finished = clock()
        state.locked { s in
            s.inProgress = false
            s.lastOK = true
            s.lastError = ""
            s.lastSuccessMillis = finished
            s.lastPath = info.path
            s.lastSequence = info.lastSequence
            s.lastTables = info.tables
            s.lastLinkedTables = info.linkedTables
            s.lastTableBytes = info.tableBytes
            s.lastDurationMillis = Int(finished &- started)
            s.saves += 1
        }
        return info
    }

    /// A checkpoint in `root/base`, or `root/base-2` … when that is taken.
    private func checkpoint(named base: String) throws(KVError) -> CheckpointInfo {
        if mkdir(root, 0o755) != 0 && errno != EEXIST { throw KVError.io(operation: "mkdir", path: root, errno: errno) }
        func taken(_ name: String) -> Bool { access(root + "/" + name, F_OK) == 0 || access(root + "/" + name + ".tmp", F_OK) == 0 }
        var name = base
        var n = 1
        while taken(name) {
            n += 1
            name = "\(base)-\(n)"
        }
        return try store.checkpoint(to: root + "/" + name)
    }
}
