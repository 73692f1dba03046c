import MeetKitCrypto
import Testing

@Suite("Sealed boxes")
struct SealedBoxTests {
    let message = Array("epoch 2 content key".utf8)

    @Test func roundTrip() throws {
        let recipient = try signingKey(1)
        let publicKey = try recipient.publicKey.curve25519()
        let sealed = try SealedBox.seal(message, to: publicKey)
        #expect(sealed.count == message.count + SealedBox.overhead)
        #expect(SealedBox.open(sealed, publicKey: publicKey, secretKey: recipient.curve25519SecretKey()) == message)
    }

    @Test func emptyMessage() throws {
        let recipient = try signingKey(1)
        let publicKey = try recipient.publicKey.curve25519()
        let sealed = try SealedBox.seal([], to: publicKey)
        #expect(sealed.count == SealedBox.overhead)
        #expect(SealedBox.open(sealed, publicKey: publicKey, secretKey: recipient.curve25519SecretKey()) == [])
    }

    @Test func sealingTwiceDiffers() throws {
        let publicKey = try signingKey(1).publicKey.curve25519()
        // A fresh ephemeral key every time: equal messages are not linkable.
        #expect(try SealedBox.seal(message, to: publicKey) != SealedBox.seal(message, to: publicKey))
    }

    @Test func wrongRecipientCannotOpen() throws {
        let recipient = try signingKey(1)
        let other = try signingKey(2)
        let sealed = try SealedBox.seal(message, to: recipient.publicKey.curve25519())
        #expect(SealedBox.open(sealed, publicKey: try other.publicKey.curve25519(), secretKey: other.curve25519SecretKey()) == nil)
        // The right public key with the wrong secret key fails too.
        #expect(SealedBox.open(sealed, publicKey: try recipient.publicKey.curve25519(), secretKey: other.curve25519SecretKey()) == nil)
    }

    @Test func everyFlippedBitIsRejected() throws {
        let recipient = try signingKey(1)
        let publicKey = try recipient.publicKey.curve25519()
        let secretKey = recipient.curve25519SecretKey()
        let sealed = try SealedBox.seal(message, to: publicKey)
        for bit in 0..<sealed.count * 8 {
            #expect(SealedBox.open(flippingBit(bit, of: sealed), publicKey: publicKey, secretKey: secretKey) == nil, "bit \(bit)")
        }
        #expect(SealedBox.open(Array(sealed.dropLast()), publicKey: publicKey, secretKey: secretKey) == nil)
        #expect(SealedBox.open(Array(sealed.prefix(SealedBox.overhead - 1)), publicKey: publicKey, secretKey: secretKey) == nil)
    }

    @Test func wrongLengthRecipientIsRefused() {
        #expect(throws: CryptoError.invalidKeyLength(expected: 32, actual: 31)) {
            try SealedBox.seal(message, to: [UInt8](repeating: 9, count: 31))
        }
    }
}
