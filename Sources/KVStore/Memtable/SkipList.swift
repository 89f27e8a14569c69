import Atomics

/// An ordered set of internal-key entries: one writer, any number of lock-free readers.
///
/// Nodes live in an `Arena`, addressed by raw pointers; no Swift object or array is created
/// per entry. A node holds its links and its entry in one piece,
/// `[next × (height-1) … next level 1][next level 0][key length u32][value length u32][internal key][value]`,
/// and a node pointer points at its level-0 link: level `l` is `8 × l` bytes below it and the
/// entry starts 8 bytes above it. Keeping the key beside the links (as RocksDB's inline skip
/// list does) costs one cache miss per comparison during a search instead of two.
///
/// Concurrency: `insert` must be serialized by the caller (the commit leader holds the write
/// path). A node is fully written before it is published with a release store into its
/// predecessors' `next` slots; readers load `next` with acquire ordering, so they either do
/// not see a node or see all of it. `@unchecked Sendable` rests on that protocol.
final class SkipList: @unchecked Sendable {
    static let maxHeight = 12
    private static let branching: UInt64 = 4

    let arena: Arena
    private let head: UnsafeMutableRawPointer
    private let currentHeight = ManagedAtomic<Int>(1)
    /// Writer-only (inserts are serialized), so exempt from dynamic exclusivity checks.
    @exclusivity(unchecked) private var rng: UInt64 = 0x2545_F491_4F6C_DD1D
    /// Writer-owned: the predecessors, at every level, of the last node inserted (a finger).
    private let prev: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// Writer-owned: the last node inserted. An insert of a greater key starts each level's
    /// search at the finger instead of the head (see `insert`).
    @exclusivity(unchecked) private var lastInserted: UnsafeRawPointer?

    init(arenaBlockSize: Int = Arena.defaultBlockSize) {
        arena = Arena(blockSize: arenaBlockSize)
        // Links for every level plus an empty entry (both lengths 0).
        let base = arena.allocate(8 * (Self.maxHeight + 1))
        base.initializeMemory(as: UInt.self, repeating: 0, count: Self.maxHeight + 1)
        head = base + 8 * (Self.maxHeight - 1)
        prev = .allocate(capacity: Self.maxHeight)
    }

    deinit { prev.deallocate() }

    // MARK: Node access

    @inline(__always)
    private static func nextAtomic(_ node: UnsafeRawPointer, _ level: Int) -> UnsafeAtomic<UInt> {
        UnsafeAtomic<UInt>(at: UnsafeMutableRawPointer(mutating: node - 8 * level)
            .assumingMemoryBound(to: UInt.AtomicRepresentation.self))
    }

    @inline(__always)
    static func next(_ node: UnsafeRawPointer, _ level: Int) -> UnsafeRawPointer? {
        UnsafeRawPointer(bitPattern: nextAtomic(node, level).load(ordering: .acquiring))
    }

    @inline(__always)
    private static func setNext(_ node: UnsafeRawPointer, _ level: Int, _ value: UnsafeRawPointer?) {
        nextAtomic(node, level).store(UInt(bitPattern: value), ordering: .releasing)
    }

    @inline(__always)
    static func entry(_ node: UnsafeRawPointer) -> UnsafeRawPointer { node + 8 }

    /// The internal key (user key + trailer) of a node.
    @inline(__always)
    static func internalKey(_ node: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        let e = entry(node)
        return UnsafeRawBufferPointer(start: e + 8, count: Int(e.load(as: UInt32.self)))
    }

    @inline(__always)
    static func value(_ node: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        let e = entry(node)
        let k = Int(e.load(as: UInt32.self))
        return UnsafeRawBufferPointer(start: e + 8 + k, count: Int(e.load(fromByteOffset: 4, as: UInt32.self)))
    }

    /// Compares a node's internal key with (userKey, trailer).
    @inline(__always)
    private static func compare(_ node: UnsafeRawPointer, _ key: UnsafeRawPointer?, _ keyCount: Int, _ trailer: UInt64) -> Int {
        let ik = internalKey(node)
        let userCount = ik.count - 8
        let nodeTrailer = loadFixed64(ik.baseAddress! + userCount)
        return compareInternal(ik.baseAddress, userCount, nodeTrailer, key, keyCount, trailer)
    }

    // MARK: Writer

    /// Adds an entry. The caller guarantees no equal internal key exists (sequence numbers
    /// are unique) and that inserts are serialized.
    ///
    /// `ascending`: the caller is inserting a run of keys in ascending order (the commit
    /// leader sorts a large group first). The predecessors of the previous key, all smaller
    /// than this one, are then a finger into every level: each level's search starts there
    /// rather than at the head and walks only the gap between the two keys, about half the
    /// cache misses in a 64 MiB memtable (docs/BENCHMARKS.md). Random single inserts search
    /// from the head: for them the finger would cost a comparison per level and save nothing.
    func insert(userKey: UnsafeRawBufferPointer, trailer: UInt64, value: UnsafeRawBufferPointer, ascending: Bool = false) {
        // Predecessors at every level, searching from the top.
        let height = currentHeight.load(ordering: .relaxed)
        let useFinger = ascending && (lastInserted.map { Self.compare($0, userKey.baseAddress, userKey.count, trailer) < 0 } ?? false)
        var x = UnsafeRawPointer(head)
        var level = height - 1
        while true {
            if useFinger {
                // The finger at this level is below the key; take it if it is ahead of x.
                let finger = UnsafeRawPointer(prev[level])
                if finger != UnsafeRawPointer(head) && (x == UnsafeRawPointer(head) || Self.precedes(x, finger)) {
                    x = finger
                }
            }
            while let nx = Self.next(x, level), Self.compare(nx, userKey.baseAddress, userKey.count, trailer) < 0 {
                x = nx
            }
            prev[level] = UnsafeMutableRawPointer(mutating: x)
            if level == 0 { break }
            level -= 1
        }

        let newHeight = randomHeight()
        if newHeight > height {
            for l in height..<newHeight { prev[l] = head }
            // Readers that see the new height before the links simply find nil there.
            currentHeight.store(newHeight, ordering: .relaxed)
        }
        let keyCount = userKey.count + 8
        let base = arena.allocate(8 * newHeight + 8 + keyCount + value.count)
        let node = base + 8 * (newHeight - 1)
        let e = node + 8
        e.storeBytes(of: UInt32(keyCount), as: UInt32.self)
        e.storeBytes(of: UInt32(value.count), toByteOffset: 4, as: UInt32.self)
        if let src = userKey.baseAddress { (e + 8).copyMemory(from: src, byteCount: userKey.count) }
        storeFixed64(e + 8 + userKey.count, trailer)
        if let src = value.baseAddress { (e + 8 + keyCount).copyMemory(from: src, byteCount: value.count) }
        for l in 0..<newHeight {
            Self.nextAtomic(node, l).store(UInt(bitPattern: Self.next(prev[l], l)), ordering: .relaxed)
            Self.setNext(prev[l], l, node)
        }
        // The finger for the next insert: below this node's height the node itself precedes
        // any greater key; above it, its predecessors still do.
        for l in 0..<newHeight { prev[l] = node }
        lastInserted = UnsafeRawPointer(node)
    }

    /// Whether node `a`'s internal key sorts before node `b`'s.
    @inline(__always)
    private static func precedes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Bool {
        let kb = internalKey(b)
        let userCount = kb.count - 8
        return compare(a, kb.baseAddress, userCount, loadFixed64(kb.baseAddress! + userCount)) < 0
    }

    private func randomHeight() -> Int {
        var h = 1
        while h < Self.maxHeight {
            rng ^= rng << 13
            rng ^= rng >> 7
            rng ^= rng << 17
            if rng % Self.branching != 0 { break }
            h += 1
        }
        return h
    }

    // MARK: Readers

    /// First node whose internal key is ≥ (userKey, trailer), or nil.
    func seek(_ userKey: UnsafeRawBufferPointer, trailer: UInt64) -> UnsafeRawPointer? {
        var x = UnsafeRawPointer(head)
        var level = currentHeight.load(ordering: .relaxed) - 1
        while true {
            let nx = Self.next(x, level)
            if let nx, Self.compare(nx, userKey.baseAddress, userKey.count, trailer) < 0 {
                x = nx
                continue
            }
            if level == 0 { return nx }
            level -= 1
        }
    }

    /// Last node whose internal key is < (userKey, trailer), or nil.
    func seekBefore(_ userKey: UnsafeRawBufferPointer, trailer: UInt64) -> UnsafeRawPointer? {
        var x = UnsafeRawPointer(head)
        var level = currentHeight.load(ordering: .relaxed) - 1
        while true {
            if let nx = Self.next(x, level), Self.compare(nx, userKey.baseAddress, userKey.count, trailer) < 0 {
                x = nx
                continue
            }
            if level == 0 { return x == UnsafeRawPointer(head) ? nil : x }
            level -= 1
        }
    }

    var first: UnsafeRawPointer? { Self.next(head, 0) }

    var last: UnsafeRawPointer? {
        var x = UnsafeRawPointer(head)
        var level = currentHeight.load(ordering: .relaxed) - 1
        while true {
            if let nx = Self.next(x, level) {
                x = nx
                continue
            }
            if level == 0 { return x == UnsafeRawPointer(head) ? nil : x }
            level -= 1
        }
    }
}
