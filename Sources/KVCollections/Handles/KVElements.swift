import KVStore

/// Where a page of a collection's elements ends, to read the next page from.
public struct KVPageCursor: Sendable, Hashable {
    enum Mark: Sendable, Hashable {
        /// Byte-ordered collections (hash fields, set members): resume after this element.
        case after([UInt8])
        /// Positional ones (a sorted set's ranks, a list's indexes): resume here.
        case position(Int)
    }

    let mark: Mark
}

/// One page of a collection's elements, in the collection's order, and where the next one
/// starts (nil: this was the last). A `RandomAccessCollection`: iterate it with `for … in`.
public struct KVPage<Element: Sendable>: RandomAccessCollection, Sendable {
    public let elements: [Element]
    /// Pass to the handle's `page(from:limit:)` for the following page; nil at the end.
    public let next: KVPageCursor?

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }
    public subscript(position: Int) -> Element { elements[position] }
}

/// Every element of a collection as an `AsyncSequence`, read a page at a time from one
/// snapshot taken when iteration starts (a handle made in a unit reads the unit's view
/// instead): a collection of any size is walked in bounded memory and seen whole, as of one
/// moment, however long the walk takes.
///
/// ```swift
/// for try await (member, score) in KVSortedSet("board", in: keyspace).elements() { … }
/// ```
public struct KVElements<Element: Sendable>: AsyncSequence, Sendable {
    public typealias Failure = KeyspaceError
    typealias Fetch = @Sendable (KeyspaceAccess<KeyspaceTransaction>, KVPageCursor?, Int) throws(KeyspaceError) -> KVPage<Element>

    let scope: HandleScope
    let pageSize: Int
    let fetch: Fetch

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(scope: scope, pageSize: pageSize, fetch: fetch)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let scope: HandleScope
        let pageSize: Int
        let fetch: Fetch
        var reader: KeyspaceAccess<KeyspaceTransaction>?
        var buffer: [Element] = []
        var index = 0
        var cursor: KVPageCursor?
        var finished = false

        init(scope: HandleScope, pageSize: Int, fetch: @escaping Fetch) {
            self.scope = scope
            self.pageSize = pageSize
            self.fetch = fetch
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(KeyspaceError) -> Element? {
            try advance()
        }

        public mutating func next() async throws(KeyspaceError) -> Element? {
            try advance()
        }

        private mutating func advance() throws(KeyspaceError) -> Element? {
            if index < buffer.count {
                defer { index += 1 }
                return buffer[index]
            }
            guard !finished else { return nil }
            let r = try readerForWalk()
            let page = try fetch(r, cursor, pageSize)
            buffer = page.elements
            index = 0
            cursor = page.next
            finished = page.next == nil
            guard !buffer.isEmpty else {
                finished = true
                return nil
            }
            index = 1
            return buffer[0]
        }

        /// The snapshot the whole walk reads (a unit's own view in a unit).
        private mutating func readerForWalk() throws(KeyspaceError) -> KeyspaceAccess<KeyspaceTransaction> {
            if let reader { return reader }
            let r: KeyspaceAccess<KeyspaceTransaction>
            switch scope.target {
            case .unit(let u):
                r = u.access
            case .keyspace(let k):
                let t: Transaction
                do { t = try k.store.beginTransaction(isolation: .optimistic) } catch { throw .store(error) }
                r = k.access(KeyspaceTransaction(t))
            }
            reader = r
            return r
        }
    }
}
