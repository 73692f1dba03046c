import MeetKitCrypto
import Testing

@Suite("XChaCha20-Poly1305")
struct AEADTests {
    let key = secret(repeating: 0x4b, count: AEAD.keyLength)
    let nonce = [UInt8](0..<24)
    let associatedData = Array("meetkit-test-v1 header".utf8)
    let plaintext = Array("what is said here stays here".utf8)

    @Test func lengths() {
        #expect(AEAD.keyLength == 32)
        #expect(AEAD.nonceLength == 24)
        #expect(AEAD.tagLength == 16)
    }

    @Test func roundTrip() {
        let sealed = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        #expect(sealed.count == plaintext.count + AEAD.tagLength)
        #expect(sealed.prefix(plaintext.count).elementsEqual(plaintext) == false)
        #expect(AEAD.open(sealed, associatedData: associatedData, nonce: nonce, key: key) == plaintext)
    }

    @Test func deterministicForSameNonce() {
        let a = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        let b = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        #expect(a == b)
    }

    @Test func emptyPlaintextAndAssociatedData() {
        let sealed = AEAD.seal([], associatedData: [], nonce: nonce, key: key)
        #expect(sealed.count == AEAD.tagLength)
        #expect(AEAD.open(sealed, associatedData: [], nonce: nonce, key: key) == [])
        // The tag alone still authenticates the associated data.
        #expect(AEAD.open(sealed, associatedData: [0], nonce: nonce, key: key) == nil)

        let withAD = AEAD.seal([], associatedData: associatedData, nonce: nonce, key: key)
        #expect(AEAD.open(withAD, associatedData: associatedData, nonce: nonce, key: key) == [])
    }

    @Test func everyFlippedCiphertextOrTagBitIsRejected() {
        let sealed = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        for bit in 0..<sealed.count * 8 {
            #expect(AEAD.open(flippingBit(bit, of: sealed), associatedData: associatedData, nonce: nonce, key: key) == nil, "bit \(bit)")
        }
    }

    @Test func everyFlippedAssociatedDataBitIsRejected() {
        let sealed = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        for bit in 0..<associatedData.count * 8 {
            #expect(AEAD.open(sealed, associatedData: flippingBit(bit, of: associatedData), nonce: nonce, key: key) == nil, "bit \(bit)")
        }
    }

    @Test func wrongAssociatedDataIsRejected() {
        let sealed = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        #expect(AEAD.open(sealed, associatedData: [], nonce: nonce, key: key) == nil)
        #expect(AEAD.open(sealed, associatedData: associatedData + [0], nonce: nonce, key: key) == nil)
        #expect(AEAD.open(sealed, associatedData: Array(associatedData.dropLast()), nonce: nonce, key: key) == nil)
    }

    @Test func wrongNonceIsRejected() {
        let sealed = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        for bit in 0..<nonce.count * 8 {
            #expect(AEAD.open(sealed, associatedData: associatedData, nonce: flippingBit(bit, of: nonce), key: key) == nil, "bit \(bit)")
        }
        #expect(AEAD.open(sealed, associatedData: associatedData, nonce: Array(nonce.dropLast()), key: key) == nil)
    }

    @Test func wrongKeyIsRejected() {
        let sealed = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        #expect(AEAD.open(sealed, associatedData: associatedData, nonce: nonce, key: secret(repeating: 0x4c, count: 32)) == nil)
        #expect(AEAD.open(sealed, associatedData: associatedData, nonce: nonce, key: secret(repeating: 0x4b, count: 31)) == nil)
    }

    @Test func truncatedCiphertextIsRejected() {
        let sealed = AEAD.seal(plaintext, associatedData: associatedData, nonce: nonce, key: key)
        #expect(AEAD.open(Array(sealed.dropLast()), associatedData: associatedData, nonce: nonce, key: key) == nil)
        #expect(AEAD.open(Array(sealed.prefix(AEAD.tagLength - 1)), associatedData: associatedData, nonce: nonce, key: key) == nil)
        #expect(AEAD.open([], associatedData: associatedData, nonce: nonce, key: key) == nil)
    }
}
