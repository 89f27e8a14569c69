import NIOCore

/// RESP2 replies, written straight into the connection's outgoing buffer: no reply values
/// are built and then encoded, so a pipelined batch of GETs costs one buffer, not one
/// allocation per reply.
extension ByteBuffer {
    private static let crlf: StaticString = "\r\n"

    /// `+text` — a status reply. `text` must not contain CR or LF.
    mutating func writeSimple(_ text: String) {
        writeInteger(UInt8(ascii: "+"))
        writeString(text)
        writeStaticString(Self.crlf)
    }

    /// `+OK`.
    mutating func writeOK() {
        writeStaticString("+OK\r\n")
    }

    /// `-text` — an error reply; CR and LF in `text` become spaces so the frame stays whole.
    mutating func writeErrorReply(_ text: String) {
        writeInteger(UInt8(ascii: "-"))
        if text.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a }) {
            writeBytes(text.utf8.map { $0 == 0x0d || $0 == 0x0a ? 0x20 : $0 })
        } else {
            writeString(text)
        }
        writeStaticString(Self.crlf)
    }

    /// `:n`.
    mutating func writeIntegerReply(_ value: Int) {
        writeInteger(UInt8(ascii: ":"))
        writeDecimal(value)
        writeStaticString(Self.crlf)
    }

    /// `$len` + bytes.
    mutating func writeBulk(_ bytes: some Collection<UInt8>) {
        writeInteger(UInt8(ascii: "$"))
        writeDecimal(bytes.count)
        writeStaticString(Self.crlf)
        writeBytes(bytes)
        writeStaticString(Self.crlf)
    }

    mutating func writeBulk(_ bytes: UnsafeRawBufferPointer) {
        writeInteger(UInt8(ascii: "$"))
        writeDecimal(bytes.count)
        writeStaticString(Self.crlf)
        writeBytes(bytes)
        writeStaticString(Self.crlf)
    }

    mutating func writeBulk(_ text: String) {
        writeBulk(text.utf8)
    }

    /// `$-1` — the null bulk string (a missing key).
    mutating func writeNullBulk() {
        writeStaticString("$-1\r\n")
    }

    /// `*-1` — the null array.
    mutating func writeNullArray() {
        writeStaticString("*-1\r\n")
    }

    /// `*n`; the caller writes the `n` elements next.
    mutating func writeArrayHeader(_ count: Int) {
        writeInteger(UInt8(ascii: "*"))
        writeDecimal(count)
        writeStaticString(Self.crlf)
    }

    /// ASCII decimal digits of `value`, without allocating.
    mutating func writeDecimal(_ value: Int) {
        if value >= 0 && value < 10 {
            writeInteger(UInt8(ascii: "0") + UInt8(value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value.magnitude
            var i = 20
            repeat {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v != 0
            if value < 0 { writeInteger(UInt8(ascii: "-")) }
            writeBytes(UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }
}
