import Foundation
import MeetKitTestSupport
import Testing

/// Examples/Embedding: a program that uses the engine (`import MeetKit`) directly. What it
/// writes, the `meetkit` command line reads.
@Suite struct EmbeddingExampleTests {
    @Test func theEmbeddedNodeIsAnOrdinaryNode() throws {
        try withSession { s in
            let example = try BuiltProducts.executable("meetkit-embedding-example").path
            let result = try s.run(example, [s.home])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("Robin shared: Written through the engine."), "\(result)")
            #expect(result.stdout.contains("Robin checked in: mood 4/5, 12 days: Steady today."), "\(result)")
            #expect(result.stdout.contains("1 share(s), 1 check-in(s)") && result.stdout.contains("6 entries"), "\(result)")
            let log = try s.succeed(["log"]).stdout
            #expect(log.contains("Meeting \u{201C}Getting started\u{201D}"), "\(log)")
            #expect(log.contains("Written through the engine.") && log.contains("Robin checked in: mood 4/5, 12 days"), "\(log)")
            try s.succeed(["verify"])
        }
    }
}
