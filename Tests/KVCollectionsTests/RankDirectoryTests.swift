import Foundation
import Testing

@testable import KVCollections
import KVStore
import KVStoreTesting
import KVTestSupport

/// A sorted set's rank directory, with blocks cut small so that a few thousand members reach
/// both levels, checked against a model after random adds, score changes and removals: every
/// rank, rank range, score count and member at a rank agrees, and `verify` finds the counts
/// right.
@Suite struct RankDirectoryTests {
    struct Model {
        var scores: [String: Double] = [:]

        /// Members in Redis's order: score, then member bytes.
        var ordered: [(member: String, score: Double)] {
            scores.map { ($0.key, $0.value) }.sorted {
                $0.score != $1.score ? $0.score < $1.score : Array($0.member.utf8).lexicographicallyPrecedes(Array($1.member.utf8))
            }
        }
    }

    func check(_ board: KVSortedSet, _ model: Model, _ rng: inout SplitMix64) throws {
        let ordered = model.ordered
        #expect(try board.count() == ordered.count)
        guard !ordered.isEmpty else { return }
        for _ in 0..<20 {
            let i = Int(rng.next() % UInt64(ordered.count))
            #expect(try board.rank(of: ordered[i].member.utf8) == i)
            #expect(try board.rank(of: ordered[i].member.utf8, descending: true) == ordered.count - 1 - i)
            let n = Int(rng.next() % 40)
            let got = try board.range(ranks: i...(i + n))
            #expect(got.map { text($0.member)! } == ordered[i...min(i + n, ordered.count - 1)].map(\.member))
            let down = try board.range(ranks: i...(i + n), descending: true)
            let reversed = Array(ordered.reversed())
            #expect(down.map { text($0.member)! } == reversed[i...min(i + n, ordered.count - 1)].map(\.member))
            let lo = Double(rng.next() % 1000) / 10
            let hi = lo + Double(rng.next() % 200) / 10
            let exclusive = rng.next() % 2 == 0
            let expected = ordered.filter { $0.score >= lo && (exclusive ? $0.score < hi : $0.score <= hi) }.count
            #expect(try board.count(min: ScoreBound(lo), max: ScoreBound(hi, exclusive: exclusive)) == expected)
        }
    }

    @Test(arguments: [1 as UInt64, 2, 3])
    func ranksAgreeWithAModelThroughAddsMovesAndRemovals(seed: UInt64) throws {
        let dir = TemporaryDirectory("rank-model")
        var options = Options()
        options.writeBufferSize = 128 << 10
        Keyspace.install(in: &options)
        let store = try KVStore.open(at: dir.path, options: options)
        let keyspace = try Keyspace.open(store, limits: EncodingLimits(), rankShape: RankShape(rankedAbove: 16, level0: 8, level1: 64))
        let board = KVSortedSet("board", in: keyspace)
        var model = Model()
        var rng = SplitMix64(seed: seed)
        for round in 0..<40 {
            // A batch of adds (some new members, some moved), then removals.
            var pairs: [(score: Double, member: [UInt8])] = []
            for _ in 0..<Int(rng.next() % 120) {
                let member = "m\(rng.next() % 3000)"
                let score = Double(rng.next() % 1000) / 10
                pairs.append((score, Array(member.utf8)))
            }
            try board.add(pairs)
            for p in pairs { model.scores[String(decoding: p.member, as: UTF8.self)] = p.score }
            if round % 3 == 2 {
                let victims = model.scores.keys.filter { _ in rng.next() % 4 == 0 }
                #expect(try board.remove(victims.map { Array($0.utf8) }) == victims.count)
                for v in victims { model.scores[v] = nil }
            }
            if round % 10 == 9 {
                let popped = try board.popMin(Int(rng.next() % 50))
                let expected = model.ordered.prefix(popped.count).map(\.member)
                #expect(popped.map { text($0.member)! } == expected)
                for m in expected { model.scores[m] = nil }
                try store.flush()
            }
            try check(board, model, &rng)
        }
        let report = try Keyspace.verify(store)
        #expect(report.isClean, "\(report.problems.map { "\(text($0.key)!): \($0.problem)" })")
        try store.close()
    }

    @Test func aLargeSetBuildsItsDirectoryOnceAndVerifyCatchesAWrongCount() throws {
        let dir = TemporaryDirectory("rank-verify")
        var options = Options()
        Keyspace.install(in: &options)
        let store = try KVStore.open(at: dir.path, options: options)
        let keyspace = try Keyspace.open(store)
        let board = KVSortedSet("z", in: keyspace)
        // Past the default threshold in one ZADD, then growing member by member.
        try board.add((0..<3_000).map { (Double($0), bytes("m\($0)")) })
        for i in 3_000..<3_100 { try board.add("m\(i)".utf8, score: Double(i)) }
        #expect(try board.rank(of: "m2999".utf8) == 2_999)
        #expect(try board.range(ranks: 3_050...3_052).map { text($0.member)! } == ["m3050", "m3051", "m3052"])
        #expect(try Keyspace.verify(store).isClean)
        // Damage a block's count behind the keyspace's back: verify names the key.
        let r = keyspace.access(StoreReader(store: store))
        guard case .collection(let meta, _) = try r.entry(bytes("z")) else {
            Issue.record("z is not a collection")
            return
        }
        #expect(meta.ranked)
        let first = KeyspaceKeys.elementPrefix(bytes("z"), version: meta.version) + [0x03, 0x00]  // the first block's count
        try store.put(first, [1, 0, 0, 0, 0, 0, 0, 0])
        let report = try Keyspace.verify(store)
        #expect(report.problems.count == 1 && report.problems.first?.key == bytes("z"))
        #expect(report.problems.first?.problem.contains("rank block") == true)
        try store.close()
    }
}
