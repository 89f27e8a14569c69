/// Redis's replication settings, as a config file or flags give them; CONFIG SET changes all
/// but `replicaOf` live (REPLICAOF does that).
public struct ReplicationSettings: Sendable, Equatable {
    /// `replicaof host port`: start as a replica of that primary (nil: a primary).
    public var replicaOf: (host: String, port: Int)? {
        get { primaryHost.map { ($0, primaryPort) } }
        set {
            primaryHost = newValue?.host
            primaryPort = newValue?.port ?? 0
        }
    }
    private var primaryHost: String?
    private var primaryPort = 0
    /// `masterauth` / `masteruser`: what a replica authenticates to its primary with.
    public var masterAuth: String?
    public var masterUser: String?
    /// `replica-read-only`: a replica refuses writes (`READONLY`).
    public var replicaReadOnly = true
    /// `replica-priority`: Sentinel promotes the lowest non-zero priority first; 0 never.
    public var replicaPriority = 100
    /// `min-replicas-to-write` / `min-replicas-max-lag`: a primary refuses writes (`NOREPLICAS`)
    /// unless that many replicas acknowledged within that many seconds (0: no such rule).
    public var minReplicasToWrite = 0
    public var minReplicasMaxLag = 10
    /// `repl-backlog-size`: bytes of recent stream kept for replicas that reconnect.
    public var backlogSize = 1 << 20
    /// `repl-timeout`: seconds without a byte from the primary before a replica gives up on the
    /// connection and reconnects.
    public var timeoutSeconds = 60
    /// `replica-announce-ip`, `replica-announce-port`: what this replica tells its primary to
    /// report (behind NAT); nil/0: the connection's address and the listening port.
    public var announceIP: String?
    public var announcePort = 0

    public init() {}
}
