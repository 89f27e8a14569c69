import Foundation

/// A child process whose stdout is read line by line on a background thread, so the child
/// never blocks on a full pipe. Killed with SIGKILL by `kill()` or on deinit.
public final class ChildProcess: @unchecked Sendable {
    // `lines`, `finished` guarded by `condition`.
    private let process = Process()
    private let condition = NSCondition()
    private var lines: [String] = []
    private var consumed = 0
    private var finished = false

    public init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        try process.run()
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                var complete: [String] = []
                while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    complete.append(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...nl)
                }
                condition.lock()
                lines.append(contentsOf: complete)
                condition.broadcast()
                condition.unlock()
            }
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next line, or nil at EOF or after `timeout` seconds.
    public func readLine(timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while consumed >= lines.count && !finished {
            if !condition.wait(until: deadline) { return nil }
        }
        guard consumed < lines.count else { return nil }
        consumed += 1
        return lines[consumed - 1]
    }

    public func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// Every line the child printed, after it has exited and its stdout reached EOF.
    public func allLines() -> [String] {
        process.waitUntilExit()
        condition.lock()
        defer { condition.unlock() }
        while !finished { condition.wait() }
        return lines
    }

    deinit { kill() }
}
