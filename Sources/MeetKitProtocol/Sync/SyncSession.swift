import MeetKitCore
import MeetKitCrypto

/// One peer session's sync protocol as a pure state machine (Protocol/sync.md §Session):
/// the shell feeds it messages, results and the time, and carries out the directives it
/// returns. It performs no I/O and reads no clock.
public struct SyncSession: Sendable {
    /// Entries per `entries` message: large enough that a batch costs one store transaction
    /// for hundreds of entries, small enough to stay below `WireMessage.maximumLength` (a
    /// batch closes once it passes `batchBytes`, and one more entry is at most 64 KiB).
    public static let batchSize = 512
    public static let batchBytes = 512 * 1024
    public static let heartbeatInterval: Duration = .seconds(10)
    public static let idleTimeout: Duration = .seconds(30)

    public enum Directive: Sendable, Equatable {
        case send(WireMessage)
        /// Look up the entries the peer lacks (`Store.entries(missingFrom:)`) and hand them to
        /// `serve(_:)`.
        case serve(VersionVector)
        /// Verify and store these entries, then call `ingested(_:)` with those newly stored.
        case ingest([RawEntry])
        /// Server: admit the peer with this invite secret, then call `admissionGranted(_:)`.
        case admit(secret: [UInt8])
        /// Joining client: store the sealed keys, then call `admissionAccepted(localVector:)`.
        case acceptAdmission(sealedKeys: [UInt8])
        /// The peer sent a fork proof (Protocol/sync.md §Forks): verify both entries, keep the
        /// proof and quarantine the feed; if it was new, send it to the group's other peers.
        /// A proof that does not verify ends the session (`ingestFailed(_:)`).
        case forkProof(RawEntry, RawEntry)
        /// Both sides hold everything the other had at the start: a one-off sync may stop here.
        case synced
        /// End the session: send `refused` if `notifyPeer`, then close the connection.
        case close(SyncError, notifyPeer: Bool)
    }

    public enum Start: Sendable {
        /// A member syncing: begins with its version vector.
        case member(localVector: VersionVector)
        /// A node joining with an invite: begins with the invite secret.
        case joining(secret: [UInt8])
    }

    private enum Phase: Sendable, Equatable {
        case awaitingHave
        case joining
        case awaitingJoin
        case live
        case closed
    }

    private var phase: Phase
    private let isClient: Bool
    private var peerVector = VersionVector()
    private var served = false
    /// Entries sent that the peer lacked (headers sent only to be compared are not counted).
    public private(set) var entriesSent = 0
    private var sentCaughtUp = false
    private var receivedCaughtUp = false
    private var reportedSynced = false
    private var lastReceived: Duration
    private var lastSent: Duration
    private var pending: [Directive] = []

    /// A client session: `start` says whether it syncs or joins.
    public static func client(_ start: Start, now: Duration) -> (SyncSession, [Directive]) {
        switch start {
        case .member(let vector):
            var session = SyncSession(phase: .awaitingHave, isClient: true, now: now)
            return (session, session.sending(.have(vector)))
        case .joining(let secret):
            var session = SyncSession(phase: .joining, isClient: true, now: now)
            return (session, session.sending(.join(secret: secret)))
        }
    }

    /// A server session: a member waits for the client's vector; a non-member may only join.
    public static func server(peerIsMember: Bool, now: Duration) -> SyncSession {
        SyncSession(phase: peerIsMember ? .awaitingHave : .awaitingJoin, isClient: false, now: now)
    }

    private init(phase: Phase, isClient: Bool, now: Duration) {
        self.phase = phase
        self.isClient = isClient
        lastReceived = now
        lastSent = now
    }

    public var isClosed: Bool { phase == .closed }
    public var isLive: Bool { phase == .live }

    // MARK: - Inputs

    /// A message from the peer. `localVector` is needed only by a server answering `have`.
    public mutating func receive(_ message: WireMessage, now: Duration, localVector: () -> VersionVector) -> [Directive] {
        guard phase != .closed else { return [] }
        lastReceived = now
        switch (phase, message) {
        case (_, .ping):
            return sending(.pong, now: now)
        case (_, .pong):
            return []
        case (_, .refused(let reason)):
            return close(.refusedByPeer(reason), notify: false)
        case (.awaitingJoin, .join(let secret)):
            return [.admit(secret: secret)]
        case (.awaitingJoin, _):
            return close(.notAMember, notify: true)
        case (.joining, .admitted(let sealed)):
            return [.acceptAdmission(sealedKeys: sealed)]
        case (.awaitingHave, .have(let vector)):
            peerVector = vector
            phase = .live
            var directives: [Directive] = []
            if !isClient { directives += sending(.have(localVector()), now: now) }
            return directives + [.serve(vector)]
        case (.live, .have(let update)):
            // The peer now holds these (it stored them from someone else): never send them.
            for (author, sequence) in update.heads { peerVector.advance(author, to: sequence) }
            return []
        case (.live, .entries(let entries)):
            return entries.isEmpty ? [] : [.ingest(entries)]
        case (.live, .fork(let first, let second)):
            return [.forkProof(first, second)]
        case (.live, .caughtUp):
            guard !receivedCaughtUp else { return close(.unexpectedMessage("a second caught-up"), notify: true) }
            receivedCaughtUp = true
            return caughtUpIfDue(now: now)
        default:
            return close(.unexpectedMessage(message.name), notify: true)
        }
    }

    /// The entries the peer lacked at its `have`, in log order: sent in batches, then the fork
    /// proofs this node holds for the group (`sendForkProofs`), then `caughtUp` (a server's
    /// waits for the client's: see `caughtUpIfDue`). The proofs go before `caughtUp` so that
    /// "caught up" covers them too, and after the entries so that the peer stores a feed's
    /// history up to the fork before it quarantines the feed.
    /// `comparing` are headers (no bodies) of entries at the places the peer's feeds end: the
    /// peer holds them already, unless their author gave it another history (Protocol/sync.md
    /// §Forks). They go first, and do not count as sent.
    public mutating func serve(
        _ entries: [Entry], comparing heads: [Entry] = [], forkProofs: [(Entry, Entry)] = [], now: Duration
    ) -> [Directive] {
        guard phase == .live, !served else { return [] }
        served = true
        var directives: [Directive] = []
        for start in stride(from: 0, to: heads.count, by: Self.batchSize) {
            let batch = heads[start..<min(start + Self.batchSize, heads.count)].map { RawEntry($0.droppingBody()) }
            directives += sending(.entries(batch), now: now)
        }
        return directives + push(entries, now: now) + sendForkProofs(forkProofs, now: now) + caughtUpIfDue(now: now)
    }

    /// Entries newly stored on this node (written here or received from anyone): those the
    /// peer lacks go out at once. Before the peer's `have` arrives nothing is pushed: the
    /// answer to its `have` will include them.
    public mutating func push(_ entries: [Entry], now: Duration) -> [Directive] {
        guard phase == .live else { return [] }
        var directives: [Directive] = []
        var batch: [RawEntry] = []
        var batchBytes = 0
        // (sequence - 1, not vector + 1: a peer may announce any sequence, UInt64.max included.)
        for entry in entries where entry.header.sequence - 1 == peerVector[entry.header.author] {
            peerVector.advance(entry.header.author, to: entry.header.sequence)
            entriesSent += 1
            batch.append(RawEntry(entry))
            batchBytes += Entry.wireLength + (entry.body?.count ?? 0)
            if batch.count == Self.batchSize || batchBytes >= Self.batchBytes {
                directives += sending(.entries(batch), now: now)
                batch = []
                batchBytes = 0
            }
        }
        if !batch.isEmpty { directives += sending(.entries(batch), now: now) }
        return directives
    }

    /// Fork proofs: pairs of entries that one author signed at one sequence (Protocol/sync.md
    /// §Forks), sent as their wire forms without bodies. Nothing before the peer's `have`
    /// (serving it sends them all). Once a proof is sent the feed counts as complete at the
    /// peer (`UInt64.max`), so neither more of it nor a second proof goes out in this session.
    public mutating func sendForkProofs(_ proofs: [(Entry, Entry)], now: Duration) -> [Directive] {
        guard phase == .live else { return [] }
        var directives: [Directive] = []
        for (first, second) in proofs where peerVector[first.header.author] != .max {
            peerVector.advance(first.header.author, to: .max)
            directives += sending(
                .fork(first: RawEntry(wire: first.wire, body: nil), second: RawEntry(wire: second.wire, body: nil)), now: now)
        }
        return directives
    }

    /// Tells the peer what this node now holds (entries it stored from someone else), so the
    /// peer does not send them too. Only authors the peer may not know this node has.
    public mutating func announce(_ heads: VersionVector, now: Duration) -> [Directive] {
        guard phase == .live, !heads.heads.isEmpty else { return [] }
        return sending(.have(heads), now: now)
    }

    /// The shell stored entries from an `ingest` directive; `stored` are those that were new.
    /// The peer holds them, so they are never sent back.
    public mutating func ingested(_ received: [Entry]) {
        for entry in received { peerVector.advance(entry.header.author, to: entry.header.sequence) }
    }

    /// The shell could not verify or store what the peer sent.
    public mutating func ingestFailed(_ reason: String) -> [Directive] {
        close(.invalidEntries(reason), notify: true)
    }

    /// The peer's bytes broke the framing or box-stream: nothing more can be read from it.
    public mutating func malformed(_ reason: String) -> [Directive] {
        close(.malformed(reason), notify: true)
    }

    /// Server: the peer was admitted; its keys go out and it is now a member.
    public mutating func admissionGranted(sealedKeys: [UInt8], now: Duration) -> [Directive] {
        guard phase == .awaitingJoin else { return [] }
        phase = .awaitingHave
        return sending(.admitted(sealedKeys: sealedKeys), now: now)
    }

    public mutating func admissionRefused(_ reason: String) -> [Directive] {
        close(.admissionRefused(reason), notify: true)
    }

    /// Joining client: the keys are stored; the session continues as a member's.
    public mutating func admissionAccepted(localVector: VersionVector, now: Duration) -> [Directive] {
        guard phase == .joining else { return [] }
        phase = .awaitingHave
        return sending(.have(localVector), now: now)
    }

    /// The passage of time: heartbeats while idle, and the end of a silent peer.
    public mutating func tick(now: Duration) -> [Directive] {
        guard phase != .closed else { return [] }
        if now - lastReceived >= Self.idleTimeout { return close(.timeout, notify: false) }
        if now - lastSent >= Self.heartbeatInterval { return sending(.ping, now: now) }
        return []
    }

    // MARK: - Helpers

    /// `caughtUp` goes out once this side has served the peer; a server's also waits for the
    /// client's `caughtUp`. Every entry the client sent before it has been stored by then (the
    /// shell ingests each message before it passes on the next), so the server's `caughtUp`
    /// also tells the client "I hold everything you sent": a one-off sync that stops at
    /// `synced` loses nothing (Protocol/sync.md §Session).
    private mutating func caughtUpIfDue(now: Duration) -> [Directive] {
        guard served, !sentCaughtUp, isClient || receivedCaughtUp else { return syncedIfDone() }
        sentCaughtUp = true
        return sending(.caughtUp, now: now) + syncedIfDone()
    }

    private mutating func syncedIfDone() -> [Directive] {
        guard sentCaughtUp, receivedCaughtUp, !reportedSynced else { return [] }
        reportedSynced = true
        return [.synced]
    }

    private mutating func sending(_ message: WireMessage, now: Duration? = nil) -> [Directive] {
        if let now { lastSent = now }
        return [.send(message)]
    }

    private mutating func close(_ error: SyncError, notify: Bool) -> [Directive] {
        phase = .closed
        return [.close(error, notifyPeer: notify)]
    }
}

/// Why a session ended.
public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAMember
    case unexpectedMessage(String)
    case invalidEntries(String)
    case malformed(String)
    case admissionRefused(String)
    case refusedByPeer(String)
    case timeout

    public var description: String {
        switch self {
        case .notAMember: "the peer is not a member of the group"
        case .unexpectedMessage(let name): "the peer sent an unexpected \(name) message"
        case .invalidEntries(let reason): "the peer sent entries that were refused: \(reason)"
        case .malformed(let reason): "the peer sent malformed data: \(reason)"
        case .admissionRefused(let reason): "the peer could not be admitted: \(reason)"
        case .refusedByPeer(let reason): "the peer ended the session: \(reason)"
        case .timeout: "the peer went silent"
        }
    }
}

extension WireMessage {
    var name: String {
        switch self {
        case .have: "have"
        case .entries: "entries"
        case .caughtUp: "caught-up"
        case .ping: "ping"
        case .pong: "pong"
        case .join: "join"
        case .admitted: "admitted"
        case .refused: "refused"
        case .fork: "fork"
        }
    }
}
