import KVStore

/// The keyspace's compaction filter: an element is kept only while its collection's main
/// entry, as every reader sees it (`CompactionContext`), is a collection of the element's
/// version; anything else — the collection deleted, expired, overwritten by another value or
/// recreated under a new version — makes it garbage, removed. Main entries and the format
/// record are never touched (a main entry's expiry is the engine's to enforce).
///
/// Elements of one collection are contiguous, so the main entry is read once per collection
/// per compaction, not once per element.
struct GarbageFilter: CompactionFilter {
    let context: CompactionContext
    /// The last collection looked up: its key, version, and whether that version is live.
    private var lastKey: [UInt8] = []
    private var lastVersion: UInt64 = 0
    private var lastLive = true
    private var looked = false

    init(context: CompactionContext) {
        self.context = context
    }

    mutating func decide(_ entry: CompactionEntry) -> CompactionDecision {
        guard let (key, version, _) = KeyspaceKeys.parseElement(entry.key) else { return .keep }
        let same = looked && version == lastVersion && key.elementsEqual(lastKey)
        if !same {
            lastKey = Array(key)
            lastVersion = version
            looked = true
            do {
                let main = try context.lookup(KeyspaceKeys.main(lastKey))
                if let main, main.tag != KeyType.string.rawValue, let type = KeyType(rawValue: main.tag),
                   let meta = CollectionMetadata(type: type, record: main.value) {
                    lastLive = meta.version == version
                } else {
                    lastLive = false
                }
            } catch {
                lastLive = true  // cannot tell: keep (a later compaction decides)
            }
        }
        return lastLive ? .keep : .remove
    }
}
