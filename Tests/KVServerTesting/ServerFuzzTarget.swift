import KVCollections
import KVStore
import KVServer
import KVStoreTesting
import NIOCore
import Synchronization

/// The server's libFuzzer target (`make fuzz`, target `resp`) and the replay of its corpus in
/// the tests: arbitrary bytes as one client's input, through the request parser (inline and
/// multibulk, split across reads at a point the input chooses) and the command dispatch,
/// MULTI/EXEC/WATCH and HELLO 3 included, against a store in memory. Any error reply is fine;
/// a crash, a trap or a hang is a bug.
package enum ServerFuzzTarget {
    /// One server for a run of inputs: commands persist between inputs as they would between
    /// clients, which reaches more states than a fresh store each time. Every 64 inputs it
    /// starts over on an empty store in memory: every iterator sorts the memtable's range
    /// deletions and INFO walks every key, so a longer-lived store slows the fuzzer down about
    /// fourfold (docs/RELIABILITY.md, the `resp` row).
    private static let current = Mutex<(server: ServerContext?, runs: Int)>((nil, 0))

    private static func makeServer() -> ServerContext {
        var options = Options()
        Keyspace.install(in: &options)
        options.fileSystem = MemoryFileSystem()
        options.createIfMissing = true
        // A store that does not open would turn every input into a no-op that passes: trap.
        let store: KVStore
        do { store = try KVStore.open(at: "/fuzz", options: options) } catch { fatalError("the fuzz target's store did not open: \(error)") }
        var config = ServerConfig()
        config.storeOptions = options
        config.transactionLimits.maxCommands = 64
        // Values up to 4 KiB: past that, inputs only repeat the same loops over more bytes
        // (with 1 MiB the corpus filled with SETBIT/SETRANGE at large offsets followed by BITOP,
        // whose byte loop took over half the time). The price: memtables no longer fill within
        // a server's 64 inputs, so flushes and compactions are left to the engine's own tests
        // (docs/RELIABILITY.md, the `resp` row).
        config.limits.maxBulkLength = 4 << 10
        do { return try ServerContext(store: store, config: config) } catch { fatalError("the fuzz target's keyspace did not open: \(error)") }
    }

    package static func run(_ data: UnsafeRawBufferPointer) {
        let server: ServerContext = current.locked { state in
            state.runs += 1
            if let server = state.server, state.runs % 64 != 0 { return server }
            try? state.server?.store.close()
            let server = makeServer()
            state.server = server
            return server
        }
        guard let record = server.clients.register(address: "fuzz:1", localAddress: "fuzz:0", now: server.clock(), authenticated: true) else { return }
        defer { server.clients.remove(record.id) }
        var session = Session(record: record, authenticated: true)
        session.mayWait = true
        var parser = RESPRequestParser(limits: server.config.limits)
        var out = RESPReplyWriter(buffer: ByteBuffer())
        // The first byte picks where the input is cut in two reads.
        let split = data.isEmpty ? 0 : Int(data[0]) % max(data.count, 1)
        var buffer = ByteBuffer()
        for part in [data[0..<split], data[split...]] {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: part))
            var commands: [[[UInt8]]] = []
            let failed = (try? parser.parse(&buffer) { commands.append($0) }) == nil
            for args in commands.prefix(256) { dispatch(server, &session, args, &out) }
            out.buffer.clear()
            if failed { break }
        }
        TransactionCommands.end(server, &session)
    }

    /// What the connection handler does with one command (`CommandDispatch`'s rules), minus
    /// batching and threads: the session may wait, so everything runs here.
    private static func dispatch(_ s: ServerContext, _ c: inout Session, _ args: [[UInt8]], _ out: inout RESPReplyWriter) {
        let command = CommandTable.standard.lookup(args[0])
        // Side effects outside this process's store are not for fuzzing.
        if let name = command?.name, name == "shutdown" || name == "client" { return }
        if case .run(let command) = CommandDispatch.admit(s, &c, command, args, &out) {
            _ = CommandDispatch.execute(command, s, &c, args, &out)
        }
        // A blocking command that found nothing times out at once: the next input may push to
        // its key, and a waiter nobody reads from must not be served.
        BlockingCommands.abandon(s, &c)
        out.resp3 = c.resp3
    }

    /// Seed inputs: the shapes a client sends.
    package static let seeds: [(name: String, bytes: [UInt8])] = [
        ("hello3", "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
        ("multi", "MULTI\r\nSET a 1\r\nINCR a\r\nAPPEND a x\r\nGET a\r\nEXEC\r\n"),
        ("watch", "WATCH a b\r\nSET a 2\r\nMULTI\r\nGET a\r\nEXEC\r\nUNWATCH\r\n"),
        ("execabort", "MULTI\r\nNOPE x\r\nGET\r\nEXEC\r\nDISCARD\r\n"),
        ("flush-in-multi", "MSET r:1 a r:2 b\r\nMULTI\r\nDELRANGE r:1 r:2\r\nFLUSHDB\r\nSET z 1\r\nEXEC\r\n"),
        ("bits", "SETBIT b 100 1\r\nBITCOUNT b 0 -1 BIT\r\nBITPOS b 1 2\r\nBITOP NOT c b\r\nLCS b c IDX WITHMATCHLEN\r\n"),
        ("inline-quotes", "SET \"a\\x00b\" 'c d'\r\nGET \"a\\x00b\"\r\n"),
        ("reset", "HELLO 3 SETNAME x\r\nMULTI\r\nRESET\r\nINFO commandstats\r\n"),
        ("hash", "HSET h a 1 b 2\r\nHINCRBY h a 5\r\nHINCRBYFLOAT h b 0.5\r\nHGETALL h\r\nHRANDFIELD h -5 WITHVALUES\r\nHSCAN h 0 MATCH * COUNT 1\r\nHDEL h a\r\n"),
        ("set", "SADD s a b c\r\nSADD t b\r\nSINTERSTORE u s t\r\nSDIFF s t\r\nSPOP s 2\r\nSMOVE s t a\r\nSINTERCARD 2 s t LIMIT 1\r\nSSCAN s 0\r\n"),
        ("zset", "ZADD z 1 a 2 b (3 c\r\nZADD z GT CH INCR 5 a\r\nZRANGE z (1 +inf BYSCORE REV LIMIT 0 2 WITHSCORES\r\nZRANK z b\r\nZUNIONSTORE u 2 z z WEIGHTS 1 2 AGGREGATE MAX\r\nZREMRANGEBYRANK z 0 -2\r\nZRANGEBYLEX z - +\r\nZMPOP 1 z MIN COUNT 2\r\n"),
        ("list", "RPUSH l a b c d\r\nLINSERT l BEFORE c x\r\nLPOS l c RANK -1 MAXLEN 9\r\nLTRIM l 1 -2\r\nLMOVE l m LEFT RIGHT\r\nLREM l 0 x\r\nLSET l -1 z\r\nLRANGE l 0 -1\r\n"),
        ("blocking", "BLPOP none 0.01\r\nRPUSH none v\r\nMULTI\r\nBRPOP none 0\r\nBZPOPMIN z 0\r\nEXEC\r\nBLMOVE a b LEFT LEFT 0.001\r\n"),
        ("sort", "RPUSH n 3 1 2\r\nSORT n DESC LIMIT 0 2 STORE o\r\nSORT n ALPHA GET # BY nosort\r\nDUMP o\r\nTYPE o\r\nOBJECT ENCODING o\r\nCOPY o p\r\n"),
    ].map { ($0.0, Array($0.1.utf8)) }
}
