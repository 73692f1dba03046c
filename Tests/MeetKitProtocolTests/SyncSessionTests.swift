import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// A member's log in memory: just enough of a node to drive a `SyncSession`.
private struct MemoryNode {
    let key: SigningKey
    let group: GroupID
    var entries: [Entry] = []
    var members: Set<PublicKey>
    /// Fork proofs held; their feeds are quarantined, announced at `UInt64.max`.
    var forks: [(Entry, Entry)] = []

    var vector: VersionVector {
        var v = VersionVector()
        for entry in entries { v.advance(entry.header.author, to: entry.header.sequence) }
        for (first, _) in forks { v.advance(first.header.author, to: .max) }
        return v
    }

    func missing(from peer: VersionVector) -> [Entry] {
        entries.filter { $0.header.sequence > peer[$0.header.author] }.sorted { $0.position < $1.position }
    }

    /// Appends a share by this node's member.
    mutating func share(_ text: String, contentKey: SecretBytes) throws -> Entry {
        let head = entries.last { $0.header.author == key.publicKey }?.head
        let lamport = (entries.map(\.header.lamport).max() ?? 0) + 1
        let entry = try Entry.create(
            content: .share(Share(text: text)), group: group, after: head, lamport: lamport, timestamp: 0, epoch: 0,
            author: key, contentKey: contentKey, nonce: SecureRandom.bytes(24))
        entries.append(entry)
        return entry
    }

    /// Verifies and stores what a peer sent; returns the new entries.
    mutating func ingest(_ raw: [RawEntry]) throws -> [Entry] {
        var fresh: [Entry] = []
        for item in raw {
            let entry = try Entry(wire: item.wire, body: item.body)
            guard !entries.contains(where: { $0.id == entry.id }) else { continue }
            let head = entries.last { $0.header.author == entry.header.author }?.head
            try entry.validateLink(after: head, in: group)
            entries.append(entry)
            fresh.append(entry)
        }
        return fresh
    }
}

/// Drives two sessions against each other in memory, through the real message encoding.
private struct Pair {
    var a: MemoryNode
    var b: MemoryNode
    var sessionA: SyncSession
    var sessionB: SyncSession
    var inboxA: [WireMessage] = []
    var inboxB: [WireMessage] = []
    var synced: (a: Int, b: Int) = (0, 0)
    var closed: [(side: Character, error: SyncError)] = []
    /// Fork proofs each side received and verified.
    var proofs: [(side: Character, first: Entry, second: Entry)] = []
    var bytesOnWire = 0
    var now: Duration = .zero

    init(a: MemoryNode, b: MemoryNode) {
        self.a = a
        self.b = b
        let (client, first) = SyncSession.client(.member(localVector: a.vector), now: .zero)
        sessionA = client
        sessionB = SyncSession.server(peerIsMember: b.members.contains(a.key.publicKey), now: .zero)
        handle(first, side: "a")
    }

    /// Delivers messages until both inboxes are empty.
    mutating func drive() {
        while !inboxA.isEmpty || !inboxB.isEmpty {
            if !inboxB.isEmpty {
                let message = inboxB.removeFirst()
                let vector = b.vector
                handle(sessionB.receive(message, now: now) { vector }, side: "b")
            }
            if !inboxA.isEmpty {
                let message = inboxA.removeFirst()
                let vector = a.vector
                handle(sessionA.receive(message, now: now) { vector }, side: "a")
            }
        }
    }

    mutating func handle(_ directives: [SyncSession.Directive], side: Character) {
        for directive in directives {
            switch directive {
            case .send(let message):
                // Through the real framing, drip-fed in two pieces.
                let framed = MessageFramer.frame(message)
                bytesOnWire += framed.count
                var framer = MessageFramer()
                let split = framed.count / 2
                let decoded = (try? framer.feed(Array(framed[..<split]))) ?? []
                let rest = (try? framer.feed(Array(framed[split...]))) ?? []
                #expect(decoded + rest == [message])
                if side == "a" { inboxB += decoded + rest } else { inboxA += decoded + rest }
            case .serve(let vector):
                if side == "a" {
                    handle(sessionA.serve(a.missing(from: vector), forkProofs: a.forks, now: now), side: "a")
                } else {
                    handle(sessionB.serve(b.missing(from: vector), forkProofs: b.forks, now: now), side: "b")
                }
            case .ingest(let raw):
                do {
                    if side == "a" {
                        let fresh = try a.ingest(raw)
                        sessionA.ingested(fresh)
                    } else {
                        let fresh = try b.ingest(raw)
                        sessionB.ingested(fresh)
                    }
                } catch {
                    let next = side == "a" ? sessionA.ingestFailed("\(error)") : sessionB.ingestFailed("\(error)")
                    handle(next, side: side)
                }
            case .forkProof(let first, let second):
                // As the node does: both must verify alone.
                do {
                    let pair = (try Entry(wire: first.wire, body: nil), try Entry(wire: second.wire, body: nil))
                    proofs.append((side, pair.0, pair.1))
                    if side == "a" { a.forks.append(pair) } else { b.forks.append(pair) }
                } catch {
                    let next = side == "a" ? sessionA.ingestFailed("\(error)") : sessionB.ingestFailed("\(error)")
                    handle(next, side: side)
                }
            case .synced:
                if side == "a" { synced.a += 1 } else { synced.b += 1 }
            case .close(let error, _):
                closed.append((side, error))
            case .admit, .acceptAdmission:
                Issue.record("unexpected \(directive)")
            }
        }
    }
}

@Suite("Sync session, two peers in memory")
struct SyncSessionTests {
    let founder = SigningKey.generate()
    let member = SigningKey.generate()
    let contentKey = SecretBytes(randomCount: 32)
    let group = GroupID(bytes: SecureRandom.bytes(32))!

    private func nodes() -> (MemoryNode, MemoryNode) {
        let members: Set = [founder.publicKey, member.publicKey]
        return (MemoryNode(key: founder, group: group, members: members), MemoryNode(key: member, group: group, members: members))
    }

    @Test func differentLogsConverge() throws {
        var (a, b) = nodes()
        for i in 0..<30 { _ = try a.share("a \(i)", contentKey: contentKey) }
        for i in 0..<7 { _ = try b.share("b \(i)", contentKey: contentKey) }
        var pair = Pair(a: a, b: b)
        pair.drive()
        #expect(pair.closed.isEmpty)
        #expect(Set(pair.a.entries.map(\.id)) == Set(pair.b.entries.map(\.id)))
        #expect(pair.a.entries.count == 37)
        #expect(pair.synced.a == 1 && pair.synced.b == 1)
    }

    @Test func eachEntryCrossesOnceAndOverheadIsSmall() throws {
        var (a, b) = nodes()
        for i in 0..<500 { _ = try a.share("share \(i) " + String(repeating: "x", count: 200), contentKey: contentKey) }
        let entryBytes = a.entries.reduce(0) { $0 + Entry.wireLength + ($1.body?.count ?? 0) }
        var pair = Pair(a: a, b: b)
        pair.drive()
        #expect(pair.b.entries.count == 500)
        // Framing, message headers and the two vectors: well under 48 bytes an entry.
        let overhead = Double(pair.bytesOnWire - entryBytes) / 500
        #expect(overhead < 16, "overhead \(overhead) bytes an entry")
    }

    @Test func newEntriesArePushedLiveAfterSync() throws {
        var (a, b) = nodes()
        _ = try a.share("before", contentKey: contentKey)
        var pair = Pair(a: a, b: b)
        pair.drive()
        let later = try pair.a.share("after", contentKey: contentKey)
        pair.handle(pair.sessionA.push([later], now: .seconds(1)), side: "a")
        pair.drive()
        #expect(pair.b.entries.contains { $0.id == later.id })
        // Pushing again sends nothing: the peer holds it.
        #expect(pair.sessionA.push([later], now: .seconds(2)).isEmpty)
    }

    @Test func nonMemberGetsNothing() throws {
        var (a, b) = nodes()
        b.members = [member.publicKey]
        _ = try b.share("members only", contentKey: contentKey)
        var pair = Pair(a: a, b: b)
        pair.drive()
        #expect(pair.a.entries.isEmpty)
        // B ends the session (the shell then sends `refused` and closes); A received nothing.
        #expect(pair.closed.map(\.error) == [.notAMember])
        #expect(pair.closed.first?.side == "b")
    }

    @Test func tamperedEntryEndsTheSession() throws {
        var (a, b) = nodes()
        _ = try a.share("honest", contentKey: contentKey)
        var pair = Pair(a: a, b: b)
        // Replace A's entry with a copy whose body was altered after signing.
        let original = pair.a.entries[0]
        var body = try #require(original.body)
        body[body.count - 1] ^= 1
        pair.a.entries[0] = try Entry(storedWire: original.wire, body: body)
        pair.drive()
        #expect(pair.b.entries.isEmpty)
        #expect(pair.closed.contains { $0.side == "b" })
    }

    @Test func heartbeatsAndIdleTimeout() {
        var (session, _) = SyncSession.client(.member(localVector: VersionVector()), now: .zero)
        #expect(session.tick(now: .seconds(5)).isEmpty)
        #expect(session.tick(now: .seconds(10)) == [.send(.ping)])
        #expect(session.receive(.ping, now: .seconds(11)) { VersionVector() } == [.send(.pong)])
        // 30 s after the last message received, the peer is gone.
        #expect(session.tick(now: .seconds(41)) == [.close(.timeout, notifyPeer: false)])
        #expect(session.isClosed)
        #expect(session.receive(.ping, now: .seconds(42)) { VersionVector() }.isEmpty)
    }

    @Test func outOfOrderMessagesEndTheSession() {
        var server = SyncSession.server(peerIsMember: true, now: .zero)
        #expect(server.receive(.caughtUp, now: .zero) { VersionVector() } == [.close(.unexpectedMessage("caught-up"), notifyPeer: true)])
        var other = SyncSession.server(peerIsMember: true, now: .zero)
        _ = other.receive(.have(VersionVector()), now: .zero) { VersionVector() }
        #expect(other.receive(.join(secret: Array(repeating: 1, count: 16)), now: .zero) { VersionVector() } == [.close(.unexpectedMessage("join"), notifyPeer: true)])
    }

    /// Once live, a `have` is the peer announcing entries it stored from someone else: they
    /// are never pushed to it.
    @Test func announcedEntriesAreNotPushed() throws {
        let (a, b) = nodes()
        var pair = Pair(a: a, b: b)
        pair.drive()
        let entry = try pair.a.share("said elsewhere", contentKey: contentKey)
        let heads = VersionVector([entry.header.author: entry.header.sequence])
        #expect(pair.sessionA.receive(.have(heads), now: .seconds(1)) { pair.a.vector }.isEmpty)
        #expect(pair.sessionA.push([entry], now: .seconds(1)).isEmpty)
        #expect(pair.sessionB.announce(heads, now: .seconds(1)) == [.send(.have(heads))])
    }

    /// A peer may announce any sequence, the largest a u64 holds included (a node announces
    /// a quarantined feed so): nothing of that feed is pushed, and nothing overflows.
    @Test func aFeedAnnouncedAsCompleteIsNeverPushed() throws {
        let (a, b) = nodes()
        var pair = Pair(a: a, b: b)
        pair.drive()
        let entry = try pair.a.share("after the peer said it has everything", contentKey: contentKey)
        let heads = VersionVector([entry.header.author: .max])
        #expect(pair.sessionA.receive(.have(heads), now: .seconds(1)) { pair.a.vector }.isEmpty)
        #expect(pair.sessionA.push([entry], now: .seconds(1)).isEmpty)
    }

    /// The server's caught-up waits for the client's, so that it also says "I stored what you
    /// sent" and a client that stops at synced loses nothing.
    @Test func serverCatchesUpOnlyAfterTheClient() {
        var server = SyncSession.server(peerIsMember: true, now: .zero)
        _ = server.receive(.have(VersionVector()), now: .zero) { VersionVector() }
        #expect(server.serve([], now: .zero).isEmpty)
        #expect(server.receive(.caughtUp, now: .zero) { VersionVector() } == [.send(.caughtUp), .synced])

        var (client, _) = SyncSession.client(.member(localVector: VersionVector()), now: .zero)
        _ = client.receive(.have(VersionVector()), now: .zero) { VersionVector() }
        #expect(client.serve([], now: .zero) == [.send(.caughtUp)])
        #expect(client.receive(.caughtUp, now: .zero) { VersionVector() } == [.synced])
    }

    /// A second entry by `author` at the sequence of `entry`: the other half of a fork.
    private func fork(of entry: Entry, by author: SigningKey) throws -> Entry {
        try Entry.create(
            content: .share(Share(text: "the other history")), group: group, after: nil, lamport: entry.header.lamport,
            timestamp: 1, epoch: 0, author: author, contentKey: contentKey, nonce: SecureRandom.bytes(24))
    }

    /// A node holding a fork proof serves it after the entries the peer lacks and before its
    /// caught-up, so "synced" covers it; the peer holds the history up to the fork by then.
    @Test func forkProofsTravelWithTheCatchUp() throws {
        var (a, b) = nodes()
        let original = try a.share("one history", contentKey: contentKey)
        a.forks = [(original, try fork(of: original, by: founder))]
        var pair = Pair(a: a, b: b)
        pair.drive()
        #expect(pair.closed.isEmpty)
        #expect(pair.synced.a == 1 && pair.synced.b == 1)
        #expect(pair.proofs.map(\.side) == ["b"])
        #expect(pair.proofs.first?.first.id == original.id)
        #expect(pair.b.entries.map(\.id) == [original.id])
    }

    /// Each side announces a quarantined feed at 2^64 - 1: a peer that holds a proof already
    /// is not sent one.
    @Test func aPeerThatQuarantinedTheFeedGetsNoProof() throws {
        var (a, b) = nodes()
        let original = try a.share("one history", contentKey: contentKey)
        let proof = (original, try fork(of: original, by: founder))
        a.forks = [proof]
        b.entries = [original]
        b.forks = [proof]
        var pair = Pair(a: a, b: b)
        pair.drive()
        #expect(pair.closed.isEmpty)
        #expect(pair.proofs.isEmpty)
        #expect(pair.synced.a == 1 && pair.synced.b == 1)
    }

    /// A fork found while live goes out once; the session goes on, and nothing more of that
    /// feed is pushed to the peer (it quarantines the feed).
    @Test func aForkFoundLaterIsPushedOnce() throws {
        let (a, b) = nodes()
        var pair = Pair(a: a, b: b)
        pair.drive()
        let original = try pair.a.share("one history", contentKey: contentKey)
        let other = try fork(of: original, by: founder)
        pair.handle(pair.sessionA.sendForkProofs([(original, other)], now: .seconds(1)), side: "a")
        pair.drive()
        #expect(pair.proofs.map(\.side) == ["b"])
        #expect(pair.proofs.first?.second.id == other.id)
        #expect(pair.closed.isEmpty && !pair.sessionB.isClosed)
        #expect(pair.sessionA.sendForkProofs([(original, other)], now: .seconds(2)).isEmpty)
        #expect(pair.sessionA.push([original], now: .seconds(2)).isEmpty)
    }

    /// A proof whose entries do not verify ends the session, as a refused entry does.
    @Test func aForgedProofEndsTheSession() throws {
        let (a, b) = nodes()
        var pair = Pair(a: a, b: b)
        pair.drive()
        let original = try pair.a.share("one history", contentKey: contentKey)
        var forged = try fork(of: original, by: founder).wire
        forged[forged.count - 1] ^= 1
        pair.inboxB.append(.fork(first: RawEntry(wire: original.wire, body: nil), second: RawEntry(wire: forged, body: nil)))
        pair.drive()
        #expect(pair.proofs.isEmpty)
        #expect(pair.closed.map(\.side) == ["b"])
        #expect(pair.sessionB.isClosed)
    }

    @Test func joiningIsAdmittedThenSyncs() {
        let (client, first) = SyncSession.client(.joining(secret: Array(repeating: 9, count: 16)), now: .zero)
        var joiner = client
        #expect(first == [.send(.join(secret: Array(repeating: 9, count: 16)))])
        var server = SyncSession.server(peerIsMember: false, now: .zero)
        #expect(server.receive(.join(secret: Array(repeating: 9, count: 16)), now: .zero) { VersionVector() } == [.admit(secret: Array(repeating: 9, count: 16))])
        #expect(server.admissionGranted(sealedKeys: [1, 2, 3], now: .zero) == [.send(.admitted(sealedKeys: [1, 2, 3]))])
        #expect(joiner.receive(.admitted(sealedKeys: [1, 2, 3]), now: .zero) { VersionVector() } == [.acceptAdmission(sealedKeys: [1, 2, 3])])
        #expect(joiner.admissionAccepted(localVector: VersionVector(), now: .zero) == [.send(.have(VersionVector()))])
        let answer = server.receive(.have(VersionVector()), now: .zero) { VersionVector() }
        #expect(answer == [.send(.have(VersionVector())), .serve(VersionVector())])
    }
}

@Suite("Wire messages and framing")
struct WireMessageTests {
    static let messages: [WireMessage] = [
        .have(VersionVector()),
        .have(VersionVector([try! PublicKey(bytes: Array(repeating: 1, count: 32)): 5, try! PublicKey(bytes: Array(repeating: 2, count: 32)): 1])),
        .entries([RawEntry(wire: Array(repeating: 3, count: Entry.wireLength), body: [1, 2, 3]), RawEntry(wire: Array(repeating: 4, count: Entry.wireLength), body: nil)]),
        .caughtUp, .ping, .pong,
        .join(secret: Array(repeating: 5, count: 16)),
        .admitted(sealedKeys: Array(repeating: 6, count: 100)),
        .refused(reason: "not a member"),
        .fork(first: RawEntry(wire: Array(repeating: 7, count: Entry.wireLength), body: nil), second: RawEntry(wire: Array(repeating: 8, count: Entry.wireLength), body: nil)),
    ]

    @Test(arguments: messages) func roundTrip(_ message: WireMessage) {
        #expect(WireMessage(decoding: message.encoded()) == message)
        // One byte more or less is never the same message.
        let bytes = message.encoded()
        #expect(WireMessage(decoding: bytes + [0]) == nil || message.hasOpenEndedPayload)
        if bytes.count > 1 { #expect(WireMessage(decoding: Array(bytes.dropLast())) != message) }
    }

    /// A reason longer than 256 bytes is cut at a character, never inside one (which made the
    /// whole message malformed: found while fuzzing).
    @Test func aLongRefusalReasonIsCutBetweenCharacters() {
        let reason = "a" + String(repeating: "é", count: 300)
        let decoded = WireMessage(decoding: WireMessage.refused(reason: reason).encoded())
        #expect(decoded == .refused(reason: "a" + String(repeating: "é", count: 127)))
    }

    @Test func unknownAndEmptyAreRefused() {
        #expect(WireMessage(decoding: []) == nil)
        #expect(WireMessage(decoding: [0]) == nil)
        #expect(WireMessage(decoding: [99]) == nil)
        // A vector whose authors are not in ascending order has a second encoding: refused.
        var w = ByteWriter()
        w.write(UInt8(1))
        w.write(UInt32(2))
        w.write(Array(repeating: 2, count: 32)); w.write(UInt64(1))
        w.write(Array(repeating: 1, count: 32)); w.write(UInt64(1))
        #expect(WireMessage(decoding: w.bytes) == nil)
        // A count larger than what follows.
        #expect(WireMessage(decoding: [2, 0, 0, 0, 9]) == nil)
    }

    @Test func framerTakesEverySplit() throws {
        let stream = Self.messages.flatMap(MessageFramer.frame)
        for split in 0...stream.count {
            var framer = MessageFramer()
            let first = try framer.feed(Array(stream[..<split]))
            let second = try framer.feed(Array(stream[split...]))
            #expect(first + second == Self.messages)
        }
        var dripped = MessageFramer()
        var received: [WireMessage] = []
        for byte in stream { received += try dripped.feed([byte]) }
        #expect(received == Self.messages)
    }

    @Test func oversizeFrameFailsOnItsLengthAlone() {
        var framer = MessageFramer()
        #expect(throws: MessageFramer.Error.oversizeMessage(2 << 20)) { try framer.feed([0, 0x20, 0, 0]) }
        // Once failed, nothing more is accepted.
        #expect(throws: MessageFramer.Error.malformedMessage) { try framer.feed(MessageFramer.frame(.ping)) }
        var empty = MessageFramer()
        #expect(throws: MessageFramer.Error.emptyMessage) { try empty.feed([0, 0, 0, 0]) }
        var garbage = MessageFramer()
        #expect(throws: MessageFramer.Error.malformedMessage) { try garbage.feed([0, 0, 0, 1, 77]) }
    }
}

extension WireMessage {
    /// `admitted` and `refused` carry the rest of the message as their payload.
    fileprivate var hasOpenEndedPayload: Bool {
        switch self {
        case .admitted, .refused: true
        default: false
        }
    }
}
