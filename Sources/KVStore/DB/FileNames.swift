/// The names of the files in a store directory (docs/FORMATS.md lists them all).
enum FileNames {
    static let lock = "LOCK"
    static let current = "CURRENT"
    static let infoLog = "LOG"
    static let oldInfoLog = "LOG.old"
    /// Logs found beyond a sequence hole are moved here, never deleted.
    static let lostDirectory = "lost"

    static func log(_ number: UInt64) -> String { numbered(number) + ".log" }
    static func table(_ number: UInt64) -> String { numbered(number) + ".sst" }
    static func manifest(_ number: UInt64) -> String { "MANIFEST-" + numbered(number) }
    static func temp(_ number: UInt64) -> String { numbered(number) + ".dbtmp" }

    private static func numbered(_ n: UInt64) -> String {
        let digits = String(n)
        return digits.count >= 6 ? digits : String(repeating: "0", count: 6 - digits.count) + digits
    }

    enum Kind: Equatable {
        case log(UInt64)
        case table(UInt64)
        case manifest(UInt64)
        case temp(UInt64)
        case current
        case lock
        case infoLog
    }

    /// Parses a directory entry; nil for names the engine does not own.
    static func parse(_ name: String) -> Kind? {
        switch name {
        case current: return .current
        case lock: return .lock
        case infoLog, oldInfoLog: return .infoLog
        default: break
        }
        if name.hasPrefix("MANIFEST-") {
            return number(name.dropFirst(9)).map { .manifest($0) }
        }
        for (suffix, make) in [(".log", Kind.log), (".sst", Kind.table), (".dbtmp", Kind.temp)] where name.hasSuffix(suffix) {
            return number(name.dropLast(suffix.count)).map(make)
        }
        return nil
    }

    private static func number(_ s: Substring) -> UInt64? {
        guard !s.isEmpty, s.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        return UInt64(s)
    }
}
