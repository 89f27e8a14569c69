import Foundation

/// What a finished child process left: exit status and both outputs.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: [UInt8]
    public let stderr: String
    public var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `executable` with `arguments`, feeding `stdin` and draining stdout and stderr at the
/// same time (so no pipe fills up and blocks the child), and terminates it after `timeout`
/// seconds so a stuck tool fails the test instead of hanging it.
public func runProcess(
    _ executable: String, _ arguments: [String], stdin: [UInt8] = [],
    environment: [String: String]? = nil, timeout: Double = 120
) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    let input = Data(stdin)
    let writer = inp.fileHandleForWriting
    let stderrData = Collected()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        writer.write(input)
        try? writer.close()
        group.leave()
    }
    group.enter()
    let errReader = err.fileHandleForReading
    DispatchQueue.global().async {
        stderrData.set(errReader.readDataToEndOfFile())
        group.leave()
    }
    let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    group.wait()
    killer.cancel()
    return ProcessResult(status: p.terminationStatus, stdout: Array(stdout), stderr: String(decoding: stderrData.get(), as: UTF8.self))
}

private final class Collected: @unchecked Sendable {
    // `data` is guarded by `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}
