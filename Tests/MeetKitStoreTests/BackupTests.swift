import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import Testing

/// Identity backups between stores (Protocol/storage.md §Identity backup).
@Suite struct BackupTests {
    @Test func aRestoredStoreWaitsForItsFeedAcrossReopeningAndAWrongPassphraseOrDamageIsRefused() throws {
        let home = try TemporaryHome()
        let original = try Fixture.create(home, pseudonym: "Ana")
        let group = try original.createGroup(name: "Circle", at: Date())
        let backup = try original.identityBackup(passphrase: Fixture.passphrase(), cost: Fixture.cost)

        let wrongHome = try TemporaryHome()
        #expect(Fixture.storeError { _ = try Store.restore(at: wrongHome.directory, backup: backup, passphrase: Fixture.passphrase("not it, clearly"), cost: Fixture.cost) }?.code == .wrongPassphrase)
        var damaged = backup
        damaged[damaged.count - 5] ^= 1
        #expect(Fixture.storeError { _ = try Store.restore(at: wrongHome.directory, backup: damaged, passphrase: Fixture.passphrase(), cost: Fixture.cost) }?.code == .wrongPassphrase)
        #expect(Fixture.storeError { _ = try Store.restore(at: wrongHome.directory, backup: Array(backup.prefix(20)), passphrase: Fixture.passphrase(), cost: Fixture.cost) }?.code == .damagedKeystore)
        #expect(!FileManager.default.fileExists(atPath: wrongHome.file("keystore")))

        let newHome = try TemporaryHome()
        var restored: Store? = try Store.restore(at: newHome.directory, backup: backup, passphrase: Fixture.passphrase(), cost: Fixture.cost)
        #expect(restored?.memberID == original.memberID && restored?.pseudonym == "Ana")
        #expect(restored?.members(of: group) == [original.memberID])
        #expect(Fixture.storeError { try restored?.append(.share(Share(text: "too early")), to: group, at: Date()) }?.code == .notPermitted)
        restored = nil

        let reopened = try Fixture.open(newHome)
        #expect(reopened.isAwaitingOwnFeed(in: group))
        try reopened.ingest(original.entries(of: group, missingFrom: VersionVector()), into: group)
        try reopened.ownFeedSynced(in: group)
        let next = try reopened.append(.share(Share(text: "after the sync")), to: group, at: Date())
        #expect(next.header.sequence == 3)  // genesis and profile came back first
        try original.ingest([next], into: group)
        #expect(original.forks(in: group).isEmpty)
    }
}
