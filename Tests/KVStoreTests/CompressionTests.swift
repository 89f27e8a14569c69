import Testing

@testable import KVStore
import KVStoreTesting

@Suite struct CompressionTests {
    static let codecs: [Compression] = [.none, .lz4, .zlib]

    func roundTrip(_ kind: Compression, _ input: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        let ok = input.withUnsafeBytes { Codec.compress(kind, $0, into: &out) }
        #expect(ok)
        return try out.withUnsafeBytes { try Codec.decompress(kind, $0, file: "t", offset: 0) }
    }

    @Test(arguments: codecs)
    func roundTrips(_ kind: Compression) throws {
        var rng = SplitMix64(seed: 7)
        let empty: [UInt8] = []
        let incompressible = randomBytes(10_000, &rng)
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog ", count: 30_000).utf8)
        let mebibyte = Array(text.prefix(1 << 20))
        #expect(try roundTrip(kind, empty) == empty)
        #expect(try roundTrip(kind, incompressible) == incompressible)
        #expect(try roundTrip(kind, mebibyte) == mebibyte)
    }

    @Test(arguments: [Compression.lz4, .zlib])
    func compressesRepetitiveData(_ kind: Compression) {
        let text = Array(String(repeating: "abcdefgh", count: 4096).utf8)
        var out: [UInt8] = []
        _ = text.withUnsafeBytes { Codec.compress(kind, $0, into: &out) }
        #expect(out.count < text.count / 10)
    }

    @Test(arguments: [Compression.lz4, .zlib])
    func corruptInputsAreErrors(_ kind: Compression) throws {
        let text = Array(String(repeating: "hello compression ", count: 500).utf8)
        var good: [UInt8] = []
        _ = text.withUnsafeBytes { Codec.compress(kind, $0, into: &good) }

        func decode(_ input: [UInt8], limit: Int = Codec.defaultLimit) -> KVError? {
            do {
                _ = try input.withUnsafeBytes { try Codec.decompress(kind, $0, limit: limit, file: "blk", offset: 77) }
                return nil
            } catch let error as KVError {
                return error
            } catch {
                return .invalidArgument("unexpected \(error)")
            }
        }
        // Truncations at every length never crash and never succeed silently.
        for cut in stride(from: 0, to: good.count, by: max(1, good.count / 40)) {
            let e = decode(Array(good.prefix(cut)))
            #expect(e?.isCorruption == true, "cut at \(cut)")
        }
        // Absurd declared size: rejected before allocating it.
        var absurd: [UInt8] = []
        absurd.appendVarint32(UInt32.max)
        absurd.append(contentsOf: good.dropFirst(2))
        guard case let .corruption(file, offset, reason)? = decode(absurd) else {
            Issue.record("absurd size accepted")
            return
        }
        #expect(file == "blk" && offset == 77)
        #expect(reason.contains("limit"))
        // A declared size larger than what the data holds.
        var lying: [UInt8] = []
        lying.appendVarint32(UInt32(text.count + 10))
        var reader = good
        reader.removeFirst(varintLength(UInt64(text.count)))
        lying.append(contentsOf: reader)
        #expect(decode(lying)?.isCorruption == true)
        // Flipped bytes: an error or (rarely, for lz4 literals) different bytes, never a crash.
        var rng = SplitMix64(seed: 99)
        for _ in 0..<200 {
            var damaged = good
            let i = Int.random(in: 0..<damaged.count, using: &rng)
            damaged[i] ^= UInt8.random(in: 1...255, using: &rng)
            _ = decode(damaged)
        }
        // Garbage.
        for _ in 0..<200 {
            _ = decode(randomBytes(Int.random(in: 0..<300, using: &rng), &rng))
        }
    }
}
