import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import Testing

/// Private check-ins between stores: sealed to the readers and the author alone.
@Suite struct PrivateCheckInStoreTests {
    @Test func readersOpenItOthersCannotAndATamperedOneOpensForNoOne() throws {
        let g = try EpochTests.Group(["Ana", "Ben", "Cy"])
        let checkIn = CheckIn(mood: 2, note: "For Ben.", milestoneDays: 30, wantsSupport: true)
        let entry = try g[0].appendPrivateCheckIn(checkIn, readers: [g[1].memberID], to: g.group, at: Date())
        try g.syncAll()
        let header = entry.header
        guard case .privateCheckIn(let sealed)? = g[2].log(of: g.group).first(where: { $0.entry.id == entry.id })?.content else {
            Issue.record("Cy's store does not hold the private check-in as such")
            return
        }
        #expect(Set(sealed.readers.map(\.recipient)) == [g[0].memberID, g[1].memberID])
        #expect(g[0].open(sealed, in: header) == checkIn)
        #expect(g[1].open(sealed, in: header) == checkIn)
        #expect(g[2].open(sealed, in: header) == nil)
        // Cy cannot make it readable by adding a box of her own: the message key is not hers.
        var forged = sealed
        forged.readers.append(Rekey.Sealed(recipient: g[2].memberID, box: try SealedBox.seal(Array(repeating: 1, count: 32), to: g[2].memberID.curve25519())))
        #expect(g[2].open(forged, in: header) == nil)
        var tampered = sealed
        tampered.ciphertext[30] ^= 1
        #expect(g[1].open(tampered, in: header) == nil)
        #expect(Fixture.storeError { try g[0].appendPrivateCheckIn(checkIn, readers: [SigningKey.generate().publicKey], to: g.group, at: Date()) }?.code == .unknownMember)
    }
}
