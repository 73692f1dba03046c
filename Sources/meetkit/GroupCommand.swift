import ArgumentParser
import Foundation
import MeetKit
import MeetKitCore
import MeetKitCrypto
import MeetKitNode
import MeetKitStore

struct GroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "Found, join and manage groups.",
        subcommands: [Create.self, Invite.self, Join.self, Members.self, Remove.self, Admin.self, Retention.self])

    struct Create: ParsableCommand, EngineCommand {
        static let configuration = CommandConfiguration(
            abstract: "Found a new group, with you as its first member and admin.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var output: JSONFlag

        @Argument(help: "The group's name; only members ever see it.")
        var name: String

        func request() throws -> Request { .createGroup(name: name) }

        func render(_ response: Response) throws -> String {
            let created = try expect(response, \.groupCreated)
            if output.json { return try Output.jsonText(["id": created.id, "name": created.name]) }
            return "Founded group \(Output.safe(created.name)) (id \(created.id.prefix(8))); you are its first member."
        }
    }

    struct Invite: ParsableCommand, EngineCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite someone: prints a one-time invite code as the last line.",
            discussion: """
                Give the code to the new member in person (it is a secret: whoever holds it can
                join). On the same network as a member's running node they run
                'meetkit group join CODE' (or 'meetkit group join -' to paste it), which finds
                that node over DNS-SD; elsewhere, add --peer HOST:PORT. --qr also draws it as
                a QR code (needs the Debian package qrencode).
                """)

        @OptionGroup var node: NodeOptions
        @OptionGroup var selection: GroupOption

        @Option(name: .long, help: "How long the code stays valid: for example 30m, 12h, 7d.")
        var expires = "7d"

        @Flag(name: .long, help: "Also draw the code as a QR code in the terminal.")
        var qr = false

        func request() throws -> Request { .invite(lifetime: try Duration.expiresOption(expires), group: selection.group) }

        func render(_ response: Response) throws -> String {
            let invited = try expect(response, \.invited)
            var lines = ["Invite to \(invited.name.map(Output.safe) ?? "the group"), valid for \(expires) and for one person. Keep it secret."]
            if qr { lines.append(try QRCode.render(invited.code)) }
            lines.append(invited.code)
            return lines.joined(separator: "\n")
        }
    }

    struct Join: EngineCommand {
        static let configuration = CommandConfiguration(
            abstract: "Join a group with an invite code, through a member's running node.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var output: JSONFlag

        @Argument(help: "The invite code (starts with mk1.), or - to read it from stdin (it stays out of the process list).")
        var code: String

        @Option(name: .long, help: "The address of a member's running node (HOST:PORT); without it, one is looked for over DNS-SD.")
        var peer: String?

        func validate() throws {
            guard code == "-" || InviteCode(text: code) != nil else {
                throw ValidationError("That is not a complete MeetKit invite code.")
            }
            if let peer, PeerAddress(peer) == nil { throw ValidationError("--peer must be HOST:PORT.") }
        }

        func request() throws -> Request { .join(code: code, peer: peer) }

        func render(_ response: Response) throws -> String {
            let joined = try expect(response, \.joined)
            if output.json {
                return try Output.jsonText(["group": joined.group, "name": joined.name ?? "", "received": "\(joined.received)", "through": joined.through])
            }
            return "Joined \(Output.safe(joined.name ?? "the group")) (id \(joined.group.prefix(8))) through \(Output.safe(joined.throughName))'s node "
                + "(\(joined.throughFingerprint)): received \(joined.received) entries."
        }
    }

    struct Members: ParsableCommand, EngineCommand {
        static let configuration = CommandConfiguration(abstract: "List the group's members, with their fingerprints.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var selection: GroupOption
        @OptionGroup var output: JSONFlag

        func request() throws -> Request { .members(group: selection.group) }

        func render(_ response: Response) throws -> String {
            let members = try expect(response, \.members)
            if output.json { return try Output.jsonText(members) }
            return members.map { member in
                let notes = [member.founder ? "founder" : nil, member.admin ? "admin" : nil, member.you ? "you" : nil].compactMap { $0 }
                return "\(member.fingerprint)  \(Output.safe(member.name))\(notes.isEmpty ? "" : "  (" + notes.joined(separator: ", ") + ")")"
            }.joined(separator: "\n")
        }
    }

    struct Remove: ParsableCommand, EngineCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a member (admins only): a new epoch begins whose keys they never get.",
            discussion: """
                Writes one re-key entry: fresh content and network keys, sealed to every
                remaining member. From then on the removed member's node cannot complete a
                handshake with any member, cannot read new adverts, and cannot decrypt anything
                written after, and anything they write later is refused by every member. What
                they already held, they keep. Invite codes made before the removal stop working.
                Admins rank by seniority (the founder first, then in the order they were made
                admins): an admin can remove members and admins made after them, never a more
                senior one.
                """)

        @OptionGroup var node: NodeOptions
        @OptionGroup var target: MemberSelection

        func request() throws -> Request { .remove(member: target.member, group: target.selection.group) }

        func render(_ response: Response) throws -> String {
            let removed = try expect(response, \.memberChanged)
            return "Removed \(Output.safe(removed.name)) (\(removed.fingerprint)); epoch \(removed.epoch ?? 0) began, with keys only the remaining members hold."
        }
    }

    struct Admin: ParsableCommand, EngineCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a member an admin (admins only): admins invite, remove and make admins.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var target: MemberSelection

        func request() throws -> Request { .makeAdmin(member: target.member, group: target.selection.group) }

        func render(_ response: Response) throws -> String {
            let admin = try expect(response, \.memberChanged)
            return "\(Output.safe(admin.name)) (\(admin.fingerprint)) is now an admin."
        }
    }
}

extension GroupCommand {
    struct Retention: ParsableCommand, EngineCommand {
        static let configuration = CommandConfiguration(
            abstract: "How long the group keeps shares (admins only): 'what's said here stays here'.",
            discussion: """
                After this long, every member's node drops a share's text from its files,
                keeping the signed header. 'off' keeps shares. Applies to shares already written.
                """)

        @OptionGroup var node: NodeOptions
        @OptionGroup var selection: GroupOption

        @Argument(help: "For example 30d, 12h; or off.")
        var lifetime: String

        func request() throws -> Request {
            // Checked here rather than in validate(), so that the refusal is one line on stderr.
            if lifetime == "off" { return .setRetention(milliseconds: 0, group: selection.group) }
            guard let parsed = Duration.milliseconds(lifetime), parsed >= Duration.shortestRetention else {
                throw CLIError("The lifetime must look like 12h or 30d, be from 1 hour to 100 years, or be off.")
            }
            return .setRetention(milliseconds: parsed, group: selection.group)
        }

        func render(_ response: Response) throws -> String {
            let set = try expect(response, \.retentionSet)
            return set.milliseconds == 0 ? "Shares are kept." : "Shares are kept for \(lifetime), then dropped on every member's node."
        }
    }
}

/// A group and one of its members, as `group remove` and `group admin` name them.
struct MemberSelection: ParsableArguments {
    @OptionGroup var selection: GroupOption

    @Argument(help: "The member: fingerprint, name, or member id prefix.")
    var member: String
}

/// Every duration a user types ("30m", "12h", "7d", "45s") goes through here, so that
/// nothing downstream can overflow: a plain positive decimal (no sign, exponent, inf or nan)
/// and a unit, from 1 second to 100 years.
extension Duration {
    static let shortestSeconds: TimeInterval = 1
    static let longestSeconds: TimeInterval = 100 * 365 * 86_400
    /// The shortest retention a group's rules accept (other than 0, "off").
    static let shortestRetention: Int64 = 3_600_000

    /// Seconds in "30m", "12h", "7d" (or "45s"); nil unless well-formed and 1 second … 100 years.
    static func parse(_ text: String) -> TimeInterval? {
        let seconds: TimeInterval
        switch text.last {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3_600
        case "d": seconds = 86_400
        default: return nil
        }
        let number = text.utf8.dropLast()
        let parts = number.split(separator: UInt8(ascii: "."), maxSplits: 2, omittingEmptySubsequences: false)
        guard number.count <= 24, (1...2).contains(parts.count),
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
            let value = Double(String(decoding: number, as: UTF8.self))
        else { return nil }
        let total = value * seconds
        guard total.isFinite, total >= shortestSeconds, total <= longestSeconds else { return nil }
        return total
    }

    /// Milliseconds in `text` (see `parse`); never overflows: at most 100 years is about 3.2e12 ms.
    static func milliseconds(_ text: String) -> Int64? {
        parse(text).flatMap { Int64(exactly: ($0 * 1000).rounded()) }
    }

    /// The time `milliseconds` after `date`, in milliseconds since 1970; nil if that is not an Int64.
    static func milliseconds(_ milliseconds: Int64, after date: Date) -> Int64? {
        let total = (date.timeIntervalSince1970 * 1000).rounded() + Double(milliseconds)
        return total.isFinite ? Int64(exactly: total) : nil
    }

    /// The milliseconds an --expires option gives, or a one-sentence refusal.
    static func expiresOption(_ text: String) throws -> Int64 {
        guard let milliseconds = milliseconds(text) else {
            throw CLIError("--expires must look like 30m, 12h or 7d, and be from 1 second to 100 years.")
        }
        return milliseconds
    }
}
