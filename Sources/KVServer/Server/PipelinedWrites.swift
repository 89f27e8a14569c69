import KVStore

/// Plain writes (SET without options, MSET) from consecutive pipelined commands of one
/// connection, gathered into one batch: one group commit and one write(2) for all of them
/// instead of one each, and under `--fsync always` one trip to a blocking thread and one
/// fdatasync. The connection hands the batch to its loop's `WriteCoalescer`.
///
/// A command joins only through its own table entry (`Command.appendToBatch`), which builds
/// the same writes the command would. Confined to the connection's event loop.
struct PipelinedWrites {
    private(set) var batch = WriteBatch()
    private(set) var keys: [[UInt8]] = []
    /// Commands gathered (each answers `+OK` when the batch commits).
    private(set) var count = 0
    /// Which command each gathered write was (SET or MSET), for INFO commandstats.
    private var ids: [Int] = []
    /// Arguments above the engine's key or value limit go through the full command, so the
    /// error reaches that client alone instead of failing everyone's merged batch.
    private let argumentLimit: Int

    /// A batch past this size is handed over at once.
    static let maxBatchBytes = 1 << 20

    init(argumentLimit: Int) {
        self.argumentLimit = argumentLimit
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { batch.byteSize >= Self.maxBatchBytes }

    /// Adds `command` when it is a plain write these arguments allow; false otherwise.
    mutating func append(_ command: Command?, _ args: [[UInt8]]) -> Bool {
        guard let command, let append = command.appendToBatch, command.arityAllows(args.count),
              args.allSatisfy({ $0.count <= argumentLimit }), append(args, &batch) else { return false }
        keys.append(contentsOf: command.keys(in: args))
        count += 1
        ids.append(command.id)
        return true
    }

    /// The gathered writes, handed to the coalescer; the ids stay until they are answered.
    mutating func take() -> (batch: WriteBatch, keys: [[UInt8]], count: Int) {
        defer {
            batch.removeAll()
            keys.removeAll(keepingCapacity: true)
            count = 0
        }
        return (batch, keys, count)
    }

    /// The command ids of the writes just committed.
    mutating func takeAnsweredIDs() -> [Int] {
        defer { ids.removeAll(keepingCapacity: true) }
        return ids
    }
}
