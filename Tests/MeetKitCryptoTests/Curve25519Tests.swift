import MeetKitCrypto
import Testing

@Suite("Ed25519 to X25519 and key agreement")
struct Curve25519Tests {
    /// Encodings of small-order Edwards points: the identity (0, 1) and (√−1, 0), whose y is 0.
    static let lowOrderEdwardsPoints: [[UInt8]] = [
        [1] + [UInt8](repeating: 0, count: 31),
        [UInt8](repeating: 0, count: 32),
    ]

    @Test(arguments: lowOrderEdwardsPoints)
    func conversionRejectsLowOrderPoint(_ point: [UInt8]) throws {
        let key = try PublicKey(bytes: point)
        #expect(throws: CryptoError.weakPublicKey) { try key.curve25519() }
    }

    @Test func conversionOfARealKey() throws {
        let key = try signingKey(1)
        let x = try key.publicKey.curve25519()
        #expect(x.count == X25519.keyLength)
        #expect(x != key.publicKey.bytes)
        #expect(key.curve25519SecretKey().count == X25519.keyLength)
    }

    @Test func bothSidesAgree() throws {
        let alice = try signingKey(1)
        let bob = try signingKey(2)
        let ab = try #require(X25519.sharedSecret(secretKey: alice.curve25519SecretKey(), publicKey: bob.publicKey.curve25519()))
        let ba = try #require(X25519.sharedSecret(secretKey: bob.curve25519SecretKey(), publicKey: alice.publicKey.curve25519()))
        #expect(ab.testBytes == ba.testBytes)
        #expect(ab.testBytes != [UInt8](repeating: 0, count: 32))

        let carol = try signingKey(3)
        let ac = try #require(X25519.sharedSecret(secretKey: alice.curve25519SecretKey(), publicKey: carol.publicKey.curve25519()))
        #expect(ac.testBytes != ab.testBytes)
    }

    /// Montgomery u-coordinates of small-order points: 0, 1, and a point of order 8.
    static let lowOrderMontgomeryPoints: [[UInt8]] = [
        [UInt8](repeating: 0, count: 32),
        [1] + [UInt8](repeating: 0, count: 31),
        bytes(hex: "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    ]

    @Test(arguments: lowOrderMontgomeryPoints)
    func sharedSecretRejectsLowOrderPoint(_ point: [UInt8]) throws {
        let alice = try signingKey(1)
        #expect(X25519.sharedSecret(secretKey: alice.curve25519SecretKey(), publicKey: point) == nil)
    }

    @Test func sharedSecretRejectsWrongLengths() throws {
        let alice = try signingKey(1)
        let bob = try signingKey(2).publicKey.curve25519()
        #expect(X25519.sharedSecret(secretKey: alice.curve25519SecretKey(), publicKey: Array(bob.dropLast())) == nil)
        #expect(X25519.sharedSecret(secretKey: secret(repeating: 1, count: 31), publicKey: bob) == nil)
    }
}
