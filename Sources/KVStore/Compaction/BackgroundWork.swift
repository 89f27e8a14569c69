import Foundation

/// A `compactRange` request, handled by the background thread.
final class ManualCompaction {
    let begin: [UInt8]?
    let end: [UInt8]?
    var done = false
    var error: KVError?

    init(begin: [UInt8]?, end: [UInt8]?) {
        self.begin = begin
        self.end = end
    }
}

/// Answers "can any level below the output hold this user key?" for a compaction's keys,
/// which arrive in ascending order, so one pointer per level only moves forward.
private final class BottommostChecker {
    private let files: [[FileMetaData]]
    private var positions: [Int]

    init(levels: [[FileMetaData]]) {
        files = levels
        positions = Array(repeating: 0, count: files.count)
    }

    func isBottommost(_ key: UnsafeRawBufferPointer) -> Bool {
        for (l, level) in files.enumerated() {
            while positions[l] < level.count {
                let f = level[positions[l]]
                let beyond = f.largest.withUnsafeBytes { lg -> Bool in
                    let lu = userKey(lg)
                    return compareBytes(key.baseAddress, key.count, lu.baseAddress, lu.count) > 0
                }
                if !beyond {
                    if f.contains(userKey: key) { return false }
                    break
                }
                positions[l] += 1
            }
        }
        return true
    }
}

// The single background thread: flushes first, then manual compaction requests, then
// leveled compaction by score. It holds the mutex only to pick work and install results;
// table building and merging run without it.
extension Engine {
    func startBackgroundThread() {
        mutex.withLock { backgroundRunning = true }
        let thread = Thread { [self] in backgroundMain() }
        thread.name = "kvstore-background"
        thread.start()
    }

    private func backgroundMain() {
        mutex.lock()
        while !shuttingDown {
            if stickyError == nil, immutableMemtable != nil {
                runFlush()
            } else if stickyError == nil, let manual = manualCompaction {
                runManualCompaction(manual)
            } else if stickyError == nil, !(options.compactionHold?.holdsCompactions ?? false),
                      let c = Compaction.pick(versions.current, compactPointers: versions.compactPointers, options: options)
            {
                runCompaction(c)
            } else {
                backgroundDone.broadcast()
                if options.compactionHold?.holdsCompactions ?? false {
                    backgroundWork.wait(seconds: 0.01)
                } else {
                    backgroundWork.wait()
                }
                continue
            }
            backgroundDone.broadcast()
        }
        backgroundRunning = false
        if let manual = manualCompaction {
            manual.error = stickyError ?? .closed
            manual.done = true
            manualCompaction = nil
        }
        backgroundDone.broadcast()
        mutex.unlock()
    }

    /// Allocates an output file number that obsolete-file deletion will leave alone.
    private func allocateOutput() -> UInt64 {
        mutex.withLock {
            let n = versions.newFileNumber()
            pendingOutputs.insert(n)
            return n
        }
    }

    /// Oldest sequence any reader may still need: the oldest live snapshot, else the latest.
    /// Read under the snapshot list's lock, which `takeSnapshot` also holds while it reads
    /// the sequence and registers it, so no snapshot can appear below the returned cutoff.
    func smallestSnapshot() -> UInt64 {
        snapshots.oldest(orLatest: { lastSequence.load(ordering: .acquiring) })
    }

    // MARK: Flush

    /// Writes `immutableMemtable` as a level-0 table and retires its log. Lock held on entry and exit.
    private func runFlush() {
        guard let memtable = immutableMemtable else { return }
        // Rotation waits for `immutableMemtable` to clear, so `logNumber` is still the log that follows it.
        let retiredBelow = logNumber
        let snapshot = smallestSnapshot()
        mutex.unlock()
        var outputs: [FileMetaData] = []
        var failure: KVError?
        let started = ContinuousClock.now
        do {
            var job = CompactionJob(
                input: MemtableIterator(memtable), fileSystem: fileSystem, directory: directory,
                tableOptions: TableOptions(options), smallestSnapshot: snapshot, targetFileSize: nil,
                grandparents: [], maxGrandparentOverlap: 0, isBottommostForKey: { _ in false },
                allocateFileNumber: { self.allocateOutput() })
            job.tombstones = TombstoneIndex(memtable.rangeTombstones)
            job.now = options.clock()
            let result = try job.run()
            try fileSystem.syncDirectory(directory)
            outputs = result.files
            statistics.flushes.add(1, ordering: .relaxed)
            statistics.flushBytesWritten.add(Int(result.bytesWritten), ordering: .relaxed)
        } catch {
            failure = error as? KVError ?? .invalidArgument("\(error)")
        }
        mutex.lock()
        defer { for f in outputs { pendingOutputs.remove(f.number) } }
        if let failure {
            setStickyError(failure, while: "flushing the memtable")
            return
        }
        var edit = VersionEdit()
        edit.logNumber = retiredBelow
        for f in outputs { edit.addFile(0, f) }
        edit.addedTombstones = memtable.rangeTombstones
        do {
            versions.lastSequence = lastSequence.load(ordering: .acquiring)
            try versions.logAndApply(edit, mutex: mutex)
        } catch {
            setStickyError(error as? KVError ?? .invalidArgument("\(error)"), while: "recording a flush in the MANIFEST")
            return
        }
        immutableMemtable = nil
        publishReadState()
        let d = ContinuousClock.now - started
        infoLog.log("flushed memtable to \(outputs.map { FileNames.table($0.number) }) (\(outputs.first?.size ?? 0) bytes) in \(d)")
        deleteObsoleteFiles()
        collectRangeTombstones()
    }

    // MARK: Compaction

    /// Runs one compaction. Lock held on entry and exit.
    private func runCompaction(_ c: Compaction) {
        if c.seekTriggered {
            statistics.seekCompactions.add(1, ordering: .relaxed)
            infoLog.log("seek compaction of \(c.inputs.map { FileNames.table($0.number) }.joined(separator: ", ")) at level \(c.level)")
        }
        let maxOverlap = Int64(10 * options.targetFileSize)
        var edit = VersionEdit()
        if c.isTrivialMove(maxGrandparentOverlap: maxOverlap) {
            let f = c.inputs[0]
            edit.deleteFile(c.level, f.number)
            edit.addFile(c.outputLevel, f)
            edit.compactPointers.append((c.level, f.largest))
            do {
                try versions.logAndApply(edit, mutex: mutex)
            } catch {
                setStickyError(error as? KVError ?? .invalidArgument("\(error)"), while: "recording a trivial move")
                return
            }
            statistics.trivialMoves.add(1, ordering: .relaxed)
            publishReadState()
            infoLog.log("moved \(FileNames.table(f.number)) from level \(c.level) to \(c.outputLevel)")
            return
        }
        let snapshot = smallestSnapshot()
        let tombstones = versions.current.rangeTombstones
        mutex.unlock()
        var outputs: [FileMetaData] = []
        var failure: KVError?
        let started = ContinuousClock.now
        do {
            let children: [any InternalIterator] = try c.allInputs.map {
                try tableCache.table($0.number, size: $0.size).makeIterator(verify: true, fillCache: false, mapped: false)
            }
            let checker = BottommostChecker(levels: c.deeperLevels)
            var job = CompactionJob(
                input: MergingIterator(children), fileSystem: fileSystem, directory: directory,
                tableOptions: TableOptions(options), smallestSnapshot: snapshot,
                targetFileSize: UInt64(options.targetFileSize), grandparents: c.grandparents,
                maxGrandparentOverlap: maxOverlap, isBottommostForKey: { checker.isBottommost($0) },
                allocateFileNumber: { self.allocateOutput() })
            job.tombstones = tombstones
            job.now = options.clock()
            job.yieldPoint = { [self] in
                mutex.lock()
                if immutableMemtable != nil && stickyError == nil && !shuttingDown { runFlush() }
                mutex.unlock()
            }
            let result = try job.run()
            try fileSystem.syncDirectory(directory)
            outputs = result.files
            statistics.compactions.add(1, ordering: .relaxed)
            statistics.compactionBytesRead.add(Int(c.inputBytes), ordering: .relaxed)
            statistics.compactionBytesWritten.add(Int(result.bytesWritten), ordering: .relaxed)
        } catch {
            failure = error as? KVError ?? .invalidArgument("\(error)")
        }
        mutex.lock()
        defer { for f in outputs { pendingOutputs.remove(f.number) } }
        if let failure {
            setStickyError(failure, while: "compacting level \(c.level)")
            return
        }
        for f in c.inputs { edit.deleteFile(c.level, f.number) }
        for f in c.nextInputs { edit.deleteFile(c.outputLevel, f.number) }
        for f in outputs { edit.addFile(c.outputLevel, f) }
        if let largest = c.inputs.map(\.largest).max(by: { compareInternalArrays($0, $1) < 0 }) {
            edit.compactPointers.append((c.level, largest))
        }
        do {
            try versions.logAndApply(edit, mutex: mutex)
        } catch {
            setStickyError(error as? KVError ?? .invalidArgument("\(error)"), while: "recording a compaction")
            return
        }
        publishReadState()
        let d = ContinuousClock.now - started
        infoLog.log("compacted \(c.inputs.count)+\(c.nextInputs.count) files at levels \(c.level)+\(c.outputLevel) (\(c.inputBytes) bytes) into \(outputs.count) files in \(d)")
        deleteObsoleteFiles()
        collectRangeTombstones()
    }

    /// Removes range tombstones that every reader sees and that no longer cover any entry
    /// (compaction dropped what they hid). Lock held on entry and exit (released to read).
    private func collectRangeTombstones() {
        guard stickyError == nil, !versions.current.rangeTombstones.isEmpty else { return }
        let snapshot = smallestSnapshot()
        let version = versions.current
        let candidates = version.rangeTombstones.tombstones.filter { $0.sequence <= snapshot }
        guard !candidates.isEmpty else { return }
        mutex.unlock()
        var removable: [UInt64] = []
        for t in candidates {
            var covers = false
            search: for level in version.files {
                for f in level where f.smallestSequence < t.sequence && f.overlaps(t.start, t.end) {
                    guard let table = try? tableCache.table(f.number, size: f.size) else {
                        covers = true  // unreadable: keep the tombstone
                        break search
                    }
                    let it = table.makeIterator(verify: true, fillCache: false)
                    makeInternalKey(t.start, maxSequenceNumber, 0xff).withUnsafeBytes { it.seek($0) }
                    while it.isValid {
                        let u = userKey(it.key)
                        if t.end.withUnsafeBytes({ compareBytes(u.baseAddress, u.count, $0.baseAddress, $0.count) }) >= 0 { break }
                        if trailer(it.key) >> 8 < t.sequence {
                            covers = true
                            break search
                        }
                        it.next()
                    }
                    if it.error != nil {
                        covers = true
                        break search
                    }
                }
            }
            if !covers { removable.append(t.sequence) }
        }
        mutex.lock()
        guard !removable.isEmpty, stickyError == nil else { return }
        var edit = VersionEdit()
        edit.removedTombstones = removable
        do {
            try versions.logAndApply(edit, mutex: mutex)
            publishReadState()
            infoLog.log("dropped \(removable.count) range tombstones that no longer cover anything")
        } catch {
            setStickyError(error as? KVError ?? .invalidArgument("\(error)"), while: "recording range tombstone removal")
        }
    }

    /// Pushes everything in the range down to the deepest level that has data there, then
    /// rewrites that level's files in place, so overwritten and deleted entries (and range
    /// deletions) are dropped everywhere, as RocksDB's CompactRange with bottommost compaction.
    private func runManualCompaction(_ manual: ManualCompaction) {
        defer {
            manual.done = true
            manualCompaction = nil
        }
        var deepest = 0
        for level in 0..<Version.levelCount where !versions.current.overlappingFiles(level, manual.begin, manual.end).isEmpty {
            deepest = level
        }
        let chunkBytes = Int64(25 * options.targetFileSize)
        func chunk(_ files: [FileMetaData]) -> [FileMetaData] {
            var bytes: Int64 = 0
            var take = 0
            while take < files.count && (take == 0 || bytes < chunkBytes) {
                bytes += Int64(files[take].size)
                take += 1
            }
            return Array(files.prefix(take))
        }
        for level in 0..<deepest {
            while stickyError == nil && !shuttingDown {
                var inputs = versions.current.overlappingFiles(level, manual.begin, manual.end)
                if inputs.isEmpty { break }
                if level > 0 { inputs = chunk(inputs) }  // bounded steps, not a whole level at once
                var c = Compaction.make(versions.current, level: level, inputs: inputs)
                c.allowTrivialMove = false
                runCompaction(c)
                if immutableMemtable != nil { runFlush() }  // a flush waiting meanwhile goes first
            }
        }
        // The deepest level in place: only the files there now, each rewritten once.
        var pending = Set(versions.current.overlappingFiles(deepest, manual.begin, manual.end).map(\.number))
        while stickyError == nil && !shuttingDown && !pending.isEmpty {
            let files = versions.current.files[deepest].filter { pending.contains($0.number) }
            if files.isEmpty { break }
            let inputs = deepest == 0 ? versions.current.overlappingFiles(0, manual.begin, manual.end) : chunk(files)
            for f in inputs { pending.remove(f.number) }
            if deepest == 0 {
                // Level 0 only: merge it into level 1 rather than rewrite overlapping files.
                var c = Compaction.make(versions.current, level: 0, inputs: inputs)
                c.allowTrivialMove = false
                runCompaction(c)
            } else {
                runCompaction(Compaction.inPlace(versions.current, level: deepest, inputs: inputs))
            }
            if immutableMemtable != nil { runFlush() }
        }
        manual.error = stickyError
    }

    // MARK: Obsolete files

    /// Deletes logs, tables, MANIFESTs and temp files no live version or pending job needs.
    /// Lock held on entry and exit (released while deleting).
    func deleteObsoleteFiles() {
        guard stickyError == nil, let names = try? fileSystem.children(of: directory) else { return }
        let live = versions.liveTableNumbers().union(pendingOutputs)
        var doomed: [(name: String, table: UInt64?)] = []
        for name in names {
            switch FileNames.parse(name) {
            case let .log(n)? where n < versions.logNumber && n != logNumber:
                doomed.append((name, nil))
            case let .table(n)? where !live.contains(n):
                doomed.append((name, n))
            case let .manifest(n)? where n < versions.manifestNumber:
                doomed.append((name, nil))
            case .temp?:
                doomed.append((name, nil))
            default:
                break
            }
        }
        guard !doomed.isEmpty else { return }
        mutex.unlock()
        for d in doomed {
            if let n = d.table { tableCache.evict(n) }
            do {
                try fileSystem.remove(Path.join(directory, d.name))
            } catch {
                infoLog.log("could not delete obsolete \(d.name): \(error)")
            }
        }
        mutex.lock()
    }

    // MARK: Requests from callers

    /// Freezes the memtable (if it holds anything) and waits until it is a table.
    func flushMemtable() throws {
        try write(nil, sync: false)
        mutex.lock()
        defer { mutex.unlock() }
        while immutableMemtable != nil && stickyError == nil && !shuttingDown { backgroundDone.wait() }
        if let failure = stickyError { throw KVError.readOnly(reason: failure.description) }
    }

    /// Flushes, then compacts every level's files overlapping [begin, end] down the levels,
    /// as LevelDB's CompactRange (see `runManualCompaction`).
    func compactRange(begin: [UInt8]?, end: [UInt8]?) throws {
        try flushMemtable()
        let manual = ManualCompaction(begin: begin, end: end)
        mutex.lock()
        defer { mutex.unlock() }
        // Waits end on an error or shutdown too: the background thread takes no manual work
        // after a failure, and none after close.
        func stopped() throws {
            if let failure = stickyError { throw KVError.readOnly(reason: failure.description) }
            if closed || shuttingDown || !backgroundRunning { throw KVError.closed }
        }
        while manualCompaction != nil {
            try stopped()
            backgroundDone.wait()
        }
        try stopped()
        manualCompaction = manual
        backgroundWork.signal()
        while !manual.done {
            do {
                try stopped()
            } catch {
                if manualCompaction === manual { manualCompaction = nil }
                throw error
            }
            backgroundDone.wait()
        }
        if let e = manual.error { throw KVError.readOnly(reason: e.description) }
    }

    /// Blocks until no flush or compaction is due (tests and benchmarks use it).
    func waitForBackgroundWork() {
        mutex.lock()
        defer { mutex.unlock() }
        while stickyError == nil && !shuttingDown
            && (immutableMemtable != nil || manualCompaction != nil
                || (!(options.compactionHold?.holdsCompactions ?? false) && versions.current.needsCompaction))
        {
            backgroundWork.signal()
            backgroundDone.wait()
        }
    }

    func statisticsSnapshot() -> Statistics {
        var s = Statistics()
        mutex.withLock {
            let v = versions.current
            for level in 0..<Version.levelCount {
                let files = v.files[level]
                let bytes = Version.bytes(files)
                let target = level == 0 ? Int64(options.level0CompactionTrigger * options.writeBufferSize) : Version.maxBytes(level, options)
                let score = level == 0 ? Double(files.count) / Double(options.level0CompactionTrigger) : Double(bytes) / Double(target)
                s.levels.append(.init(level: level, files: files.count, bytes: bytes, targetBytes: target, score: score))
            }
            s.memtableBytes = Int64(activeMemtable.reservedBytes + (immutableMemtable?.reservedBytes ?? 0))
        }
        let st = statistics
        s.userBytesWritten = Int64(st.userBytesWritten.load(ordering: .relaxed))
        s.walBytesWritten = Int64(st.walBytesWritten.load(ordering: .relaxed))
        s.walSyncs = Int64(st.walSyncs.load(ordering: .relaxed))
        s.flushes = Int64(st.flushes.load(ordering: .relaxed))
        s.flushBytesWritten = Int64(st.flushBytesWritten.load(ordering: .relaxed))
        s.compactions = Int64(st.compactions.load(ordering: .relaxed))
        s.trivialMoves = Int64(st.trivialMoves.load(ordering: .relaxed))
        s.seekCompactions = Int64(st.seekCompactions.load(ordering: .relaxed))
        s.compactionBytesRead = Int64(st.compactionBytesRead.load(ordering: .relaxed))
        s.compactionBytesWritten = Int64(st.compactionBytesWritten.load(ordering: .relaxed))
        if s.userBytesWritten > 0 {
            s.writeAmplification = Double(s.flushBytesWritten + s.compactionBytesWritten) / Double(s.userBytesWritten)
        }
        s.slowdowns = Int64(st.slowdowns.load(ordering: .relaxed))
        s.delayedWriteRate = Int64(st.delayedRate.load(ordering: .relaxed))
        s.writesWouldBlock = Int64(st.writesWouldBlock.load(ordering: .relaxed))
        s.stops = Int64(st.stops.load(ordering: .relaxed))
        s.stallSeconds = Double(st.stallMicros.load(ordering: .relaxed)) / 1e6
        s.isStalled = st.stalledNow.load(ordering: .relaxed)
        s.lastStallReason = st.lastStallReason.locked { $0 }
        s.blockCacheHits = Int64(blockCache.hitCount)
        s.blockCacheMisses = Int64(blockCache.missCount)
        s.blockCacheBytes = Int64(blockCache.usage)
        s.bloomNegatives = Int64(st.bloomNegatives.load(ordering: .relaxed))
        s.bloomFalsePositives = Int64(st.bloomFalsePositives.load(ordering: .relaxed))
        s.tableReaderBytes = Int64(tableCache.readerMemory)
        s.openTables = tableCache.openTables
        s.lastSequence = lastSequence.load(ordering: .relaxed)
        return s
    }
}
