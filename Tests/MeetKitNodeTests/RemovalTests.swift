import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import MeetKitTestSupport
import Testing

/// Removing a member with running nodes (Protocol/epochs.md): the removed member's own node
/// and keys can no longer handshake or read, while the others, one of them offline during the
/// removal, keep syncing.
@Suite(.serialized) struct RemovalTests {
    @Test func aRemovedMembersNodeIsShutOutWhileTheOthersKeepSyncing() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            let cy = cluster.member("Cy")
            let dan = cluster.member("Dan")
            for member in [cy, dan] {
                try member.initialize()
                try member.succeed(["group", "join", try ana.invite(), "--peer", anaNode.address])
            }
            let benNode = try ben.run(peers: [anaNode.port])
            let cyNode = try cy.run(peers: [anaNode.port])
            try dan.succeed(["sync", "--peer", anaNode.address])  // then Dan goes offline

            // Only an admin may remove: Ben may not.
            let refused = try ben.meetkit(["group", "remove", "Cy"])
            #expect(refused.status == 1 && refused.stderr.contains("Only an admin"), "\(refused)")

            try ana.succeed(["group", "remove", "Cy"])
            try ana.succeed(["share", "Said after Cy left."])
            let reached = try eventually(timeout: .seconds(10)) { try ben.shareTexts().contains("Said after Cy left.") }
            #expect(reached, "Ben's node did not get the share written after the removal")
            let members = try ana.succeed(["group", "members", "--json"]).array().compactMap { $0["name"] as? String }
            #expect(Set(members) == ["Ana", "Ben", "Dan"])
            // Ana makes Ben an admin, by his fingerprint.
            let benFingerprint = try ben.status().fingerprint
            try ana.succeed(["group", "admin", benFingerprint])
            let admins = try ana.succeed(["group", "members", "--json"]).array().filter { $0["admin"] as? Bool == true }
            #expect(Set(admins.compactMap { $0["name"] as? String }) == ["Ana", "Ben"])

            // Cy's node was connected: Ana's node ended that session. Cy's handshakes now fail,
            // with Ana's node and with Ben's.
            #expect(cyNode.process.stop())
            for node in [anaNode, benNode] {
                let sync = try cy.meetkit(["sync", "--peer", node.address])
                #expect(sync.status == 1, "\(sync)")
                #expect(sync.stderr.contains("No member of your groups answered"), "\(sync)")
            }
            #expect(try !cy.shareTexts().contains("Said after Cy left."))

            // Dan, offline during the removal, holds only the old keys: he catches up through
            // Ben's node and reads what was written since.
            let caughtUp = try dan.succeed(["sync", "--peer", benNode.address])
            #expect(caughtUp.stdout.contains("Synced with Ben"), "\(caughtUp)")
            #expect(try dan.shareTexts().contains("Said after Cy left."))
            #expect(try dan.status().digest == (try ana.status().digest))
            try dan.succeed(["share", "Dan is back."])
            try dan.succeed(["sync", "--peer", anaNode.address])
            #expect(try eventually(timeout: .seconds(10)) { try ben.shareTexts().contains("Dan is back.") })

            // With Cy's own store and keys: every entry of the new epoch, handed over directly,
            // is stored (its signature and chain are valid) but cannot be read.
            #expect(benNode.process.stop())
            let passphrase = { () -> SecretBytes in
                var bytes = Array(cluster.passphrase.utf8)
                return SecretBytes(consuming: &bytes)
            }
            let benStore = try Store.open(at: DataDirectory(path: ben.home), passphrase: passphrase())
            let group = try benStore.resolveGroup(nil)
            let newEpoch = benStore.log(of: group).filter { $0.entry.header.epoch >= 1 }
            #expect(newEpoch.count >= 2 && newEpoch.allSatisfy { $0.content != nil })
            let cyStore = try Store.open(at: DataDirectory(path: cy.home), passphrase: passphrase())
            // (One at a time: Cy's store refuses the new epoch's membership changes outright,
            // as it cannot read them, and with them the rest of their author's feed.)
            for entry in benStore.entries(of: group, missingFrom: cyStore.versionVector(of: group)) {
                _ = try? cyStore.ingest([entry], into: group)
            }
            let atCy = cyStore.log(of: group).filter { $0.entry.header.epoch >= 1 }
            #expect(!atCy.isEmpty)
            #expect(atCy.allSatisfy { $0.content == nil }, "Cy read an entry of the epoch that began with Cy's removal")
            #expect(HostileMember(cyStore, in: group).epochsHeld == [0])
        }
    }
}
