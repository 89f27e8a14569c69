import KVStore

/// SPOP, SRANDMEMBER, HRANDFIELD and ZRANDMEMBER's picks. A collection of up to
/// `exactSampleLimit` elements is read whole and sampled exactly (uniformly); a larger one
/// is sampled by seeking: a random point between its first and last element (at each byte
/// position a random byte within the range the two span there), and the element at or
/// before it by a coin — a few reads per pick, as RANDOMKEY does for keys. Elements after wide gaps in the byte space come up more often than
/// elements in dense runs; Redis's picks are uniform (at the cost of memory holding every
/// element).
extension KeyspaceAccess {
    /// Collections up to this size are sampled exactly.
    public static var exactSampleLimit: Int { 512 }

    /// The suffixes (hash fields, set members, sorted-set members) of up to `count` elements
    /// of `key`, a `type` collection: distinct ones for `count` ≥ 0 (all of them, in random
    /// order, when `count` ≥ its size), `-count` picks that may repeat for a negative count.
    /// Empty when the key does not exist.
    public func randomElements(_ key: [UInt8], _ type: KeyType, count: Int) throws(KeyspaceError) -> [[UInt8]] {
        var ends: (first: [UInt8], last: [UInt8])?
        return try randomElements(key, type, count: count, ends: &ends)
    }

    /// The same; `ends` gets the first and last element when the picks sampled by seeking.
    func randomElements(_ key: [UInt8], _ type: KeyType, count: Int, ends: inout (first: [UInt8], last: [UInt8])?) throws(KeyspaceError) -> [[UInt8]] {
        guard count != 0, let (meta, _) = try metadata(key, type) else { return [] }
        let space: [UInt8] = type == .sortedSet ? [0x00] : []
        var rng = SampleRandom()
        let n = Int(meta.count)
        let wanted = count < 0 ? Int(clamping: count.magnitude) : min(count, n)
        // Small, or most of it wanted: read it all and sample exactly.
        if n <= Self.exactSampleLimit || (count > 0 && wanted * 2 >= n) {
            var all: [[UInt8]] = []
            all.reserveCapacity(n)
            try forEachElement(key, meta, suffixPrefix: space) { s, _ in all.append(Array(s)) }
            guard !all.isEmpty else { return [] }
            if count < 0 { return (0..<wanted).map { _ in all[Int.random(in: 0..<all.count, using: &rng)] } }
            all.shuffle(using: &rng)
            return Array(all.prefix(wanted))
        }
        let it = try elements(key, meta, suffixPrefix: space)
        let skip = KeyspaceKeys.elementPrefix(key, version: meta.version).count + space.count
        func current() -> [UInt8] { it.withCurrent { k, _ in Array(k[skip...]) } }
        it.seekToFirst()
        guard it.isValid else { return try read { () throws(KVError) in try it.check(); return [] } }
        let first = current()
        it.seekToLast()
        let last = current()
        ends = (first, last)
        let base = KeyspaceKeys.elementPrefix(key, version: meta.version) + space
        // The byte range of each position, from the first and last element: a fixed-width
        // number or hex string then gets a digit (or hex digit) at every place, so picks
        // spread over the elements, not onto the few just after "0…" or "9…".
        let width = max(first.count, last.count)
        let ranges: [ClosedRange<UInt8>] = (0..<width).map { j in
            let a = j < first.count ? first[j] : 0
            let b = j < last.count ? last[j] : 255
            return min(a, b)...max(a, b)
        }
        func pick() -> [UInt8] {
            var target: [UInt8] = []
            target.reserveCapacity(width)
            var below = false  // once a byte is below last's, the rest may be anything in range
            for (j, r) in ranges.enumerated() {
                let high = below || j >= last.count ? r.upperBound : min(r.upperBound, last[j])
                let byte = UInt8.random(in: r.lowerBound...max(r.lowerBound, high), using: &rng)
                if j < last.count && byte < last[j] { below = true }
                target.append(byte)
            }
            it.seek(to: base + target)
            if !it.isValid { it.seekToLast() }
            if Bool.random(using: &rng) {
                it.previous()
                if !it.isValid { it.seekToFirst() }
            }
            return it.isValid ? current() : first
        }
        var out: [[UInt8]] = []
        out.reserveCapacity(wanted)
        if count < 0 {
            for _ in 0..<wanted { out.append(pick()) }
        } else {
            // Distinct picks; a run of repeats (a dense corner of the byte space) falls back
            // to walking on from a random point, wrapping round.
            var seen: Set<[UInt8]> = []
            var misses = 0
            while out.count < wanted && misses < 8 * wanted {
                let m = pick()
                if seen.insert(m).inserted { out.append(m) } else { misses += 1 }
            }
            if out.count < wanted {
                it.seek(to: base + pick())
                var steps = 0
                while out.count < wanted && steps < n {
                    if !it.isValid { it.seekToFirst() }
                    let m = current()
                    if seen.insert(m).inserted { out.append(m) }
                    it.next()
                    steps += 1
                }
            }
        }
        try read { () throws(KVError) in try it.check() }
        return out
    }
}
