/// What a read needs, captured together: the memtables and the table version. Replaced as
/// a whole (under `MemtableSet`'s lock) whenever any of them changes, so a reader takes one
/// reference and sees a consistent set for the whole read.
final class ReadState: Sendable {
    let activeMemtable: Memtable
    let immutableMemtable: Memtable?
    let version: Version

    init(activeMemtable: Memtable, immutableMemtable: Memtable?, version: Version) {
        self.activeMemtable = activeMemtable
        self.immutableMemtable = immutableMemtable
        self.version = version
    }
}
