import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Replies in the connection's protocol, written straight into its outgoing buffer: no reply
/// values are built and then encoded, so a pipelined batch of GETs costs one buffer, not one
/// allocation per reply.
///
/// A connection speaks RESP2 until `HELLO 3`. Most replies are the same bytes in both; the
/// ones that differ are the null (`$-1`/`*-1` against `_`), maps (`*2n` against `%n`), sets
/// (`*n` against `~n`) and verbatim text (a bulk string against `=len\r\ntxt:…`). Commands
/// say which they mean, and the writer picks the bytes, as Redis's `addReply*` functions do.
package struct RESPReplyWriter {
    package var buffer: ByteBuffer
    /// The connection negotiated RESP3 (`HELLO 3`).
    package var resp3: Bool

    package init(buffer: ByteBuffer, resp3: Bool = false) {
        self.buffer = buffer
        self.resp3 = resp3
    }

    var readableBytes: Int { buffer.readableBytes }
    var writerIndex: Int { buffer.writerIndex }
    mutating func moveWriterIndex(to index: Int) { buffer.moveWriterIndex(to: index) }

    /// Appends replies written elsewhere (a body collected before its length was known).
    mutating func append(_ other: inout RESPReplyWriter) { buffer.writeBuffer(&other.buffer) }

    /// A writer for a reply body that is counted before it is sent, in the same protocol.
    func makeBody() -> RESPReplyWriter { RESPReplyWriter(buffer: ByteBuffer(), resp3: resp3) }

    /// `+text` — a status reply. `text` must not contain CR or LF.
    mutating func writeSimple(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "+"))
        buffer.writeString(text)
        buffer.writeStaticString("\r\n")
    }

    /// An array of status lines: the reply of the HELP subcommands.
    mutating func writeHelp(_ lines: [String]) {
        writeArrayHeader(lines.count)
        for line in lines { writeSimple(line) }
    }

    /// `+OK`.
    mutating func writeOK() { buffer.writeStaticString("+OK\r\n") }

    /// `-text` — an error reply; CR and LF in `text` become spaces so the frame stays whole.
    package mutating func writeErrorReply(_ text: String) { buffer.writeErrorReply(text) }

    /// `:n`.
    mutating func writeIntegerReply(_ value: Int) {
        buffer.writeInteger(UInt8(ascii: ":"))
        buffer.writeDecimal(value)
        buffer.writeStaticString("\r\n")
    }

    /// `$len` + bytes.
    mutating func writeBulk(_ bytes: some Collection<UInt8>) {
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeDecimal(bytes.count)
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
    }

    mutating func writeBulk(_ bytes: UnsafeRawBufferPointer) {
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeDecimal(bytes.count)
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
    }

    mutating func writeBulk(_ text: String) { writeBulk(text.utf8) }

    /// The null reply for a missing string: `$-1` in RESP2, `_` in RESP3.
    mutating func writeNullBulk() { buffer.writeStaticString(resp3 ? "_\r\n" : "$-1\r\n") }

    /// The null reply for a missing array (EXEC after a WATCH failed): `*-1`, or `_`.
    mutating func writeNullArray() { buffer.writeStaticString(resp3 ? "_\r\n" : "*-1\r\n") }

    /// `*n`; the caller writes the `n` elements next.
    mutating func writeArrayHeader(_ count: Int) { header(UInt8(ascii: "*"), count) }

    /// `>count` in RESP3 (an out-of-band push: Pub/Sub's replies and messages), `*count` in RESP2.
    mutating func writePushHeader(_ count: Int) { header(UInt8(ascii: resp3 ? ">" : "*"), count) }

    /// A map of `pairs` entries (`%n`; RESP2: a flat array of `2n`); write key, value, key …
    mutating func writeMapHeader(_ pairs: Int) {
        if resp3 { header(UInt8(ascii: "%"), pairs) } else { header(UInt8(ascii: "*"), 2 * pairs) }
    }

    /// A set of `count` elements (`~n`; RESP2: an array).
    mutating func writeSetHeader(_ count: Int) {
        header(resp3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), count)
    }

    /// A score: `,<%.17g>` in RESP3 (a double), the same text as a bulk string in RESP2, as
    /// Redis's `addReplyDouble` (inf and -inf spelled so).
    mutating func writeDouble(_ value: Double) {
        if resp3 {
            buffer.writeInteger(UInt8(ascii: ","))
            Self.appendScore(value, to: &buffer)
            buffer.writeStaticString("\r\n")
        } else {
            writeScoreBulk(value)
        }
    }

    /// A score as a bulk string in either protocol (ZSCAN's, WITHSCORES in a RESP2 array).
    mutating func writeScoreBulk(_ value: Double) {
        var text = ByteBuffer()
        Self.appendScore(value, to: &text)
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeDecimal(text.readableBytes)
        buffer.writeStaticString("\r\n")
        buffer.writeBuffer(&text)
        buffer.writeStaticString("\r\n")
    }

    /// `%.17g`, with `inf`/`-inf`: how Redis prints a score.
    static func appendScore(_ value: Double, to out: inout ByteBuffer) {
        if value.isInfinite {
            out.writeStaticString(value < 0 ? "-inf" : "inf")
            return
        }
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { chars in
            let n = withVaList([value]) { vsnprintf(chars.baseAddress, 32, "%.17g", $0) }
            out.writeBytes(UnsafeRawBufferPointer(start: chars.baseAddress, count: max(0, min(Int(n), 31))))
        }
    }

    /// Text meant for people (INFO, CLIENT LIST): a verbatim string `=len\r\ntxt:…` in RESP3,
    /// a bulk string in RESP2.
    mutating func writeVerbatim(_ text: String) {
        guard resp3 else { return writeBulk(text) }
        let bytes = text.utf8
        buffer.writeInteger(UInt8(ascii: "="))
        buffer.writeDecimal(bytes.count + 4)
        buffer.writeStaticString("\r\ntxt:")
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
    }

    private mutating func header(_ marker: UInt8, _ count: Int) {
        buffer.writeInteger(marker)
        buffer.writeDecimal(count)
        buffer.writeStaticString("\r\n")
    }
}

extension ByteBuffer {
    /// `-text` — an error reply (the same in RESP2 and RESP3); CR and LF in `text` become
    /// spaces so the frame stays whole.
    mutating func writeErrorReply(_ text: String) {
        writeInteger(UInt8(ascii: "-"))
        if text.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a }) {
            writeBytes(text.utf8.map { $0 == 0x0d || $0 == 0x0a ? 0x20 : $0 })
        } else {
            writeString(text)
        }
        writeStaticString("\r\n")
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
