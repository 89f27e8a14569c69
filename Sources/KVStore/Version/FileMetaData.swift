/// A live table: its number, size and key range (internal keys).
package struct FileMetaData: Sendable, Equatable {
    var number: UInt64
    var size: UInt64
    var smallest: [UInt8]
    var largest: [UInt8]
    /// Sequence range of the entries (range-tombstone garbage collection uses it).
    var smallestSequence: UInt64 = 0
    var largestSequence: UInt64 = maxSequenceNumber

    package init(
        number: UInt64, size: UInt64, smallest: [UInt8], largest: [UInt8],
        smallestSequence: UInt64 = 0, largestSequence: UInt64 = maxSequenceNumber
    ) {
        self.number = number
        self.size = size
        self.smallest = smallest
        self.largest = largest
        self.smallestSequence = smallestSequence
        self.largestSequence = largestSequence
    }

    var smallestUserKey: ArraySlice<UInt8> { smallest.dropLast(8) }
    var largestUserKey: ArraySlice<UInt8> { largest.dropLast(8) }

    /// True if the file's user-key range intersects [begin, end] (nil = unbounded).
    func overlaps(_ begin: [UInt8]?, _ end: [UInt8]?) -> Bool {
        if let begin, compareSlices(largestUserKey, begin[...]) < 0 { return false }
        if let end, compareSlices(smallestUserKey, end[...]) > 0 { return false }
        return true
    }

    func contains(userKey key: UnsafeRawBufferPointer) -> Bool {
        smallest.withUnsafeBytes { s in
            largest.withUnsafeBytes { l in
                let su = userKey(s)
                let lu = userKey(l)
                return compareBytes(su.baseAddress, su.count, key.baseAddress, key.count) <= 0
                    && compareBytes(lu.baseAddress, lu.count, key.baseAddress, key.count) >= 0
            }
        }
    }
}

func compareSlices(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareBytes(x.baseAddress, x.count, y.baseAddress, y.count) } }
}

func compareInternalArrays(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareInternalKeys(x, y) } }
}
