/// What a read needs, captured together: the memtables and the table version. Replaced as
/// a whole (under the engine's `readState` lock) whenever any of them changes, so a reader
/// takes one reference and sees a consistent set for the whole read.
final class ReadState: Sendable {
    let mem: Memtable
    let imm: Memtable?
    let version: Version

    init(mem: Memtable, imm: Memtable?, version: Version) {
        self.mem = mem
        self.imm = imm
        self.version = version
    }
}
