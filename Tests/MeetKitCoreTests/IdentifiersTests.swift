import MeetKitCore
import MeetKitCrypto
import Testing

@Suite("Identifiers and hex")
struct IdentifiersTests {
    @Test func hexRoundTrip() {
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "00017f80abff")
        #expect(Hex.decode("00017f80abff") == bytes)
        #expect(Hex.decode("00017F80ABFF") == bytes)
        #expect(Hex.decode("") == [])
        #expect(Hex.encode([]) == "")
    }

    @Test(arguments: ["0", "abc", "zz", "0g", " 00", "é0"])
    func invalidHex(_ text: String) {
        #expect(Hex.decode(text) == nil)
    }

    @Test func idsHaveThirtyTwoBytes() {
        #expect(EntryID(bytes: [UInt8](repeating: 0, count: 31)) == nil)
        #expect(EntryID(bytes: [UInt8](repeating: 0, count: 33)) == nil)
        #expect(GroupID(bytes: [UInt8](repeating: 0, count: 31)) == nil)
        #expect(EntryID(hex: String(repeating: "ab", count: 32))?.bytes == [UInt8](repeating: 0xab, count: 32))
        #expect(EntryID(hex: String(repeating: "ab", count: 31)) == nil)
        #expect(EntryID(hex: String(repeating: "ab", count: 32))?.short == "abababab")
    }

    @Test func idsOrderByBytes() {
        let a = EntryID(bytes: [0x01] + [UInt8](repeating: 0xff, count: 31))!
        let b = EntryID(bytes: [0x02] + [UInt8](repeating: 0x00, count: 31))!
        #expect(a < b)
        #expect(GroupID(a) < GroupID(b))
        #expect(GroupID(a).bytes == a.bytes)
    }

    /// The example of Protocol/entries.md §Fingerprints (computed there with another BLAKE2b).
    @Test func fingerprintKnownAnswer() throws {
        let key = try PublicKey(bytes: Hex.decode("8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c")!)
        #expect(key == Fixtures.founder.publicKey)
        #expect(key.fingerprint == "d1d7-60bc-f9f5-2315")
    }

    @Test func fingerprintIsTheDocumentedHash() throws {
        let key = Fixtures.founder.publicKey
        let digest = BLAKE2b.hash(Array("meetkit-fingerprint-v1".utf8) + key.bytes, outputLength: 16)
        let hex = Hex.encode(digest.prefix(8))
        let expected = [0, 4, 8, 12].map { i in
            String(hex.dropFirst(i).prefix(4))
        }.joined(separator: "-")
        #expect(key.fingerprint == expected)
        #expect(key.fingerprint.count == 19)
        #expect(key.fingerprint != Fixtures.member.publicKey.fingerprint)
        #expect(key.hex == Hex.encode(key.bytes))
    }
}
