// The leaderboard of KVCollections' DocC article (Sources/KVCollections/KVCollections.docc/
// Leaderboard.md), compiled and run so the article's code stays true.
import Foundation
import KVCollections
import KVStore

let path = FileManager.default.temporaryDirectory.appendingPathComponent("leaderboard-\(getpid())").path
defer { try? FileManager.default.removeItem(atPath: path) }

var options = Options()
Keyspace.install(in: &options)
let store = try KVStore.open(at: path, options: options)
let keyspace = try Keyspace.open(store)
let board = KVSortedSet("board:season-1", in: keyspace)

try board.add("alice".utf8, score: 3_200)
try board.add("bob".utf8, score: 2_950)
try board.increment("carol".utf8, by: 150)

for (rank, entry) in try board.range(ranks: 0...9, descending: true).enumerated() {
    print(rank + 1, String(decoding: entry.member, as: UTF8.self), entry.score)
}
let place = try board.rank(of: "bob".utf8, descending: true)
let strong = try board.count(min: ScoreBound(3_000), max: .positiveInfinity)

try keyspace.transaction { unit in
    let board = KVSortedSet("board:season-1", in: unit)
    guard let from = try board.score(of: "alice".utf8), from >= 100 else { return }
    try board.add("alice".utf8, score: from - 100)
    try board.increment("bob".utf8, by: 100)
}

for try await (member, score) in board.elements() {
    print(String(decoding: member, as: UTF8.self), score)
}
print("bob placed \(place.map { $0 + 1 } ?? 0); \(strong) scored 3,000 or more")
let scores = (try board.score(of: "alice".utf8), try board.score(of: "bob".utf8))
precondition(scores == (3_100, 3_050), "the transfer did not land: \(scores)")
try store.close()
