import ArgumentParser
import MeetKitStore

struct Verify: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-check every signature, hash chain and body hash, and the database's integrity.",
        discussion: "Exits 1 with the reason when anything is wrong. Changes nothing.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    func run() throws {
        let report = try node.openStore().verify()
        if output.json {
            return try Output.json(["entries": report.entries, "bodies": report.bodies, "feeds": report.feeds, "groups": report.groups])
        }
        Output.line(
            "Verified \(report.entries) entries in \(report.feeds) feed(s) of \(report.groups) group(s): signatures, "
                + "hash chains and \(report.bodies) body hash(es) are intact; SQLite's integrity check passed.")
    }
}
