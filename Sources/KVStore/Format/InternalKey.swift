#if canImport(Glibc)
import Glibc
#endif

// An internal key is the user key followed by an 8-byte little-endian trailer
// `sequence << 8 | kind`. Internal keys sort by user key ascending (bytewise, shorter
// first), then by trailer descending, so the newest version of a key comes first.

/// What an entry records about its key. Stored in the low byte of the trailer and as the
/// tag of each `WriteBatch` record; the numbers are part of the on-disk format.
package enum ValueKind: UInt8 {
    case deletion = 0
    case value = 1
    /// Only in write batches (key = start, value = end); never an internal-key kind.
    case rangeDeletion = 2
    /// A value with an expiry: the stored value is `expiresAt u64 (ms since the Unix epoch)`
    /// followed by the user's bytes. Once the clock reaches `expiresAt` every read treats it
    /// as a deletion, and compaction turns it into one (or drops it).
    case expiringValue = 3
    /// Only in write batches (key = start, no value): a range deletion with no end, to the
    /// end of the keyspace; never an internal-key kind.
    case rangeDeletionToEnd = 4
    /// A value with a tag: `tag u8 | expiresAt u64 (0: none) | the user's bytes`. The tag is
    /// the application's (`WriteBatch.put(_:_:expiresAt:tag:)`); the engine stores and
    /// returns it and otherwise treats the entry as a value (with an expiry when nonzero).
    case taggedValue = 5

    /// A range deletion of either shape (write batches only).
    var isRangeDeletion: Bool { self == .rangeDeletion || self == .rangeDeletionToEnd }

    /// Whether a write-batch record of this kind carries a value after its key.
    var hasValue: Bool { self != .deletion && self != .rangeDeletionToEnd }
}

/// Bytes an expiring value carries before the user's value.
let expiryPrefixSize = 8

/// Bytes a tagged value carries before the user's value (tag, expiry).
let taggedPrefixSize = 9

/// Where a stored value's bytes start, its expiry (0: none) and tag (0: none), by the entry's
/// kind; nil for a kind that holds no value, or a value too short for its prefix (only in
/// corrupt input).
@inline(__always)
func valueParts(_ kind: UInt8, _ stored: UnsafeRawBufferPointer) -> (offset: Int, expiresAt: UInt64, tag: UInt8)? {
    switch kind {
    case ValueKind.value.rawValue:
        return (0, 0, 0)
    case ValueKind.expiringValue.rawValue:
        guard stored.count >= expiryPrefixSize else { return nil }
        return (expiryPrefixSize, loadFixed64(stored.baseAddress!), 0)
    case ValueKind.taggedValue.rawValue:
        guard stored.count >= taggedPrefixSize else { return nil }
        return (taggedPrefixSize, loadFixed64(stored.baseAddress! + 1), stored[0])
    default:
        return nil
    }
}

/// Splits an expiring value into its expiry and payload, or nil if it is too short to hold
/// the expiry (only in corrupt input).
@inline(__always)
func splitExpiring(_ stored: UnsafeRawBufferPointer) -> (expiresAt: UInt64, payload: UnsafeRawBufferPointer)? {
    guard stored.count >= expiryPrefixSize else { return nil }
    return (loadFixed64(stored.baseAddress!), UnsafeRawBufferPointer(rebasing: stored[expiryPrefixSize...]))
}

/// Sequence numbers are 56 bits: the trailer keeps the low byte for the kind.
package let maxSequenceNumber: UInt64 = (1 << 56) - 1

@inline(__always)
func packTrailer(_ sequence: UInt64, _ kind: UInt8) -> UInt64 {
    sequence << 8 | UInt64(kind)
}

/// Trailer for seeking to the newest entry of a key visible at `sequence`: it sorts before
/// every entry of that key with a sequence at or below `sequence`.
@inline(__always)
func seekTrailer(_ sequence: UInt64) -> UInt64 {
    packTrailer(sequence, 0xff)
}

/// Bytewise comparison of two user keys; shorter is smaller when one is a prefix.
///
/// Keys of up to 32 bytes are compared eight bytes at a time as big-endian words, in line:
/// this runs at every step of every skip-list and block search, and the call into `memcmp`
/// cost more than the comparison for short keys (measured: `memcmp` 5% of readmissing).
@inline(__always)
func compareBytes(_ a: UnsafeRawPointer?, _ aCount: Int, _ b: UnsafeRawPointer?, _ bCount: Int) -> Int {
    let n = min(aCount, bCount)
    if n > 0, let a, let b {
        if n > 32 {
            let r = memcmp(a, b, n)
            if r != 0 { return Int(r) }
        } else {
            var i = 0
            while i + 8 <= n {
                let x = UInt64(bigEndian: a.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let y = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if x != y { return x < y ? -1 : 1 }
                i += 8
            }
            while i < n {
                let x = a.load(fromByteOffset: i, as: UInt8.self)
                let y = b.load(fromByteOffset: i, as: UInt8.self)
                if x != y { return x < y ? -1 : 1 }
                i += 1
            }
        }
    }
    return aCount < bCount ? -1 : (aCount > bCount ? 1 : 0)
}

/// Whether `a` orders before `b` bytewise: `lexicographicallyPrecedes` without the generic
/// element-by-element walk (a batch of tens of thousands of keys sorts in a fraction of the
/// time, and debug builds most of all).
@inline(__always)
package func bytesPrecede(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareBytes(x.baseAddress, x.count, y.baseAddress, y.count) < 0 } }
}

/// Internal-key order: user key ascending, then trailer (sequence, kind) descending.
@inline(__always)
func compareInternal(
    _ aKey: UnsafeRawPointer?, _ aCount: Int, _ aTrailer: UInt64,
    _ bKey: UnsafeRawPointer?, _ bCount: Int, _ bTrailer: UInt64
) -> Int {
    let r = compareBytes(aKey, aCount, bKey, bCount)
    if r != 0 { return r }
    return aTrailer > bTrailer ? -1 : (aTrailer < bTrailer ? 1 : 0)
}

/// Compares two encoded internal keys (user key ++ 8-byte trailer). Keys shorter than a
/// trailer (only possible in corrupt input) compare bytewise so nothing traps.
@inline(__always)
func compareInternalKeys(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    guard a.count >= 8, b.count >= 8 else {
        return compareBytes(a.baseAddress, a.count, b.baseAddress, b.count)
    }
    let au = a.count - 8
    let bu = b.count - 8
    return compareInternal(
        a.baseAddress, au, loadFixed64(a.baseAddress! + au),
        b.baseAddress, bu, loadFixed64(b.baseAddress! + bu))
}

/// The user-key part of an internal key.
@inline(__always)
package func userKey(_ internalKey: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: internalKey[..<max(0, internalKey.count - 8)])
}

@inline(__always)
func trailer(_ internalKey: UnsafeRawBufferPointer) -> UInt64 {
    internalKey.count >= 8 ? loadFixed64(internalKey.baseAddress! + internalKey.count - 8) : 0
}

/// Builds `userKey ++ trailer` in `out` (reusing its storage).
@inline(__always)
func makeInternalKey(_ userKey: UnsafeRawBufferPointer, _ trailer: UInt64, into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    out.append(contentsOf: userKey)
    out.appendFixed64(trailer)
}

package func makeInternalKey(_ userKey: [UInt8], _ sequence: UInt64, _ kind: UInt8) -> [UInt8] {
    var out: [UInt8] = []
    userKey.withUnsafeBytes { makeInternalKey($0, packTrailer(sequence, kind), into: &out) }
    return out
}

/// What a memtable or table holds for a key at a read's sequence.
package enum LookupResult: Sendable {
    /// `expiresAt` is 0 for a value without expiry (the caller compares it with its clock);
    /// `tag` is 0 for an untagged value.
    case found([UInt8], sequence: UInt64, expiresAt: UInt64, tag: UInt8)
    case deleted(sequence: UInt64)
    case absent
}
