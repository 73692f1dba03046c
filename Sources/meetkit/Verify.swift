import ArgumentParser
import MeetKit

struct Verify: ParsableCommand, EngineCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-check every signature, hash chain and body hash, and the database's integrity.",
        discussion: """
            Exits 1 with the reason when anything is wrong. Also names files in the data
            directory that are not MeetKit's (a keystore.tmp left by a crash, say), without
            touching them. Changes nothing.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    func request() throws -> Request { .verify }

    func render(_ response: Response) throws -> String {
        let report = try expect(response, \.verified)
        if output.json { return try Output.jsonText(report) }
        var lines = [
            "Verified \(report.entries) entries in \(report.feeds) feed(s) of \(report.groups) group(s): signatures, "
                + "hash chains and \(report.bodies) body hash(es) are intact; SQLite's integrity check passed."
        ]
        if !report.orphanedFiles.isEmpty {
            lines.append(
                "Not MeetKit's, left alone: \(report.orphanedFiles.map(Output.safe).joined(separator: ", ")) in \(node.directory.path) "
                    + "(a .tmp file is a write a crash interrupted; remove it if nothing is running).")
        }
        return lines.joined(separator: "\n")
    }
}
