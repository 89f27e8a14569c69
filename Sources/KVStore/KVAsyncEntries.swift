/// The key-value pairs of a range as an `AsyncSequence`, from one snapshot: `for try await
/// (key, value) in try await store.entries(from: …)`. Entries are read in batches on the
/// store's own threads, so no task waits on the disk on a cooperative thread. Iterate it once.
public struct KVAsyncEntries: AsyncSequence, Sendable {
    public typealias Element = (key: [UInt8], value: [UInt8])
    /// Iteration fails only with a `KVError` (a read error, or `closed`).
    public typealias Failure = KVError

    private let cursor: Cursor
    private let executor: BlockingExecutor

    init(iterator: KVIterator, reverse: Bool, batchSize: Int, executor: BlockingExecutor) {
        cursor = Cursor(iterator: iterator, reverse: reverse, batchSize: batchSize)
        self.executor = executor
    }

    /// The iterator over the sequence's entries (make one per sequence).
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(cursor: cursor, executor: executor)
    }

    /// Reads the entries a batch at a time on the store's threads.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let cursor: Cursor
        let executor: BlockingExecutor
        private var buffered: [Element] = []
        private var position = 0
        private var finished = false

        fileprivate init(cursor: Cursor, executor: BlockingExecutor) {
            self.cursor = cursor
            self.executor = executor
        }

        /// The next entry, or nil at the end of the range.
        public mutating func next() async throws(KVError) -> Element? {
            try await next(isolation: nil)
        }

        /// The next entry, or nil at the end of the range, staying on the caller's actor.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(KVError) -> Element? {
            if position == buffered.count {
                guard !finished else { return nil }
                let cursor = self.cursor
                let batch = try await executor.run { () throws(KVError) in try cursor.nextBatch() }
                buffered = batch.entries
                position = 0
                finished = batch.atEnd
                guard !buffered.isEmpty else { return nil }
            }
            defer { position += 1 }
            return buffered[position]
        }
    }

    /// The iterator behind the sequence, used by one batch read at a time.
    ///
    /// `@unchecked Sendable`: a `KVIterator` is confined to one thread at a time, and this
    /// one is touched only inside `nextBatch`, which the async iterator calls once per
    /// `next` that needs a batch and awaits before it calls again; so no two threads ever use
    /// it at once, and each executor job's start and end order the accesses.
    fileprivate final class Cursor: @unchecked Sendable {
        private let iterator: KVIterator
        private let reverse: Bool
        private let batchSize: Int
        private var started = false

        init(iterator: KVIterator, reverse: Bool, batchSize: Int) {
            self.iterator = iterator
            self.reverse = reverse
            self.batchSize = batchSize
        }

        func nextBatch() throws(KVError) -> (entries: [Element], atEnd: Bool) {
            if !started {
                started = true
                if reverse { iterator.seekToLast() } else { iterator.seekToFirst() }
            }
            var entries: [Element] = []
            entries.reserveCapacity(batchSize)
            while iterator.isValid && entries.count < batchSize {
                entries.append(iterator.withCurrent { (Array($0), Array($1)) })
                if reverse { iterator.previous() } else { iterator.next() }
            }
            try iterator.check()
            return (entries, !iterator.isValid)
        }
    }
}
