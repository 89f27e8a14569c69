/// What `KVStore.open` found and did while replaying the write-ahead logs. The same facts
/// are written to the store's `LOG` file.
public struct RecoveryReport: Sendable, Equatable {
    /// A log whose end was cut short by a crash: the incomplete record was dropped and the
    /// file truncated to its last complete record. Nothing acknowledged is lost this way
    /// unless the write was unsynced and the machine lost power.
    public struct TornTail: Sendable, Equatable {
        /// The log's path.
        public var file: String
        /// Offset of the first dropped byte; the file now ends here.
        public var offset: Int64
        /// Bytes dropped from the end.
        public var droppedBytes: Int64
        /// What was wrong at the dropped record (a checksum, a length, zeros).
        public var reason: String
    }

    /// Logs replayed into the memtable.
    public var logsReplayed = 0
    /// Write batches and individual operations replayed.
    public var batchesReplayed = 0
    /// Operations (puts, deletes, range deletions) in those batches.
    public var operationsReplayed = 0
    /// Highest sequence number found.
    public var lastSequence: UInt64 = 0
    /// Logs cut short by a crash, and what was dropped from each.
    public var tornTails: [TornTail] = []
    /// Logs that began after a gap in sequence numbers (their predecessor lost its tail), so
    /// replaying them would break the rule that the store is a prefix of its history. They
    /// are moved to the `lost/` subdirectory, not deleted.
    public var logsSetAside: [String] = []

    /// An empty report.
    public init() {}
}
