/// How keys and values appear on the command line and in output: binary-safe text.
enum ByteEncoding: String, CaseIterable {
    /// Printable ASCII as is; `\\`, `\t`, `\n`, `\r` and `\xHH` for the rest (redis-cli's
    /// style). Safe inside TSV and JSON; reads back to the same bytes.
    case escaped
    /// Lowercase hexadecimal, two digits per byte.
    case hex
    /// The bytes themselves (arguments as UTF-8). Not safe for binary data in TSV or JSON.
    case raw

    func encode(_ bytes: some Collection<UInt8>) -> String {
        switch self {
        case .raw:
            return String(decoding: Array(bytes), as: UTF8.self)
        case .hex:
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count * 2)
            for b in bytes {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
            }
            return String(decoding: out, as: UTF8.self)
        case .escaped:
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            for b in bytes {
                switch b {
                case UInt8(ascii: "\\"): out += [92, 92]
                case 0x09: out += [92, UInt8(ascii: "t")]
                case 0x0a: out += [92, UInt8(ascii: "n")]
                case 0x0d: out += [92, UInt8(ascii: "r")]
                case 0x20...0x7e: out.append(b)
                default: out += [92, UInt8(ascii: "x"), digits[Int(b >> 4)], digits[Int(b & 15)]]
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    func decode(_ text: String) throws(KVCtlError) -> [UInt8] {
        let bytes = Array(text.utf8)
        switch self {
        case .raw:
            return bytes
        case .hex:
            guard bytes.count % 2 == 0 else { throw .usage("'\(text.prefix(40))' is not hex: odd number of digits") }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count / 2)
            var i = 0
            while i < bytes.count {
                guard let hi = Self.hexValue(bytes[i]), let lo = Self.hexValue(bytes[i + 1]) else {
                    throw .usage("'\(text.prefix(40))' is not hex")
                }
                out.append(hi << 4 | lo)
                i += 2
            }
            return out
        case .escaped:
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var i = 0
            while i < bytes.count {
                let c = bytes[i]
                guard c == 92 else {
                    out.append(c)
                    i += 1
                    continue
                }
                guard i + 1 < bytes.count else { throw .usage("'\(text.prefix(40))' ends with a lone backslash (write \\\\ for one)") }
                switch bytes[i + 1] {
                case 92: out.append(92); i += 2
                case UInt8(ascii: "t"): out.append(9); i += 2
                case UInt8(ascii: "n"): out.append(10); i += 2
                case UInt8(ascii: "r"): out.append(13); i += 2
                case UInt8(ascii: "0"): out.append(0); i += 2
                case UInt8(ascii: "x"):
                    guard i + 3 < bytes.count, let hi = Self.hexValue(bytes[i + 2]), let lo = Self.hexValue(bytes[i + 3]) else {
                        throw .usage("'\(text.prefix(40))': \\x needs two hex digits")
                    }
                    out.append(hi << 4 | lo)
                    i += 4
                default:
                    throw .usage("'\(text.prefix(40))': unknown escape \\\(String(UnicodeScalar(bytes[i + 1])))")
                }
            }
            return out
        }
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
