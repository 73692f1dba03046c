import ArgumentParser
import Foundation
import MeetKitStore

struct Verify: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-check every signature, hash chain and body hash, and the database's integrity.",
        discussion: """
            Exits 1 with the reason when anything is wrong. Also names files in the data
            directory that are not MeetKit's (a keystore.tmp left by a crash, say), without
            touching them. Changes nothing.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    /// What belongs in a data directory (Protocol/storage.md §Data directory).
    static let known: Set<String> = ["keystore", "lock", "log.sqlite", "log.sqlite-wal", "log.sqlite-shm", "control.sock"]

    struct Report: Encodable {
        let entries: Int
        let bodies: Int
        let feeds: Int
        let groups: Int
        let orphanedFiles: [String]
    }

    func run() throws {
        let store = try node.openStore()
        let verified = try store.verify()
        let orphans = ((try? FileManager.default.contentsOfDirectory(atPath: store.directory.path)) ?? [])
            .filter { !Self.known.contains($0) }.sorted()
        let report = Report(
            entries: verified.entries, bodies: verified.bodies, feeds: verified.feeds, groups: verified.groups, orphanedFiles: orphans)
        if output.json { return try Output.json(report) }
        Output.line(
            "Verified \(report.entries) entries in \(report.feeds) feed(s) of \(report.groups) group(s): signatures, "
                + "hash chains and \(report.bodies) body hash(es) are intact; SQLite's integrity check passed.")
        if !orphans.isEmpty {
            Output.line(
                "Not MeetKit's, left alone: \(orphans.map(Output.safe).joined(separator: ", ")) in \(store.directory.path) "
                    + "(a .tmp file is a write a crash interrupted; remove it if nothing is running).")
        }
    }
}
