import Synchronization

/// The first failure of a write, a sync or a background job. Once set, the store refuses
/// writes (`KVError.readOnly`) so that it never reports a failed write as a success; reads go
/// on. Reopening the store recovers everything that was synced.
///
/// Recording a failure wakes every thread waiting for background progress (a stalled writer,
/// `flush`, `compactRange`): the background thread takes no job after a failure, so they must
/// not wait for one. Whoever fails — the commit leader, the log's syncer, the background
/// thread — records here and nowhere else.
///
/// Its own small lock, taken last (nothing is called while it is held); `isSet` lets the
/// write path test it without the lock.
final class FailureLatch: Sendable {
    private let first = Mutex<KVError?>(nil)
    private let flag = Atomic<Bool>(false)
    private let infoLog: InfoLog
    private let progress: BackgroundProgress

    init(infoLog: InfoLog, progress: BackgroundProgress) {
        self.infoLog = infoLog
        self.progress = progress
    }

    var isSet: Bool { flag.load(ordering: .acquiring) }

    var failure: KVError? {
        guard isSet else { return nil }
        return first.locked { $0 }
    }

    /// The error a write gets once the store has failed.
    var readOnlyError: KVError? {
        failure.map { KVError.readOnly(reason: $0.description) }
    }

    /// Records `error` if it is the first (later ones follow from it and are dropped), and
    /// wakes the threads waiting for background progress.
    func record(_ error: KVError, while doing: String) {
        let isFirst = first.locked { current -> Bool in
            guard current == nil else { return false }
            current = error
            return true
        }
        guard isFirst else { return }
        flag.store(true, ordering: .releasing)
        infoLog.log("error \(doing), store is now read-only: \(error)")
        progress.advance()
    }
}
