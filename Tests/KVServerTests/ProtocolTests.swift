import Foundation
import KVClient
import KVTestSupport
import NIOCore
import Testing

@testable import KVServer

/// The request parser on its own, then pipelining and hostile input over real sockets.
@Suite struct ProtocolTests {
    func parseAll(_ text: String, limits: RESPLimits = RESPLimits()) throws -> [[String]] {
        var parser = RESPRequestParser(limits: limits)
        var buffer = ByteBuffer(string: text)
        var out: [[String]] = []
        while let c = try parser.next(&buffer) { out.append(c.map { String(decoding: $0, as: UTF8.self) }) }
        return out
    }

    @Test func inlineCommandsFollowRedisQuotingRules() throws {
        #expect(try parseAll("SET greeting \"hello world\"\r\n") == [["SET", "greeting", "hello world"]])
        #expect(try parseAll("SET k 'it\\'s'\n") == [["SET", "k", "it's"]])
        #expect(try parseAll("ECHO \"a\\tb\\x41\\n\"\r\n") == [["ECHO", "a\tbA\n"]])
        #expect(try parseAll("  PING   \r\n\r\n\nPING\r\n") == [["PING"], ["PING"]])
        #expect(try parseAll("SET k \"\"\r\n") == [["SET", "k", ""]])
        for bad in ["SET k \"unterminated\r\n", "SET k \"a\"b\r\n", "SET k 'x\r\n"] {
            #expect(throws: RESPProtocolError(message: "unbalanced quotes in request")) { try parseAll(bad) }
        }
    }

    @Test func multibulkRequestsResumeAcrossReads() throws {
        let frame = Array("*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$11\r\nhello world\r\n*1\r\n$4\r\nPING\r\n".utf8)
        // Feed the frame one byte at a time: same two commands.
        var parser = RESPRequestParser(limits: RESPLimits())
        var buffer = ByteBuffer()
        var commands: [[String]] = []
        for b in frame {
            buffer.writeInteger(b)
            while let c = try parser.next(&buffer) { commands.append(c.map { String(decoding: $0, as: UTF8.self) }) }
        }
        #expect(commands == [["SET", "hello", "hello world"], ["PING"]])
        #expect(try parseAll("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n") == [["PING"]])
    }

    @Test func framingErrorsAreProtocolErrors() throws {
        #expect(throws: RESPProtocolError(message: "expected '$', got 'x'")) { try parseAll("*1\r\nx\r\n") }
        #expect(throws: RESPProtocolError(message: "invalid bulk length")) { try parseAll("*1\r\n$1099511627776\r\n") }
        #expect(throws: RESPProtocolError(message: "invalid bulk length")) { try parseAll("*1\r\n$-5\r\n") }
        #expect(throws: RESPProtocolError(message: "invalid multibulk length")) { try parseAll("*abc\r\n") }
        var small = RESPLimits()
        small.maxArguments = 4
        #expect(throws: RESPProtocolError(message: "invalid multibulk length")) { try parseAll("*5\r\n", limits: small) }
        let longLine = String(repeating: "a", count: (64 << 10) + 1)
        #expect(throws: RESPProtocolError(message: "too big inline request")) { try parseAll(longLine) }
        #expect(throws: RESPProtocolError(message: "too big mbulk count string")) { try parseAll("*" + longLine) }
        // A huge declared length is not allocated: the parser waits for the bytes.
        var parser = RESPRequestParser(limits: RESPLimits())
        var buffer = ByteBuffer(string: "*1\r\n$536870912\r\nabc")
        #expect(try parser.next(&buffer) == nil)
        #expect(buffer.capacity < 1 << 20)
    }

    @Test func tenThousandPipelinedCommandsAnswerInOrder() throws {
        let t = try TestServer("pipeline")
        let c = try t.client()
        var batch: [UInt8] = []
        for i in 0..<5_000 {
            batch += RESPConnection.encode([Array("SET".utf8), Array("key:\(i)".utf8), Array("value:\(i)".utf8)])
            batch += RESPConnection.encode([Array("GET".utf8), Array("key:\(i)".utf8)])
        }
        try c.send(raw: batch)
        for i in 0..<5_000 {
            #expect(try c.readReply() == .ok)
            let got = try c.readReply()
            if got != .text("value:\(i)") {
                Issue.record("reply \(2 * i + 1) is \(got), expected value:\(i)")
                return
            }
        }
        // Inline commands pipeline too (what `nc` and telnet send).
        try c.send(raw: String(repeating: "INCR n\r\n", count: 1000))
        for i in 1...1000 { #expect(try c.readReply() == .integer(i)) }
    }

    /// A run of pipelined GETs is read with one multi-get (`PipelinedReads`): each GET still
    /// answers in order with its own reply — a value, nil, WRONGTYPE, an expired key's nil —
    /// sees the connection's writes sent before it, and counts as a GET in INFO commandstats.
    @Test func runsOfPipelinedGetsAnswerEachInOrder() throws {
        let t = try TestServer("pipelined-gets")
        let c = try t.client()
        func command(_ words: String...) -> [UInt8] { RESPConnection.encode(words.map { Array($0.utf8) }) }
        var setup: [UInt8] = []
        for i in 0..<100 { setup += command("SET", "k\(i)", "v\(i)") }
        setup += command("HSET", "h", "f", "v") + command("SET", "x", "soon", "PX", "1000")
        try c.send(raw: setup)
        for _ in 0..<102 { #expect(!(try c.readReply()).isError) }
        t.clock.advance(by: 2000)
        var run: [UInt8] = []
        var expected: [RESPValue] = []
        for i in 0..<150 {
            run += command("GET", "k\(i)")
            expected.append(i < 100 ? .text("v\(i)") : .null)
        }
        run += command("GET", "h") + command("GET", "x") + command("GET", "k7", "extra")
        expected += [.error("WRONGTYPE Operation against a key holding the wrong kind of value"), .null,
                     .error("ERR wrong number of arguments for 'get' command")]
        // A write between runs: the GETs after it see it.
        run += command("SET", "k0", "new") + command("GET", "k0") + command("GET", "k1") + command("MGET", "k0", "k2")
        expected += [.ok, .text("new"), .text("v1"), .array([.text("new"), .text("v2")])]
        try c.send(raw: run)
        for (i, want) in expected.enumerated() {
            let got = try c.readReply()
            if got != want {
                Issue.record("reply \(i) is \(got), expected \(want)")
                return
            }
        }
        let stats = try #require(try c.call("INFO", "commandstats").string)
        let line = try #require(stats.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_get:") })
        #expect(line.hasPrefix("cmdstat_get:calls=154,"), "\(line)")  // 150 + h + x + the two after the SET
        #expect(line.hasSuffix(",failed_calls=1"), "\(line)")
        #expect(line.contains(",rejected_calls=1,"), "\(line)")  // the wrong arity
    }

    @Test func hostileInputNeverDisturbsOtherClients() throws {
        let t = try TestServer("hostile")
        let bystander = try t.client()
        try bystander.call("SET", "safe", "yes")

        // Random bytes: whatever they parse as, the server answers or closes; never crashes.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let c = try t.client()
            try c.send(raw: (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) })
            c.shutdownWrite()
            _ = c.isClosedByServer()
        }
        // A bulk length of 2^40: refused, connection closed, nothing allocated.
        let huge = try t.client()
        try huge.send(raw: "*1\r\n$1099511627776\r\n")
        #expect(try huge.readReply() == .error("ERR Protocol error: invalid bulk length"))
        #expect(huge.isClosedByServer())
        // An inline line of 1 MiB: refused once 64 KiB arrive without a newline.
        let inline = try t.client()
        try? inline.send(raw: [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20))
        #expect(try inline.readReply() == .error("ERR Protocol error: too big inline request"))
        #expect(inline.isClosedByServer())
        // 10,000 arguments: a legal command, answered.
        let wide = try t.client()
        var args: [[UInt8]] = [Array("MSET".utf8)]
        for i in 0..<4_999 { args += [Array("w\(i)".utf8), Array("\(i)".utf8)] }
        args.append(Array("EXISTS".utf8))  // 10,000 arguments with the name: odd pairs
        #expect(try wide.call(args) == .error("ERR wrong number of arguments for 'mset' command"))
        args.removeLast()
        #expect(try wide.call(args) == .ok)
        var exists: [[UInt8]] = [Array("EXISTS".utf8)]
        for i in 0..<9_999 { exists.append(Array("w\(i % 4_999)".utf8)) }
        #expect(try wide.call(exists) == .integer(9_999))
        // A half-sent frame, then disconnect.
        let half = try t.client()
        try half.send(raw: "*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100\r\nonly-some")
        half.shutdownWrite()
        #expect(half.isClosedByServer())
        // A frame that breaks the protocol mid-pipeline: earlier commands are answered first.
        let mixed = try t.client()
        try mixed.send(raw: "PING\r\n*1\r\n!oops\r\n")
        #expect(try mixed.readReply() == .simple("PONG"))
        #expect(try mixed.readReply() == .error("ERR Protocol error: expected '$', got '!'"))
        #expect(mixed.isClosedByServer())

        #expect(try bystander.call("GET", "safe") == .text("yes"))
        #expect(try bystander.call("GET", "half") == .null)
        #expect(try t.client().call("PING") == .simple("PONG"))
    }

    @Test func globsMatchAsRedisAndStayLinear() {
        func m(_ p: String, _ s: String) -> Bool { Glob(Array(p.utf8)).matches(Array(s.utf8)) }
        #expect(m("*", "") && m("*", "anything") && m("a*c", "abbbc") && !m("a*c", "abbb"))
        #expect(m("h?llo", "hello") && !m("h?llo", "hllo") && m("h[ae]llo", "hallo") && !m("h[^e]llo", "hello"))
        #expect(m("h[a-b]llo", "hbllo") && !m("h[a-b]llo", "hcllo") && m("a\\*b", "a*b") && !m("a\\*b", "axb"))
        #expect(m("*a*b*c*", "xxaxxbxxcxx") && !m("*a*b*c*", "xxaxxcxxbxx"))
        // A pattern that takes exponential time with naive backtracking: linear here.
        let many = String(repeating: "*a", count: 30) + "*b"
        #expect(!m(many, String(repeating: "a", count: 5_000)))
        #expect(m(many, String(repeating: "a", count: 5_000) + "b"))
    }

    @Test func anOversizedArgumentFailsOnlyItsOwnCommand() throws {
        let t = try TestServer("oversized") { $0.storeOptions.maxKeySize = 1024 }
        let c = try t.client()
        var burst = RESPConnection.encode([Array("SET".utf8), [UInt8](repeating: 107, count: 2000), Array("v".utf8)])
        burst += RESPConnection.encode([Array("SET".utf8), Array("ok".utf8), Array("yes".utf8)])
        try c.send(raw: burst)
        #expect(try c.readReply().isError)
        #expect(try c.readReply() == .ok)
        #expect(try c.call("GET", "ok") == .text("yes"))
    }

    @Test func bulkLimitIsConfigurable() throws {
        let t = try TestServer("bulk-limit") { $0.limits.maxBulkLength = 4096 }
        let c = try t.client()
        #expect(try c.call("SET", "k", String(repeating: "x", count: 4096)) == .ok)
        let big = try t.client()
        try big.send(raw: RESPConnection.encode([Array("SET".utf8), Array("k".utf8), [UInt8](repeating: 1, count: 4097)]))
        #expect(try big.readReply() == .error("ERR Protocol error: invalid bulk length"))
        #expect(try c.call("APPEND", "k", "y") == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
    }
}
