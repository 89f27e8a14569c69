import KVCollections
import KVStore
import NIOCore

/// Consecutive pipelined reads of one key each (GET) from one connection, read with one
/// multi-get: the store's state is taken once for the run, and its commands skip the path a
/// lone command takes (admission, the runner, its completion), which cost a pipelined GET as
/// much as the read itself. Each command still answers in order with its own reply and
/// counts as itself in INFO commandstats, with an equal share of the run's time. A command
/// joins only through its table entry (`Command.answerFromEntry`).
///
/// The run is one view of the store, as if its reads happened at one instant between the
/// connection's writes before and after it (which are committed first: the handler hands its
/// pipelined writes over before anything else runs). On the event loop, if any key would need
/// the disk — or the read fails — nothing is answered here and the commands take the normal
/// path one by one, which moves such a read to a blocking thread or reports its error.
enum PipelinedReads {
    /// Reads gathered into one multi-get at most.
    static let maxRun = 64

    /// Answers `first` (already taken from `pending`) and the joinable commands right behind it;
    /// false, with nothing answered and `pending` unchanged, when they take the normal path.
    static func run(
        _ first: Command, _ firstArgs: [[UInt8]], pending: inout CircularBuffer<[[UInt8]]>, table: CommandTable,
        server: ServerContext, session: inout Session, out: inout RESPReplyWriter, counters: inout ConnectionCounters
    ) -> Bool {
        guard first.answerFromEntry != nil, first.arityAllows(firstArgs.count), !pending.isEmpty else { return false }
        var commands = [first]
        var requests = [firstArgs]
        for args in pending {
            guard commands.count < maxRun, let c = table.lookup(args[0]), c.answerFromEntry != nil, c.arityAllows(args.count) else { break }
            commands.append(c)
            requests.append(args)
        }
        guard commands.count > 1 else { return false }
        let start = MonotonicClock.nanoseconds()
        let entries: [MainEntry]
        do {
            entries = try server.db.entries(zip(commands, requests).map { $1[$0.firstKey] }, session)
        } catch {
            return false
        }
        pending.removeFirst(commands.count - 1)
        var failed = [Bool](repeating: false, count: commands.count)
        for i in commands.indices {
            guard let answer = commands[i].answerFromEntry,
                  let error = CommandDispatch.withoutPartialReply(&out, { (out) throws(CommandError) in try answer(entries[i], &session, &out) })
            else { continue }
            out.writeErrorReply(error.text)
            failed[i] = true
        }
        let share = (MonotonicClock.nanoseconds() - start) / commands.count
        for i in commands.indices {
            counters.tally.ran(commands[i].id, nanoseconds: share, failed: failed[i])
            server.telemetry.metrics?.latency.record(commands[i].id, nanoseconds: share)
            if server.telemetry.slowlog.isSlow(nanoseconds: share) {
                server.telemetry.slowlog.record(requests[i], nanoseconds: share, unixMillis: server.clock(), client: session.record)
            }
        }
        counters.commandsRun += commands.count - 1  // the first was counted when it was taken
        counters.lastCommand = commands[commands.count - 1].name
        return true
    }
}
