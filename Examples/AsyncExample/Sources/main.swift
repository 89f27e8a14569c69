import Foundation
import KVStore

// Writes from several tasks, reads them back, scans a range as an AsyncSequence, closes,
// reopens and checks the data survived. Exits non-zero on any mismatch.

@main
struct AsyncExample {
    static func main() async throws {
        let directory = CommandLine.arguments.dropFirst().first
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("kvstore-async-example-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        let store = try KVStore.open(at: directory)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<250 {
                        try await store.put(Array("order:\(worker):\(i)".utf8), Array("total=\(i * 10)".utf8))
                    }
                }
            }
            try await group.waitForAll()
        }
        guard try await store.get(Array("order:3:249".utf8)) == Array("total=2490".utf8) else {
            fatalError("a write from a task was not read back")
        }

        var count = 0
        for try await (key, _) in try await store.entries(from: Array("order:1:".utf8), to: Array("order:2:".utf8)) {
            precondition(key.starts(with: Array("order:1:".utf8)))
            count += 1
        }
        guard count == 250 else { fatalError("scanned \(count) orders of worker 1, expected 250") }

        try await store.put(Array("session".utf8), Array("token".utf8), options: WriteOptions(sync: true))
        try await store.close()

        let reopened = try KVStore.open(at: directory)
        guard try await reopened.get(Array("session".utf8)) == Array("token".utf8) else {
            fatalError("a synced write did not survive the reopen")
        }
        try await reopened.close()
        try? FileManager.default.removeItem(atPath: directory)
        print("async example: 1000 writes from 4 tasks, 250 scanned, reopened: ok")
    }
}
