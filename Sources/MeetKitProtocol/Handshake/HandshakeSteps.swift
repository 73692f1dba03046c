import MeetKitCrypto

/// The computations of the Secret Handshake v1, one function per step of Protocol/handshake.md.
/// They hold no state and do no I/O; `SecretHandshake.Client` and `SecretHandshake.Server` call
/// them in order. Each is named after the step of the reference implementation
/// (`secret-handshake/crypto.js`) that it matches, so the published vectors
/// (Protocol/vectors/secret-handshake/) check it on its own.
enum HandshakeSteps {
    static let zeroNonce = [UInt8](repeating: 0, count: SecretBox.nonceLength)
    static let macLength = HMACSHA512256.tagLength
    static let keyLength = X25519.keyLength

    /// One side's ephemeral X25519 key pair and the HMAC that makes the first half of its hello.
    struct Ephemeral: Sendable {
        let publicKey: [UInt8]
        let secretKey: SecretBytes
        /// hmac(K, publicKey); its first 24 bytes start the nonces of box-stream.
        let mac: [UInt8]
    }

    /// What a verified hello from the peer gives (§Client hello, §Server hello).
    struct PeerHello: Sendable {
        /// The peer's ephemeral public key.
        let ephemeralKey: [UInt8]
        /// The peer's hello HMAC, hmac(K, ephemeralKey).
        let mac: [UInt8]
        /// ab: the shared secret of the two ephemeral keys.
        let ab: SecretBytes
        /// sha256(ab).
        let abHash: SecretBytes
    }

    /// The client's message 3 before boxing (§Client authenticate).
    struct ClientAuth: Sendable {
        /// aB: client ephemeral × server long-term.
        let aB: SecretBytes
        /// sha256(K ‖ ab ‖ aB): the key of the message 3 box.
        let boxKey: SecretBytes
        /// detached_signature_A ‖ A: the plaintext of message 3.
        let plaintext: [UInt8]
    }

    /// What the server learns from a valid message 3 (§Client authenticate).
    struct VerifiedClient: Sendable {
        let aB: SecretBytes
        let boxKey: SecretBytes
        /// detached_signature_A ‖ A, as the client sent it.
        let plaintext: [UInt8]
        /// A: the client's long-term key.
        let client: PublicKey
        /// Ab: server ephemeral × client long-term.
        let Ab: SecretBytes
        /// sha256(K ‖ ab ‖ aB ‖ Ab): the key of the message 4 box.
        let acceptKey: SecretBytes
    }

    /// What the client learns from a valid message 4 (§Server accept).
    struct VerifiedServer: Sendable {
        let Ab: SecretBytes
        let acceptKey: SecretBytes
    }

    /// The three secrets of §Session keys.
    struct SessionKeys: Sendable {
        /// sha256(sha256(K ‖ ab ‖ aB ‖ Ab)).
        let secret: SecretBytes
        /// sha256(secret ‖ remote long-term key).
        let encryptKey: SecretBytes
        /// sha256(secret ‖ local long-term key).
        let decryptKey: SecretBytes
    }

    // MARK: Both sides

    /// `initialize`: the ephemeral key pair derived from 32 random bytes `seed` as the X25519
    /// form of the Ed25519 key pair with that seed (as the reference implementation does, so
    /// that its vectors reproduce), and its hello HMAC. Nil for a seed of the wrong length.
    static func ephemeral(seed: [UInt8], networkKey: SecretBytes) -> Ephemeral? {
        guard seed.count == SigningKey.seedLength, networkKey.count == HMACSHA512256.keyLength else { return nil }
        var copy = seed
        guard let signing = try? SigningKey(seed: SecretBytes(consuming: &copy)) else { return nil }
        let secretKey = signing.curve25519SecretKey()
        guard let publicKey = X25519.publicKey(secretKey: secretKey) else { return nil }
        return Ephemeral(publicKey: publicKey, secretKey: secretKey, mac: HMACSHA512256.authenticate(publicKey, key: networkKey))
    }

    /// `createChallenge`: message 1 or 2, hmac(K, ephemeral pk) ‖ ephemeral pk.
    static func hello(_ ephemeral: Ephemeral) -> [UInt8] {
        ephemeral.mac + ephemeral.publicKey
    }

    /// `verifyChallenge`: checks the peer's hello against the network key and agrees on ab.
    static func verifyHello(_ message: [UInt8], networkKey: SecretBytes, ephemeral: Ephemeral) throws(HandshakeError) -> PeerHello {
        guard message.count == SecretHandshake.helloLength else {
            throw .wrongLength(expected: SecretHandshake.helloLength, actual: message.count)
        }
        let mac = Array(message[0..<macLength])
        let ephemeralKey = Array(message[macLength..<SecretHandshake.helloLength])
        guard HMACSHA512256.isValid(mac, for: ephemeralKey, key: networkKey) else { throw .badHello }
        guard let ab = X25519.sharedSecret(secretKey: ephemeral.secretKey, publicKey: ephemeralKey) else { throw .weakKey }
        return PeerHello(ephemeralKey: ephemeralKey, mac: mac, ab: ab, abHash: SHA256.hash([ab]))
    }

    /// `clean`: the session keys, from the message 4 box key.
    static func sessionKeys(acceptKey: SecretBytes, local: PublicKey, remote: PublicKey) -> SessionKeys {
        let secret = SHA256.hash([acceptKey])
        return SessionKeys(
            secret: secret,
            encryptKey: SHA256.hash([secret], then: remote.bytes),
            decryptKey: SHA256.hash([secret], then: local.bytes))
    }

    /// The handshake's outcome: session keys, and nonces from the two hello HMACs.
    static func result(acceptKey: SecretBytes, local: PublicKey, remote: PublicKey, localMAC: [UInt8], remoteMAC: [UInt8]) -> HandshakeResult {
        let keys = sessionKeys(acceptKey: acceptKey, local: local, remote: remote)
        return HandshakeResult(
            remote: remote,
            encryptKey: keys.encryptKey,
            decryptKey: keys.decryptKey,
            encryptNonce: Array(remoteMAC.prefix(SecretBox.nonceLength)),
            decryptNonce: Array(localMAC.prefix(SecretBox.nonceLength)))
    }

    // MARK: Client

    /// `clientVerifyChallenge` (after `verifyHello`): aB, the message 3 box key, and the
    /// client's signature over K ‖ B ‖ sha256(ab).
    static func clientPrepareAuth(
        networkKey: SecretBytes, identity: SigningKey, serverKey: PublicKey, ephemeral: Ephemeral, peer: PeerHello
    ) throws(HandshakeError) -> ClientAuth {
        guard let serverCurve = try? serverKey.curve25519(),
            let aB = X25519.sharedSecret(secretKey: ephemeral.secretKey, publicKey: serverCurve)
        else { throw .weakKey }
        let boxKey = SHA256.hash([networkKey, peer.ab, aB])
        let signature = withSignedMessage(networkKey: networkKey, serverKey.bytes, abHash: peer.abHash) { identity.sign($0) }
        return ClientAuth(aB: aB, boxKey: boxKey, plaintext: signature + identity.publicKey.bytes)
    }

    /// `clientCreateAuth`: message 3, the signature and A boxed under sha256(K ‖ ab ‖ aB).
    static func sealAuth(_ plaintext: [UInt8], boxKey: SecretBytes) -> [UInt8] {
        SecretBox.seal(plaintext, nonce: zeroNonce, key: boxKey)
    }

    /// `clientVerifyAccept`: Ab, the message 4 box key, and the server's signature over
    /// K ‖ message 3 plaintext ‖ sha256(ab).
    static func clientVerifyAccept(
        _ message: [UInt8], networkKey: SecretBytes, identity: SigningKey, serverKey: PublicKey,
        peer: PeerHello, aB: SecretBytes, authPlaintext: [UInt8]
    ) throws(HandshakeError) -> VerifiedServer {
        guard message.count == SecretHandshake.acceptLength else {
            throw .wrongLength(expected: SecretHandshake.acceptLength, actual: message.count)
        }
        guard let Ab = X25519.sharedSecret(secretKey: identity.curve25519SecretKey(), publicKey: peer.ephemeralKey) else {
            throw .weakKey
        }
        let acceptKey = SHA256.hash([networkKey, peer.ab, aB, Ab])
        guard let signature = SecretBox.open(message, nonce: zeroNonce, key: acceptKey) else { throw .badAccept }
        let valid = withSignedMessage(networkKey: networkKey, authPlaintext, abHash: peer.abHash) {
            serverKey.isValidSignature(signature, for: $0)
        }
        guard valid else { throw .badAccept }
        return VerifiedServer(Ab: Ab, acceptKey: acceptKey)
    }

    // MARK: Server

    /// `serverVerifyAuth`: opens message 3, checks the client's signature over K ‖ B ‖ sha256(ab),
    /// and derives Ab and the message 4 box key.
    static func serverVerifyAuth(
        _ message: [UInt8], networkKey: SecretBytes, identity: SigningKey, ephemeral: Ephemeral, peer: PeerHello
    ) throws(HandshakeError) -> VerifiedClient {
        guard message.count == SecretHandshake.authenticateLength else {
            throw .wrongLength(expected: SecretHandshake.authenticateLength, actual: message.count)
        }
        guard let aB = X25519.sharedSecret(secretKey: identity.curve25519SecretKey(), publicKey: peer.ephemeralKey) else {
            throw .weakKey
        }
        let boxKey = SHA256.hash([networkKey, peer.ab, aB])
        guard let plaintext = SecretBox.open(message, nonce: zeroNonce, key: boxKey),
            plaintext.count == Signature.length + PublicKey.length,
            let client = try? PublicKey(bytes: Array(plaintext[Signature.length...]))
        else { throw .badAuth }
        let signature = Array(plaintext[..<Signature.length])
        let valid = withSignedMessage(networkKey: networkKey, identity.publicKey.bytes, abHash: peer.abHash) {
            client.isValidSignature(signature, for: $0)
        }
        guard valid else { throw .badAuth }
        guard let clientCurve = try? client.curve25519(),
            let Ab = X25519.sharedSecret(secretKey: ephemeral.secretKey, publicKey: clientCurve)
        else { throw .weakKey }
        let acceptKey = SHA256.hash([networkKey, peer.ab, aB, Ab])
        return VerifiedClient(aB: aB, boxKey: boxKey, plaintext: plaintext, client: client, Ab: Ab, acceptKey: acceptKey)
    }

    /// `serverCreateAccept`: message 4, the server's signature over
    /// K ‖ message 3 plaintext ‖ sha256(ab), boxed under sha256(K ‖ ab ‖ aB ‖ Ab).
    static func sealAccept(
        networkKey: SecretBytes, identity: SigningKey, authPlaintext: [UInt8], abHash: SecretBytes, acceptKey: SecretBytes
    ) -> [UInt8] {
        let signature = withSignedMessage(networkKey: networkKey, authPlaintext, abHash: abHash) { identity.sign($0) }
        return SecretBox.seal(signature, nonce: zeroNonce, key: acceptKey)
    }

    // MARK: Helpers

    /// Calls `body` with K ‖ `middle` ‖ sha256(ab), the layout of both signed messages, and
    /// wipes that array afterwards since it holds the network key.
    private static func withSignedMessage<R>(
        networkKey: SecretBytes, _ middle: [UInt8], abHash: SecretBytes, _ body: ([UInt8]) -> R
    ) -> R {
        var message = [UInt8]()
        message.reserveCapacity(networkKey.count + middle.count + abHash.count)
        networkKey.withBytes { message.append(contentsOf: $0) }
        message.append(contentsOf: middle)
        abHash.withBytes { message.append(contentsOf: $0) }
        defer { SecretBytes.wipe(&message) }
        return body(message)
    }
}
