import Foundation
import Testing

@testable import KVStore

/// `ReadOptions.nonBlocking`: answers from memory or fails with `wouldBlock`, never waits.
@Suite struct NonBlockingReadTests {
    @Test func aReadThatNeedsTheDiskFailsWithWouldBlockAndAWaitingReadAnswers() throws {
        let dir = TemporaryDirectory("nonblocking")
        var options = LSMTests.smallOptions()
        options.blockCacheCapacity = 0  // every data block read goes to the file
        do {
            let store = try KVStore.open(at: dir.path, options: options)
            for i in 0..<500 { try store.put(IteratorTests.key(i), bytes("value\(i)")) }
            try store.flush()
            try store.close()
        }
        let store = try KVStore.open(at: dir.path, options: options)
        try store.put("still-in-memtable", "yes")
        var fast = ReadOptions()
        fast.nonBlocking = true
        // The memtable never needs the disk.
        #expect(try store.get(bytes("still-in-memtable"), options: fast) == bytes("yes"))
        // The table is not open yet: opening it reads the footer, index and filter.
        #expect(thrownError { _ = try store.get(IteratorTests.key(7), options: fast) } == .wouldBlock)
        #expect(try store.get(IteratorTests.key(7)) == bytes("value7"))
        // Now open; its blocks were just read, so the page cache has them.
        #expect(try store.get(IteratorTests.key(8), options: fast) == bytes("value8"))
        #expect(try store.lookup(IteratorTests.key(9), options: fast)?.value == bytes("value9"))

        // Drop the file's pages from the page cache: a non-blocking read must not fetch them.
        let table = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".sst") }!
        let fd = open(dir.file(table), O_RDONLY)
        #expect(fd >= 0)
        fsync(fd)
        let dropped = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 && !pagesResident(fd)
        close(fd)
        if dropped {
            #expect(thrownError { _ = try store.get(IteratorTests.key(300), options: fast) } == .wouldBlock)
            #expect(try store.get(IteratorTests.key(300)) == bytes("value300"))
        }
        try store.close()
    }

    /// Whether any page of the file is in the page cache (mincore over a mapping).
    private func pagesResident(_ fd: Int32) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return false }
        let length = Int(st.st_size)
        guard let map = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return true }
        defer { munmap(map, length) }
        let pages = (length + 4095) / 4096
        var vec = [UInt8](repeating: 0, count: pages)
        guard mincore(map, length, &vec) == 0 else { return true }
        return vec.contains { $0 & 1 != 0 }
    }
}
