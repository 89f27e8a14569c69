import KVStore
import Synchronization

/// A switch tests flip to hold the engine's background compactions (`Options.compactionHold`).
package final class PauseSwitch: CompactionHold {
    private let paused: Atomic<Bool>

    package init(paused: Bool = false) {
        self.paused = Atomic(paused)
    }

    package func set(_ value: Bool) {
        paused.store(value, ordering: .releasing)
    }

    package var isPaused: Bool { paused.load(ordering: .acquiring) }

    package var holdsCompactions: Bool { isPaused }
}
