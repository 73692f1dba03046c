import MeetKitCore
import MeetKitCrypto

extension BoxStream {
    /// Opens what we receive (Protocol/framing.md §Reading), fed any split of the byte stream.
    /// It holds at most one header (34 bytes) or one body (≤ 4096 bytes): a header that does
    /// not open or announces too long a body is an error as soon as its 34 bytes are in.
    ///
    /// ```
    /// header --34 bytes open--> body(n) --n bytes open--> header ...
    ///   |   \--all-zero header--> ended --more bytes--> failed
    ///   +--- any check fails ---> failed (accepts nothing more)
    /// ```
    public struct Decryptor: ~Copyable, Sendable {
        private enum Phase: Sendable {
            case header
            case body(length: Int, tag: [UInt8])
            case ended
            case failed
        }

        private let key: SecretBytes
        private var nonce: [UInt8]
        private var phase = Phase.header
        private var buffer: [UInt8] = []

        /// A decryptor with a 32-byte `key` and a 24-byte starting `nonce`.
        public init(key: SecretBytes, nonce: [UInt8]) {
            BoxStream.checkParameters(key: key, nonce: nonce)
            self.key = key
            self.nonce = nonce
            buffer.reserveCapacity(BoxStream.headerLength)
        }

        /// The decryptor for the peer's direction of a completed handshake.
        public init(handshake: HandshakeResult) {
            self.init(key: handshake.decryptKey, nonce: handshake.decryptNonce)
        }

        /// Bytes still missing to complete the current header or body (0 once ended or failed):
        /// a shell may read exactly this many.
        public var bytesNeeded: Int {
            switch phase {
            case .header: BoxStream.headerLength - buffer.count
            case .body(let length, _): length - buffer.count
            case .ended, .failed: 0
            }
        }

        /// True once the peer's goodbye has been read.
        public var receivedGoodbye: Bool {
            if case .ended = phase { return true }
            return false
        }

        /// Takes the next bytes of the stream, in any split, and returns what they complete.
        /// On an error, events completed earlier in the same call are dropped with it.
        public mutating func feed(_ bytes: [UInt8]) throws(BoxStreamError) -> [BoxStreamEvent] {
            switch phase {
            case .failed:
                throw .closed
            case .ended:
                guard bytes.isEmpty else {
                    fail()
                    throw .dataAfterGoodbye
                }
                return []
            case .header, .body:
                break
            }
            var events: [BoxStreamEvent] = []
            var index = 0
            do throws(BoxStreamError) {
                while true {
                    switch phase {
                    case .header:
                        take(from: bytes, at: &index, upTo: BoxStream.headerLength)
                        guard buffer.count == BoxStream.headerLength else { return events }
                        if let event = try openHeader() { events.append(event) }
                    case .body(let length, let tag):
                        take(from: bytes, at: &index, upTo: length)
                        guard buffer.count == length else { return events }
                        events.append(contentsOf: try openBody(tag: tag))
                    case .ended:
                        guard index == bytes.count else { throw .dataAfterGoodbye }
                        return events
                    case .failed:
                        throw .closed
                    }
                }
            } catch {
                fail()
                throw error
            }
        }

        /// Call when the transport has ended: throws `.truncated` unless the goodbye came.
        public func finish() throws(BoxStreamError) {
            guard receivedGoodbye else { throw .truncated }
        }

        // MARK: Steps

        private mutating func take(from bytes: [UInt8], at index: inout Int, upTo count: Int) {
            let wanted = min(count - buffer.count, bytes.count - index)
            guard wanted > 0 else { return }
            buffer.append(contentsOf: bytes[index..<index + wanted])
            index += wanted
        }

        /// Opens a complete header: the goodbye, or the length and tag of the body to come.
        private mutating func openHeader() throws(BoxStreamError) -> BoxStreamEvent? {
            guard let plaintext = SecretBox.open(buffer, nonce: nonce, key: key) else { throw .badHeader }
            buffer.removeAll(keepingCapacity: true)
            if plaintext == BoxStream.goodbyePlaintext {
                phase = .ended
                return .goodbye
            }
            var reader = ByteReader(plaintext)
            guard let length = reader.readUInt16(), let tag = reader.readBytes(SecretBox.tagLength) else { throw .badHeader }
            guard Int(length) <= BoxStream.maxBodyLength else { throw .bodyTooLong(Int(length)) }
            BoxStream.increment(&nonce)
            buffer.reserveCapacity(Int(length))
            phase = .body(length: Int(length), tag: tag)
            return nil
        }

        /// Opens a complete body; an empty body (not a goodbye) is valid and carries nothing.
        private mutating func openBody(tag: [UInt8]) throws(BoxStreamError) -> [BoxStreamEvent] {
            guard let plaintext = SecretBox.openDetached(buffer, tag: tag, nonce: nonce, key: key) else { throw .badBody }
            BoxStream.increment(&nonce)
            buffer.removeAll(keepingCapacity: false)
            buffer.reserveCapacity(BoxStream.headerLength)
            phase = .header
            return plaintext.isEmpty ? [] : [.message(plaintext)]
        }

        private mutating func fail() {
            phase = .failed
            buffer = []
        }
    }
}
