#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KVServer
import KVStore
import KVStoreTesting
import KVServerTesting

// libFuzzer targets for the decoders of every on-disk format (`make fuzz`).
//
// Built with `-DFUZZING` and `-sanitize=fuzzer,address`, libFuzzer supplies `main` and calls
// `LLVMFuzzerTestOneInput`; `KVFUZZ_TARGET` (wal, manifest, table, block, or resp: the
// server's request parser and command dispatch) picks the decoder.
// Built normally, `kvfuzz` replays inputs instead: `kvfuzz TARGET FILE|DIR…`, or writes the
// seed corpora: `kvfuzz --seeds DIR`.

/// The engine's decoders and the server's request handling.
let targetNames = FuzzTargets.names + ["resp"]

func runTarget(_ target: String, _ data: UnsafeRawBufferPointer) {
    if target == "resp" { ServerFuzzTarget.run(data) } else { FuzzTargets.run(target, data) }
}

#if FUZZING
private let fuzzTarget: String = ProcessInfo.processInfo.environment["KVFUZZ_TARGET"] ?? "wal"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    runTarget(fuzzTarget, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
@main
struct KVFuzzReplay {
    static func main() throws {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == "--seeds", args.count == 2 {
            for seed in FuzzTargets.seeds() + ServerFuzzTarget.seeds.map({ ("resp", $0.name, $0.bytes) }) {
                let dir = args[1] + "/" + seed.target
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try Data(seed.bytes).write(to: URL(fileURLWithPath: dir + "/seed-" + seed.name))
            }
            return
        }
        guard let target = args.first, targetNames.contains(target), args.count >= 2 else {
            print("usage: kvfuzz TARGET FILE|DIR... (targets: \(targetNames.joined(separator: ", "))) | kvfuzz --seeds DIR")
            exit(2)
        }
        var count = 0
        for path in args.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            let files = isDir.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).map { path + "/" + $0 } : [path]
            for file in files {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
                bytes.withUnsafeBytes { runTarget(target, $0) }
                count += 1
            }
        }
        print("\(target): \(count) inputs replayed")
    }
}
#endif
