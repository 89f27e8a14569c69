import KVStore
import NIOCore
import Synchronization

/// INFO's `instantaneous_ops_per_sec`, `instantaneous_input_kbps` and
/// `instantaneous_output_kbps`, as Redis computes them: a sample of the running totals every
/// 100 ms, and the mean rate over the last 16 samples (1.6 s).
final class InstantaneousRates: Sendable {
    static let interval = TimeAmount.milliseconds(100)
    static let samples = 16

    private struct Window {
        var last: (now: Int, commands: Int, bytesIn: Int, bytesOut: Int)?
        /// Per-second rates of each interval, a ring of `samples`.
        var ops = [Double](repeating: 0, count: InstantaneousRates.samples)
        var input = [Double](repeating: 0, count: InstantaneousRates.samples)
        var output = [Double](repeating: 0, count: InstantaneousRates.samples)
        var next = 0
    }

    private let window = Mutex(Window())

    func sample(now: Int, commands: Int, bytesIn: Int, bytesOut: Int) {
        window.locked { w in
            defer { w.last = (now, commands, bytesIn, bytesOut) }
            guard let last = w.last, now > last.now else { return }
            let seconds = Double(now - last.now) / 1e9
            // A counter that went down was reset (CONFIG RESETSTAT): this interval counts 0.
            func rate(_ a: Int, _ b: Int) -> Double { b >= a ? Double(b - a) / seconds : 0 }
            w.ops[w.next] = rate(last.commands, commands)
            w.input[w.next] = rate(last.bytesIn, bytesIn)
            w.output[w.next] = rate(last.bytesOut, bytesOut)
            w.next = (w.next + 1) % Self.samples
        }
    }

    /// Commands a second, and KiB a second in and out.
    var current: (opsPerSecond: Int, inputKbps: Double, outputKbps: Double) {
        window.locked { w in
            let n = Double(Self.samples)
            return (Int((w.ops.reduce(0, +) / n).rounded()), w.input.reduce(0, +) / n / 1024, w.output.reduce(0, +) / n / 1024)
        }
    }
}
