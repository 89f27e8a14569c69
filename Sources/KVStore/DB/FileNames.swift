/// The names of the files in a store directory (docs/FORMATS.md lists them all).
enum FileNames {
    static let lock = "LOCK"
    static let infoLog = "LOG"
    static let oldInfoLog = "LOG.old"
    /// Logs found beyond a sequence hole are moved here, never deleted.
    static let lostDirectory = "lost"

    static func log(_ number: UInt64) -> String {
        numbered(number) + ".log"
    }

    private static func numbered(_ n: UInt64) -> String {
        let digits = String(n)
        return digits.count >= 6 ? digits : String(repeating: "0", count: 6 - digits.count) + digits
    }

    enum Kind: Equatable {
        case log(UInt64)
    }

    /// Parses a directory entry; nil for names the engine does not own.
    static func parse(_ name: String) -> Kind? {
        if name.hasSuffix(".log"), let n = UInt64(name.dropLast(4)), !name.hasPrefix("+") {
            return .log(n)
        }
        return nil
    }
}
