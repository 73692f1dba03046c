import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// The `fork` message and its place in the session (Protocol/sync.md §Messages, §Forks).
@Suite("Fork proofs on the wire and in the session")
struct ForkProofTests {
    let author = SigningKey.generate()
    let contentKey = SecretBytes(randomCount: 32)
    let group = GroupID(bytes: SecureRandom.bytes(32))!

    /// Two entries by `author` at sequence 1: a fork.
    private func fork() throws -> (Entry, Entry) {
        let make = { (text: String) in
            try Entry.create(
                content: .share(Share(text: text)), group: group, after: nil, lamport: 1, timestamp: 0, epoch: 0,
                author: author, contentKey: contentKey, nonce: SecureRandom.bytes(24))
        }
        return (try make("one history"), try make("another history"))
    }

    private func message(_ proof: (Entry, Entry)) -> WireMessage {
        .fork(first: RawEntry(wire: proof.0.wire, body: nil), second: RawEntry(wire: proof.1.wire, body: nil))
    }

    /// A server session that has exchanged `have` with a client whose vector is `peer`.
    private func liveServer(peer: VersionVector = VersionVector()) -> SyncSession {
        var server = SyncSession.server(peerIsMember: true, now: .zero)
        _ = server.receive(.have(peer), now: .zero) { VersionVector() }
        return server
    }

    // MARK: - Wire

    @Test func encodesAsTagNineAndTwoWireForms() throws {
        let proof = try fork()
        let bytes = message(proof).encoded()
        #expect(bytes == [9] + proof.0.wire + proof.1.wire)
        #expect(WireMessage(decoding: bytes) == message(proof))
    }

    /// Bodies never travel in a proof: one given is not encoded.
    @Test func bodiesAreNotSent() throws {
        let proof = try fork()
        let withBodies = WireMessage.fork(first: RawEntry(proof.0), second: RawEntry(proof.1))
        #expect(proof.0.body != nil)
        #expect(WireMessage(decoding: withBodies.encoded()) == message(proof))
    }

    @Test(arguments: [0, 1, Entry.wireLength, 2 * Entry.wireLength - 1, 2 * Entry.wireLength + 1, 3 * Entry.wireLength])
    func anyOtherLengthIsMalformed(_ length: Int) {
        #expect(WireMessage(decoding: [9] + Array(repeating: 1, count: length)) == nil)
        var framer = MessageFramer()
        #expect(throws: MessageFramer.Error.malformedMessage) {
            try framer.feed(Self.frame([9] + Array(repeating: 1, count: length)))
        }
    }

    @Test func theNextTagIsUnknown() {
        #expect(WireMessage(decoding: [10] + Array(repeating: 1, count: 2 * Entry.wireLength)) == nil)
    }

    private static func frame(_ payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.write(UInt32(payload.count))
        w.write(payload)
        return w.bytes
    }

    // MARK: - Session

    /// Live, a proof is handed to the shell to verify and keep; the session goes on.
    @Test func aProofWhileLiveIsADirective() throws {
        let proof = try fork()
        var server = liveServer()
        let raw = (RawEntry(wire: proof.0.wire, body: nil), RawEntry(wire: proof.1.wire, body: nil))
        #expect(server.receive(message(proof), now: .seconds(1)) { VersionVector() } == [.forkProof(raw.0, raw.1)])
        #expect(server.isLive)
        #expect(server.receive(.ping, now: .seconds(2)) { VersionVector() } == [.send(.pong)])
    }

    /// Before the `have` exchange a proof is out of place, like any message but `have`; a
    /// stranger may only join.
    @Test func aProofBeforeLiveEndsTheSession() throws {
        let proof = try fork()
        var server = SyncSession.server(peerIsMember: true, now: .zero)
        #expect(server.receive(message(proof), now: .zero) { VersionVector() } == [.close(.unexpectedMessage("fork"), notifyPeer: true)])
        var (client, _) = SyncSession.client(.member(localVector: VersionVector()), now: .zero)
        #expect(client.receive(message(proof), now: .zero) { VersionVector() } == [.close(.unexpectedMessage("fork"), notifyPeer: true)])
        var (joiner, _) = SyncSession.client(.joining(secret: Array(repeating: 1, count: 16)), now: .zero)
        #expect(joiner.receive(message(proof), now: .zero) { VersionVector() } == [.close(.unexpectedMessage("fork"), notifyPeer: true)])
        var stranger = SyncSession.server(peerIsMember: false, now: .zero)
        #expect(stranger.receive(message(proof), now: .zero) { VersionVector() } == [.close(.notAMember, notifyPeer: true)])
    }

    /// Nothing goes out before the peer's `have`: serving it sends every proof.
    @Test func proofsWaitForThePeersHave() throws {
        var server = SyncSession.server(peerIsMember: true, now: .zero)
        #expect(server.sendForkProofs([try fork()], now: .zero).isEmpty)
    }

    /// Served: the entries the peer lacks, then the proofs, then caught-up.
    @Test func servedAfterTheEntriesBeforeCaughtUp() throws {
        let proof = try fork()
        var (client, _) = SyncSession.client(.member(localVector: VersionVector()), now: .zero)
        _ = client.receive(.have(VersionVector()), now: .zero) { VersionVector() }
        #expect(
            client.serve([proof.0], forkProofs: [proof], now: .zero) == [
                .send(.entries([RawEntry(proof.0)])), .send(message(proof)), .send(.caughtUp),
            ])
    }

    /// Once sent, a feed counts as complete at the peer: no second proof, no more entries.
    @Test func aProofGoesOutOnceAndEndsThePushesOfItsFeed() throws {
        let proof = try fork()
        var server = liveServer()
        #expect(server.sendForkProofs([proof, proof], now: .seconds(1)) == [.send(message(proof))])
        #expect(server.sendForkProofs([proof], now: .seconds(2)).isEmpty)
        #expect(server.push([proof.0], now: .seconds(2)).isEmpty)
    }

    /// A peer that announces the feed at 2^64 - 1 has quarantined it: it holds a proof.
    @Test func noProofForAFeedThePeerQuarantined() throws {
        var server = liveServer(peer: VersionVector([author.publicKey: .max]))
        #expect(server.sendForkProofs([try fork()], now: .seconds(1)).isEmpty)
        var later = liveServer()
        #expect(later.receive(.have(VersionVector([author.publicKey: .max])), now: .seconds(1)) { VersionVector() }.isEmpty)
        #expect(later.sendForkProofs([try fork()], now: .seconds(1)).isEmpty)
    }
}
