#if canImport(Glibc)
import Glibc
#endif
import KVStore

/// `kvcrash fsize DIR LIMIT wal|table`: a full disk on a real file system. The process
/// limits the size of any file it writes to LIMIT bytes (`RLIMIT_FSIZE`, with SIGXFSZ ignored
/// so a write past it fails with EFBIG instead of killing the process; LIMIT 0: no limit, for
/// a directory on a small file system that fills up with ENOSPC), then writes 1 KiB
/// values, printing `P i` as each is acknowledged, until the store refuses. `wal`: the
/// memtable outgrows the limit, so the mapped log's growth fails first; `table`: small
/// memtables, large tables, so a compaction output reaches it first. Then it prints
/// `E <error>`, checks that the store refuses further writes (`R <error>`) and still reads
/// (`G <i>` for an acknowledged key read back), and exits 0.
enum FileSizeLimit {
    static func run(directory: String, limit: Int, target: String) throws {
        var options = Options()
        switch target {
        case "wal":
            options.writeBufferSize = 4 << 20
        case "table":
            options.writeBufferSize = 256 << 10
            options.targetFileSize = 8 << 20
            options.maxBytesForLevelBase = 1 << 20
        default:
            KVCrash.fail("fsize target must be wal or table")
        }
        options.compression = .none  // sizes grow as written
        let store = try KVStore.open(at: directory, options: options)
        signal(SIGXFSZ, SIG_IGN)
        if limit > 0 {  // 0: no limit (the directory is on a small file system that fills up)
            var rl = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
            guard setrlimit(Int32(RLIMIT_FSIZE.rawValue), &rl) == 0 else { KVCrash.fail("setrlimit: errno \(errno)") }
        }
        say("READY")
        var rng = SystemRandomNumberGenerator()
        var value = [UInt8](repeating: 0, count: 1024)
        var i = 0
        while true {
            for j in value.indices { value[j] = UInt8.random(in: 32...126, using: &rng) }  // incompressible
            do {
                try store.put(Array("k\(i)".utf8), value)
            } catch {
                say("E \(error)")
                break
            }
            say("P \(i)")
            i += 1
            if i > 10_000_000 { KVCrash.fail("the limit was never reached") }
        }
        // Background work may still be failing: the refusal must stick.
        do {
            try store.put(Array("after".utf8), Array("x".utf8))
            say("W accepted a write after the failure")
        } catch {
            say("R \(error)")
        }
        if i > 0 {
            let k = i - 1
            let v = try? store.get(Array("k\(k)".utf8))
            say(v?.count == 1024 ? "G \(k)" : "G missing \(k)")
        }
        try? store.close()
    }
}
