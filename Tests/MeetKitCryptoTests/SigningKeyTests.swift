import MeetKitCrypto
import Testing

@Suite("Ed25519 signatures")
struct SigningKeyTests {
    let message = Array("meetkit-test-v1 the group meets on Tuesdays".utf8)

    @Test func signatureVerifies() throws {
        let key = try signingKey(1)
        let signature = key.sign(message)
        #expect(signature.count == Signature.length)
        #expect(key.publicKey.isValidSignature(signature, for: message))
    }

    @Test func sameSeedSameKeyAndSignature() throws {
        let a = try signingKey(7)
        let b = try signingKey(7)
        #expect(a.publicKey == b.publicKey)
        // Ed25519 is deterministic: the vectors in Protocol/ rely on it.
        #expect(a.sign(message) == b.sign(message))
        #expect(try signingKey(8).publicKey != a.publicKey)
    }

    @Test func emptyMessageSignsAndVerifies() throws {
        let key = try signingKey(2)
        #expect(key.publicKey.isValidSignature(key.sign([]), for: []))
        #expect(!key.publicKey.isValidSignature(key.sign([]), for: [0]))
    }

    @Test func everyFlippedMessageBitIsRejected() throws {
        let key = try signingKey(3)
        let signature = key.sign(message)
        for bit in 0..<message.count * 8 {
            #expect(!key.publicKey.isValidSignature(signature, for: flippingBit(bit, of: message)), "bit \(bit)")
        }
    }

    @Test func everyFlippedSignatureBitIsRejected() throws {
        let key = try signingKey(4)
        let signature = key.sign(message)
        for bit in 0..<signature.count * 8 {
            #expect(!key.publicKey.isValidSignature(flippingBit(bit, of: signature), for: message), "bit \(bit)")
        }
    }

    @Test func truncatedOrExtendedMessageIsRejected() throws {
        let key = try signingKey(5)
        let signature = key.sign(message)
        #expect(!key.publicKey.isValidSignature(signature, for: Array(message.dropLast())))
        #expect(!key.publicKey.isValidSignature(signature, for: message + [0]))
    }

    @Test func wrongLengthSignatureIsRejected() throws {
        let key = try signingKey(6)
        let signature = key.sign(message)
        #expect(!key.publicKey.isValidSignature(Array(signature.dropLast()), for: message))
        #expect(!key.publicKey.isValidSignature(signature + [0], for: message))
        #expect(!key.publicKey.isValidSignature([], for: message))
    }

    @Test func wrongKeyIsRejected() throws {
        let signature = try signingKey(9).sign(message)
        #expect(try !signingKey(10).publicKey.isValidSignature(signature, for: message))
    }

    @Test func lowOrderPublicKeyNeverVerifies() throws {
        // With the identity point as public key, a forged (R = identity, S = 0) signature would
        // satisfy the bare equation for every message; libsodium refuses small-order keys.
        let identity = try PublicKey(bytes: [1] + [UInt8](repeating: 0, count: 31))
        let forged = [1] + [UInt8](repeating: 0, count: 63)
        #expect(!identity.isValidSignature(forged, for: message))
        #expect(!identity.isValidSignature(forged, for: []))
    }

    @Test func keyLengthsAreChecked() {
        #expect(throws: CryptoError.invalidKeyLength(expected: 32, actual: 31)) {
            try PublicKey(bytes: [UInt8](repeating: 1, count: 31))
        }
        #expect(throws: CryptoError.invalidKeyLength(expected: 32, actual: 33)) {
            try SigningKey(seed: secret(repeating: 1, count: 33))
        }
    }

    @Test func generatedKeysDiffer() {
        #expect(SigningKey.generate().publicKey != SigningKey.generate().publicKey)
    }

    @Test func seedIsKept() throws {
        let key = try signingKey(11)
        #expect(key.seed.testBytes == [UInt8](repeating: 11, count: 32))
    }
}
