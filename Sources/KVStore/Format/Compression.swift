import CLZ4
import CZlib

/// How table blocks are compressed. Stored as one byte in each block trailer.
public enum Compression: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Stored as is.
    case none = 0
    /// LZ4 (fast; the default).
    case lz4 = 1
    /// zlib/deflate at level 6 (smaller, slower).
    case zlib = 2

    /// The codec's name: `none`, `lz4` or `zlib`.
    public var description: String {
        switch self {
        case .none: return "none"
        case .lz4: return "lz4"
        case .zlib: return "zlib"
        }
    }
}

/// Compression codecs over contiguous bytes.
///
/// A compressed payload is `varint32 uncompressedLength ++ codec bytes`, so a reader knows
/// the size to allocate before decoding. That declared length is attacker-controlled in a
/// corrupt file, so it is checked against `limit` before anything is allocated, and the
/// decoder must produce exactly that many bytes from exactly the given input.
enum Codec {
    /// Largest uncompressed payload a reader accepts unless told otherwise (blocks are KiBs).
    static let defaultLimit = 64 << 20

    /// Appends the compressed form of `input` to `out`. Returns false if the codec failed
    /// (the caller then stores the block uncompressed).
    static func compress(_ kind: Compression, _ input: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        switch kind {
        case .none:
            out.append(contentsOf: input)
            return true
        case .lz4:
            guard input.count <= Int(LZ4_MAX_INPUT_SIZE) else { return false }
            out.appendVarint32(UInt32(input.count))
            let bound = Int(LZ4_compressBound(Int32(input.count)))
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: bound))
            let written = out.withUnsafeMutableBytes { dst -> Int32 in
                LZ4_compress_default(
                    input.baseAddress?.assumingMemoryBound(to: CChar.self),
                    (dst.baseAddress! + start).assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(bound))
            }
            guard written > 0 || input.isEmpty else { return false }
            out.removeLast(bound - Int(written))
            return true
        case .zlib:
            guard input.count <= Int(UInt32.max) else { return false }
            out.appendVarint32(UInt32(input.count))
            var zs = z_stream()
            guard deflateInit_(&zs, 6, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                return false
            }
            defer { deflateEnd(&zs) }
            let bound = Int(deflateBound(&zs, UInt(input.count)))
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: bound))
            let status = out.withUnsafeMutableBytes { dst -> Int32 in
                zs.next_in = UnsafeMutablePointer(
                    mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
                zs.avail_in = uInt(input.count)
                zs.next_out = (dst.baseAddress! + start).assumingMemoryBound(to: Bytef.self)
                zs.avail_out = uInt(bound)
                return deflate(&zs, Z_FINISH)
            }
            guard status == Z_STREAM_END else { return false }
            out.removeLast(bound - Int(zs.total_out))
            return true
        }
    }

    /// Decodes a payload written by `compress`. Any inconsistency (truncated input, a
    /// declared size above `limit`, trailing garbage, a codec error) throws
    /// `KVError.corruption` located at `file`/`offset`.
    static func decompress(
        _ kind: Compression, _ input: UnsafeRawBufferPointer,
        limit: Int = defaultLimit, file: String, offset: Int64
    ) throws(KVError) -> [UInt8] {
        if kind == .none { return Array(input) }
        let (declared, body) = try header(kind, input, limit: limit, file: file, offset: offset)
        var failure: KVError?
        let output = [UInt8](unsafeUninitializedCapacity: max(declared, 1)) { dst, count in
            do throws(KVError) {
                try decode(kind, body, into: UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(dst)[0..<declared]), file: file, offset: offset)
                count = declared
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Decodes a compressed payload straight into a `BlockMemory` buffer (the caller owns it and
    /// recycles it; its first `count` bytes are the payload), so a block read from a table is
    /// never copied after decompression.
    static func decompressToAllocation(
        _ kind: Compression, _ input: UnsafeRawBufferPointer,
        limit: Int = defaultLimit, file: String, offset: Int64
    ) throws(KVError) -> (buffer: UnsafeMutableRawBufferPointer, count: Int) {
        let (declared, body) = try header(kind, input, limit: limit, file: file, offset: offset)
        let out = BlockMemory.allocate(declared)
        do {
            try decode(kind, body, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<declared]), file: file, offset: offset)
        } catch {
            BlockMemory.recycle(out)
            throw error
        }
        return (out, declared)
    }

    /// The declared uncompressed length (checked against `limit`) and the codec bytes.
    private static func header(
        _ kind: Compression, _ input: UnsafeRawBufferPointer, limit: Int, file: String, offset: Int64
    ) throws(KVError) -> (Int, UnsafeRawBufferPointer) {
        var reader = ByteReader(input)
        guard let declared32 = reader.readVarint32() else {
            throw .corruption(file: file, offset: offset, reason: "\(kind) block: bad length header")
        }
        let declared = Int(declared32)
        guard declared <= limit else {
            throw .corruption(
                file: file, offset: offset,
                reason: "\(kind) block declares \(declared) bytes, above the limit of \(limit)")
        }
        return (declared, UnsafeRawBufferPointer(rebasing: input[reader.offset...]))
    }

    /// Decodes `body` into exactly `dst.count` bytes, or throws.
    private static func decode(
        _ kind: Compression, _ body: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer,
        file: String, offset: Int64
    ) throws(KVError) {
        let declared = dst.count
        switch kind {
        case .none:
            guard body.count == declared else {
                throw .corruption(file: file, offset: offset, reason: "stored block of \(body.count) bytes, expected \(declared)")
            }
            dst.copyMemory(from: body)
        case .lz4:
            let n = LZ4_decompress_safe(
                body.baseAddress?.assumingMemoryBound(to: CChar.self),
                dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(body.count), Int32(declared))
            if n != Int32(declared) {
                throw .corruption(file: file, offset: offset,
                                  reason: n < 0 ? "lz4 decode error \(n)" : "lz4 produced \(n) bytes, expected \(declared)")
            }
        case .zlib:
            var zs = z_stream()
            guard inflateInit_(&zs, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw .corruption(file: file, offset: offset, reason: "zlib inflateInit failed")
            }
            defer { inflateEnd(&zs) }
            zs.next_in = UnsafeMutablePointer(mutating: body.baseAddress?.assumingMemoryBound(to: Bytef.self))
            zs.avail_in = uInt(body.count)
            zs.next_out = dst.baseAddress?.assumingMemoryBound(to: Bytef.self)
            zs.avail_out = uInt(declared)
            let status = inflate(&zs, Z_FINISH)
            if status != Z_STREAM_END || Int(zs.total_out) != declared || zs.avail_in != 0 {
                throw .corruption(file: file, offset: offset,
                                  reason: "zlib decode error \(status) (\(zs.total_out) of \(declared) bytes)")
            }
        }
    }
}
