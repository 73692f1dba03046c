import MeetKitCore
import MeetKitCrypto

extension BoxStream {
    /// Seals what we send (Protocol/framing.md §Writing). `~Copyable`: there is one running
    /// nonce, and `goodbye()` consumes the encryptor so nothing can be sealed after it.
    public struct Encryptor: ~Copyable, Sendable {
        private let key: SecretBytes
        private var nonce: [UInt8]

        /// An encryptor with a 32-byte `key` and a 24-byte starting `nonce`.
        public init(key: SecretBytes, nonce: [UInt8]) {
            BoxStream.checkParameters(key: key, nonce: nonce)
            self.key = key
            self.nonce = nonce
        }

        /// The encryptor for our direction of a completed handshake.
        public init(handshake: HandshakeResult) {
            self.init(key: handshake.encryptKey, nonce: handshake.encryptNonce)
        }

        /// `message` as packets of at most 4096 bytes of body each, ready to write in order.
        /// An empty message writes nothing.
        public mutating func seal(_ message: [UInt8]) -> [UInt8] {
            let packets = (message.count + BoxStream.maxBodyLength - 1) / BoxStream.maxBodyLength
            var out = [UInt8]()
            out.reserveCapacity(message.count + packets * BoxStream.headerLength)
            var start = 0
            while start < message.count {
                let end = min(start + BoxStream.maxBodyLength, message.count)
                sealPacket(Array(message[start..<end]), into: &out)
                start = end
            }
            return out
        }

        /// The goodbye: an encrypted header of 18 zero bytes. Send it last, then close.
        public consuming func goodbye() -> [UInt8] {
            SecretBox.seal(BoxStream.goodbyePlaintext, nonce: nonce, key: key)
        }

        /// header box (nonce n) ‖ body ciphertext (nonce n + 1); the next packet starts at n + 2.
        private mutating func sealPacket(_ body: [UInt8], into out: inout [UInt8]) {
            var bodyNonce = nonce
            BoxStream.increment(&bodyNonce)
            let sealedBody = SecretBox.sealDetached(body, nonce: bodyNonce, key: key)
            var header = ByteWriter(capacity: BoxStream.headerPlaintextLength)
            header.write(UInt16(body.count))
            header.write(sealedBody.tag)
            out.append(contentsOf: SecretBox.seal(header.bytes, nonce: nonce, key: key))
            out.append(contentsOf: sealedBody.ciphertext)
            nonce = bodyNonce
            BoxStream.increment(&nonce)
        }
    }
}
