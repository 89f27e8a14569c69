/// What MULTI has queued on one connection, until EXEC or DISCARD.
///
/// Bounded: a client that queues without ever calling EXEC would otherwise hold unbounded
/// memory. Past either limit the transaction is flagged (EXEC answers EXECABORT) and its
/// queue is dropped at once, so the memory comes back before EXEC.
struct QueuedTransaction: Sendable {
    /// The commands, in order, as the client sent them (name first).
    private(set) var commands: [[[UInt8]]] = []
    /// Bytes of every argument queued.
    private(set) var bytes = 0
    /// A command failed to queue (unknown, wrong arity, over a limit): EXEC refuses the lot.
    private(set) var failed = false

    /// Adds a command; false (and the transaction flagged) when it would pass a limit.
    mutating func enqueue(_ args: [[UInt8]], limits: TransactionLimits) -> Bool {
        let size = args.reduce(0) { $0 + $1.count }
        guard commands.count < limits.maxCommands, bytes + size <= limits.maxBytes else {
            fail()
            return false
        }
        commands.append(args)
        bytes += size
        return true
    }

    /// Marks the transaction aborted and frees what it queued.
    mutating func fail() {
        failed = true
        commands = []
        bytes = 0
    }
}

/// How much one connection's MULTI may queue (`multi-max-commands`, `multi-max-bytes`).
public struct TransactionLimits: Sendable, Equatable {
    /// Commands between MULTI and EXEC.
    public var maxCommands = 100_000
    /// Bytes of their arguments. A thousand clients in MULTI at the default cost at most
    /// 64 GiB only if each fills its queue; the per-client query buffer is bounded the same way.
    public var maxBytes = 64 << 20

    /// The defaults: 100,000 commands or 64 MiB of arguments per transaction.
    public init() {}
}
