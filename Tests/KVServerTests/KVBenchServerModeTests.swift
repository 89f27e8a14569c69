import Foundation
import KVClient
import KVTestSupport
import Testing

/// `kvbench --server`: the benchmark workloads over RESP against a live server, same output.
@Suite struct KVBenchServerModeTests {
    @Test func workloadsRunOverRESPAndReportTheStandardLines() throws {
        let t = try TestServer("kvbench-server")
        let run = try runProcess(productPath("kvbench"), [
            "--server", "127.0.0.1:\(t.port)", "--connections", "4", "--pipeline", "8", "--num", "2000",
            "--benchmarks", "fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,seekrandom,deleterandom",
        ])
        let text = run.text
        #expect(run.status == 0)
        let results = text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains(" : ") }
        #expect(results.map { $0.split(separator: " ")[0] } == ["fillseq", "fillrandom", "overwrite", "readrandom", "readmissing", "readseq", "seekrandom", "deleterandom"])
        #expect(results.allSatisfy { $0.contains("ops/sec") && $0.contains("p999=") })
        #expect(text.contains("readrandom: ops=2000") && text.contains("found=2000"))  // every key was written
        #expect(text.contains("readmissing: ops=2000") && text.contains("found=0"))
        #expect(text.contains("readseq: ops=2000"))
        #expect(!text.contains("error replies"))
    }
}

/// `kvbench … load`: a read/write mix at a target rate for a duration, embedded and against
/// a server, with the per-second timeline.
@Suite struct KVBenchLoadTests {
    func rows(_ path: String) throws -> [[String]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(lines.first == ["t_s", "ops", "ops_per_s", "p99_us", "max_us", "stall_ms", "compaction_bytes"])
        return Array(lines.dropFirst())
    }

    /// At 2,000 operations a second for 2 s the run does 4,000 (the schedule, not the
    /// machine's speed, sets the count), about 30% of them reads.
    @Test(arguments: [false, true])
    func loadKeepsItsRateAndWritesATimeline(server: Bool) throws {
        let dir = TemporaryDirectory("kvbench-load")
        let t = server ? try TestServer("kvbench-load") : nil
        let target = t.map { ["--server", "127.0.0.1:\($0.port)", "--connections", "2", "--pipeline", "4"] } ?? ["--db", dir.path + "/db", "--threads", "2"]
        let run = try runProcess(productPath("kvbench"), target + [
            "--benchmarks", "load", "--num", "1000", "--duration", "2s", "--rate", "2000", "--read_ratio", "0.3",
            "--value_size", "10-200", "--timeline", dir.path + "/tl.csv",
        ])
        #expect(run.status == 0, "\(run.text)")
        let line = try #require(run.text.split(separator: "\n").first { $0.hasPrefix("# load: ") && $0.contains("reads") })
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        let (reads, writes) = (numbers[0], numbers[2])
        #expect(reads + writes == 4000, "\(line)")
        #expect(reads > 900 && reads < 1500, "about 30% reads: \(line)")
        let r = try rows(dir.path + "/tl.csv")
        // Rows by second of completion (how many land in each depends on the machine; the
        // total does not).
        #expect(r.count >= 2)
        #expect(r.reduce(0) { $0 + (Int($1[1]) ?? 0) } == 4000)
        #expect(r.allSatisfy { Double($0[3]) ?? -1 >= 0 && Double($0[4]) ?? -1 >= Double($0[3]) ?? 0 }, "p99 ≤ max: \(r)")
    }
}
