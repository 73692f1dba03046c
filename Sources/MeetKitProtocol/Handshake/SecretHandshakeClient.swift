import MeetKitCrypto

extension SecretHandshake {
    /// The client (the side that opened the TCP connection) of Protocol/handshake.md
    /// §State machines. It must know the server's long-term key in advance.
    ///
    /// ```
    /// ready --start()--> awaitingServerHello --receive(64)--> awaitingAccept --receive(80)--> complete
    ///                          |                                  |
    ///                          +------------ any error -----------+--> failed
    /// ```
    public struct Client: Sendable {
        private enum State: Sendable {
            case ready(HandshakeSteps.Ephemeral)
            case awaitingServerHello(HandshakeSteps.Ephemeral)
            case awaitingAccept(AwaitingAccept)
            case complete(HandshakeResult)
            case failed
        }

        /// What the client keeps between message 3 and message 4. The ephemeral secret key is
        /// no longer needed and is dropped here.
        private struct AwaitingAccept: Sendable {
            let localMAC: [UInt8]
            let peer: HandshakeSteps.PeerHello
            let auth: HandshakeSteps.ClientAuth
        }

        private let networkKey: SecretBytes
        private let identity: SigningKey
        private let serverKey: PublicKey
        private var state: State

        /// A client that will authenticate as `identity` to the server whose long-term key is
        /// `serverKey`, in the network of `networkKey`. `ephemeralSeed` is 32 fresh random bytes,
        /// never used twice. Throws `.weakKey` for a server key with no safe X25519 form.
        public init(networkKey: SecretBytes, identity: SigningKey, serverKey: PublicKey, ephemeralSeed: [UInt8]) throws(HandshakeError) {
            guard networkKey.count == SecretHandshake.networkKeyLength,
                let ephemeral = HandshakeSteps.ephemeral(seed: ephemeralSeed, networkKey: networkKey)
            else { throw .invalidParameters }
            guard (try? serverKey.curve25519()) != nil else { throw .weakKey }
            self.networkKey = networkKey
            self.identity = identity
            self.serverKey = serverKey
            state = .ready(ephemeral)
        }

        /// Message 1, the client hello (64 bytes), to send first. Call once.
        public mutating func start() -> [UInt8] {
            guard case .ready(let ephemeral) = state else {
                preconditionFailure("SecretHandshake.Client.start() called twice")
            }
            state = .awaitingServerHello(ephemeral)
            return HandshakeSteps.hello(ephemeral)
        }

        /// How many bytes the shell must read next: 64, then 80, then 0 once complete or failed.
        public var expectedInputLength: Int {
            switch state {
            case .awaitingServerHello: SecretHandshake.helloLength
            case .awaitingAccept: SecretHandshake.acceptLength
            case .ready, .complete, .failed: 0
            }
        }

        /// The outcome, once message 4 has been verified.
        public var result: HandshakeResult? {
            if case .complete(let result) = state { return result }
            return nil
        }

        /// Takes the server's next message; returns the message to send back (message 3 after
        /// message 2) or nil when the handshake is complete (after message 4). Any error before
        /// completion leaves the client failed: close the connection. Input after completion is
        /// refused with `.unexpectedMessage` and the result kept.
        public mutating func receive(_ bytes: [UInt8]) throws(HandshakeError) -> [UInt8]? {
            let current = state
            state = .failed
            switch current {
            case .awaitingServerHello(let ephemeral):
                let peer = try HandshakeSteps.verifyHello(bytes, networkKey: networkKey, ephemeral: ephemeral)
                // Our own hello reflected back carries a valid HMAC; refuse it at once.
                guard peer.ephemeralKey != ephemeral.publicKey else { throw .badHello }
                let auth = try HandshakeSteps.clientPrepareAuth(
                    networkKey: networkKey, identity: identity, serverKey: serverKey, ephemeral: ephemeral, peer: peer)
                state = .awaitingAccept(AwaitingAccept(localMAC: ephemeral.mac, peer: peer, auth: auth))
                return HandshakeSteps.sealAuth(auth.plaintext, boxKey: auth.boxKey)
            case .awaitingAccept(let waiting):
                let verified = try HandshakeSteps.clientVerifyAccept(
                    bytes, networkKey: networkKey, identity: identity, serverKey: serverKey,
                    peer: waiting.peer, aB: waiting.auth.aB, authPlaintext: waiting.auth.plaintext)
                state = .complete(
                    HandshakeSteps.result(
                        acceptKey: verified.acceptKey, local: identity.publicKey, remote: serverKey,
                        localMAC: waiting.localMAC, remoteMAC: waiting.peer.mac))
                return nil
            case .complete:
                state = current  // the result stays available; the input is refused
                throw .unexpectedMessage
            case .ready, .failed:
                throw .unexpectedMessage
            }
        }
    }
}
