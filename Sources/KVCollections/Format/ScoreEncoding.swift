/// Sorted-set scores as eight bytes whose byte order is numeric order, from -inf to +inf, for
/// the score index: positive numbers get the sign bit set, negative ones are inverted whole.
/// Negative zero is stored as zero (Redis's listpack does the same), so equal scores sort by
/// member. NaN never gets here: every way in rejects it.
public enum ScoreEncoding {
    static func sortable(_ score: Double) -> UInt64 {
        let bits = (score == 0 ? 0.0 : score).bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    static func score(fromSortable v: UInt64) -> Double {
        Double(bitPattern: v & (1 << 63) != 0 ? v & ~(1 << 63) : ~v)
    }

    /// A member entry's value: the score's bits, little-endian.
    static func value(_ score: Double) -> [UInt8] {
        let bits = (score == 0 ? 0.0 : score).bitPattern
        return (0..<8).map { UInt8(truncatingIfNeeded: bits >> UInt64($0 * 8)) }
    }

    /// A sorted-set member entry's value (what `scanElements` hands out) as its score.
    public static func score(fromValue v: [UInt8]) -> Double? {
        guard v.count == 8 else { return nil }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(v[i]) << UInt64(i * 8) }
        return Double(bitPattern: bits)
    }
}
