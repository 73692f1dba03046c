import MeetKitCrypto
import Testing

@Suite("Secret bytes")
struct SecretBytesTests {
    @Test func wipeEmpties() {
        // The zeroing itself happens in storage the array gives up at once, so a test can only
        // see its effect: the secret is gone from the variable.
        var bytes: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        SecretBytes.wipe(&bytes)
        #expect(bytes.isEmpty)
    }

    @Test func wipeOfEmptyArray() {
        var bytes: [UInt8] = []
        SecretBytes.wipe(&bytes)
        #expect(bytes.isEmpty)
    }

    @Test func consumingTakesTheBytesAndEmptiesTheSource() {
        var source: [UInt8] = [9, 8, 7]
        let secret = SecretBytes(consuming: &source)
        #expect(source.isEmpty)
        #expect(secret.count == 3)
        #expect(secret.exposedCopy() == [9, 8, 7])
        #expect(secret.withBytes { Array($0) } == [9, 8, 7])
    }

    @Test func randomSecrets() {
        let a = SecretBytes(randomCount: 32)
        let b = SecretBytes(randomCount: 32)
        #expect(a.count == 32)
        #expect(a.exposedCopy() != b.exposedCopy())
        #expect(SecretBytes(randomCount: 0).count == 0)
        #expect(SecretBytes(randomCount: 0).exposedCopy() == [])
    }

    @Test func secureRandom() {
        #expect(SecureRandom.bytes(0) == [])
        #expect(SecureRandom.bytes(24).count == 24)
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }
}
