import Dispatch
import KVStore
import NIOCore
import Synchronization

/// A primary's full synchronisation of one replica: `+FULLRESYNC <replid> <offset>`, then the
/// store as of one snapshot in `entries` frames and a `snapshotEnd` frame naming the snapshot's
/// sequence, then the feed's collected stream (`ReplicaFeed.goOnline`). Runs on a thread of its
/// own (a sync of a large store takes minutes; no pool thread is held) and waits for the socket
/// every few megabytes, so a slow replica slows its own sync, not the server's memory.
///
/// The feed was attached (at `offset`) before the snapshot was taken, so every group committed
/// after the snapshot is in the feed; groups committed in between are in both, and the
/// replica skips those at or below the snapshot's sequence.
enum FullSync {
    /// Entries per frame stop after this many bytes.
    static let chunkBytes = 256 << 10
    /// Wait for the socket after this many bytes handed to it.
    static let windowBytes = 8 << 20

    /// Sends the sync; returns the number of entries, or throws what stopped it (the
    /// connection closed, the store failed, `stopping` became true: the replica reconnects
    /// and asks again).
    static func run(
        store: KVStore, feed: ReplicaFeed, replid: String, offset: Int64, timeoutSeconds: Int, stopping: @Sendable () -> Bool
    ) throws -> Int {
        let channel = feed.channel
        var line = channel.allocator.buffer(capacity: 64)
        line.writeString("+FULLRESYNC \(replid) \(offset)\r\n")
        var last = channel.writeAndFlush(line)

        let snapshot = try store.snapshot()
        defer { snapshot.release() }
        var options = ReadOptions()
        options.snapshot = snapshot
        options.fillCache = false
        let it = try store.makeIterator(options)
        it.seekToFirst()
        var entries = 0
        var chunk: [UInt8] = []
        chunk.reserveCapacity(chunkBytes + 4096)
        var sinceWait = 0
        func send(_ kind: ReplicationFrame.Kind, _ payload: [UInt8]) throws {
            // The server stopping waits for this thread before its event loops go.
            guard channel.isActive, !stopping() else { throw ChannelError.ioOnClosedChannel }
            var b = channel.allocator.buffer(capacity: ReplicationFrame.headerSize + payload.count)
            payload.withUnsafeBytes { ReplicationFrame.write(kind, $0, to: &b) }
            last = channel.writeAndFlush(b)
            sinceWait += b.readableBytes
            if sinceWait >= windowBytes {
                try written(last, within: timeoutSeconds)
                sinceWait = 0
            }
        }
        while it.isValid {
            it.withCurrent { key, value in
                ReplicationFrame.appendLE(UInt32(key.count), to: &chunk)
                chunk.append(contentsOf: key)
                ReplicationFrame.appendLE(UInt32(value.count), to: &chunk)
                chunk.append(contentsOf: value)
            }
            ReplicationFrame.appendLE(it.expiresAt ?? 0, to: &chunk)
            chunk.append(it.tag)
            entries += 1
            if chunk.count >= chunkBytes {
                try send(.entries, chunk)
                chunk.removeAll(keepingCapacity: true)
            }
            it.next()
        }
        try it.check()
        if !chunk.isEmpty { try send(.entries, chunk) }
        var end: [UInt8] = []
        ReplicationFrame.appendLE(snapshot.sequence, to: &end)
        ReplicationFrame.appendLE(UInt64(entries), to: &end)
        try send(.snapshotEnd, end)
        try written(last, within: timeoutSeconds)
        feed.goOnline()
        return entries
    }

    /// Waits for `write` to reach the socket, at most `seconds` (`repl-timeout`): a replica that
    /// stops reading does not hold this thread and the snapshot forever.
    private static func written(_ write: EventLoopFuture<Void>, within seconds: Int) throws {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<Void, any Error>?>(nil)
        write.whenComplete { r in
            result.withLock { $0 = r }
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(max(1, seconds))) == .success else {
            throw ReplicationError.protocolViolation("the replica read nothing for \(seconds) s (repl-timeout)")
        }
        try result.withLock { $0 }?.get()
    }
}
