import Foundation
import KVClient
import KVTestSupport
import Testing

/// Debian's own redis-cli and redis-benchmark against the server: the tools work unchanged.
/// `make test` installs redis-tools when it is missing.
@Suite struct RedisToolsTests {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `tool` with `arguments` (stdin from `input`), killing it after `timeout` seconds.
    func run(_ tool: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil, timeout: Double = 60) throws -> Output {
        let r = try runProcess(tool, arguments, stdin: Array((input ?? "").utf8), environment: environment, timeout: timeout)
        return Output(status: r.status, stdout: r.text, stderr: r.stderr)
    }

    func tool(_ name: String) throws -> String {
        let path = "/usr/bin/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestError(description: "\(name) is not installed: `make test` installs Debian's redis-tools")
        }
        return path
    }

    @Test func redisCliOneShotCommands() throws {
        let t = try TestServer("redis-cli")
        let cli = try tool("redis-cli")
        let port = String(t.port)
        #expect(try run(cli, ["-p", port, "SET", "greeting", "hello world"]).stdout == "OK\n")
        #expect(try run(cli, ["-p", port, "GET", "greeting"]).stdout == "hello world\n")
        #expect(try run(cli, ["-p", port, "INCRBY", "n", "5"]).stdout == "5\n")
        #expect(try run(cli, ["-p", port, "MSET", "a", "1", "b", "2"]).stdout == "OK\n")
        #expect(try run(cli, ["-p", port, "RANGE", "a", "c"]).stdout == "a\n1\nb\n2\n")
        #expect(try run(cli, ["-p", port, "--scan", "--pattern", "gr*"]).stdout == "greeting\n")
        #expect(try run(cli, ["-p", port, "GET", "missing"]).stdout == "\n")
        #expect(try run(cli, ["-p", port, "NOPE"]).stdout.hasPrefix("ERR unknown command 'NOPE'"))
        // Commands from stdin, one per line (`redis-cli < script`).
        let piped = try run(cli, ["-p", port], input: "SET x 1\nINCR x\nGET x\n")
        #expect(piped.stdout == "OK\n2\n2\n")
    }

    /// redis-cli -3 speaks RESP3 (HELLO 3 on connect) and prints maps, nulls and verbatim text.
    @Test func redisCliResp3OneShotAndPiped() throws {
        let t = try TestServer("redis-cli-3")
        let cli = try tool("redis-cli")
        let port = String(t.port)
        #expect(try run(cli, ["-3", "-p", port, "SET", "k", "v"]).stdout == "OK\n")
        #expect(try run(cli, ["-3", "-p", port, "GET", "missing"]).stdout == "\n")
        #expect(try run(cli, ["-3", "-p", port, "CONFIG", "GET", "maxclients"]).stdout == "maxclients 10000\n")
        #expect(try run(cli, ["-3", "-p", port, "HELLO", "3"]).stdout.contains("proto 3\n"))
        #expect(try run(cli, ["-3", "-p", port, "INFO", "server"]).stdout.hasPrefix("# Server\r\nredis_version:"))
        let piped = try run(cli, ["-3", "-p", port], input: "SET a 1\nMULTI\nINCR a\nGET a\nEXEC\n")
        #expect(piped.stdout == "OK\nOK\nQUEUED\nQUEUED\n2\n2\n")
    }

    /// redis-cli -3 on a terminal, with a transaction typed by hand.
    @Test func redisCliResp3InteractiveTransaction() throws {
        let t = try TestServer("redis-cli-3-tty")
        let cli = try tool("redis-cli")
        let script = try tool("script")
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "dumb"
        let session = "MULTI\nSET n 41\nINCR n\nEXEC\nGET nothing\nCONFIG GET maxclients\nexit\n"
        let out = try run(script, ["-qec", "\(cli) -3 -p \(t.port)", "/dev/null"], input: session, environment: env, timeout: 30)
        let text = out.stdout.replacingOccurrences(of: "\r", with: "")
        #expect(text.contains("(TX)> "), "\(text)")  // redis-cli marks an open transaction
        #expect(text.contains("1) OK\n2) (integer) 42"), "\(text)")
        #expect(text.contains("(nil)"))
        #expect(text.contains("1# \"maxclients\" => \"10000\""), "\(text)")  // a RESP3 map
    }

    /// redis-cli on a terminal: it asks COMMAND DOCS for its hints and HELP, then runs
    /// what is typed. `script` gives it a pseudo-terminal; TERM=dumb keeps the line editor
    /// from asking the terminal for its cursor position.
    @Test func redisCliInteractiveSession() throws {
        let t = try TestServer("redis-cli-tty") { $0.requirePassword = "pw" }
        let cli = try tool("redis-cli")
        let script = try tool("script")
        let session = "AUTH pw\nSET city Lisbon\nGET city\nRANGE a z\nHELP SET\nTTL city\nexit\n"
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "dumb"
        // With -a, redis-cli authenticates before asking COMMAND DOCS (without it, the DOCS
        // request gets NOAUTH, as from Redis, and redis-cli falls back to its own help text).
        let out = try run(script, ["-qec", "\(cli) -p \(t.port) -a pw --no-auth-warning", "/dev/null"], input: session, environment: env, timeout: 30)
        let text = out.stdout.replacingOccurrences(of: "\r", with: "")
        #expect(text.contains("127.0.0.1:\(t.port)> OK"))
        #expect(text.contains("> \"Lisbon\""))
        #expect(text.contains("1) \"city\"\n2) \"Lisbon\""))
        #expect(text.contains("Sets the string value of a key"))  // HELP from our COMMAND DOCS
        #expect(text.contains("(integer) -1"))
        #expect(!text.contains("NOAUTH"))
    }

    @Test func boundedRedisBenchmarkRunCompletesWithoutErrors() throws {
        let t = try TestServer("redis-benchmark")
        let bench = try tool("redis-benchmark")
        let out = try run(bench, ["-p", String(t.port), "-t", "ping,set,get,incr,mset", "-n", "20000", "-q"], timeout: 300)
        #expect(out.status == 0)
        let lines = out.stdout.split(separator: "\r").flatMap { $0.split(separator: "\n") }
            .filter { $0.contains("requests per second") }
        let names = Set(lines.compactMap { $0.split(separator: ":").first.map { $0.trimmingCharacters(in: .whitespaces) } })
        #expect(names == ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"], "\(out.stdout)")
        #expect(!out.stdout.contains("ERR") && !out.stderr.contains("ERR"), "\(out.stderr)")
        let c = try t.client()
        guard case .integer(let keys) = try c.call("DBSIZE") else {
            Issue.record("DBSIZE is not an integer")
            return
        }
        #expect(keys == 2)  // without -r: "key:__rand_int__" (SET, MSET) and "counter:__rand_int__"
    }
}
