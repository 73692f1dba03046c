import Foundation
import Testing

/// Sync by file (Protocol/bundles.md): `meetkit export` and `meetkit import` between members
/// whose nodes do not connect.
@Suite(.serialized) struct BundleTests {
    @Test func aBundleRoundTripBetweenNodesThatDoNotConnectReachesTheSameDigest() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            #expect(anaNode.process.stop())  // from here on, no node runs and nothing connects
            try ana.succeed(["share", "Ana, at home."])
            try ana.succeed(["checkin", "--mood", "4"])
            try ben.succeed(["share", "Ben, far away."])

            // Ana carries to Ben what he lacks, and Ben back to Ana.
            let toBen = cluster.root.appendingPathComponent("to-ben.mkb").path
            let benVector = try ben.succeed(["status", "--vector"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(benVector.hasPrefix("mkv1."))
            let exported = try ana.succeed(["export", toBen, "--since", benVector])
            #expect(exported.stdout.contains("Wrote 2 entries"), "\(exported)")
            let imported = try ben.succeed(["import", toBen])
            #expect(imported.stdout.contains("Imported 2 new entries"), "\(imported)")

            let toAna = cluster.root.appendingPathComponent("to-ana.mkb").path
            try ben.succeed(["export", toAna])  // everything
            try ana.succeed(["import", toAna])
            #expect(try ana.status().digest == (try ben.status().digest))
            #expect(try ben.shareTexts().contains("Ana, at home.") && ana.shareTexts().contains("Ben, far away."))

            // Importing again changes nothing.
            let before = try ben.status()
            let again = try ben.succeed(["import", toBen])
            #expect(again.stdout.contains("Imported 0 new entries"), "\(again)")
            #expect(try ben.status().digest == before.digest && ben.status().entries == before.entries)

            // Nothing readable in the file.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: toAna))
            for text in ["Ben, far away.", "Circle", "Ana", "Ben"] { #expect(bytes.range(of: Data(text.utf8)) == nil, "\(text)") }
        }
    }

    @Test func truncatedTamperedAndForeignBundlesAreRefusedWithNothingChanged() throws {
        try withCluster { cluster in
            let (ana, ben, anaNode) = try cluster.anaFoundsAndBenJoins()
            #expect(anaNode.process.stop())
            try ana.succeed(["share", "Only for the Circle."])
            let bundle = cluster.root.appendingPathComponent("circle.mkb")
            try ana.succeed(["export", bundle.path])
            let bytes = try Data(contentsOf: bundle)
            let entriesBefore = try ben.status().entries

            var damaged: [(String, Data)] = [1, bytes.count / 2, bytes.count - 1].map { ("truncated to \($0)", bytes.prefix($0)) }
            var flipped = bytes
            flipped[bytes.count / 2] ^= 1
            damaged.append(("one byte changed", flipped))
            for (what, data) in damaged {
                let file = cluster.root.appendingPathComponent("damaged.mkb")
                try data.write(to: file)
                let result = try ben.meetkit(["import", file.path])
                #expect(result.status == 1, "\(what): \(result)")
                #expect(result.stderr.hasPrefix("meetkit: ") && result.stderr.contains("Nothing was changed."), "\(what): \(result)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(what): \(result)")
            }
            #expect(try ben.status().entries == entriesBefore)

            // A bundle of another group: refused as not for any group of Ben's.
            let cy = cluster.member("Cy")
            try cy.initialize()
            try cy.succeed(["group", "create", "Other Circle"])
            let foreign = cluster.root.appendingPathComponent("foreign.mkb")
            try cy.succeed(["export", foreign.path])
            let refused = try ben.meetkit(["import", foreign.path])
            #expect(refused.status == 1 && refused.stderr.contains("opens under none of your groups' keys"), "\(refused)")
            #expect(try ben.status().entries == entriesBefore)
        }
    }
}
