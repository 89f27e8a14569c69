import KVStore

/// What `Keyspace.verify()` found.
public struct KeyspaceReport: Sendable {
    /// Keys holding strings, and collections.
    public var strings = 0
    public var collections = 0
    /// Elements of live collections.
    public var elements = 0
    /// Elements of deleted, expired or overwritten collections, waiting for compaction to
    /// drop them (not a problem).
    public var garbage = 0
    /// Broken invariants, each naming the key.
    public var problems: [(key: [UInt8], problem: String)] = []

    public var isClean: Bool { problems.isEmpty }
}

extension Keyspace {
    /// Checks the invariants of `store`'s keyspace without changing anything (a store from
    /// before the keyspace format, whose keys are all strings, has none to break: it is
    /// reported as strings only). See `verify()`.
    public static func verify(_ store: KVStore) throws(KeyspaceError) -> KeyspaceReport {
        let record: StoredValue?
        do { record = try store.lookup(KeyspaceKeys.formatKey) } catch { throw .store(error) }
        guard let record, let (format, _) = parseFormat(record.value) else {
            var report = KeyspaceReport()
            do { report.strings = try store.count() } catch { throw .store(error) }
            return report
        }
        guard format == formatVersion else { throw .unsupportedFormat("keyspace format \(format); this version reads \(formatVersion)") }
        return try Keyspace(readingOnly: store).verify()
    }

    /// Checks the keyspace's invariants over one snapshot of the store (`kvctl verify`):
    /// every main entry decodes; each collection's element count equals its metadata's count
    /// (a list's positions run from head to tail without a gap; a sorted set's member and
    /// score-index entries agree one for one); every element belongs to a live collection or
    /// is garbage of an older version — never of a version above those the format record has
    /// reserved. Reads everything once; O(N).
    public func verify() throws(KeyspaceError) -> KeyspaceReport {
        var report = KeyspaceReport()
        let snapshot: Snapshot
        do { snapshot = try store.snapshot() } catch { throw .store(error) }
        defer { snapshot.release() }
        var options = ReadOptions()
        options.snapshot = snapshot
        options.fillCache = false
        let r = access(StoreReader(store: store, options: options))
        let reserved: UInt64
        do {
            guard let record = try store.lookup(KeyspaceKeys.formatKey, options: options), let (_, bound) = Self.parseFormat(record.value) else {
                throw KeyspaceError.corruption(key: KeyspaceKeys.formatKey, reason: "the format record is missing or does not decode")
            }
            reserved = bound
        } catch let e as KVError {
            throw .store(e)
        } catch let e as KeyspaceError {
            throw e
        } catch {
            throw .unsupportedFormat("\(error)")
        }
        // 1. Main entries, and each live collection's elements.
        var live: [[UInt8]: UInt64] = [:]
        let keys = try r.keys()
        keys.seekToFirst()
        while keys.isValid {
            let key = keys.key
            do throws(KeyspaceError) {
                switch try r.entry(key) {
                case .none: break  // expired between the walk and the read
                case .string: report.strings += 1
                case .collection(let meta, _):
                    report.collections += 1
                    live[key] = meta.version
                    if meta.version >= reserved {
                        report.problems.append((key, "version \(meta.version) is not below the reserved bound \(reserved)"))
                    }
                    try check(key, meta, r, &report)
                }
            } catch {
                if case .store = error { throw error }
                report.problems.append((key, "\(error)"))
            }
            keys.next()
        }
        do { try keys.check() } catch { throw .store(error) }
        // 2. The element band: whatever no live collection owns is garbage.
        var o = options
        o.lowerBound = [KeyspaceKeys.bandByte, KeyspaceKeys.elementByte]
        o.upperBound = [KeyspaceKeys.bandByte, KeyspaceKeys.elementByte + 1]
        let it: KVIterator
        do { it = try store.makeIterator(o) } catch { throw .store(error) }
        it.seekToFirst()
        while it.isValid {
            let parsed = it.withCurrent { k, _ in KeyspaceKeys.parseElement(k).map { (Array($0.key), $0.version) } }
            if let (key, version) = parsed {
                if live[key] != version {
                    report.garbage += 1
                    if version >= reserved {
                        report.problems.append((key, "an element of version \(version), above the reserved bound \(reserved)"))
                    }
                }
            } else {
                report.problems.append((it.key, "an engine key in the element band that is not an element"))
            }
            it.next()
        }
        do { try it.check() } catch { throw .store(error) }
        return report
    }

    /// Which of `meta`'s bounds `entry` breaks, in words; nil when it lies within them.
    private static func outsideBounds(_ entry: [UInt8], _ meta: CollectionMetadata) -> String? {
        if let low = meta.low, entry.lexicographicallyPrecedes(low) { return "below the set's low bound" }
        if let high = meta.high, high.lexicographicallyPrecedes(entry) { return "above the set's high bound" }
        return nil
    }

    private func check(_ key: [UInt8], _ meta: CollectionMetadata, _ r: KeyspaceAccess<StoreReader>, _ report: inout KeyspaceReport) throws(KeyspaceError) {
        let prefix = KeyspaceKeys.elementPrefix(key, version: meta.version).count
        let it = try r.elements(key, meta, ignoringBounds: true)
        var n: UInt64 = 0
        var members: UInt64 = 0
        var indexed: UInt64 = 0
        var expectedPosition = meta.head
        it.seekToFirst()
        while it.isValid {
            let (suffix, value) = it.withCurrent { k, v in (Array(k[prefix...]), Array(v)) }
            n += 1
            switch meta.type {
            case .list:
                if suffix.count != 8 || loadBigEndian64(suffix, at: 0) != expectedPosition {
                    report.problems.append((key, "list element at position \(suffix.count == 8 ? String(loadBigEndian64(suffix, at: 0)) : "?") where \(expectedPosition) was expected"))
                    return
                }
                expectedPosition += 1
            case .sortedSet:
                if suffix.first == 0x00 {
                    members += 1
                    guard let score = ScoreEncoding.score(fromValue: value) else {
                        report.problems.append((key, "a member entry without a score"))
                        return
                    }
                    let index = KeyspaceKeys.elementPrefix(key, version: meta.version) + KeyspaceAccess<StoreReader>.indexSuffix(score, suffix.dropFirst())
                    if try r.read({ () throws(KVError) in try r.storage.lookup(index) }) == nil {
                        report.problems.append((key, "member \(String(decoding: suffix.dropFirst(), as: UTF8.self).debugDescription) has no score-index entry"))
                    }
                } else if suffix.first == 0x01 {
                    indexed += 1
                    if let side = Self.outsideBounds(Array(suffix.dropFirst()), meta) {
                        report.problems.append((key, "a score-index entry \(side)"))
                        return
                    }
                } else if (suffix.first == 0x02 || suffix.first == 0x03) && meta.ranked {
                    n -= 1  // the rank directory, checked below
                } else {
                    report.problems.append((key, "a sorted-set element of unknown kind \(suffix.first ?? 0)"))
                }
            case .set:
                if let side = Self.outsideBounds(suffix, meta) {
                    report.problems.append((key, "a member \(side)"))
                    return
                }
            default:
                break
            }
            it.next()
        }
        try r.read { () throws(KVError) in try it.check() }
        if meta.type == .sortedSet {
            report.elements += Int(members)
            if members != meta.count || indexed != meta.count {
                report.problems.append((key, "sorted set counts \(meta.count) members; \(members) member and \(indexed) index entries found"))
            } else if meta.ranked, let problem = try r.rankDirectoryProblem(key, meta) {
                report.problems.append((key, problem))
            }
        } else {
            report.elements += Int(n)
            if n != meta.count {
                report.problems.append((key, "\(meta.type.name) counts \(meta.count) elements; \(n) found"))
            }
        }
    }
}
