/// Iterates one level ≥ 1 (sorted, disjoint files) as a single stream, opening only the
/// table it is in. Files outside the read's bounds, and files whose prefix filter rules the
/// prefix out, are never opened.
final class LevelIterator: InternalIterator {
    private let files: [FileMetaData]
    private let tableCache: TableCache
    private let verify: Bool
    private let fillCache: Bool
    /// Hash and length of the read's prefix. A table's filter answers for it only if the table
    /// was built with exactly that prefix length (see `ReadOptions.prefix`).
    private let prefixHash: UInt64?
    private let prefixLength: Int
    // Exempt from dynamic exclusivity checks: touched on every step, one thread by contract.
    @exclusivity(unchecked) private var index = -1
    /// The iterator over the current file: `spare`, unretained (nil between files, or for a
    /// file the prefix filter skipped). Calls through a strong optional retained and released
    /// the iterator on every step (6% of readseq, perf).
    @exclusivity(unchecked) private var table: Unmanaged<TableIterator>?
    /// The one table iterator this level makes, moved from file to file.
    @exclusivity(unchecked) private var spare: TableIterator?
    private(set) var error: KVError?

    init(files: [FileMetaData], tableCache: TableCache, verify: Bool, fillCache: Bool, prefixHash: UInt64?, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.files = files
        self.tableCache = tableCache
        self.verify = verify
        self.fillCache = fillCache
        self.prefixHash = prefixHash
    }

    /// Calls `body` with the current file's iterator, if there is one (unretained: `spare`
    /// owns it).
    @inline(__always) @discardableResult
    private func withTable<R>(_ body: (TableIterator) -> R) -> R? {
        table?._withUnsafeGuaranteedRef(body)
    }

    var isValid: Bool { withTable { $0.isValid } ?? false }
    var key: UnsafeRawBufferPointer { table!._withUnsafeGuaranteedRef { $0.key } }
    var value: UnsafeRawBufferPointer { table!._withUnsafeGuaranteedRef { $0.value } }
    var maxSequenceHere: UInt64 { files[index].largestSequence }

    func seekToFirst() {
        open(0)
        withTable { $0.seekToFirst() }
        advanceForward()
    }

    func seekToLast() {
        open(files.count - 1)
        withTable { $0.seekToLast() }
        skipBackward()
    }

    func seek(_ target: UnsafeRawBufferPointer) {
        // First file whose largest key ≥ target.
        var lo = 0
        var hi = files.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if files[mid].largest.withUnsafeBytes({ compareInternalKeys($0, target) }) < 0 { lo = mid + 1 } else { hi = mid }
        }
        open(lo)
        withTable { $0.seek(target) }
        advanceForward()
    }

    func next() {
        withTable { $0.next() }
        advanceForward()
    }

    func previous() {
        withTable { $0.previous() }
        skipBackward()
    }

    func skipForward(to target: UnsafeRawBufferPointer?, olderThan sequence: UInt64) -> Bool {
        guard isValid, files[index].largestSequence < sequence else { return false }
        if let target, files[index].largest.withUnsafeBytes({ compareInternalKeys($0, target) }) >= 0 {
            withTable { $0.seek(target) }
        } else {
            // The target lies beyond this file (or there is none): stop at the next file,
            // which may be newer.
            open(index + 1)
            withTable { $0.seekToFirst() }
        }
        advanceForward()
        return true
    }

    private func open(_ i: Int) {
        table = nil
        index = i
        guard i >= 0 && i < files.count, error == nil else { return }
        do {
            let reader = try tableCache.table(files[i].number, size: files[i].size)
            if let prefixHash, !reader.filter.isEmpty, Int(reader.properties.prefixFilterLength) == prefixLength,
               !reader.filter.withUnsafeBytes({ BloomFilter.mayContain($0, hash: prefixHash) })
            {
                return  // no key with this prefix in the table: leave `table` nil, skip it
            }
            if let spare {
                if spare.table !== reader { spare.reset(to: reader) }
                table = .passUnretained(spare)
            } else {
                let made = reader.makeIterator(verify: verify, fillCache: fillCache)
                spare = made
                table = .passUnretained(made)
            }
        } catch {
            self.error = error
        }
    }

    private func advanceForward() {
        while !isValid {
            if let e = withTable({ $0.error }) ?? nil { error = e }
            guard error == nil, index + 1 < files.count else {
                table = nil
                return
            }
            open(index + 1)
            withTable { $0.seekToFirst() }
        }
    }

    private func skipBackward() {
        while !isValid {
            if let e = withTable({ $0.error }) ?? nil { error = e }
            guard error == nil, index - 1 >= 0 else {
                table = nil
                return
            }
            open(index - 1)
            withTable { $0.seekToLast() }
        }
    }
}
