import Foundation
import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// The Secret Handshake vectors in Protocol/vectors/secret-handshake (layout in its README.md):
/// every one of the 159 steps is recomputed with `HandshakeSteps`, accepted steps give exactly
/// the recorded messages and intermediate secrets, rejected steps throw; then the complete
/// sessions are replayed through the public state machines.
@Suite("Secret handshake vectors")
struct HandshakeVectorTests {
    struct Step: Decodable {
        let name: String
        let args: [JSONValue]
        let result: JSONValue
    }

    static let expectedStepCount = 159

    static func steps() throws -> [Step] {
        let url = Support.vectorsDirectory.appendingPathComponent("secret-handshake/data.json")
        return try JSONDecoder().decode([Step].self, from: Data(contentsOf: url))
    }

    // MARK: Field access

    static func bytes(_ value: JSONValue, _ what: String) throws -> [UInt8] {
        let text = try #require(value.string, "\(what) is missing")
        return try Support.bytes(text)
    }

    static func secret(_ value: JSONValue, _ what: String) throws -> SecretBytes {
        var raw = try bytes(value, what)
        return SecretBytes(consuming: &raw)
    }

    static func publicKey(_ value: JSONValue, _ what: String) throws -> PublicKey {
        try PublicKey(bytes: bytes(value, what))
    }

    /// The long-term key pair of a state: from `seed` when set, else from `local.secretKey`
    /// (libsodium's 64-byte form, seed ‖ public key).
    static func identity(_ state: JSONValue) throws -> SigningKey {
        let seed: [UInt8]
        if state["seed"].isNull {
            seed = Array(try bytes(state["local"]["secretKey"], "local.secretKey").prefix(SigningKey.seedLength))
        } else {
            seed = try bytes(state["seed"], "seed")
        }
        var raw = seed
        return try SigningKey(seed: SecretBytes(consuming: &raw))
    }

    /// The local ephemeral key pair as recorded in a state.
    static func ephemeral(_ state: JSONValue) throws -> HandshakeSteps.Ephemeral {
        HandshakeSteps.Ephemeral(
            publicKey: try bytes(state["local"]["kx_pk"], "local.kx_pk"),
            secretKey: try secret(state["local"]["kx_sk"], "local.kx_sk"),
            mac: try bytes(state["local"]["app_mac"], "local.app_mac"))
    }

    /// The peer's verified hello as recorded in a state.
    static func peerHello(_ state: JSONValue) throws -> HandshakeSteps.PeerHello {
        HandshakeSteps.PeerHello(
            ephemeralKey: try bytes(state["remote"]["kx_pk"], "remote.kx_pk"),
            mac: try bytes(state["remote"]["app_mac"], "remote.app_mac"),
            ab: try secret(state["secret"], "secret"),
            abHash: try secret(state["shash"], "shash"))
    }

    static func expectEqual(_ actual: SecretBytes, _ expected: JSONValue, _ what: String, step: Int) throws {
        #expect(actual.exposedCopy() == (try bytes(expected, what)), "step \(step): \(what)")
    }

    // MARK: Every step

    @Test func everyStepIsCheckedAndAgrees() throws {
        let steps = try Self.steps()
        #expect(steps.count == Self.expectedStepCount)
        var checked = 0
        var rejected = 0
        /// secret3 of each side, by its ephemeral public key, for the `clean` step that follows.
        var acceptKeys: [String: String] = [:]
        for (index, step) in steps.enumerated() {
            let state = try #require(step.args.first, "step \(index) has no state")
            if let ephemeral = state["local"]["kx_pk"].string, let secret3 = state["secret3"].string {
                acceptKeys[ephemeral] = secret3
            }
            if step.result.isNull { rejected += 1 }
            try Self.check(step, index: index, state: state, acceptKeys: acceptKeys)
            checked += 1
        }
        #expect(checked == Self.expectedStepCount)
        #expect(rejected == 7)
    }

    static func check(_ step: Step, index: Int, state: JSONValue, acceptKeys: [String: String]) throws {
        let result = step.result
        let message = step.args.count > 1 ? try bytes(step.args[1], "message") : []
        switch step.name {
        case "initialize":
            try checkInitialize(index: index, state: state, result: result)
        case "createChallenge":
            let networkKey = try secret(state["app_key"], "app_key")
            let ephemeral = try #require(HandshakeSteps.ephemeral(seed: bytes(state["random"], "random"), networkKey: networkKey))
            #expect(HandshakeSteps.hello(ephemeral) == (try bytes(result, "hello")), "step \(index)")
        case "verifyChallenge":
            _ = try verifiedHello(index: index, state: state, message: message, result: result)
        case "clientVerifyChallenge":
            try checkClientVerifyChallenge(index: index, state: state, message: message, result: result)
        case "clientCreateAuth":
            let sealed = HandshakeSteps.sealAuth(
                try bytes(state["local"]["hello"], "local.hello"), boxKey: try secret(state["secret2"], "secret2"))
            #expect(sealed == (try bytes(result, "message 3")), "step \(index)")
            #expect(sealed.count == SecretHandshake.authenticateLength)
        case "serverVerifyAuth":
            try checkServerVerifyAuth(index: index, state: state, message: message, result: result)
        case "serverCreateAccept":
            let sealed = HandshakeSteps.sealAccept(
                networkKey: try secret(state["app_key"], "app_key"), identity: try identity(state),
                authPlaintext: try bytes(state["remote"]["hello"], "remote.hello"),
                abHash: try secret(state["shash"], "shash"), acceptKey: try secret(state["secret3"], "secret3"))
            #expect(sealed == (try bytes(result, "message 4")), "step \(index)")
            #expect(sealed.count == SecretHandshake.acceptLength)
        case "clientVerifyAccept":
            let verified = try HandshakeSteps.clientVerifyAccept(
                message, networkKey: try secret(state["app_key"], "app_key"), identity: try identity(state),
                serverKey: try publicKey(state["remote"]["publicKey"], "remote.publicKey"), peer: try peerHello(state),
                aB: try secret(state["a_bob"], "a_bob"), authPlaintext: try bytes(state["local"]["hello"], "local.hello"))
            try expectEqual(verified.Ab, result["b_alice"], "b_alice", step: index)
            try expectEqual(verified.acceptKey, result["secret3"], "secret3", step: index)
        case "clean":
            try checkClean(index: index, state: state, result: result, acceptKeys: acceptKeys)
        case "toKeys":
            try checkToKeys(index: index, argument: state, result: result)
        default:
            Issue.record("step \(index): unknown step \(step.name)")
        }
    }

    static func checkInitialize(index: Int, state: JSONValue, result: JSONValue) throws {
        let networkKey = try secret(state["app_key"], "app_key")
        let identity = try identity(state)
        #expect(identity.publicKey.bytes == (try bytes(result["local"]["publicKey"], "local.publicKey")), "step \(index)")
        #expect(
            identity.seed.exposedCopy() + identity.publicKey.bytes == (try bytes(result["local"]["secretKey"], "local.secretKey")),
            "step \(index)")
        let ephemeral = try #require(HandshakeSteps.ephemeral(seed: bytes(state["random"], "random"), networkKey: networkKey))
        #expect(ephemeral.publicKey == (try bytes(result["local"]["kx_pk"], "local.kx_pk")), "step \(index): kx_pk")
        try expectEqual(ephemeral.secretKey, result["local"]["kx_sk"], "local.kx_sk", step: index)
        #expect(ephemeral.mac == (try bytes(result["local"]["app_mac"], "local.app_mac")), "step \(index): app_mac")
    }

    static func checkPeerHello(_ peer: HandshakeSteps.PeerHello, _ result: JSONValue, index: Int) throws {
        #expect(peer.ephemeralKey == (try bytes(result["remote"]["kx_pk"], "remote.kx_pk")), "step \(index)")
        #expect(peer.mac == (try bytes(result["remote"]["app_mac"], "remote.app_mac")), "step \(index)")
        try expectEqual(peer.ab, result["secret"], "secret", step: index)
        try expectEqual(peer.abHash, result["shash"], "shash", step: index)
    }

    /// Checks a step that verifies the peer's hello: refused when `result` is null, otherwise
    /// the peer's ephemeral key and MAC as stated. Returns the verified hello, if any.
    static func verifiedHello(
        index: Int, state: JSONValue, message: [UInt8], result: JSONValue
    ) throws -> HandshakeSteps.PeerHello? {
        let networkKey = try secret(state["app_key"], "app_key")
        let ephemeral = try ephemeral(state)
        if result.isNull {
            #expect(throws: HandshakeError.badHello, "step \(index)") {
                try HandshakeSteps.verifyHello(message, networkKey: networkKey, ephemeral: ephemeral)
            }
            return nil
        }
        let peer = try HandshakeSteps.verifyHello(message, networkKey: networkKey, ephemeral: ephemeral)
        try checkPeerHello(peer, result, index: index)
        return peer
    }

    static func checkClientVerifyChallenge(index: Int, state: JSONValue, message: [UInt8], result: JSONValue) throws {
        guard let peer = try verifiedHello(index: index, state: state, message: message, result: result) else { return }
        let networkKey = try secret(state["app_key"], "app_key")
        let ephemeral = try ephemeral(state)
        let auth = try HandshakeSteps.clientPrepareAuth(
            networkKey: networkKey, identity: try identity(state),
            serverKey: try publicKey(state["remote"]["publicKey"], "remote.publicKey"), ephemeral: ephemeral, peer: peer)
        try expectEqual(auth.aB, result["a_bob"], "a_bob", step: index)
        try expectEqual(auth.boxKey, result["secret2"], "secret2", step: index)
        #expect(auth.plaintext == (try bytes(result["local"]["hello"], "local.hello")), "step \(index): hello")
    }

    static func checkServerVerifyAuth(index: Int, state: JSONValue, message: [UInt8], result: JSONValue) throws {
        let networkKey = try secret(state["app_key"], "app_key")
        let identity = try identity(state)
        let ephemeral = try ephemeral(state)
        let peer = try peerHello(state)
        if result.isNull {
            #expect(throws: HandshakeError.badAuth, "step \(index)") {
                try HandshakeSteps.serverVerifyAuth(message, networkKey: networkKey, identity: identity, ephemeral: ephemeral, peer: peer)
            }
            return
        }
        let client = try HandshakeSteps.serverVerifyAuth(
            message, networkKey: networkKey, identity: identity, ephemeral: ephemeral, peer: peer)
        try expectEqual(client.aB, result["a_bob"], "a_bob", step: index)
        try expectEqual(client.boxKey, result["secret2"], "secret2", step: index)
        #expect(client.plaintext == (try bytes(result["remote"]["hello"], "remote.hello")), "step \(index): hello")
        #expect(client.client == (try publicKey(result["remote"]["publicKey"], "remote.publicKey")), "step \(index)")
        try expectEqual(client.Ab, result["b_alice"], "b_alice", step: index)
        try expectEqual(client.acceptKey, result["secret3"], "secret3", step: index)
    }

    static func checkClean(index: Int, state: JSONValue, result: JSONValue, acceptKeys: [String: String]) throws {
        let ephemeralKey = try #require(state["local"]["kx_pk"].string)
        let acceptKey = try Support.secret(try #require(acceptKeys[ephemeralKey], "step \(index): no earlier secret3"))
        let local = try publicKey(state["local"]["publicKey"], "local.publicKey")
        let remote = try publicKey(state["remote"]["publicKey"], "remote.publicKey")
        let keys = HandshakeSteps.sessionKeys(acceptKey: acceptKey, local: local, remote: remote)
        try expectEqual(keys.secret, result["secret"], "secret", step: index)
        try expectEqual(keys.encryptKey, result["encryptKey"], "encryptKey", step: index)
        try expectEqual(keys.decryptKey, result["decryptKey"], "decryptKey", step: index)
        let localMAC = try bytes(state["local"]["app_mac"], "local.app_mac")
        let remoteMAC = try bytes(state["remote"]["app_mac"], "remote.app_mac")
        let outcome = HandshakeSteps.result(acceptKey: acceptKey, local: local, remote: remote, localMAC: localMAC, remoteMAC: remoteMAC)
        try expectEqual(outcome.encryptKey, result["encryptKey"], "encryptKey", step: index)
        try expectEqual(outcome.decryptKey, result["decryptKey"], "decryptKey", step: index)
        #expect(outcome.encryptNonce == Array(remoteMAC.prefix(24)), "step \(index)")
        #expect(outcome.decryptNonce == Array(localMAC.prefix(24)), "step \(index)")
        #expect(outcome.remote == remote)
    }

    static func checkToKeys(index: Int, argument: JSONValue, result: JSONValue) throws {
        let seed: [UInt8]
        if let text = argument.string {
            seed = try Support.bytes(text)
        } else {
            seed = Array(try bytes(argument["secretKey"], "secretKey").prefix(SigningKey.seedLength))
            #expect(result == argument, "step \(index): a key pair is returned as it is")
        }
        var raw = seed
        let key = try SigningKey(seed: SecretBytes(consuming: &raw))
        #expect(key.publicKey.bytes == (try bytes(result["publicKey"], "publicKey")), "step \(index)")
        #expect(seed + key.publicKey.bytes == (try bytes(result["secretKey"], "secretKey")), "step \(index)")
    }

    // MARK: Complete sessions through the state machines

    /// Every session that reaches `clientVerifyAccept` is run again through `SecretHandshake.Client`
    /// and `.Server` from the same keys and random bytes: the four messages and both results must
    /// be the recorded ones.
    @Test func completeSessionsReplayThroughTheStateMachines() throws {
        let steps = try Self.steps()
        func states(_ name: String) -> [JSONValue] {
            steps.filter { $0.name == name && !$0.result.isNull }.map(\.result)
        }
        func byEphemeral(_ list: [JSONValue]) -> [String: JSONValue] {
            var map: [String: JSONValue] = [:]
            for state in list { if let key = state["local"]["kx_pk"].string { map[key] = state } }
            return map
        }
        let initialized = byEphemeral(states("initialize"))
        let cleaned = byEphemeral(states("clean"))
        var messages3: [String: String] = [:]
        var messages4: [String: String] = [:]
        for step in steps {
            guard let state = step.args.first, let key = state["local"]["kx_pk"].string, let sent = step.result.string else { continue }
            if step.name == "clientCreateAuth" { messages3[key] = sent }
            if step.name == "serverCreateAccept" { messages4[key] = sent }
        }

        var replayed = 0
        for accepted in steps where accepted.name == "clientVerifyAccept" && !accepted.result.isNull {
            let clientState = accepted.result
            let clientKey = try #require(clientState["local"]["kx_pk"].string)
            let serverKey = try #require(clientState["remote"]["kx_pk"].string)
            let clientStart = try #require(initialized[clientKey])
            let serverStart = try #require(initialized[serverKey])
            let networkKey = try Self.secret(clientStart["app_key"], "app_key")

            var client = try SecretHandshake.Client(
                networkKey: networkKey, identity: try Self.identity(clientStart),
                serverKey: try Self.publicKey(clientState["remote"]["publicKey"], "remote.publicKey"),
                ephemeralSeed: try Self.bytes(clientStart["random"], "random"))
            var server = try SecretHandshake.Server(
                networkKey: try Self.secret(serverStart["app_key"], "app_key"), identity: try Self.identity(serverStart),
                ephemeralSeed: try Self.bytes(serverStart["random"], "random"), authorize: { _ in true })

            let hello1 = client.start()
            #expect(hello1 == (try Self.bytes(clientStart["local"]["app_mac"], "")) + (try Self.bytes(clientStart["local"]["kx_pk"], "")))
            #expect(server.expectedInputLength == 64)
            let hello2 = try #require(try server.receive(hello1))
            #expect(hello2 == (try Self.bytes(serverStart["local"]["app_mac"], "")) + (try Self.bytes(serverStart["local"]["kx_pk"], "")))
            #expect(client.expectedInputLength == 64)
            let auth = try #require(try client.receive(hello2))
            #expect(auth == (try Support.bytes(try #require(messages3[clientKey]))))
            #expect(server.expectedInputLength == 112)
            let accept = try #require(try server.receive(auth))
            #expect(accept == (try Support.bytes(try #require(messages4[serverKey]))))
            #expect(client.expectedInputLength == 80)
            #expect(try client.receive(accept) == nil)
            #expect(client.expectedInputLength == 0 && server.expectedInputLength == 0)

            for (outcome, ephemeral) in [(client.result, clientKey), (server.result, serverKey)] {
                let result = try #require(outcome)
                let recorded = try #require(cleaned[ephemeral], "no clean step for \(ephemeral)")
                try Self.expectEqual(result.encryptKey, recorded["encryptKey"], "encryptKey", step: -1)
                try Self.expectEqual(result.decryptKey, recorded["decryptKey"], "decryptKey", step: -1)
                #expect(result.remote == (try Self.publicKey(recorded["remote"]["publicKey"], "remote.publicKey")))
                #expect(result.encryptNonce == Array(try Self.bytes(recorded["remote"]["app_mac"], "").prefix(24)))
                #expect(result.decryptNonce == Array(try Self.bytes(recorded["local"]["app_mac"], "").prefix(24)))
            }
            replayed += 1
        }
        #expect(replayed == 6)
    }
}
