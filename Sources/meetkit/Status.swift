import ArgumentParser
import MeetKitCore
import MeetKitStore

struct Status: ParsableCommand, NodeCommand {
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

    struct Report: Encodable {
        struct Group: Encodable {
            let id: String
            let name: String?
            let entries: Int
            let feeds: Int
            let epoch: UInt32
            let digest: String
            /// Feeds whose authors signed two entries at one place (Protocol/sync.md §Forks).
            let quarantined: [Quarantined]
        }
        struct Quarantined: Encodable {
            let member: String
            let name: String
            let sequence: UInt64
        }
        let member: String
        let fingerprint: String
        let name: String
        let home: String
        let entries: Int
        let digest: String
        let groups: [Group]
    }

    func run() throws {
        let store = try node.openStore()
        if vector { return Output.line(store.versionVector(of: try store.resolveGroup(selection.group)).text) }
        let groups = store.groups
        let digest: [UInt8]
        if selection.group != nil || groups.count == 1 {
            digest = store.summary(of: try store.resolveGroup(selection.group)).digest
        } else {
            digest = LogDigest.combined(groups.sorted { $0.id < $1.id }.map(\.digest))
        }
        let report = Report(
            member: store.memberID.hex, fingerprint: store.memberID.fingerprint, name: store.pseudonym,
            home: store.directory.path, entries: store.entryCount, digest: Hex.encode(digest),
            groups: groups.map { group in
                let state = store.forks(in: group.id).isEmpty ? nil : store.state(of: group.id)
                return Report.Group(
                    id: group.id.hex, name: group.name, entries: group.entries, feeds: group.feeds, epoch: group.epoch,
                    digest: Hex.encode(group.digest),
                    quarantined: store.forks(in: group.id).map { fork in
                        Report.Quarantined(
                            member: fork.author.hex, name: state?.displayName(of: fork.author) ?? fork.author.fingerprint,
                            sequence: fork.sequence)
                    })
            })
        if output.json { return try Output.json(report) }

        Output.line("Member       \(Output.safe(report.name)) (\(report.fingerprint))")
        Output.line("Member id    \(report.member)")
        Output.line("Data         \(report.home)")
        Output.line("Entries      \(report.entries)")
        Output.line("Log digest   \(report.digest.prefix(16))")
        if groups.isEmpty {
            Output.line("Groups       none yet: 'meetkit group create NAME' founds one")
        }
        for group in report.groups {
            let name = group.name.map(Output.safe) ?? "(unnamed)"
            Output.line("Group        \(name)  id \(group.id.prefix(8))  \(group.entries) entries from \(group.feeds) member(s), epoch \(group.epoch), digest \(group.digest.prefix(16))")
            for fork in group.quarantined {
                Output.line("  Forked     \(Output.safe(fork.name)) signed two different entries at #\(fork.sequence); nothing more of their feed is accepted (proof kept)")
            }
        }
    }
}
