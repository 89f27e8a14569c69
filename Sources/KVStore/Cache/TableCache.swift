import Synchronization

/// Keeps up to `maxOpenFiles` tables open with their index and filter parsed, evicting the
/// least recently used. An evicted table stays usable by whoever still holds it; its file is
/// closed when the last holder lets go.
final class TableCache: Sendable {
    private let lru: Mutex<LRUCache<UInt64, TableReader>>
    let directory: String
    let fileSystem: any FileSystem
    let blockCache: BlockCache
    let rowCache: RowCache
    let statistics: EngineStatistics
    let memoryMapped: Bool

    init(directory: String, fileSystem: any FileSystem, maxOpenFiles: Int, memoryMapped: Bool = true,
         blockCache: BlockCache, rowCache: RowCache, statistics: EngineStatistics) {
        self.memoryMapped = memoryMapped
        self.directory = directory
        self.fileSystem = fileSystem
        self.blockCache = blockCache
        self.rowCache = rowCache
        self.statistics = statistics
        lru = Mutex(LRUCache(capacity: maxOpenFiles))
    }

    /// The open table `number`, opening it if needed (with `nonBlocking`, throwing
    /// `KVError.wouldBlock` instead: opening reads the footer, index and filter).
    func table(_ number: UInt64, size: UInt64, nonBlocking: Bool = false) throws(KVError) -> TableReader {
        if let t = lru.locked({ $0.get(number) }) { return t }
        if nonBlocking { throw KVError.wouldBlock }
        let path = Path.join(directory, FileNames.table(number))
        let file = try fileSystem.openReadable(path)
        let table = try TableReader(
            file: file, fileNumber: number, fileSize: size, blockCache: blockCache, rowCache: rowCache, statistics: statistics,
            mapping: memoryMapped ? file.map() : nil)
        let evicted = lru.locked { $0.insert(number, table, charge: 1) }
        _ = evicted
        return table
    }

    /// Forgets a deleted table.
    func evict(_ number: UInt64) {
        _ = lru.locked { $0.remove(number) }
    }

    var openTables: Int { lru.locked { $0.count } }

    /// Bytes of index and filter blocks (and index summaries) held by open tables.
    var readerMemory: Int { lru.locked { $0.reduce(0) { $0 + $1.index.size + $1.filter.count + ($1.indexSearch?.size ?? 0) } } }
}
