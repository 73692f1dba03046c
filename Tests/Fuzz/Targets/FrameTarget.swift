import MeetKitCrypto
import MeetKitProtocol

/// Box-stream decoding with a fixed key and nonce. Random bytes never open a header, so the
/// input is a script of packets that the harness seals for real (or not) at the nonce the
/// decryptor expects, with lengths, plaintexts and splits chosen by the fuzzer:
///
/// - op & 3 == 0: a packet: declared length (u16) ‖ body (up to that many bytes); the header
///   says the declared length and carries the body's real tag.
/// - op & 3 == 1: the goodbye.
/// - op & 3 == 2: raw bytes: count (u8) ‖ bytes, fed as they are.
/// - op & 3 == 3: a header sealed over any 18-byte plaintext.
/// - op & 4: one bit of what the op wrote is flipped, at the position the next byte names.
/// - op >> 3: where what the op wrote is split between two feeds.
///
/// Refused: `feed` threw, or the stream ended without a goodbye (`finish`).
enum FrameTarget {
    static func run(_ input: [UInt8]) -> FuzzOutcome {
        var script = FuzzInput(input)
        var decryptor = BoxStream.Decryptor(key: Fixed.boxKey, nonce: Fixed.boxNonce)
        // The nonce the decryptor expects next, as long as it has accepted everything.
        var nonce = Fixed.boxNonce
        while let op = script.next() {
            var wire: [UInt8]
            switch op & 3 {
            case 0:
                let declared = script.integer(UInt16.self)
                let body = script.bytes(Int(declared))
                let sealed = SecretBox.sealDetached(body, nonce: increment(nonce), key: Fixed.boxKey)
                let header = [UInt8(declared >> 8), UInt8(declared & 0xff)] + sealed.tag
                wire = SecretBox.seal(header, nonce: nonce, key: Fixed.boxKey) + sealed.ciphertext
                nonce = increment(increment(nonce))
            case 1:
                wire = SecretBox.seal([UInt8](repeating: 0, count: 18), nonce: nonce, key: Fixed.boxKey)
            case 2:
                wire = script.bytes(Int(script.byte()))
            default:
                wire = SecretBox.seal(script.padded(18), nonce: nonce, key: Fixed.boxKey)
                nonce = increment(nonce)
            }
            if op & 4 != 0, !wire.isEmpty {
                let bit = Int(script.integer(UInt16.self)) % (wire.count * 8)
                wire[bit / 8] ^= 1 << (bit % 8)
            }
            let split = wire.count * Int(op >> 3) / 31
            for piece in [Array(wire[..<split]), Array(wire[split...])] {
                do {
                    for event in try decryptor.feed(piece) {
                        if case .message(let body) = event {
                            precondition((1...BoxStream.maxBodyLength).contains(body.count), "a message of \(body.count) bytes")
                        }
                    }
                } catch {
                    return .refused(error)
                }
                precondition(decryptor.bytesNeeded <= BoxStream.maxBodyLength, "asks for \(decryptor.bytesNeeded) bytes")
            }
        }
        do {
            try decryptor.finish()
        } catch {
            return .refused(error)
        }
        return .accepted
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        [
            ("goodbye", [1]),
            ("one-packet", [0, 0, 5] + Array("hello".utf8) + [1]),
            ("two-packets-split", [0x80, 0, 3, 1, 2, 3, 0xf8, 0, 2, 4, 5, 0x41]),
            ("empty-body", [0, 0, 0, 1]),
            ("full-body", [0, 0x10, 0] + [UInt8](repeating: 0x61, count: 4096) + [1]),
            ("too-long", [0, 0x10, 0x01, 1]),
            ("raw-header", [2, 34] + [UInt8](repeating: 0, count: 34)),
            ("chosen-header", [3, 0, 4] + [UInt8](repeating: 0, count: 16) + [2, 4, 1, 2, 3, 4, 1]),
            ("flipped-tag", [4, 0, 2, 0, 40, 7, 8, 1]),
            ("after-goodbye", [1, 2, 1, 0]),
        ]
    }

    /// The 24-byte nonce plus one, big-endian, as box-stream counts (Protocol/framing.md §Nonces).
    private static func increment(_ nonce: [UInt8]) -> [UInt8] {
        var next = nonce
        for index in next.indices.reversed() {
            next[index] &+= 1
            if next[index] != 0 { break }
        }
        return next
    }
}
