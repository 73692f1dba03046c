import Foundation
import Testing

/// `meetkit checkin --to MEMBER` (Protocol/entries.md §Private check-ins): a third member's
/// node stores and forwards it without being able to read it.
@Suite(.serialized) struct PrivateCheckInTests {
    @Test func onlyTheNamedMemberAndTheAuthorReadItAndAThirdMemberForwardsIt() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            let cy = cluster.member("Cy")
            try cy.initialize()
            try cy.succeed(["group", "join", try ana.invite(), "--peer", anaNode.address])
            try ben.succeed(["sync", "--peer", anaNode.address])

            let wrote = try ana.succeed(["checkin", "--mood", "2", "--note", "Only Ben should know this.", "--to", "Ben"])
            #expect(wrote.stdout.contains("Checked in privately, for Ben"), "\(wrote)")

            // Cy gets it from Ana; then Ben gets it from Cy, who cannot read it.
            try cy.succeed(["sync", "--peer", anaNode.address])
            #expect(anaNode.process.stop())
            let cyNode = try cy.run()
            try ben.succeed(["sync", "--peer", cyNode.address])

            let atCy = try cy.succeed(["log"]).stdout
            #expect(atCy.contains("Ana checked in privately (for Ben)"), "\(atCy)")
            #expect(!atCy.contains("Only Ben should know"), "\(atCy)")
            let cyElement = try #require(try cy.succeed(["log", "--json"]).array().first { $0["kind"] as? String == "private-check-in" })
            #expect(cyElement["readable"] as? Bool == false && cyElement["note"] == nil && cyElement["mood"] == nil, "\(cyElement)")

            for reader in [ben, ana] {
                let log = try reader.succeed(["log"]).stdout
                #expect(log.contains("checked in privately (for Ben): mood 2/5"), "\(reader.name): \(log)")
                #expect(log.contains("Only Ben should know this."), "\(reader.name): \(log)")
            }
            #expect(try ben.status().digest == (try cy.status().digest))

            // Naming someone who is not a member writes nothing.
            let before = try ana.status().entries
            let refused = try ana.meetkit(["checkin", "--mood", "3", "--to", "Nobody"])
            #expect(refused.status == 1 && refused.stderr.contains("No member of this group is called Nobody"), "\(refused)")
            #expect(try ana.status().entries == before)
        }
    }
}
