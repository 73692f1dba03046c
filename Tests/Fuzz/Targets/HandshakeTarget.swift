import MeetKitCrypto
import MeetKitProtocol

/// The handshake state machines with fixed keys and ephemeral seeds. The first byte picks the
/// side under test (bit 0: server or client) and whether the server admits the client (bit 1);
/// a genuine peer runs alongside, and each message it would send is replaced as the next
/// byte says (mode & 3):
///
/// - 0: the genuine message;
/// - 1: the genuine message, its first bytes XOR the next bytes of the input;
/// - 2: raw bytes: count (u8) ‖ bytes, of any length;
/// - 3: a hello with a valid HMAC over a 32-byte key from the input (reaching the key checks
///   behind the HMAC), or at later steps the genuine message again.
///
/// Two messages are sent, and a third (which arrives after the handshake is over) while the input
/// lasts. Refused: `receive` threw.
enum HandshakeTarget {
    private static let server = makeServer(admitting: true)
    private static let refusingServer = makeServer(admitting: false)
    private static let client: SecretHandshake.Client = {
        do {
            return try SecretHandshake.Client(
                networkKey: Fixed.networkKey, identity: Fixed.client, serverKey: Fixed.server.publicKey,
                ephemeralSeed: Fixed.clientSeed)
        } catch {
            preconditionFailure("the fixed client is valid: \(error)")
        }
    }()

    static func run(_ input: [UInt8]) -> FuzzOutcome {
        var script = FuzzInput(input)
        let flags = script.byte()
        var genuineClient = client
        var tested: any HandshakeStateMachine
        var peer: any HandshakeStateMachine
        var next: [UInt8]
        if flags & 1 == 0 {
            tested = flags & 2 == 0 ? server : refusingServer
            next = genuineClient.start()
            peer = genuineClient
        } else {
            var genuineServer = server
            var testedClient = client
            next = (try? genuineServer.receive(testedClient.start())) ?? []
            tested = testedClient
            peer = genuineServer
        }
        for step in 0..<3 where step < 2 || !script.isAtEnd {
            let message = replace(next, step: step, from: &script)
            let reply: [UInt8]?
            do {
                reply = try tested.receive(message)
            } catch {
                return .refused(error)
            }
            if let result = tested.result {
                precondition(result.encryptKey.count == 32 && result.decryptKey.count == 32, "session keys of the wrong length")
                precondition(result.encryptNonce.count == 24 && result.decryptNonce.count == 24, "nonces of the wrong length")
            }
            next = reply.flatMap { try? peer.receive($0) } ?? []
        }
        return .accepted
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        [
            ("server-genuine", [0, 0, 0]),
            ("client-genuine", [1, 0, 0]),
            ("server-refuses", [2, 0, 0]),
            ("server-raw-hello", [0, 2, 64] + [UInt8](repeating: 0x11, count: 64)),
            ("client-short-hello", [1, 2, 3, 1, 2, 3]),
            ("server-chosen-key", [0, 3] + [UInt8](repeating: 0, count: 32)),
            ("client-chosen-key", [1, 3] + [1] + [UInt8](repeating: 0, count: 31)),
            ("server-flipped-auth", [0, 0, 1, 0, 0, 0, 0, 0x80]),
            ("server-after-end", [0, 0, 0, 2, 1, 0]),
            ("client-flipped-accept", [1, 0, 1, 0, 0, 0, 0, 1]),
        ]
    }

    private static func replace(_ genuine: [UInt8], step: Int, from script: inout FuzzInput) -> [UInt8] {
        switch script.byte() & 3 {
        case 0:
            return genuine
        case 1:
            var message = genuine
            for (index, mask) in script.bytes(genuine.count).enumerated() { message[index] ^= mask }
            return message
        case 2:
            return script.bytes(Int(script.byte()))
        default:
            guard step == 0 else { return genuine }
            let key = script.padded(32)
            return HMACSHA512256.authenticate(key, key: Fixed.networkKey) + key
        }
    }

    private static func makeServer(admitting: Bool) -> SecretHandshake.Server {
        do {
            return try SecretHandshake.Server(
                networkKey: Fixed.networkKey, identity: Fixed.server, ephemeralSeed: Fixed.serverSeed,
                authorize: { _ in admitting })
        } catch {
            preconditionFailure("the fixed server is valid: \(error)")
        }
    }
}
