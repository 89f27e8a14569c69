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
