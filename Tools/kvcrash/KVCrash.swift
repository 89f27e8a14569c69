#if canImport(Glibc)
import Glibc
#endif
import KVStore

/// Child process for the kill -9 tests (and, later, the crash driver).
///
///     kvcrash writer DIR CYCLE [--small]
///                                write forever; print one line per acknowledged write
///                                (--small: 64 KiB memtables, 1 KiB values, so flushes and
///                                compactions run all the time and kills land inside them)
///     kvcrash hold DIR           open DIR, print "LOCKED", then wait to be killed
///     kvcrash stress DIR JOURNAL SEED [THREADS]
///                                the crash test's stress process (see Stress.swift)
///     kvcrash drive [--dir D] [--cycles N] [--duration S] [--seed X]
///                                the crash test: kill -9 `stress` at random moments and
///                                verify the store against its journal (see Driver.swift)
///
/// Writer protocol, one line per acknowledged operation on stdout:
///   `P i`  put    c<CYCLE>-k<i>        = v<i>
///   `B i`  batch  c<CYCLE>-b<i>-{0,1,2} = v<i>   (every 5th operation, all-or-nothing)
/// Every 7th operation is written with sync. Lines are written with write(2), unbuffered,
/// after the store call returned, so a line means "acknowledged".
@main
struct KVCrash {
    static func main() {
        let args = CommandLine.arguments
        if args.count >= 2 && args[1] == "drive" {
            exit(drive(Array(args.dropFirst(2))) ? 0 : 1)
        }
        guard args.count >= 3 else {
            fail("usage: kvcrash writer DIR CYCLE | hold DIR | stress DIR JOURNAL SEED | drive [--dir D] [--cycles N] [--duration S] [--seed X]")
        }
        do {
            switch args[1] {
            case "writer":
                guard args.count >= 4, let cycle = Int(args[3]) else { fail("usage: kvcrash writer DIR CYCLE [--small]") }
                try writer(directory: args[2], cycle: cycle, small: args.dropFirst(4).contains("--small"))
            case "stress":
                guard args.count >= 5, let seed = UInt64(args[4]) else { fail("usage: kvcrash stress DIR JOURNAL SEED [THREADS]") }
                var settings = Stress.Settings(directory: args[2], journal: args[3], seed: seed)
                if args.count >= 6, let t = Int(args[5]) { settings.threads = t }
                try Stress.run(settings)
            case "fsize":
                guard args.count >= 5, let limit = Int(args[3]) else { fail("usage: kvcrash fsize DIR LIMIT wal|table") }
                try FileSizeLimit.run(directory: args[2], limit: limit, target: args[4])
            case "checkpointer":
                guard args.count >= 4 else { fail("usage: kvcrash checkpointer DIR CHECKPOINTS") }
                try Checkpointer.run(directory: args[2], checkpoints: args[3])
            case "hold":
                let store = try KVStore.open(at: args[2])
                say("LOCKED")
                while true { sleep(1) }
                _ = store
            default:
                fail("unknown mode \(args[1])")
            }
        } catch {
            fail("kvcrash: \(error)")
        }
    }

    static func writer(directory: String, cycle: Int, small: Bool) throws {
        var options = Options()
        if small {
            options.writeBufferSize = 64 << 10
            options.targetFileSize = 64 << 10
            options.maxBytesForLevelBase = 1 << 20
            options.blockSize = 1024
        }
        let store = try KVStore.open(at: directory, options: options)
        say("READY")
        var i = 0
        let padding = small ? [UInt8](repeating: UInt8(ascii: "."), count: 1000) : []
        while true {
            let sync = i % 7 == 0
            let value = Array("v\(i)".utf8) + padding
            if i % 5 == 0 {
                var batch = WriteBatch()
                for part in 0..<3 { batch.put(Array("c\(cycle)-b\(i)-\(part)".utf8), value) }
                try store.write(batch, options: WriteOptions(sync: sync))
                say("B \(i)")
            } else {
                try store.put(Array("c\(cycle)-k\(i)".utf8), value, options: WriteOptions(sync: sync))
                say("P \(i)")
            }
            i += 1
        }
    }

    static func drive(_ args: [String]) -> Bool {
        var settings = Driver.Settings(
            directory: "/tmp/kvcrash-\(getpid())", cycles: 10, maxSeconds: 2, seed: UInt64.random(in: 0..<UInt64.max))
        var i = 0
        while i + 1 < args.count {
            switch args[i] {
            case "--dir": settings.directory = args[i + 1]
            case "--cycles": settings.cycles = Int(args[i + 1]) ?? settings.cycles
            case "--duration": settings.maxSeconds = Double(args[i + 1]) ?? settings.maxSeconds
            case "--seed": settings.seed = UInt64(args[i + 1]) ?? settings.seed
            case "--threads": settings.threads = Int(args[i + 1]) ?? settings.threads
            default: fail("unknown option \(args[i])")
            }
            i += 2
        }
        return Driver.run(settings)
    }
}

func say(_ line: String) {
    KVCrash.say(line)
}

extension KVCrash {
    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + done, bytes.count - done) }
            if n <= 0 { exit(3) }
            done += n
        }
    }

    static func fail(_ message: String) -> Never {
        printError(message + "\n")
        exit(2)
    }
}

func printError(_ message: String) {
    let bytes = Array(message.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
