import Foundation
import Logging
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol
import MeetKitStore

/// A member's running node: owns the store, holds one sync session per connected peer, and
/// carries out the sessions' directives (Protocol/sync.md §Session). Connections do the I/O
/// (`Link`); everything that touches the store or a session happens here, one at a time.
public actor Node {
    public nonisolated let identity: SigningKey
    let store: Store
    let logger: Logger
    private let started = ContinuousClock.now
    private var nextID = 0
    private var sessions: [Int: Session] = [:]
    private var waiters: [Int: CheckedContinuation<SyncReport, Error>] = [:]
    private var closeWaiters: [Int: [CheckedContinuation<Void, Never>]] = [:]
    /// Entries received from a peer, waiting for the next tick to be relayed to the others
    /// (see `relay`), with the session they came from.
    private var pendingRelays: [(entries: [Entry], origin: Int)] = []
    /// Relays that have waited one full tick: pushed at the next.
    private var dueRelays: [(entries: [Entry], origin: Int)] = []
    /// The dialled session now catching up, if any (see `takeCatchUpTurn`).
    private var catchingUp: Int?
    private var nextTurn = 0
    /// Why recent sessions ended, for a `waitUntilSynced` that comes too late to be resumed.
    private var endings: [(id: Int, reason: String)] = []

    /// Members this node has seen since it started, through a session or an advert.
    private var seen: [SeenKey: Seen] = [:]

    struct SeenKey: Hashable {
        let group: GroupID
        let member: PublicKey
    }

    struct Seen {
        var address: String
        var lastSeen: Date
        var advertised: Bool
    }

    /// A member as `meetkit peers` shows it.
    public struct PeerInfo: Sendable, Codable, Equatable {
        public let member: String
        public let fingerprint: String
        public let name: String
        public let group: String
        public let address: String
        public let advertised: Bool
        public let connected: Bool
        public let lastSeen: Date
        /// While connected: since when, and what the session exchanged.
        public let since: Date?
        public let entriesSent: Int
        public let entriesReceived: Int
    }

    /// What one sync exchanged.
    public struct SyncReport: Sendable {
        public var peer: PublicKey
        public var sent = 0
        public var received = 0
    }

    struct Session {
        var sync: SyncSession
        let group: GroupID
        let remote: PublicKey
        let address: String
        let outbound: AsyncStream<Outbound>.Continuation
        let since: Date
        var lastSeen: Date
        var report: SyncReport
        var lastError: String?
        var synced = false
    }

    public init(store: sending Store, logger: Logger) {
        self.identity = store.identity
        self.store = store
        self.logger = logger
    }

    /// Runs `body` with the store, on the node: the way the CLI's commands reach a running
    /// node's store. Entries it writes are pushed to connected peers at once, and so are the
    /// proofs of forks it finds (a bundle import may bring one).
    public func withStore<T: Sendable>(_ body: (Store) throws -> T) rethrows -> T {
        let quarantined = quarantinedFeeds()
        defer {
            let written = store.drainNewEntries()
            push(written, except: nil)
            if written.contains(where: { $0.header.kind == .rekey }) { epochChanged() }
            pushForks(foundSince: quarantined)
        }
        return try body(store)
    }

    /// The current network key of each group: what adverts are sealed under.
    func networkKeys() -> [(group: GroupID, key: SecretBytes)] {
        store.networkKeys()
    }

    /// Every network key held, newest first, with whom a handshake under it may admit.
    func handshakeKeys() -> [(group: GroupID, key: SecretBytes, onlyMembers: Set<PublicKey>?)] {
        store.handshakeKeys()
    }

    /// Each group's current epoch: adverts are published afresh when it changes.
    func epochs() -> [GroupID: UInt32] {
        store.epochs
    }

    /// Members of `group` other than this node: whom a dial may find at an address.
    func otherMembers(of group: GroupID) -> [PublicKey] {
        store.members(of: group).filter { $0 != identity.publicKey }.sorted()
    }

    func groups() -> [GroupID] { store.epochs.keys.sorted() }

    /// The members seen since the node started, connected or not. Someone who holds the
    /// network key but was never admitted (refused, or not yet joined) is not a member and is
    /// not listed.
    public func peers() -> [PeerInfo] {
        seen.filter { store.isMember($0.key.member, of: $0.key.group) }.sorted { $0.value.lastSeen > $1.value.lastSeen }.map { key, seen in
            let session = sessions.values.filter { $0.group == key.group && $0.remote == key.member }.min { $0.since < $1.since }
            return PeerInfo(
                member: key.member.hex, fingerprint: key.member.fingerprint,
                name: store.state(of: key.group).displayName(of: key.member), group: key.group.hex,
                address: session?.address ?? seen.address, advertised: seen.advertised, connected: session != nil,
                lastSeen: max(session?.lastSeen ?? seen.lastSeen, seen.lastSeen), since: session?.since,
                entriesSent: session?.report.sent ?? 0, entriesReceived: session?.report.received ?? 0)
        }
    }

    func isConnected(_ member: PublicKey, in group: GroupID) -> Bool {
        sessions.values.contains { $0.group == group && $0.remote == member }
    }

    /// Discovery opened an advert of `member` at `address`.
    func sighted(group: GroupID, member: PublicKey, address: PeerAddress) {
        seen[SeenKey(group: group, member: member)] = Seen(address: "\(address)", lastSeen: Date(), advertised: true)
    }

    /// `member` no longer advertises (a goodbye, or discovery gave up on it).
    func advertWithdrawn(group: GroupID, member: PublicKey) {
        seen[SeenKey(group: group, member: member)]?.advertised = false
    }

    private var now: Duration { ContinuousClock.now - started }

    // MARK: - Sessions

    /// A connection completed its handshake: start the sync session.
    func open(
        group: GroupID, remote: PublicKey, address: String, start: SyncSession.Start?,
        outbound: AsyncStream<Outbound>.Continuation
    ) -> Int {
        nextID += 1
        let id = nextID
        let sync: SyncSession
        var directives: [SyncSession.Directive] = []
        if let start {
            (sync, directives) = SyncSession.client(start, now: now)
        } else {
            sync = SyncSession.server(peerIsMember: store.isMember(remote, of: group), now: now)
        }
        sessions[id] = Session(
            sync: sync, group: group, remote: remote, address: address, outbound: outbound, since: Date(),
            lastSeen: Date(), report: SyncReport(peer: remote), lastError: nil, synced: false)
        let key = SeenKey(group: group, member: remote)
        seen[key] = Seen(address: address, lastSeen: Date(), advertised: seen[key]?.advertised ?? false)
        logger.info("peer connected", metadata: ["peer": "\(remote.fingerprint)", "address": "\(address)"])
        execute(directives, session: id)
        return id
    }

    func received(_ id: Int, _ message: WireMessage, verified: [Entry]) {
        guard var session = sessions[id] else { return }
        session.lastSeen = Date()
        let group = session.group
        let directives = session.sync.receive(message, now: now) { store.versionVector(of: group) }
        sessions[id] = session
        execute(directives, session: id, verified: verified)
    }

    /// The connection found an entry the peer sent invalid.
    func refused(_ id: Int, _ reason: String) {
        guard var session = sessions[id] else { return }
        let directives = session.sync.ingestFailed(reason)
        sessions[id] = session
        execute(directives, session: id)
    }

    /// The connection could not decrypt or frame the peer's bytes.
    func malformed(_ id: Int, _ reason: String) {
        guard var session = sessions[id] else { return }
        let directives = session.sync.malformed(reason)
        sessions[id] = session
        execute(directives, session: id)
    }

    /// The connection has ended.
    func closed(_ id: Int) {
        guard let session = sessions.removeValue(forKey: id) else { return }
        session.outbound.finish()
        seen[SeenKey(group: session.group, member: session.remote)]?.lastSeen = session.lastSeen
        logger.info("peer disconnected", metadata: ["peer": "\(session.remote.fingerprint)"])
        let reason = session.lastError ?? "the peer closed the connection"
        waiters.removeValue(forKey: id)?.resume(throwing: NodeError.sessionEnded(reason))
        endings.append((id, reason))
        if endings.count > 64 { endings.removeFirst() }
        for waiter in closeWaiters.removeValue(forKey: id) ?? [] { waiter.resume() }
    }

    /// Waits until session `id` has ended.
    func waitUntilClosed(_ id: Int) async {
        guard sessions[id] != nil else { return }
        await withCheckedContinuation { closeWaiters[id, default: []].append($0) }
    }

    /// Dialled sessions catch up one at a time, so each starts from what the previous ones
    /// brought and peers do not all send the same entries at once. Waits at most `limit` for
    /// the current one (a slow peer must not hold up the others), then takes the turn.
    func takeCatchUpTurn(limit: Duration = .seconds(10)) async throws -> Int {
        let deadline = ContinuousClock.now + limit
        while catchingUp != nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        nextTurn += 1
        catchingUp = nextTurn
        return nextTurn
    }

    func endCatchUpTurn(_ turn: Int) {
        if catchingUp == turn { catchingUp = nil }
    }

    /// Ends every session cleanly: on shutdown.
    func closeAll() {
        for session in sessions.values { session.outbound.yield(.close(refusal: nil)) }
    }

    /// Drops the bodies of expired shares and redacted entries (Protocol/retention.md): at
    /// start, every `retentionInterval` of ticks, and when a redaction or retention arrives.
    func dropExpiredBodies() {
        do {
            let count = try store.dropExpiredBodies(at: Date())
            if count > 0 { logger.info("dropped expired or redacted bodies", metadata: ["count": "\(count)"]) }
        } catch {
            logger.error("could not drop expired bodies", metadata: ["reason": "\(error)"])
        }
    }

    /// Ticks between two expiry passes: 30 s.
    static let retentionInterval = 150
    private var ticks = 0

    /// Heartbeats, idle timeouts and relays; the node calls it about five times a second.
    func tick() {
        ticks += 1
        if ticks % Self.retentionInterval == 0 { dropExpiredBodies() }
        let relays = dueRelays
        dueRelays = pendingRelays
        pendingRelays = []
        for relay in relays { push(relay.entries, except: relay.origin) }
        for id in sessions.keys {
            guard var session = sessions[id] else { continue }
            let directives = session.sync.tick(now: now)
            sessions[id] = session
            execute(directives, session: id)
        }
    }

    /// Waits until session `id` has synced (both sides caught up).
    public func waitUntilSynced(_ id: Int) async throws -> SyncReport {
        guard let session = sessions[id] else {
            throw NodeError.sessionEnded(endings.last { $0.id == id }?.reason ?? "the peer closed the connection")
        }
        if session.synced { return session.report }
        return try await withCheckedThrowingContinuation { waiters[id] = $0 }
    }

    /// Ends session `id` cleanly.
    func finish(_ id: Int) {
        sessions[id]?.outbound.yield(.close(refusal: nil))
    }

    // MARK: - Directives

    private func execute(_ directives: [SyncSession.Directive], session id: Int, verified: [Entry] = []) {
        for directive in directives {
            guard var session = sessions[id] else { return }
            switch directive {
            case .send(let message):
                sessions[id]?.report.sent = session.sync.entriesSent
                session.outbound.yield(.send(message))
            case .serve(let vector):
                // The session is live: the peer gets what it lacks, and every fork proof held.
                let missing = store.entries(of: session.group, missingFrom: vector)
                let proofs = store.forks(in: session.group).map(\.entries)
                let next = session.sync.serve(
                    missing, comparing: store.headsToCompare(of: session.group, with: vector), forkProofs: proofs, now: now)
                sessions[id] = session
                execute(next, session: id)
            case .ingest:
                ingest(verified, session: id)
            case .forkProof(let first, let second):
                acceptForkProof(first, second, session: id)
            case .admit(let secret):
                var bytes = secret
                let next: [SyncSession.Directive]
                do {
                    let admission = try store.admit(
                        session.remote, to: session.group, secret: SecretBytes(consuming: &bytes), at: Date())
                    logger.info("member admitted", metadata: ["member": "\(session.remote.fingerprint)"])
                    next = session.sync.admissionGranted(sealedKeys: admission.sealedKeys, now: now)
                } catch let error as StoreError {
                    next = session.sync.admissionRefused(error.message)
                } catch {
                    next = session.sync.admissionRefused("\(error)")
                }
                sessions[id] = session
                execute(next, session: id)
                broadcastNewEntries()
            case .acceptAdmission(let sealed):
                let next: [SyncSession.Directive]
                do {
                    let group = try store.acceptAdmission(sealedKeys: sealed, into: session.group)
                    next = session.sync.admissionAccepted(localVector: store.versionVector(of: group), now: now)
                } catch {
                    next = session.sync.ingestFailed("\(error)")
                }
                sessions[id] = session
                execute(next, session: id)
            case .synced:
                logger.info("synced", metadata: [
                    "peer": "\(session.remote.fingerprint)", "sent": "\(session.report.sent)",
                    "received": "\(session.report.received)",
                ])
                sessions[id]?.synced = true
                // A node restored from a backup now holds its own earlier entries (Protocol/storage.md).
                try? store.ownFeedSynced(in: session.group)
                waiters.removeValue(forKey: id)?.resume(returning: session.report)
            case .close(let error, let notify):
                logger.warning("session ended", metadata: ["peer": "\(session.remote.fingerprint)", "reason": "\(error)"])
                sessions[id]?.lastError = error.description
                session.outbound.yield(.close(refusal: notify ? error.description : nil))
            }
        }
    }

    private func ingest(_ entries: [Entry], session id: Int) {
        guard var session = sessions[id] else { return }
        do {
            let quarantined = quarantinedFeeds()
            // A refusal is about one entry (Protocol/membership.md §Acceptance): the others are
            // stored, and the session goes on.
            let report = try store.ingestReporting(entries, into: session.group)
            let fresh = report.stored
            for refusal in report.refused.prefix(8) {
                logger.warning("entry refused", metadata: ["peer": "\(session.remote.fingerprint)", "reason": "\(refusal.reason)"])
            }
            session.sync.ingested(entries)
            session.report.received += fresh.count
            sessions[id] = session
            _ = store.drainNewEntries()
            relay(fresh, from: id)
            if fresh.contains(where: { $0.header.kind == .rekey }) { epochChanged() }
            if fresh.contains(where: { $0.header.kind == .redaction || $0.header.kind == .retention }) { dropExpiredBodies() }
            // The peer that sent the second history may not know of the fork either: it gets the proof too.
            pushForks(foundSince: quarantined)
        } catch {
            let reason = (error as? StoreError)?.message ?? "\(error)"
            let next = session.sync.ingestFailed(reason)
            sessions[id] = session
            execute(next, session: id)
        }
    }

    // MARK: - Fork proofs

    /// A fork proof from session `id` (Protocol/sync.md §Forks): both entries must verify
    /// alone, and the store checks that they are one feed's at one sequence of the session's
    /// group; else the session ends as for a refused entry. A proof new to the store goes to
    /// the group's other peers.
    private func acceptForkProof(_ a: RawEntry, _ b: RawEntry, session id: Int) {
        guard let group = sessions[id]?.group, let peer = sessions[id]?.remote else { return }
        let reason: String
        do {
            let first = try Entry(wire: a.wire, body: nil)
            let second = try Entry(wire: b.wire, body: nil)
            guard try store.acceptForkProof(first, second, in: group) else { return }
            logger.notice("fork proof received", metadata: ["peer": "\(peer.fingerprint)"])
            pushForkProofs([(first, second)], in: group, except: id)
            return
        } catch let error as EntryError {
            reason = "a fork proof that does not verify: \(error.explanation)"
        } catch let error as StoreError {
            reason = error.message
        } catch {
            reason = "\(error)"
        }
        guard var session = sessions[id] else { return }
        let next = session.sync.ingestFailed(reason)
        sessions[id] = session
        execute(next, session: id)
    }

    // TEMPORARY: until `Store.ingest` reports the forks it finds, they are found by comparing.
    /// The quarantined feeds of each group, by author: what `pushForks(foundSince:)` compares
    /// against to find the forks a store call found.
    private func quarantinedFeeds() -> [GroupID: Set<PublicKey>] {
        var feeds: [GroupID: Set<PublicKey>] = [:]
        for group in store.epochs.keys { feeds[group] = Set(store.forks(in: group).map(\.author)) }
        return feeds
    }

    /// Sends the forks found since `before` to every live session of their group.
    private func pushForks(foundSince before: [GroupID: Set<PublicKey>]) {
        for group in store.epochs.keys {
            let found = store.forks(in: group).filter { !(before[group]?.contains($0.author) ?? false) }
            guard !found.isEmpty else { continue }
            pushForkProofs(found.map(\.entries), in: group, except: nil)
        }
    }

    private func pushForkProofs(_ proofs: [(Entry, Entry)], in group: GroupID, except origin: Int?) {
        for id in sessions.keys where id != origin && sessions[id]?.group == group {
            guard var session = sessions[id] else { continue }
            let directives = session.sync.sendForkProofs(proofs, now: now)
            sessions[id] = session
            execute(directives, session: id)
        }
    }

    /// After a re-key was written or received: ends the sessions of anyone it removed, and
    /// writes the re-key that concurrent re-keys may call for (Protocol/epochs.md §Concurrent
    /// re-keys).
    private func epochChanged() {
        for group in store.epochs.keys {
            do {
                if let entry = try store.resolveConcurrentRekey(in: group, at: Date()) {
                    logger.notice("re-keyed after concurrent removals", metadata: ["epoch": "\(entry.header.epoch + 1)"])
                }
            } catch {
                logger.error("could not re-key after concurrent removals", metadata: ["reason": "\(error)"])
            }
        }
        broadcastNewEntries()
        for (id, session) in sessions where store.wasRemoved(session.remote, from: session.group) {
            logger.notice("session ended: no longer a member", metadata: ["peer": "\(session.remote.fingerprint)"])
            sessions[id]?.lastError = "no longer a member"
            session.outbound.yield(.close(refusal: "you are no longer a member of this group"))
        }
    }

    /// Pushes entries written on this node (by its member, or an admission) to every live
    /// session of their group at once.
    private func broadcastNewEntries() {
        push(store.drainNewEntries(), except: nil)
    }

    /// Entries received from session `origin`: announced to the other sessions at once (so
    /// their peers do not send them here too), and relayed to them one full tick later
    /// (0.2–0.4 s), by when peers that got them elsewhere have announced so and are skipped. In a mesh this keeps
    /// most entries from arriving twice (Protocol/sync.md §Session).
    private func relay(_ fresh: [Entry], from origin: Int) {
        guard !fresh.isEmpty, sessions.keys.contains(where: { $0 != origin }) else { return }
        for id in sessions.keys where id != origin {
            guard var session = sessions[id] else { continue }
            var heads = VersionVector()
            for entry in fresh where entry.group == session.group { heads.advance(entry.header.author, to: entry.header.sequence) }
            let directives = session.sync.announce(heads, now: now)
            sessions[id] = session
            execute(directives, session: id)
        }
        pendingRelays.append((fresh, origin))
    }

    private func push(_ fresh: [Entry], except origin: Int?) {
        guard !fresh.isEmpty else { return }
        for id in sessions.keys where id != origin {
            guard var session = sessions[id] else { continue }
            let entries = fresh.filter { $0.group == session.group }
            guard !entries.isEmpty else { continue }
            let directives = session.sync.push(entries, now: now)
            sessions[id] = session
            execute(directives, session: id)
        }
    }
}

public enum NodeError: Error, CustomStringConvertible {
    case sessionEnded(String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .sessionEnded(let reason): reason
        case .unreachable(let reason): reason
        }
    }
}
