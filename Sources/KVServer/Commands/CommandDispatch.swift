import KVStore

/// The rules every request meets on its way to its command, in one place for the connection
/// handler and the fuzz target: after MULTI a request is queued (unless it is a transaction
/// control command); an unknown command, a client that has not authenticated and a wrong
/// number of arguments are answered here; otherwise the command runs, and an error replaces
/// whatever part of a reply it had written. Where it runs is `startsOnThread`'s answer.
package enum CommandDispatch {
    /// What became of a request at admission.
    package enum Admission {
        /// Checks passed: run it.
        case run(Command)
        /// Answered without running: queued after MULTI (`queued` true), or refused (the
        /// reply is written; `command` is nil for an unknown one).
        case answered(command: Command?, queued: Bool)
    }

    /// How a run ended.
    package enum Outcome: Sendable, Equatable {
        case answered
        /// Answered with an error.
        case failed
        /// Nothing written and nothing changed: on the event loop it would have waited (a read
        /// needing the disk, a lock held elsewhere, a write the engine cannot take at once).
        case mustWait
    }

    /// Admits one request: queues it after MULTI, or refuses it with a reply, or hands back
    /// the command to run.
    package static func admit(
        _ server: ServerContext, _ session: inout Session, _ command: Command?, _ args: [[UInt8]],
        _ out: inout RESPReplyWriter
    ) -> Admission {
        let mark = out.writerIndex
        let mode = session.replies
        let admission = check(server, &session, command, args, &out)
        if case .answered = admission { holdBackReply(mode, command, &session, &out, from: mark) }
        return admission
    }

    private static func check(
        _ server: ServerContext, _ session: inout Session, _ command: Command?, _ args: [[UInt8]],
        _ out: inout RESPReplyWriter
    ) -> Admission {
        if session.multi != nil, command?.transaction ?? .queued == .queued {
            let queued = TransactionCommands.enqueue(server, &session, command, args, &out)
            return .answered(command: command, queued: queued)
        }
        guard let command else {
            out.writeErrorReply(CommandError.unknown(args).text)
            return .answered(command: nil, queued: false)
        }
        if !session.authenticated && !command.allowedUnauthenticated {
            out.writeErrorReply("NOAUTH Authentication required.")
            return .answered(command: command, queued: false)
        }
        guard command.arityAllows(args.count) else {
            if command.transaction == .commit {
                // A refused EXEC also ends the transaction, in Redis's words.
                TransactionCommands.end(server, &session)
                out.writeErrorReply("EXECABORT Transaction discarded because of: wrong number of arguments for '\(command.name)' command")
            } else {
                out.writeErrorReply(CommandError.wrongArity(command.name).text)
            }
            return .answered(command: command, queued: false)
        }
        if let refusal = replicationRefusal(server.replication, command) {
            out.writeErrorReply(refusal)
            return .answered(command: command, queued: false)
        }
        if !session.resp3 && !session.subscriptions.isEmpty && !PubSubCommands.allowedWhileSubscribed.contains(command.name) {
            out.writeErrorReply(PubSubCommands.refusal(command.name))
            return .answered(command: command, queued: false)
        }
        return .run(command)
    }

    /// What replication refuses: every command but the `loading` ones while a replica loads a
    /// snapshot, writes on a read-only replica, writes while `min-replicas-to-write` is not met.
    static func replicationRefusal(_ replication: Replication, _ command: Command) -> String? {
        if replication.isLoading && !command.runsWhileLoading { return "LOADING Redis is loading the dataset in memory" }
        guard command.isWrite else { return nil }
        if replication.refusesWrites { return "READONLY You can't write against a read only replica." }
        if replication.lacksReplicas { return "NOREPLICAS Not enough good replicas to write." }
        return nil
    }

    /// CLIENT REPLY OFF or SKIP (`mode`, as it was before the command): takes back the reply
    /// written since `mark` — except Pub/Sub's pushes, and the OK of a CLIENT REPLY ON — and
    /// ends a SKIP after the one command it skipped.
    private static func holdBackReply(
        _ mode: ReplyMode, _ command: Command?, _ session: inout Session, _ out: inout RESPReplyWriter, from mark: Int
    ) {
        guard mode != .on else { return }
        let pushes = command.map { PubSubCommands.pushing.contains($0.name) } ?? false
        if !pushes && session.replies != .on { out.moveWriterIndex(to: mark) }
        if mode == .skipNext && session.replies == .skipNext { session.replies = .on }
    }

    /// Whether `command` starts on a blocking thread: its kind's rule (`Execution`), and for
    /// EXEC the same rule over each queued command — one rule for both.
    static func startsOnThread(_ command: Command, _ server: ServerContext, _ session: Session) -> Bool {
        let syncs = server.syncsEveryWrite
        guard command.transaction == .commit else { return command.execution.startsOnThread(syncsEveryWrite: syncs) }
        guard let queued = session.multi, !queued.failed else { return false }
        return queued.commands.contains { args in
            CommandTable.standard.lookup(args[0])?.execution.startsOnThread(syncsEveryWrite: syncs) ?? false
        }
    }

    /// Runs one admitted command; an error replaces whatever part of a reply it had written.
    package static func execute(
        _ command: Command, _ server: ServerContext, _ session: inout Session, _ args: [[UInt8]],
        _ out: inout RESPReplyWriter
    ) -> Outcome {
        let mark = out.writerIndex
        let mode = session.replies
        if !server.events.off { session.eventSource = EventSource(name: command.name, args: args) }
        let failure = withoutPartialReply(&out, { (out) throws(CommandError) in try command.run(server, &session, args, &out) })
        session.eventSource = nil
        guard let error = failure else {
            holdBackReply(mode, command, &session, &out, from: mark)
            return .answered
        }
        if error.wouldBlock && !session.mayWait { return .mustWait }
        out.writeErrorReply(error.text)
        holdBackReply(mode, command, &session, &out, from: mark)
        return .failed
    }

    /// Runs `answer`; if it throws, takes back whatever part of a reply it had written (an
    /// error reply must stand alone) and returns the error for the caller to report. Every
    /// command's reply is written through here.
    static func withoutPartialReply(
        _ out: inout RESPReplyWriter, _ answer: (inout RESPReplyWriter) throws(CommandError) -> Void
    ) -> CommandError? {
        let mark = out.writerIndex
        do {
            try answer(&out)
            return nil
        } catch {
            out.moveWriterIndex(to: mark)
            return error
        }
    }
}
