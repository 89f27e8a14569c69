import Foundation
import Synchronization
import Testing

import KVCollections
import KVStore
import KVTestSupport

/// Opens a store with the keyspace's garbage filter installed, and its keyspace.
func openKeyspace(_ dir: TemporaryDirectory, _ configure: (inout Options) -> Void = { _ in }) throws -> (KVStore, Keyspace) {
    var options = Options()
    options.writeBufferSize = 256 << 10
    configure(&options)
    Keyspace.install(in: &options)
    let store = try KVStore.open(at: dir.path, options: options)
    return (store, try Keyspace.open(store))
}

func text(_ b: [UInt8]?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }

/// The typed handles: Redis's semantics from Swift, atomic on their own or together in a unit.
@Suite struct HandleTests {
    @Test func hashesSetGetCountAndIncrement() throws {
        let dir = TemporaryDirectory("handles-hash")
        let (store, keyspace) = try openKeyspace(dir)
        let session = KVHash("session:1", in: keyspace)
        #expect(try session.set("user".utf8, "alice".utf8))
        #expect(try !session.set("user".utf8, "bob".utf8), "an existing field is replaced, not added")
        #expect(try session.set([(bytes("a"), bytes("1")), (bytes("b"), bytes("2"))]) == 2)
        #expect(try text(session.get("user".utf8)) == "bob")
        #expect(try session.count() == 3)
        #expect(try !session.setIfAbsent("a".utf8, "9".utf8) && text(session.get("a".utf8)) == "1")
        #expect(try session.increment("hits".utf8, by: 5) == 5)
        #expect(try session.increment("hits".utf8, by: -7) == -2)
        #expect(throws: KeyspaceError.invalidArgument("hash value is not an integer")) { try session.increment("user".utf8, by: 1) }
        #expect(try session.all().map { text($0.field)! } == ["a", "b", "hits", "user"])
        #expect(try session.remove([bytes("a"), bytes("nope")]) == 1)
        #expect(try session.remove([bytes("b"), bytes("hits"), bytes("user")]) == 3)
        #expect(try keyspace.access(StoreReader(store: store)).type(of: bytes("session:1")) == nil, "the hash goes with its last field")
        try store.close()
    }

    @Test func aKeyOfAnotherTypeIsWrongTypeBothWays() throws {
        let dir = TemporaryDirectory("handles-wrongtype")
        let (store, keyspace) = try openKeyspace(dir)
        try keyspace.transaction { u in u.access.setString(bytes("s"), bytes("v")) }
        #expect(throws: KeyspaceError.wrongType) { try KVHash("s", in: keyspace).get("f".utf8) }
        #expect(throws: KeyspaceError.wrongType) { try KVList("s", in: keyspace).append([bytes("x")]) }
        try KVSet("set", in: keyspace).add("m".utf8)
        #expect(throws: KeyspaceError.wrongType) { try keyspace.access(StoreReader(store: store)).string(bytes("set")) }
        #expect(throws: KeyspaceError.wrongType) { try KVSortedSet("set", in: keyspace).add("m".utf8, score: 1) }
        #expect(try KVSet("set", in: keyspace).members() == [bytes("m")], "a refused write changes nothing")
        try store.close()
    }

    @Test func setsAndListsBehaveAsRedisDoes() throws {
        let dir = TemporaryDirectory("handles-set-list")
        let (store, keyspace) = try openKeyspace(dir)
        let tags = KVSet("tags", in: keyspace)
        #expect(try tags.add([bytes("b"), bytes("a"), bytes("b")]) == 2)
        #expect(try tags.contains("a".utf8) && !tags.contains("z".utf8))
        #expect(try tags.members() == [bytes("a"), bytes("b")])
        #expect(try tags.remove([bytes("a")]) == 1 && tags.count() == 1)

        let queue = KVList("queue", in: keyspace)
        #expect(try queue.append([bytes("c"), bytes("d")]) == 2)
        #expect(try queue.prepend([bytes("b"), bytes("a")]) == 4)  // LPUSH b a: a ends up first
        #expect(try queue.range(0, -1).map { text($0)! } == ["a", "b", "c", "d"])
        #expect(try text(queue.element(at: -1)) == "d" && queue.element(at: 4) == nil && queue.element(at: -5) == nil)
        #expect(try queue.set(at: 1, "B".utf8) && !queue.set(at: 9, "x".utf8))
        #expect(try queue.popFirst().map { text($0)! } == ["a"])
        #expect(try queue.popLast(2).map { text($0)! } == ["d", "c"])
        try queue.append((0..<10).map { bytes("e\($0)") })
        try queue.trim(2, -3)
        #expect(try queue.range(0, -1).map { text($0)! } == ["e1", "e2", "e3", "e4", "e5", "e6", "e7"])
        #expect(try queue.range(-2, 100).map { text($0)! } == ["e6", "e7"])
        try store.close()
    }

    @Test func aLeaderboard() throws {
        let dir = TemporaryDirectory("handles-board")
        let (store, keyspace) = try openKeyspace(dir)
        let board = KVSortedSet("board", in: keyspace)
        for (name, points) in [("alice", 30.0), ("bob", 10), ("carol", 20), ("dave", 20)] {
            try board.add(name.utf8, score: points)
        }
        #expect(try board.increment("bob".utf8, by: 25) == 35)
        let top = try board.range(ranks: 0...2, descending: true)
        #expect(top.map { text($0.member)! } == ["bob", "alice", "dave"])
        #expect(top.map(\.score) == [35, 30, 20])
        #expect(try board.rank(of: "carol".utf8) == 0 && board.rank(of: "carol".utf8, descending: true) == 3)
        #expect(try board.rank(of: "nobody".utf8) == nil)
        #expect(try board.count(min: ScoreBound(20), max: ScoreBound(30, exclusive: true)) == 2)
        #expect(try board.range(min: ScoreBound(20), max: .positiveInfinity, limit: 3).map { text($0.member)! } == ["carol", "dave", "alice"])
        #expect(throws: KeyspaceError.invalidArgument("score is not a number (NaN)")) { try board.add("x".utf8, score: .nan) }
        #expect(try board.popMax().map { text($0.member)! } == ["bob"])
        #expect(try board.popMin(2).map { text($0.member)! } == ["carol", "dave"])
        #expect(try board.count() == 1)
        try store.close()
    }

    /// Pops move a sorted set's bound at their end past what they removed (so the next pop
    /// does not step over the deleted entries), and every add widens the bounds again.
    @Test func popsMoveTheBoundsAndAddsWidenThem() throws {
        let dir = TemporaryDirectory("handles-bounds")
        let (store, keyspace) = try openKeyspace(dir)
        let queue = KVSortedSet("queue", in: keyspace)
        try queue.add((0..<100).map { (Double($0), bytes(String(format: "job%03d", $0))) })
        #expect(try queue.popMin(10).map(\.score) == (0..<10).map(Double.init))
        #expect(try queue.popMax(5).map(\.score) == [99, 98, 97, 96, 95])
        try queue.add("urgent".utf8, score: -5)
        try queue.add("late".utf8, score: 1_000)
        #expect(try queue.range(min: .negativeInfinity, max: .positiveInfinity, limit: 2).map { text($0.member)! } == ["urgent", "job010"])
        #expect(try queue.range(ranks: 0...1, descending: true).map { text($0.member)! } == ["late", "job094"])
        #expect(try queue.rank(of: "urgent".utf8) == 0 && queue.count() == 87)
        #expect(try queue.count(min: .negativeInfinity, max: ScoreBound(10)) == 2)
        #expect(try queue.popMin().first.map { text($0.member)! } == "urgent")
        #expect(try queue.popMax().first.map { text($0.member)! } == "late")
        #expect(try Keyspace.verify(store).isClean)
        try store.close()
    }

    /// SPOP records the first and last members it saw as the set's bounds and later walks
    /// start there; a member added outside them widens them, so nothing is ever hidden.
    @Test func setPopsNarrowTheBoundsAndAddsWidenThem() throws {
        let dir = TemporaryDirectory("handles-set-bounds")
        let (store, keyspace) = try openKeyspace(dir)
        let all = Set((0..<2_000).map { bytes(String(format: "m%05d", $0)) })
        try keyspace.transaction { u in _ = try u.access.setAdd(bytes("tags"), Array(all)) }
        var popped: Set<[UInt8]> = []
        for _ in 0..<600 {
            let got = try keyspace.transaction { u in try u.access.setPop(bytes("tags"), count: 1) } ?? []
            #expect(got.count == 1 && all.contains(got[0]) && popped.insert(got[0]).inserted)
        }
        // Outside any bounds the pops may have set: below, above, and an old member back.
        let again = popped.first!
        try keyspace.transaction { u in _ = try u.access.setAdd(bytes("tags"), [bytes("a-first"), bytes("z-last"), again]) }
        let members = Set(try keyspace.transaction { u in try u.access.setMembers(bytes("tags")) })
        let expected = all.subtracting(popped).union([bytes("a-first"), bytes("z-last"), again])
        let seesEveryMember = members == expected  // a Bool: the sets are too long to print
        #expect(seesEveryMember, "\(members.count) members read, \(expected.count) expected")
        #expect(try Keyspace.verify(store).isClean)
        // Drained by pops: every member comes out exactly once.
        var rest: [[UInt8]] = []
        while let got = try keyspace.transaction({ u in try u.access.setPop(bytes("tags"), count: 100) }), !got.isEmpty {
            rest += got
        }
        let drainedExactly = rest.count == members.count && Set(rest) == members
        #expect(drainedExactly, "\(rest.count) popped, \(members.count) expected")
        #expect(try keyspace.transaction { u in try u.access.setCount(bytes("tags")) } == 0)
        #expect(try Keyspace.verify(store).isClean)
        try store.close()
    }

    @Test func aUnitCommitsAllOfItsWritesOrNone() throws {
        let dir = TemporaryDirectory("handles-unit")
        let (store, keyspace) = try openKeyspace(dir)
        try KVList("todo", in: keyspace).append([bytes("job1"), bytes("job2")])
        // Move a job from one list to another and count it, atomically.
        let moved = try keyspace.transaction { u -> [UInt8]? in
            guard let job = try KVList("todo", in: u).popFirst().first else { return nil }
            try KVList("doing", in: u).append([job])
            try KVHash("stats", in: u).increment("moved".utf8, by: 1)
            #expect(try KVList("doing", in: u).count() == 1, "the unit reads its own writes")
            return job
        }
        #expect(moved == bytes("job1"))
        #expect(try KVList("todo", in: keyspace).range(0, -1) == [bytes("job2")])
        #expect(try KVList("doing", in: keyspace).range(0, -1) == [bytes("job1")])
        // A unit that throws leaves nothing behind.
        #expect(throws: KeyspaceError.invalidArgument("stop")) {
            try keyspace.transaction { u in
                _ = try KVList("todo", in: u).popFirst()
                try KVSet("other", in: u).add("m".utf8)
                throw KeyspaceError.invalidArgument("stop")
            }
        }
        #expect(try KVList("todo", in: keyspace).count() == 1 && KVSet("other", in: keyspace).count() == 0)
        try store.close()
    }

    @Test func concurrentIncrementsThroughHandlesCountExactly() throws {
        let dir = TemporaryDirectory("handles-race")
        let (store, keyspace) = try openKeyspace(dir)
        let counters = KVHash("counters", in: keyspace)
        let threads = 4
        let perThread = 100
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for _ in 0..<perThread {
                do {
                    try counters.increment("total".utf8, by: 1)
                    // Two collections changed together: their counts always agree.
                    try keyspace.transaction(attempts: 1000) { u in
                        try KVSet("members", in: u).add("t\(t)-\(UUID().uuidString)".utf8)
                        try KVHash("counters", in: u).increment("members".utf8, by: 1)
                    }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(try text(counters.get("total".utf8)) == "\(threads * perThread)")
        #expect(try KVSet("members", in: keyspace).count() == threads * perThread)
        #expect(try text(counters.get("members".utf8)) == "\(threads * perThread)")
        try store.close()
    }

    @Test func elementsWalkAsSequencesFromOneSnapshot() async throws {
        let dir = TemporaryDirectory("handles-elements")
        let (store, keyspace) = try openKeyspace(dir)
        let board = KVSortedSet("big", in: keyspace)
        try board.add((0..<2_500).map { (Double($0 % 100), bytes(String(format: "m%05d", $0))) })
        let expected = try board.range(ranks: 0...Int.max)
        #expect(expected.count == 2_500)
        // Async: every member in score order, though the set changes during the walk.
        var seen: [(member: [UInt8], score: Double)] = []
        for try await entry in board.elements(pageSize: 97) {
            if seen.count == 100 { try board.remove(expected.suffix(1_000).map(\.member)) }
            seen.append(entry)
        }
        #expect(seen.map(\.member) == expected.map(\.member) && seen.map(\.score) == expected.map(\.score))
        #expect(try board.count() == 1_500)
        // Pages: each a Sequence, with a cursor to the next.
        let hash = KVHash("h", in: keyspace)
        try hash.set((0..<250).map { (bytes(String(format: "f%03d", $0)), bytes("\($0)")) })
        var fields: [String] = []
        var page = try hash.page(limit: 100)
        while true {
            for (field, _) in page { fields.append(text(field)!) }
            guard let next = page.next else { break }
            page = try hash.page(from: next, limit: 100)
        }
        #expect(fields == (0..<250).map { String(format: "f%03d", $0) })
        let list = KVList("l", in: keyspace)
        try list.append((0..<30).map { bytes("\($0)") })
        var values: [String] = []
        for try await v in list.elements(pageSize: 7) { values.append(text(v)!) }
        #expect(values == (0..<30).map { "\($0)" })
        var members: [[UInt8]] = []
        for try await m in KVSet("none", in: keyspace).elements() { members.append(m) }
        #expect(members.isEmpty)
        try await store.close()
    }
}
