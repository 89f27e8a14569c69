/// Turns the merged stream of internal entries into what a reader at `sequence` sees: one
/// entry per user key (its newest version at or below `sequence`), no deletions, nothing a
/// range deletion hides, nothing outside the bounds. Both directions, after LevelDB's DBIter.
///
/// Forward, the merged iterator sits on the entry being shown. Backward, it sits just before
/// all entries of the shown key, whose key and value are copied into `savedKey`/`savedValue`.
final class DBIterator {
    private let input: MergingIterator
    private let sequence: UInt64
    /// The clock reading (ms since the epoch) the whole iteration judges expiry by.
    private let now: UInt64
    private let tombstones: TombstoneIndex
    private let lowerBound: [UInt8]?
    private let upperBound: [UInt8]?
    // Exempt from dynamic exclusivity checks: touched on every step, one thread by contract.
    @exclusivity(unchecked) private var forward = true
    @exclusivity(unchecked) private(set) var isValid = false
    @exclusivity(unchecked) private var savedKey: [UInt8] = []
    @exclusivity(unchecked) private var savedValue: [UInt8] = []
    /// The shown entry's expiry and tag, 0 for none.
    @exclusivity(unchecked) private(set) var expiresAt: UInt64 = 0
    @exclusivity(unchecked) private(set) var tag: UInt8 = 0
    /// Forward: where the shown value's bytes start in the input's value (after an expiry or
    /// tag prefix), which `withCurrent` strips.
    @exclusivity(unchecked) private var payloadOffset = 0
    private var corruption: KVError?
    private var seekScratch: [UInt8] = []
    /// Steps taken over hidden entries (tests and benchmarks read it to show skipping works).
    private(set) var skippedEntries = 0

    init(input: MergingIterator, sequence: UInt64, now: UInt64, tombstones: TombstoneIndex, lowerBound: [UInt8]?, upperBound: [UInt8]?) {
        self.input = input
        self.sequence = sequence
        self.now = now
        self.tombstones = tombstones
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    var error: KVError? { corruption ?? input.error }

    func withCurrent<R, E: Error>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if forward {
            let v = input.value
            return try body(userKey(input.key), payloadOffset == 0 ? v : UnsafeRawBufferPointer(rebasing: v[payloadOffset...]))
        }
        return try savedKey.withBytes { (k) throws(E) in try savedValue.withBytes { (v) throws(E) in try body(k, v) } }
    }

    // MARK: Positioning

    func seekToFirst() {
        forward = true
        if let lowerBound {
            seekInput(lowerBound)
        } else {
            input.seekToFirst()
        }
        findNextUserEntry(skipping: false)
    }

    func seek(_ target: UnsafeRawBufferPointer) {
        forward = true
        if let lowerBound, lowerBound.withUnsafeBytes({ compareBytes($0.baseAddress, $0.count, target.baseAddress, target.count) }) > 0 {
            seekInput(lowerBound)
        } else {
            seekInput(Array(target))
        }
        findNextUserEntry(skipping: false)
    }

    func seekToLast() {
        forward = false
        if let upperBound {
            seekInput(upperBound)
            if input.isValid { input.previous() } else { input.seekToLast() }
        } else {
            input.seekToLast()
        }
        findPreviousUserEntry()
    }

    func next() {
        guard isValid else { return }
        if !forward {
            // The input sits before the saved key's entries: step into them, then skip them.
            forward = true
            if input.isValid { input.next() } else { input.seekToFirst() }
            guard input.isValid else {
                isValid = false
                return
            }
            findNextUserEntry(skipping: true)  // savedKey holds the key to skip past
            return
        }
        Self.assign(userKey(input.key), to: &savedKey)
        input.next()
        findNextUserEntry(skipping: true)
    }

    func previous() {
        guard isValid else { return }
        if forward {
            // Move the input before every entry of the current key.
            Self.assign(userKey(input.key), to: &savedKey)
            while true {
                input.previous()
                guard input.isValid else {
                    isValid = false
                    savedKey.removeAll()
                    savedValue.removeAll()
                    return
                }
                let u = userKey(input.key)
                if compareBytes(u.baseAddress, u.count, savedKey, savedKey.count) < 0 { break }
            }
            forward = false
        }
        findPreviousUserEntry()
    }

    // MARK: Core

    private func seekInput(_ userKey: [UInt8]) {
        userKey.withUnsafeBytes { makeInternalKey($0, seekTrailer(sequence), into: &seekScratch) }
        seekScratch.withUnsafeBytes { input.seek($0) }
    }

    private func beyondUpper(_ u: UnsafeRawBufferPointer) -> Bool {
        guard let upperBound else { return false }
        return upperBound.withUnsafeBytes { compareBytes(u.baseAddress, u.count, $0.baseAddress, $0.count) >= 0 }
    }

    private func belowLower(_ u: UnsafeRawBufferPointer) -> Bool {
        guard let lowerBound else { return false }
        return lowerBound.withUnsafeBytes { compareBytes(u.baseAddress, u.count, $0.baseAddress, $0.count) < 0 }
    }

    /// Forward to the next visible entry. With `skipping`, entries of user keys ≤ `savedKey`
    /// are hidden (`savedKey` doubles as the skip key, as in LevelDB, to avoid a copy).
    private func findNextUserEntry(skipping: Bool) {
        var skipping = skipping
        while input.isValid {
            let ik = input.key
            let u = userKey(ik)
            if beyondUpper(u) { break }
            let t = trailer(ik)
            let seq = t >> 8
            if seq <= sequence {
                let hidden = skipping && compareBytes(u.baseAddress, u.count, savedKey, savedKey.count) <= 0
                if !hidden {
                    let rawKind = UInt8(truncatingIfNeeded: t)
                    var kind = ValueKind(rawValue: rawKind)
                    var parts = (offset: 0, expiresAt: UInt64(0), tag: UInt8(0))
                    if kind == .expiringValue || kind == .taggedValue {
                        guard let p = valueParts(rawKind, input.value) else {
                            corruption = .corruption(file: "<iterator>", offset: 0, reason: "expiring or tagged value shorter than its prefix")
                            break
                        }
                        parts = p
                        kind = p.expiresAt != 0 && p.expiresAt <= now ? .deletion : .value  // expired: hides older versions
                    }
                    switch kind {
                    case .value?:
                        if !tombstones.isEmpty, let f = tombstones.fragment(containing: u),
                           let cover = f.sequences.first(where: { $0 <= sequence }), cover > seq
                        {
                            // Hidden by a range deletion: hide the key's older entries, and
                            // let sources entirely older than the deletion jump to its end.
                            Self.assign(u, to: &savedKey)
                            skipping = true
                            skippedEntries += 1
                            let start = Array(f.start)
                            start.withUnsafeBytes { input.skipCovered(start: $0, end: f.end, sequence: cover) }
                            // Re-examine the new front: this entry again (now hidden) if its
                            // source could not jump, else whatever follows the deleted range.
                            continue
                        }
                        (payloadOffset, expiresAt, tag) = parts
                        isValid = true
                        return
                    case .deletion?:
                        Self.assign(u, to: &savedKey)
                        skipping = true
                    default:
                        break
                    }
                }
            }
            skippedEntries += 1
            input.next()
        }
        isValid = false
    }

    private func findPreviousUserEntry() {
        var kind = ValueKind.deletion
        var savedExpiry: UInt64 = 0
        var savedTag: UInt8 = 0
        savedKey.removeAll(keepingCapacity: true)
        savedValue.removeAll(keepingCapacity: true)
        while input.isValid {
            let ik = input.key
            let u = userKey(ik)
            let t = trailer(ik)
            let seq = t >> 8
            if seq <= sequence && !beyondUpper(u) {
                if kind != .deletion && compareBytes(u.baseAddress, u.count, savedKey, savedKey.count) < 0 {
                    break  // the entries of the saved key are behind us; it is the answer
                }
                if belowLower(u) { break }
                let rawKind = UInt8(truncatingIfNeeded: t)
                var entryKind = ValueKind(rawValue: rawKind) ?? .deletion
                var entryExpiry: UInt64 = 0
                var entryTag: UInt8 = 0
                var payload = input.value
                if entryKind == .expiringValue || entryKind == .taggedValue {
                    if let (offset, e, tag) = valueParts(rawKind, payload), e == 0 || e > now {
                        entryExpiry = e
                        entryTag = tag
                        payload = UnsafeRawBufferPointer(rebasing: payload[offset...])
                        entryKind = .value
                    } else {
                        entryKind = .deletion  // expired (or, in corrupt input, unreadable)
                    }
                }
                if entryKind == .value && !tombstones.isEmpty && tombstones.coveringSequence(u, atOrBelow: sequence) > seq {
                    entryKind = .deletion
                }
                kind = entryKind
                if kind == .deletion {
                    savedKey.removeAll(keepingCapacity: true)
                    savedValue.removeAll(keepingCapacity: true)
                } else {
                    Self.assign(u, to: &savedKey)
                    Self.assign(payload, to: &savedValue)
                    savedExpiry = entryExpiry
                    savedTag = entryTag
                }
            }
            skippedEntries += 1
            input.previous()
        }
        if kind == .deletion || (lowerBound != nil && savedKey.withUnsafeBytes { belowLower($0) }) {
            isValid = false
            savedKey.removeAll()
            savedValue.removeAll()
            forward = true
        } else {
            expiresAt = savedExpiry
            tag = savedTag
            isValid = true
        }
    }

    /// Replaces `array`'s bytes with `bytes`: in place when the length is the same (keys of
    /// one length are the common case), so a step copies a key without the generic
    /// `removeAll` + `append` (4% of readseq, measured).
    @inline(__always)
    private static func assign(_ bytes: UnsafeRawBufferPointer, to array: inout [UInt8]) {
        if array.count == bytes.count {
            if !bytes.isEmpty { array.withUnsafeMutableBytes { $0.copyMemory(from: bytes) } }
        } else {
            array.removeAll(keepingCapacity: true)
            array.append(contentsOf: bytes)
        }
    }
}
