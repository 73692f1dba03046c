import MeetKitCrypto
import Testing

@Suite("BLAKE2b")
struct BLAKE2bTests {
    @Test func knownAnswers() {
        // RFC 7693 / reference implementation values.
        #expect(hex(BLAKE2b.hash([])) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        #expect(hex(BLAKE2b.hash(Array("abc".utf8), outputLength: 64)) ==
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            + "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    @Test func outputLengths() {
        #expect(BLAKE2b.hash([1, 2, 3], outputLength: 16).count == 16)
        #expect(BLAKE2b.hash([1, 2, 3], outputLength: 64).count == 64)
        // The output length is a parameter of the hash, not a truncation.
        #expect(BLAKE2b.hash([1, 2, 3], outputLength: 16) != Array(BLAKE2b.hash([1, 2, 3]).prefix(16)))
    }

    @Test func keyedDiffersFromUnkeyedAndByKey() {
        let message = Array("meetkit".utf8)
        let keyA = secret(repeating: 1, count: 32)
        let keyB = secret(repeating: 2, count: 32)
        let unkeyed = BLAKE2b.hash(message)
        let keyedA = BLAKE2b.hash(message, key: keyA)
        #expect(keyedA.count == 32)
        #expect(keyedA != unkeyed)
        #expect(keyedA != BLAKE2b.hash(message, key: keyB))
        #expect(keyedA == BLAKE2b.hash(message, key: secret(repeating: 1, count: 32)))
    }

    @Test func keyedKnownAnswer() {
        // BLAKE2b-512 keyed test vector from the reference implementation (blake2b-kat.txt):
        // key 00 01 … 3f, empty message.
        let key = secret([UInt8](0..<64))
        #expect(hex(BLAKE2b.hash([], key: key, outputLength: 64)) ==
            "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
            + "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568")
    }

    @Test func derivedSecretsAreSeparatedByContext() {
        let key = secret(repeating: 7, count: 32)
        let a = BLAKE2b.deriveSecret(from: key, context: "meetkit-test-a-v1")
        let b = BLAKE2b.deriveSecret(from: key, context: "meetkit-test-b-v1")
        #expect(a.count == 32)
        #expect(a.testBytes != b.testBytes)
        #expect(a.testBytes == BLAKE2b.deriveSecret(from: key, context: "meetkit-test-a-v1").testBytes)
    }
}
