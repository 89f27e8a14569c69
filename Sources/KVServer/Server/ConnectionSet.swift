import NIOCore
import Synchronization

/// The open client channels, so shutdown can ask each to drain.
final class ConnectionSet: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func insert(_ channel: any Channel) {
        channels.locked { $0[ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: any Channel) {
        channels.locked { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var all: [any Channel] { channels.locked { Array($0.values) } }
    var isEmpty: Bool { channels.locked { $0.isEmpty } }
}
