import Foundation
import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// Private DNS-SD adverts (Protocol/discovery.md): only holders of the network key learn who
/// advertises, and two publications cannot be linked.
@Suite("Discovery adverts")
struct AdvertTests {
    struct Vector: Decodable {
        let networkKey: String
        let memberSeed: String
        let memberPublicKey: String
        let nonce: String
        let token: String
        let tokenBase64URL: String
        let txt: String
    }

    static let networkKey = Support.secret(repeating: 7)
    static let member = Support.signingKey(1).publicKey

    static func freshToken(networkKey: SecretBytes = networkKey) -> [UInt8] {
        Advert.token(for: member, networkKey: networkKey, nonce: SecureRandom.bytes(AEAD.nonceLength))
    }

    /// The vector was computed with PyNaCl from the spec, not by this code.
    @Test func reproducesThePublishedVector() throws {
        let url = Support.vectorsDirectory.appendingPathComponent("advert/advert.json")
        let vector = try JSONDecoder().decode(Vector.self, from: Data(contentsOf: url))
        let key = try Support.secret(vector.networkKey)
        let member = try SigningKey(seed: try Support.secret(vector.memberSeed)).publicKey
        #expect(member.hex == vector.memberPublicKey)
        let token = Advert.token(for: member, networkKey: key, nonce: try Support.bytes(vector.nonce))
        #expect(Hex.encode(token) == vector.token)
        #expect(Hex.encode(Advert.txtRecord(token: token)) == vector.txt)
        #expect(Base64URL.encode(token) == vector.tokenBase64URL)
        #expect(Advert.open(try Support.bytes(vector.token), networkKey: key) == member)
    }

    @Test func aMemberOpensTheTokenAndLearnsWhoAdvertises() {
        let token = Self.freshToken()
        #expect(token.count == Advert.tokenLength)
        #expect(Advert.open(token, networkKey: Self.networkKey) == Self.member)
    }

    @Test func anotherGroupsKeyOpensNothing() {
        #expect(Advert.open(Self.freshToken(), networkKey: Support.secret(repeating: 8)) == nil)
    }

    @Test func everyPublicationIsFreshAndUnlinkable() {
        let tokens = (0..<50).map { _ in Self.freshToken() }
        #expect(Set(tokens).count == tokens.count)
        // No byte string in common beyond chance: the member key never appears in any.
        for token in tokens {
            #expect(!Self.contains(token, Self.member.bytes.prefix(8)))
        }
    }

    @Test func everyFlippedBitIsRefused() {
        let token = Self.freshToken()
        for index in token.indices {
            for bit in 0..<8 {
                var tampered = token
                tampered[index] ^= 1 << bit
                #expect(Advert.open(tampered, networkKey: Self.networkKey) == nil, "byte \(index) bit \(bit)")
            }
        }
        #expect(Advert.open(Array(token.dropLast()), networkKey: Self.networkKey) == nil)
        #expect(Advert.open(token + [0], networkKey: Self.networkKey) == nil)
    }

    @Test func theTXTRecordHoldsOnlyTheVersionAndTheToken() {
        let token = Self.freshToken()
        let record = Advert.txtRecord(token: token)
        var strings: [String] = []
        var rest = record[...]
        while let length = rest.first {
            strings.append(String(decoding: rest.dropFirst().prefix(Int(length)), as: UTF8.self))
            rest = rest.dropFirst(1 + Int(length))
        }
        #expect(strings == ["v=1", "t=" + Base64URL.encode(token)])
        #expect(Advert.token(inTXT: record) == token)
    }

    @Test func otherTXTRecordsAreNotAdverts() {
        let token = Base64URL.encode(Self.freshToken())
        func record(_ items: [String]) -> [UInt8] { items.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } }
        let refused: [[UInt8]] = [
            [],
            record(["v=1"]),
            record(["t=" + token]),
            record(["v=2", "t=" + token]),
            record(["v=1", "t=" + token, "name=Ana"]),
            record(["v=1", "t=" + String(token.dropLast(4))]),
            record(["v=1", "t=" + token + "AAAA"]),
            record(["v=1", "t=not base64!"]),
            record(["v=1", "t"]),
            Array(record(["v=1", "t=" + token]).dropLast()),
        ]
        for txt in refused { #expect(Advert.token(inTXT: txt) == nil, "\(txt)") }
    }

    private static func contains(_ haystack: [UInt8], _ needle: ArraySlice<UInt8>) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
