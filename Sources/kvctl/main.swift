import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

// Our own entry point, for the exit statuses kvctl documents: ArgumentParser exits 64 on
// usage errors, we exit 2; failures carry their own status (KVCtlError.exitCode).
/// `kvctl --db DIR get KEY`: options written before the subcommand are moved after it,
/// where ArgumentParser looks for them (every subcommand that can use them declares them).
func reorderGlobalOptions(_ args: [String]) -> [String] {
    let withValue: Set<String> = ["--db", "--server", "--password", "--encoding", "--format"]
    let flags: Set<String> = ["--hex"]
    var globals: [String] = []
    var i = 0
    while i < args.count {
        let a = args[i]
        let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
        if withValue.contains(name) {
            globals.append(a)
            if !a.contains("="), i + 1 < args.count {
                globals.append(args[i + 1])
                i += 1
            }
            i += 1
        } else if flags.contains(a) {
            globals.append(a)
            i += 1
        } else {
            break
        }
    }
    guard !globals.isEmpty, i < args.count else { return args }
    var rest = Array(args[i...])
    let known = KVCtl.configuration.subcommands.map { $0._commandName } + ["help"]
    if !known.contains(rest[0]) {
        Terminal.err(Terminal.red("error: ") + "unknown command '\(rest[0])'. Commands: \(known.filter { $0 != "help" }.joined(separator: ", "))")
        Terminal.err("See 'kvctl help' or 'kvctl <command> --help'.")
        exit(2)
    }
    var at = 1  // after the subcommand
    if rest[0] == "inspect", rest.count > 1, ["wal", "sst", "manifest"].contains(rest[1]) { at = 2 }
    if rest[0] == "backup", rest.count > 1, ["create", "list", "verify", "restore"].contains(rest[1]) { at = 2 }
    rest.insert(contentsOf: globals, at: at)
    return rest
}

do {
    var command = try KVCtl.parseAsRoot(reorderGlobalOptions(Array(CommandLine.arguments.dropFirst())))
    do {
        try command.run()
        standardOutput.flush()
        exit(0)
    } catch let error as KVCtlError {
        standardOutput.flush()
        Terminal.err(Terminal.red("error: ") + error.description)
        if case .usage = error { Terminal.err("See 'kvctl help' or 'kvctl <command> --help'.") }
        exit(error.exitCode)
    } catch {
        let code = KVCtl.exitCode(for: error)
        if code == .success {
            KVCtl.exit(withError: error)
        }
        Terminal.err(KVCtl.fullMessage(for: error))
        exit(code == .validationFailure ? 2 : code.rawValue)
    }
} catch {
    let code = KVCtl.exitCode(for: error)
    if code == .success { KVCtl.exit(withError: error) }  // --help, --version
    Terminal.err(KVCtl.fullMessage(for: error))
    Terminal.err("See 'kvctl help' or 'kvctl <command> --help'.")
    exit(2)
}
