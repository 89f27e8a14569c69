/// What `verify` found wrong with one file.
package struct VerifyFinding: Sendable, CustomStringConvertible {
    package var file: String
    package var offset: Int64
    package var reason: String
    /// A torn log tail is what a crash leaves: reported, but not damage.
    package var isCorruption: Bool

    package var description: String {
        "\(file) at offset \(offset): \(reason)"
    }
}

package struct VerifyReport: Sendable {
    package var tablesChecked = 0
    package var blocksChecked = 0
    package var entriesChecked = 0
    package var logsChecked = 0
    package var logRecordsChecked = 0
    package var manifestsChecked = 0
    package var findings: [VerifyFinding] = []
    package var corruptFiles: [String] { Array(Set(findings.filter(\.isCorruption).map(\.file))).sorted() }
}

/// Reads every block of every table, every record of every log and MANIFEST in a store
/// directory, checking every checksum and decoding everything, and reports each problem
/// with file and offset. Read-only; it does not open the store.
package enum Verifier {
    package static func verify(directory: String, fileSystem fs: any FileSystem = PosixFileSystem()) throws(KVError) -> VerifyReport {
        var report = VerifyReport()
        let names = try fs.children(of: directory).sorted()
        func path(_ name: String) -> String { Path.join(directory, name) }
        func corrupt(_ error: KVError, _ file: String) {
            report.findings.append(finding(error, file))
        }
        for name in names {
            switch FileNames.parse(name) {
            case .table?:
                report.tablesChecked += 1
                verifyTable(path(name), fs, &report)
            case .log?:
                report.logsChecked += 1
                do {
                    let log = try Inspection.log(path(name), fileSystem: fs)
                    report.logRecordsChecked += log.records.count
                    if let e = log.corruption { corrupt(e, path(name)) }
                    if let t = log.tornTail {
                        report.findings.append(VerifyFinding(file: path(name), offset: 0, reason: "torn tail: \(t)", isCorruption: false))
                    }
                } catch let e {
                    corrupt(e, path(name))
                }
            case .manifest?:
                report.manifestsChecked += 1
                do {
                    let m = try Inspection.manifest(path(name), fileSystem: fs)
                    if let e = m.corruption { corrupt(e, path(name)) }
                } catch let e {
                    corrupt(e, path(name))
                }
            case .current?:
                let bytes = (try? fs.openReadable(path(name)).readAll()) ?? []
                let text = String(decoding: bytes, as: UTF8.self)
                if !text.hasSuffix("\n") || FileNames.parse(String(text.dropLast())) == nil {
                    report.findings.append(VerifyFinding(file: path(name), offset: 0, reason: "does not name a MANIFEST", isCorruption: true))
                } else if !fs.fileExists(path(String(text.dropLast()))) {
                    report.findings.append(VerifyFinding(file: path(name), offset: 0, reason: "names \(text.dropLast()), which does not exist", isCorruption: true))
                }
            default:
                break
            }
        }
        return report
    }

    private static func finding(_ error: KVError, _ file: String) -> VerifyFinding {
        if case let .corruption(f, offset, reason) = error {
            return VerifyFinding(file: f, offset: offset, reason: reason, isCorruption: true)
        }
        return VerifyFinding(file: file, offset: 0, reason: "\(error)", isCorruption: true)
    }

    /// Every data block on its own, so one bad block does not hide the next.
    private static func verifyTable(_ path: String, _ fs: any FileSystem, _ report: inout VerifyReport) {
        func corrupt(_ error: KVError, _ file: String) { report.findings.append(finding(error, file)) }
        do {
            let file = try fs.openReadable(path)
            let table = try TableReader(file: file, fileNumber: 0, fileSize: UInt64(try file.size()), blockCache: nil, statistics: nil)
            var index = BlockCursor(table.index)
            index.seekToFirst()
            while index.isValid {
                report.blocksChecked += 1
                do throws(KVError) {
                    let block = try table.dataBlock(try table.decodeHandle(index.value), verify: true, fillCache: false)
                    var cursor = BlockCursor(block)
                    cursor.seekToFirst()
                    while cursor.isValid {
                        report.entriesChecked += 1
                        cursor.next()
                    }
                    if let e = cursor.error { throw e }
                } catch let e {
                    corrupt(e, path)
                }
                index.next()
            }
            if let e = index.error { corrupt(e, path) }
        } catch let e {
            corrupt(e, path)
        }
    }
}
