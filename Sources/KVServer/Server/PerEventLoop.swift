import NIOCore
import Synchronization

/// One value per event loop (the loop's `WriteCoalescer`, its `ReplyFlusher`), made when the
/// loop's first connection arrives and confined to that loop: `value(for:)` is called on it.
final class PerEventLoop<Value: AnyObject>: Sendable {
    private let byLoop = Mutex<[ObjectIdentifier: NIOLoopBound<Value>]>([:])
    private let make: @Sendable (any EventLoop) -> Value

    init(_ make: @escaping @Sendable (any EventLoop) -> Value) {
        self.make = make
    }

    /// `eventLoop`'s value; call on that loop.
    func value(for eventLoop: any EventLoop) -> Value {
        let id = ObjectIdentifier(eventLoop)
        return byLoop.withLock { map in
            if let v = map[id] { return v.value }
            let v = make(eventLoop)
            map[id] = NIOLoopBound(v, eventLoop: eventLoop)
            return v
        }
    }
}
