import Synchronization

/// The store's state and the code that changes it. `KVStore` is its public face.
///
/// Locking (why `@unchecked Sendable` is sound):
/// - `monitor` guards `writers`, `stickyError`, `closed` and the choice of commit leader.
/// - Only the current commit leader (the writer at the head of `writers`) touches `log` and
///   inserts into `memtable`, and it does so with `monitor` released; leadership passes under
///   the lock, so those accesses are serialized.
/// - `lastSequence` is atomic: readers load it without the lock to pick their snapshot.
/// - `memtable` itself is read lock-free (see `SkipList`).
final class Engine: @unchecked Sendable {
    let directory: String
    let options: Options
    let fileSystem: any FileSystem
    let infoLog: InfoLog
    let recoveryReport: RecoveryReport

    let monitor = Monitor()
    /// Broadcast when `writers` becomes empty (close waits for it).
    let queueDrained: Monitor.Condition
    var writers: [PendingWrite] = []
    var stickyError: KVError?
    var closed = false
    let isClosed = Atomic<Bool>(false)

    private(set) var memtable: Memtable
    var log: LogWriter
    let lastSequence: Atomic<UInt64>
    private let lock: FileLock

    private init(
        directory: String, options: Options, infoLog: InfoLog, lock: FileLock, memtable: Memtable,
        log: LogWriter, lastSequence: UInt64, report: RecoveryReport
    ) {
        self.directory = directory
        self.options = options
        self.fileSystem = options.fileSystem
        self.infoLog = infoLog
        self.lock = lock
        self.memtable = memtable
        self.log = log
        self.lastSequence = Atomic(lastSequence)
        self.recoveryReport = report
        self.queueDrained = Monitor.Condition(monitor)
    }

    /// Locks the directory, replays the logs and starts a fresh log.
    static func open(directory: String, options: Options) throws -> Engine {
        let fs = options.fileSystem
        if !fs.fileExists(directory) {
            guard options.createIfMissing else { throw KVError.notFound(path: directory) }
            try fs.createDirectory(directory)
        }
        let lock = try fs.lock(Path.join(directory, FileNames.lock))
        do {
            let infoLog = InfoLog(fileSystem: fs, directory: directory)
            var recovery = try Recovery(directory: directory, options: options, infoLog: infoLog)
            if options.errorIfExists && !recovery.logNumbers.isEmpty {
                throw KVError.alreadyExists(path: directory)
            }
            try recovery.run()
            let logNumber = recovery.nextFileNumber
            let logPath = Path.join(directory, FileNames.log(logNumber))
            let log = try LogWriter(
                file: fs.openWritable(logPath, truncate: true), fileNumber: logNumber, purpose: .writeAheadLog)
            // The new log's directory entry must be durable before a synced write in it counts.
            try fs.syncDirectory(directory)
            infoLog.log(
                "opened \(directory): replayed \(recovery.report.logsReplayed) logs, "
                    + "\(recovery.report.operationsReplayed) operations, last sequence \(recovery.report.lastSequence); "
                    + "writing \(FileNames.log(logNumber))")
            return Engine(
                directory: directory, options: options, infoLog: infoLog, lock: lock,
                memtable: recovery.memtable, log: log, lastSequence: recovery.report.lastSequence,
                report: recovery.report)
        } catch {
            lock.unlock()
            throw error
        }
    }

    // MARK: Reads

    func get(_ key: UnsafeRawBufferPointer) throws -> [UInt8]? {
        guard !isClosed.load(ordering: .acquiring) else { throw KVError.closed }
        let sequence = lastSequence.load(ordering: .acquiring)
        switch memtable.get(key, sequence: sequence) {
        case let .found(value): return value
        case .deleted, .absent: return nil
        }
    }

    // MARK: Close

    func close() throws {
        monitor.lock()
        if closed {
            monitor.unlock()
            return
        }
        closed = true
        isClosed.store(true, ordering: .releasing)
        // Let queued writers finish: they were accepted before close began.
        while !writers.isEmpty { queueDrained.wait() }
        let failed = stickyError
        monitor.unlock()

        defer {
            infoLog.log("closed")
            infoLog.close()
            lock.unlock()
        }
        if failed == nil {
            try log.sync()
        }
        try log.close()
    }
}
