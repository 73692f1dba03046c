import Foundation
import MeetKitTestSupport
import Testing

/// Examples/Embedding: a program that uses the library directly. What it writes, the
/// `meetkit` command line reads.
@Suite struct EmbeddingExampleTests {
    @Test func theEmbeddedNodeIsAnOrdinaryNode() throws {
        try withSession { s in
            let example = try BuiltProducts.executable("meetkit-embedding-example").path
            let result = try s.run(example, [s.home])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("Robin checked in: mood 4/5, 12 days: Written through the library."), "\(result)")
            #expect(result.stdout.contains("verified 3 entries"), "\(result)")
            let log = try s.succeed(["log"]).stdout
            #expect(log.contains("Robin checked in: mood 4/5, 12 days") && log.contains("Written through the library."), "\(log)")
            try s.succeed(["verify"])
        }
    }
}
