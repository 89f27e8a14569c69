import Foundation
import KVStore

/// `kvcrash checkpointer DIR CHECKPOINTS`: a writer puts `k<i>` = `v<i>` (printing `P i`
/// once acknowledged) while the main thread takes checkpoints `CHECKPOINTS/cp-<n>` one after
/// another, printing `S n` as each begins and `C n <sequence>` once it is complete. Small
/// tables, so flushes and compactions run all the time. The test kills it with SIGKILL at a
/// random moment and checks the source and every checkpoint.
enum Checkpointer {
    static func run(directory: String, checkpoints: String) throws {
        var options = Options()
        options.writeBufferSize = 64 << 10
        options.targetFileSize = 64 << 10
        options.maxBytesForLevelBase = 1 << 20
        options.blockSize = 1024
        let store = try KVStore.open(at: directory, options: options)
        try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
        say("READY")
        Thread.detachNewThread {
            var i = 0
            let padding = [UInt8](repeating: UInt8(ascii: "."), count: 200)
            while true {
                do { try store.put(Array("k\(i)".utf8), Array("v\(i)".utf8) + padding) } catch { KVCrash.fail("put: \(error)") }
                say("P \(i)")
                i += 1
            }
        }
        var n = 0
        while true {
            say("S \(n)")
            let info = try store.checkpoint(to: checkpoints + "/cp-\(n)")
            say("C \(n) \(info.lastSequence)")
            n += 1
        }
    }
}
