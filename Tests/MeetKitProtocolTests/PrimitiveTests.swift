import MeetKitCore
import MeetKitCrypto
import Testing

/// The libsodium primitives added to MeetKitCrypto for the handshake and box-stream, against
/// values computed independently (Python's hashlib and hmac).
@Suite("Handshake primitives")
struct PrimitiveTests {
    @Test func sha256KnownAnswers() throws {
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var key = (0..<32).map { UInt8($0) }
        let secret = SHA256.hash([SecretBytes(consuming: &key), Support.secret(repeating: 7, count: 5)], then: Array("tail".utf8))
        #expect(Hex.encode(secret.exposedCopy()) == "1a9d41913372df146569eb94361d34b760500ecc46acc9774b5fd339003abf84")
    }

    @Test func hmacSHA512256KnownAnswerAndVerification() throws {
        var raw = (0..<32).map { UInt8($0) }
        let key = SecretBytes(consuming: &raw)
        let tag = HMACSHA512256.authenticate(Array("meetkit".utf8), key: key)
        #expect(Hex.encode(tag) == "04185ccfa9ff2697378f8e8d9e174be38eeebb117b3ecfc5447395d5df16945f")
        #expect(HMACSHA512256.isValid(tag, for: Array("meetkit".utf8), key: key))
        #expect(!HMACSHA512256.isValid(tag, for: Array("meetkiT".utf8), key: key))
        #expect(!HMACSHA512256.isValid(Array(tag.prefix(31)), for: Array("meetkit".utf8), key: key))
        #expect(!HMACSHA512256.isValid(tag, for: Array("meetkit".utf8), key: Support.secret(repeating: 1)))
    }

    @Test func secretBoxRoundTripsAndRejectsChanges() {
        let key = Support.secret(repeating: 3)
        let nonce = [UInt8](repeating: 9, count: SecretBox.nonceLength)
        for plaintext in [[], [1], [UInt8](repeating: 5, count: 1000)] as [[UInt8]] {
            let box = SecretBox.seal(plaintext, nonce: nonce, key: key)
            #expect(box.count == plaintext.count + SecretBox.tagLength)
            #expect(SecretBox.open(box, nonce: nonce, key: key) == plaintext)
            var tampered = box
            tampered[0] ^= 1
            #expect(SecretBox.open(tampered, nonce: nonce, key: key) == nil)
            #expect(SecretBox.open(box, nonce: [UInt8](repeating: 8, count: 24), key: key) == nil)

            let detached = SecretBox.sealDetached(plaintext, nonce: nonce, key: key)
            #expect(detached.tag + detached.ciphertext == box)
            #expect(SecretBox.openDetached(detached.ciphertext, tag: detached.tag, nonce: nonce, key: key) == plaintext)
            #expect(SecretBox.openDetached(detached.ciphertext, tag: [UInt8](repeating: 0, count: 16), nonce: nonce, key: key) == nil)
        }
        #expect(SecretBox.open([1, 2, 3], nonce: nonce, key: key) == nil)
    }

    @Test func x25519PublicKeyMatchesTheEd25519Conversion() throws {
        let signing = Support.signingKey(0x42)
        let publicKey = try #require(X25519.publicKey(secretKey: signing.curve25519SecretKey()))
        #expect(publicKey == (try signing.publicKey.curve25519()))
        #expect(X25519.publicKey(secretKey: Support.secret(repeating: 1, count: 31)) == nil)
    }
}
