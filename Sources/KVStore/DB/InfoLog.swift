#if canImport(Glibc)
import Glibc
#endif

/// The human-readable `LOG` file: recovery decisions, dropped tails, failures. The previous
/// run's log is kept as `LOG.old`. Failing to write it never fails the store.
///
/// `@unchecked Sendable`: `file` is only touched with `mutex` held (a pthread mutex, since
/// the handle is not Sendable and so cannot live in a `Mutex`).
final class InfoLog: @unchecked Sendable {
    private let mutex = ConditionMutex()
    private var file: WritableFile?

    init(fileSystem: any FileSystem, directory: String) {
        let path = Path.join(directory, FileNames.infoLog)
        if fileSystem.fileExists(path) {
            try? fileSystem.rename(path, to: Path.join(directory, FileNames.oldInfoLog))
        }
        file = try? fileSystem.openWritable(path, truncate: true)
    }

    func log(_ message: String) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var tmValue = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &tmValue)
        let stamp = String(
            format2(Int(tmValue.tm_year) + 1900, 4) + "-" + format2(Int(tmValue.tm_mon) + 1, 2) + "-"
                + format2(Int(tmValue.tm_mday), 2) + "T" + format2(Int(tmValue.tm_hour), 2) + ":"
                + format2(Int(tmValue.tm_min), 2) + ":" + format2(Int(tmValue.tm_sec), 2) + "."
                + format2(now.tv_nsec / 1000, 6) + "Z")
        let line = Array((stamp + " " + message + "\n").utf8)
        mutex.withLock {
            _ = try? line.withUnsafeBytes { try file?.append($0) }
        }
    }

    func close() {
        mutex.withLock {
            try? file?.close()
            file = nil
        }
    }

    private func format2(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
