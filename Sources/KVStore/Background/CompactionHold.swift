/// Holds the background thread's compactions while `holdsCompactions` is true (flushes still
/// run), so a test can provoke a write stall on purpose. The product never sets one; the
/// switch tests use (`PauseSwitch`) lives in the KVStoreTesting target.
package protocol CompactionHold: Sendable {
    var holdsCompactions: Bool { get }
}
