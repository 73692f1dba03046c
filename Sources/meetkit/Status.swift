import ArgumentParser
import MeetKit

struct Status: ParsableCommand, EngineCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show this member, their groups, entry counts and the log digest.",
        discussion: """
            Members whose logs have converged print the same digest. 'digest' is the digest of
            the selected group (--group, or the only one); with several groups and none
            selected, it is the BLAKE2b-256 of the groups' digests in group-id order.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var selection: GroupOption
    @OptionGroup var output: JSONFlag

    @Flag(name: .long, help: "Print only the group's version vector, for another member's 'meetkit export --since'.")
    var vector = false

    func request() throws -> Request {
        vector ? .versionVector(group: selection.group) : .status(group: selection.group)
    }

    func render(_ response: Response) throws -> String {
        if vector { return try expect(response, \.text) }
        let report = try expect(response, \.status)
        if output.json { return try Output.jsonText(report) }
        var lines = [
            "Member       \(Output.safe(report.name)) (\(report.fingerprint))",
            "Member id    \(report.member)",
            "Data         \(report.home)",
            "Entries      \(report.entries)",
            "Log digest   \(report.digest.prefix(16))",
        ]
        if report.groups.isEmpty {
            lines.append("Groups       none yet: 'meetkit group create NAME' founds one")
        }
        for group in report.groups {
            let name = group.name.map(Output.safe) ?? "(unnamed)"
            lines.append("Group        \(name)  id \(group.id.prefix(8))  \(group.entries) entries from \(group.feeds) member(s), epoch \(group.epoch), digest \(group.digest.prefix(16))")
            for fork in group.quarantined {
                lines.append("  Forked     \(Output.safe(fork.name)) signed two different entries at #\(fork.sequence); nothing more of their feed is accepted (proof kept)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
