import MeetKitCrypto

extension SecretHandshake {
    /// The server (the side that accepted the TCP connection) of Protocol/handshake.md
    /// §State machines. It learns who the client is from message 3 and asks `authorize`
    /// whether to admit it; a refused client gets no message 4.
    ///
    /// ```
    /// awaitingClientHello --receive(64)--> awaitingAuth --receive(112), authorize(A)--> complete
    ///          |                                |
    ///          +---------- any error -----------+--> failed   (nothing is sent)
    /// ```
    public struct Server: Sendable {
        private enum State: Sendable {
            case awaitingClientHello(HandshakeSteps.Ephemeral)
            case awaitingAuth(HandshakeSteps.Ephemeral, HandshakeSteps.PeerHello)
            case complete(HandshakeResult)
            case failed
        }

        private let networkKey: SecretBytes
        private let identity: SigningKey
        private let authorize: @Sendable (PublicKey) -> Bool
        private var state: State

        /// A server answering as `identity` in the network of `networkKey`. `ephemeralSeed` is
        /// 32 fresh random bytes, never used twice. `authorize` is asked, once the client has
        /// proven its long-term key, whether that member may be served; it must not block.
        public init(
            networkKey: SecretBytes, identity: SigningKey, ephemeralSeed: [UInt8],
            authorize: @escaping @Sendable (PublicKey) -> Bool
        ) throws(HandshakeError) {
            guard networkKey.count == SecretHandshake.networkKeyLength,
                let ephemeral = HandshakeSteps.ephemeral(seed: ephemeralSeed, networkKey: networkKey)
            else { throw .invalidParameters }
            self.networkKey = networkKey
            self.identity = identity
            self.authorize = authorize
            state = .awaitingClientHello(ephemeral)
        }

        /// How many bytes the shell must read next: 64, then 112, then 0 once complete or failed.
        public var expectedInputLength: Int {
            switch state {
            case .awaitingClientHello: SecretHandshake.helloLength
            case .awaitingAuth: SecretHandshake.authenticateLength
            case .complete, .failed: 0
            }
        }

        /// The outcome, once message 4 has been produced.
        public var result: HandshakeResult? {
            if case .complete(let result) = state { return result }
            return nil
        }

        /// Takes the client's next message; returns the message to send back: message 2 after
        /// message 1, message 4 after message 3 (the handshake is then complete). Any error
        /// before completion leaves the server failed with nothing to send: close the
        /// connection. Input after completion is refused with `.unexpectedMessage`.
        public mutating func receive(_ bytes: [UInt8]) throws(HandshakeError) -> [UInt8]? {
            let current = state
            state = .failed
            switch current {
            case .awaitingClientHello(let ephemeral):
                let peer = try HandshakeSteps.verifyHello(bytes, networkKey: networkKey, ephemeral: ephemeral)
                state = .awaitingAuth(ephemeral, peer)
                return HandshakeSteps.hello(ephemeral)
            case .awaitingAuth(let ephemeral, let peer):
                let client = try HandshakeSteps.serverVerifyAuth(
                    bytes, networkKey: networkKey, identity: identity, ephemeral: ephemeral, peer: peer)
                guard authorize(client.client) else { throw .unauthorized }
                let accept = HandshakeSteps.sealAccept(
                    networkKey: networkKey, identity: identity, authPlaintext: client.plaintext,
                    abHash: peer.abHash, acceptKey: client.acceptKey)
                state = .complete(
                    HandshakeSteps.result(
                        acceptKey: client.acceptKey, local: identity.publicKey, remote: client.client,
                        localMAC: ephemeral.mac, remoteMAC: peer.mac))
                return accept
            case .complete:
                state = current  // the result stays available; the input is refused
                throw .unexpectedMessage
            case .failed:
                throw .unexpectedMessage
            }
        }
    }
}
