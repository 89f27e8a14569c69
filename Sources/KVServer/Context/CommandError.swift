import KVStore

/// An error reply: the text after `-`, starting with its code (`ERR`, `WRONGPASS`, …).
package struct CommandError: Error {
    package let text: String
    /// Not an answer: a non-blocking read needed the disk, so the command must run again
    /// on a thread that may wait. Commands read before they write, so nothing has changed.
    var wouldBlock = false

    init(_ text: String) { self.text = text }

    static let mustWait: CommandError = {
        var e = CommandError("ERR internal: read would block")
        e.wouldBlock = true
        return e
    }()

    static func err(_ message: String) -> CommandError { CommandError("ERR " + message) }
    static let syntax = CommandError.err("syntax error")
    static let notInteger = CommandError.err("value is not an integer or out of range")
    static let notFloat = CommandError.err("value is not a valid float")
    static let overflow = CommandError.err("increment or decrement would overflow")

    /// Redis's reply to a command it does not know, quoting the first arguments.
    package static func unknown(_ args: [[UInt8]]) -> CommandError {
        // Redis quotes arguments until the list reaches 128 bytes, each cut to what is left.
        var shown: [UInt8] = []
        for a in args.dropFirst() where shown.count < 128 {
            shown.append(UInt8(ascii: "'"))
            shown.append(contentsOf: a.prefix(128 - shown.count + 1))
            shown.append(contentsOf: Array("' ".utf8))
        }
        return .err("unknown command '\(String(decoding: (args.first ?? []).prefix(128), as: UTF8.self))', with args beginning with: \(String(decoding: shown, as: UTF8.self))")
    }

    package static func wrongArity(_ name: String) -> CommandError {
        .err("wrong number of arguments for '\(name)' command")
    }

    /// An engine failure as a reply. A store that turned read-only after a failed write is
    /// Redis's MISCONF situation: the client learns writes are refused, and why.
    static func store(_ error: KVError) -> CommandError {
        switch error {
        case .readOnly(let reason):
            return CommandError("MISCONF the store refuses writes after a failed write (\(reason)); fix the cause and restart kvserver")
        case .invalidArgument(let what):
            return .err(what)
        case .closed:
            return .err("the store is shutting down")
        case .wouldBlock:
            return .mustWait
        default:
            return .err("storage error: \(error)")
        }
    }
}
