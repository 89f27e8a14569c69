/// One unit of compaction work: files of `level` and the overlapping files of `level + 1`,
/// merged into new files at `level + 1` — or, for a manual compaction of the deepest level,
/// files of that level rewritten in place.
struct Compaction {
    let level: Int
    var outputLevel: Int
    let inputs: [FileMetaData]  // at `level`
    let nextInputs: [FileMetaData]  // at `level + 1`
    /// Files at `level + 2`, to stop an output file that would make a future compaction huge.
    let grandparents: [FileMetaData]
    /// Files of the levels below the output, to decide whether a deletion can be dropped.
    /// (Copies, not the `Version`: holding a version would keep its files from deletion.)
    let deeperLevels: [[FileMetaData]]
    /// Manual compactions never move a file without rewriting it (they may be asked to drop data).
    var allowTrivialMove = true
    /// Started by `Version.chargeSeek`, not by a level's size.
    var seekTriggered = false

    var allInputs: [FileMetaData] { inputs + nextInputs }
    var inputBytes: Int64 { Version.bytes(inputs) + Version.bytes(nextInputs) }

    /// A single file with nothing to merge and little grandparent overlap can simply move down.
    func isTrivialMove(maxGrandparentOverlap: Int64) -> Bool {
        allowTrivialMove && inputs.count == 1 && nextInputs.isEmpty && Version.bytes(grandparents) <= maxGrandparentOverlap
    }

    /// Picks the most urgent compaction of `version`, or nil if none is due: a level over its
    /// size first, else a file that point reads consult in vain (`Version.chargeSeek`).
    static func pick(_ version: Version, compactPointers: [[UInt8]], options: Options) -> Compaction? {
        guard version.compactionScore >= 1 else {
            guard let (level, file) = version.seekCompactionTarget else { return nil }
            let inputs = level == 0
                ? version.overlappingFiles(0, Array(file.smallestUserKey), Array(file.largestUserKey))
                : [file]
            var c = make(version, level: level, inputs: inputs)
            c.seekTriggered = true
            return c
        }
        let level = version.compactionLevel
        var inputs: [FileMetaData]
        if level == 0 {
            // Level-0 files overlap: take the oldest, then everything it overlaps.
            guard let oldest = version.files[0].first else { return nil }
            inputs = version.overlappingFiles(0, Array(oldest.smallestUserKey), Array(oldest.largestUserKey))
        } else {
            // Round robin: the first file after where the last compaction of this level ended.
            let pointer = compactPointers[level]
            let files = version.files[level]
            let next = files.first { pointer.isEmpty || compareInternalArrays($0.largest, pointer) > 0 } ?? files.first
            guard let next else { return nil }
            inputs = [next]
        }
        return make(version, level: level, inputs: inputs)
    }

    /// Completes a compaction of `inputs` at `level` with the overlapping next-level files.
    static func make(_ version: Version, level: Int, inputs: [FileMetaData]) -> Compaction {
        let (lo, hi) = range(inputs)
        let next = version.overlappingFiles(level + 1, lo, hi)
        var grand: [FileMetaData] = []
        if level + 2 < Version.levelCount {
            let (alo, ahi) = range(inputs + next)
            grand = version.overlappingFiles(level + 2, alo, ahi)
        }
        let deeper = level + 2 < Version.levelCount ? Array(version.files[(level + 2)...]) : []
        return Compaction(level: level, outputLevel: level + 1, inputs: inputs, nextInputs: next, grandparents: grand, deeperLevels: deeper)
    }

    /// Rewrites `inputs` (consecutive files of `level`) in place: drops what no reader needs
    /// without moving data deeper.
    static func inPlace(_ version: Version, level: Int, inputs: [FileMetaData]) -> Compaction {
        let deeper = level + 1 < Version.levelCount ? Array(version.files[(level + 1)...]) : []
        return Compaction(
            level: level, outputLevel: level, inputs: inputs, nextInputs: [], grandparents: [], deeperLevels: deeper,
            allowTrivialMove: false)
    }

    /// Smallest and largest user keys of `files`.
    static func range(_ files: [FileMetaData]) -> ([UInt8], [UInt8]) {
        var lo = Array(files[0].smallestUserKey)
        var hi = Array(files[0].largestUserKey)
        for f in files.dropFirst() {
            if compareSlices(f.smallestUserKey, lo[...]) < 0 { lo = Array(f.smallestUserKey) }
            if compareSlices(f.largestUserKey, hi[...]) > 0 { hi = Array(f.largestUserKey) }
        }
        return (lo, hi)
    }
}
