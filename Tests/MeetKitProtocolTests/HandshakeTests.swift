import Foundation
import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// The two sides of Protocol/handshake.md driven against each other in memory.
@Suite("Secret handshake in memory")
struct HandshakeTests {
    static let networkKey = Support.secret(repeating: 0x4e)
    static let clientIdentity = Support.signingKey(0xa1)
    static let serverIdentity = Support.signingKey(0xb2)

    static func client(
        networkKey: SecretBytes = networkKey, identity: SigningKey = clientIdentity,
        serverKey: PublicKey = serverIdentity.publicKey, seed: UInt8 = 0x01
    ) throws -> SecretHandshake.Client {
        try SecretHandshake.Client(networkKey: networkKey, identity: identity, serverKey: serverKey, ephemeralSeed: Support.seed(seed))
    }

    static func server(
        networkKey: SecretBytes = networkKey, identity: SigningKey = serverIdentity, seed: UInt8 = 0x02,
        authorize: @escaping @Sendable (PublicKey) -> Bool = { $0 == clientIdentity.publicKey }
    ) throws -> SecretHandshake.Server {
        try SecretHandshake.Server(networkKey: networkKey, identity: identity, ephemeralSeed: Support.seed(seed), authorize: authorize)
    }

    /// The four messages of a successful run, and both finished sides.
    struct Transcript {
        var messages: [[UInt8]] = []
        var client: SecretHandshake.Client
        var server: SecretHandshake.Server
    }

    static func run(_ client: SecretHandshake.Client, _ server: SecretHandshake.Server) throws -> Transcript {
        var transcript = Transcript(client: client, server: server)
        let hello = transcript.client.start()
        transcript.messages.append(hello)
        let serverHello = try #require(try transcript.server.receive(hello))
        transcript.messages.append(serverHello)
        let auth = try #require(try transcript.client.receive(serverHello))
        transcript.messages.append(auth)
        let accept = try #require(try transcript.server.receive(auth))
        transcript.messages.append(accept)
        #expect(try transcript.client.receive(accept) == nil)
        return transcript
    }

    // MARK: Success

    @Test func bothSidesAgreeOnKeysNoncesAndIdentities() throws {
        var client = try Self.client()
        var server = try Self.server()
        #expect(client.expectedInputLength == 0)
        #expect(server.expectedInputLength == SecretHandshake.helloLength)

        let hello = client.start()
        #expect(hello.count == SecretHandshake.helloLength)
        #expect(client.expectedInputLength == SecretHandshake.helloLength)
        let serverHello = try #require(try server.receive(hello))
        #expect(serverHello.count == SecretHandshake.helloLength)
        #expect(server.expectedInputLength == SecretHandshake.authenticateLength)
        let auth = try #require(try client.receive(serverHello))
        #expect(auth.count == SecretHandshake.authenticateLength)
        #expect(client.expectedInputLength == SecretHandshake.acceptLength)
        #expect(client.result == nil && server.result == nil)
        let accept = try #require(try server.receive(auth))
        #expect(accept.count == SecretHandshake.acceptLength)
        #expect(server.expectedInputLength == 0)
        #expect(try client.receive(accept) == nil)
        #expect(client.expectedInputLength == 0)

        let c = try #require(client.result)
        let s = try #require(server.result)
        #expect(c.remote == Self.serverIdentity.publicKey)
        #expect(s.remote == Self.clientIdentity.publicKey)
        #expect(c.encryptKey.exposedCopy() == s.decryptKey.exposedCopy())
        #expect(c.decryptKey.exposedCopy() == s.encryptKey.exposedCopy())
        #expect(c.encryptKey.exposedCopy() != c.decryptKey.exposedCopy())
        #expect(c.encryptNonce == s.decryptNonce)
        #expect(c.decryptNonce == s.encryptNonce)
        #expect(c.encryptNonce.count == 24 && c.encryptNonce != c.decryptNonce)
        // The nonces are the first 24 bytes of the hello HMACs.
        #expect(c.decryptNonce == Array(hello.prefix(24)))
        #expect(c.encryptNonce == Array(serverHello.prefix(24)))
    }

    @Test func theSameRandomBytesGiveTheSameMessagesAndFreshOnesDiffer() throws {
        let first = try Self.run(try Self.client(), try Self.server())
        let again = try Self.run(try Self.client(), try Self.server())
        #expect(first.messages == again.messages)
        let fresh = try Self.run(try Self.client(seed: 0x03), try Self.server(seed: 0x04))
        for (old, new) in zip(first.messages, fresh.messages) { #expect(old != new) }
        let keys = try #require(first.client.result).encryptKey.exposedCopy()
        #expect(keys != (try #require(fresh.client.result)).encryptKey.exposedCopy())
    }

    @Test func sessionCarriesBoxStreamBothWays() throws {
        let transcript = try Self.run(try Self.client(), try Self.server())
        let c = try #require(transcript.client.result)
        let s = try #require(transcript.server.result)
        var clientOut = BoxStream.Encryptor(handshake: c)
        var serverIn = BoxStream.Decryptor(handshake: s)
        var serverOut = BoxStream.Encryptor(handshake: s)
        var clientIn = BoxStream.Decryptor(handshake: c)
        #expect(try serverIn.feed(clientOut.seal(Array("version vector".utf8))) == [.message(Array("version vector".utf8))])
        #expect(try clientIn.feed(serverOut.seal(Array("entries".utf8))) == [.message(Array("entries".utf8))])
        #expect(try serverIn.feed(clientOut.goodbye()) == [.goodbye])
        #expect(try clientIn.feed(serverOut.goodbye()) == [.goodbye])
    }

    // MARK: Strangers and wrong keys

    @Test func wrongNetworkKeyIsRefusedAtTheHelloWithNoReply() throws {
        var client = try Self.client(networkKey: Support.secret(repeating: 0x99))
        var server = try Self.server()
        #expect(throws: HandshakeError.badHello) { try server.receive(client.start()) }
        #expect(server.expectedInputLength == 0)
        #expect(server.result == nil)
        #expect(throws: HandshakeError.unexpectedMessage) { try server.receive([UInt8](repeating: 0, count: 64)) }
    }

    @Test func serverWithAnotherNetworkKeyIsRefusedByTheClient() throws {
        var client = try Self.client()
        var server = try Self.server(networkKey: Support.secret(repeating: 0x98))
        let hello = client.start()
        // The server would already refuse; show that the client refuses a forged reply too.
        #expect(throws: HandshakeError.badHello) { try server.receive(hello) }
        var other = try Self.server(networkKey: Support.secret(repeating: 0x98))
        var otherClient = try Self.client(networkKey: Support.secret(repeating: 0x98))
        let otherHello = try #require(try other.receive(otherClient.start()))
        #expect(throws: HandshakeError.badHello) { try client.receive(otherHello) }
        #expect(client.expectedInputLength == 0)
    }

    @Test func clientExpectingAnotherServerKeyFails() throws {
        let expected = Support.signingKey(0xc3).publicKey
        var client = try Self.client(serverKey: expected)
        var server = try Self.server()
        let serverHello = try #require(try server.receive(client.start()))
        let auth = try #require(try client.receive(serverHello))
        #expect(throws: HandshakeError.badAuth) { try server.receive(auth) }
        #expect(server.result == nil)
    }

    @Test func serverImpersonatorWithoutTheServerSecretCannotAccept() throws {
        // An attacker holding the network key answers as "the server" with its own identity.
        var client = try Self.client()
        var impostor = try Self.server(identity: Support.signingKey(0xd4), authorize: { _ in true })
        let serverHello = try #require(try impostor.receive(client.start()))
        let auth = try #require(try client.receive(serverHello))
        // It cannot even open message 3, which is boxed to the real server's key.
        #expect(throws: HandshakeError.badAuth) { try impostor.receive(auth) }
    }

    @Test func unauthorizedClientGetsNoAccept() throws {
        var client = try Self.client(identity: Support.signingKey(0xe5))
        var server = try Self.server()
        let serverHello = try #require(try server.receive(client.start()))
        let auth = try #require(try client.receive(serverHello))
        #expect(throws: HandshakeError.unauthorized) { try server.receive(auth) }
        #expect(server.result == nil)
        #expect(server.expectedInputLength == 0)
    }

    @Test func authorizeIsAskedAboutTheProvenClientKey() throws {
        let seen = SeenKeys()
        let server = try Self.server(authorize: { key in
            seen.record(key)
            return true
        })
        _ = try Self.run(try Self.client(), server)
        #expect(seen.keys == [Self.clientIdentity.publicKey])
    }

    // MARK: Tampering and replay

    @Test func everySingleBitFlipOfEveryMessageIsRejected() throws {
        var client = try Self.client()
        var server = try Self.server()
        let hello = client.start()
        let serverBeforeHello = server
        let serverHello = try #require(try server.receive(hello))
        let clientBeforeServerHello = client
        let auth = try #require(try client.receive(serverHello))
        let serverBeforeAuth = server
        let accept = try #require(try server.receive(auth))
        let clientBeforeAccept = client

        var flips = 0
        for (message, expected) in [
            (hello, HandshakeError.badHello), (serverHello, .badHello), (auth, .badAuth), (accept, .badAccept),
        ] {
            for bit in 0..<(message.count * 8) {
                var tampered = message
                tampered[bit / 8] ^= 1 << UInt8(bit % 8)
                var thrown: HandshakeError?
                do {
                    switch message.count {
                    case SecretHandshake.authenticateLength:
                        var side = serverBeforeAuth
                        _ = try side.receive(tampered)
                    case SecretHandshake.acceptLength:
                        var side = clientBeforeAccept
                        _ = try side.receive(tampered)
                    default:
                        if message == hello {
                            var side = serverBeforeHello
                            _ = try side.receive(tampered)
                        } else {
                            var side = clientBeforeServerHello
                            _ = try side.receive(tampered)
                        }
                    }
                } catch {
                    thrown = error
                }
                #expect(thrown == expected, "bit \(bit) of a \(message.count)-byte message")
                flips += 1
            }
        }
        #expect(flips == (64 + 64 + 112 + 80) * 8)
    }

    @Test func replayedHelloAndAuthAreRejectedByAFreshServer() throws {
        let recorded = try Self.run(try Self.client(), try Self.server(seed: 0x02))
        var fresh = try Self.server(seed: 0x05)
        // The replayed hello is authentic, so the fresh server answers with a new ephemeral key…
        let newHello = try #require(try fresh.receive(recorded.messages[0]))
        #expect(newHello != recorded.messages[1])
        // …and the recorded message 3 was boxed for the old one.
        #expect(throws: HandshakeError.badAuth) { try fresh.receive(recorded.messages[2]) }
        #expect(fresh.result == nil)
    }

    @Test func replayedAcceptIsRejectedByAFreshClient() throws {
        let recorded = try Self.run(try Self.client(), try Self.server())
        var client = try Self.client(seed: 0x06)
        var server = try Self.server(seed: 0x07)
        let serverHello = try #require(try server.receive(client.start()))
        _ = try #require(try client.receive(serverHello))
        #expect(throws: HandshakeError.badAccept) { try client.receive(recorded.messages[3]) }
    }

    @Test func clientRefusesItsOwnHelloReflected() throws {
        var client = try Self.client()
        let hello = client.start()
        #expect(throws: HandshakeError.badHello) { try client.receive(hello) }
    }

    // MARK: Weak keys

    /// X25519 points of small order (all give an all-zero shared secret).
    static let lowOrderPoints: [String] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]

    static func forgedHello(ephemeralKey: [UInt8]) -> [UInt8] {
        HMACSHA512256.authenticate(ephemeralKey, key: networkKey) + ephemeralKey
    }

    @Test(arguments: lowOrderPoints)
    func lowOrderEphemeralKeysAreRejected(point: String) throws {
        let key = try Support.bytes(point)
        var server = try Self.server()
        #expect(throws: HandshakeError.weakKey) { try server.receive(Self.forgedHello(ephemeralKey: key)) }
        var client = try Self.client()
        _ = client.start()
        #expect(throws: HandshakeError.weakKey) { try client.receive(Self.forgedHello(ephemeralKey: key)) }
    }

    @Test func lowOrderServerKeyIsRefusedBeforeAnythingIsSent() throws {
        // The Ed25519 identity point (y = 1) and a point of order 4: no safe X25519 form.
        for hex in [
            "0100000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            let weak = try PublicKey(bytes: Support.bytes(hex))
            #expect(throws: HandshakeError.weakKey) { try Self.client(serverKey: weak) }
        }
    }

    // MARK: Misuse

    @Test func messagesOfTheWrongLengthAreRejected() throws {
        var server = try Self.server()
        #expect(throws: HandshakeError.wrongLength(expected: 64, actual: 63)) { try server.receive([UInt8](repeating: 1, count: 63)) }
        var client = try Self.client()
        #expect(throws: HandshakeError.unexpectedMessage) { try client.receive([UInt8](repeating: 1, count: 64)) }
        var started = try Self.client()
        _ = started.start()
        #expect(throws: HandshakeError.wrongLength(expected: 64, actual: 65)) { try started.receive([UInt8](repeating: 1, count: 65)) }
    }

    @Test func inputAfterCompletionIsRejected() throws {
        var transcript = try Self.run(try Self.client(), try Self.server())
        #expect(throws: HandshakeError.unexpectedMessage) { try transcript.client.receive(transcript.messages[3]) }
        #expect(throws: HandshakeError.unexpectedMessage) { try transcript.server.receive(transcript.messages[2]) }
        #expect(transcript.client.result != nil && transcript.server.result != nil)
    }

    @Test func badParametersAreRefused() throws {
        #expect(throws: HandshakeError.invalidParameters) {
            try SecretHandshake.Client(
                networkKey: Support.secret(repeating: 1, count: 16), identity: Self.clientIdentity,
                serverKey: Self.serverIdentity.publicKey, ephemeralSeed: Support.seed(1))
        }
        #expect(throws: HandshakeError.invalidParameters) {
            try SecretHandshake.Server(
                networkKey: Self.networkKey, identity: Self.serverIdentity, ephemeralSeed: [1, 2, 3], authorize: { _ in true })
        }
    }

    @Test func eitherSideDrivesThroughTheSharedProtocol() throws {
        func feed<M: HandshakeStateMachine>(_ machine: inout M, _ bytes: [UInt8]) throws -> [UInt8]? {
            #expect(machine.expectedInputLength == bytes.count)
            return try machine.receive(bytes)
        }
        var client = try Self.client()
        var server = try Self.server()
        let serverHello = try #require(try feed(&server, client.start()))
        let auth = try #require(try feed(&client, serverHello))
        let accept = try #require(try feed(&server, auth))
        #expect(try feed(&client, accept) == nil)
        #expect(client.result != nil)
    }
}

/// Records the keys `authorize` was asked about (it may be called from any thread).
final class SeenKeys: @unchecked Sendable {
    private var stored: [PublicKey] = []
    private let lock = NSLock()

    func record(_ key: PublicKey) { lock.withLock { stored.append(key) } }
    var keys: [PublicKey] { lock.withLock { stored } }
}
