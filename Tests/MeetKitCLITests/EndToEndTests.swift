import Foundation
import MeetKit
import MeetKitNode
import Testing

/// The built `meetkit` binary, driven the way a member (or a script) uses it.
@Suite struct EndToEndTests {
    @Test func aMeetingFromInitToVerify() throws {
        try withSession { s in
            let created = try s.succeed(["init", "--name", "Ana", "--kdf", "interactive"])
            #expect(created.stdout.contains("Ana"))
            try s.succeed(["group", "create", "Circle"])
            try s.succeed(["meeting", "start", "--topic", "Step four"])
            try s.succeed(["share", "Tonight I called my sponsor."])
            try s.succeed(["checkin", "--mood", "4", "--note", "Feeling steady", "--days", "30", "--support"])
            let ended = try s.succeed(["meeting", "end"])
            #expect(ended.stdout.contains("1 share(s), 1 check-in(s)"))
            try s.succeed(["share", "Said after the meeting."])

            // log --json
            let log = try s.succeed(["log", "--json"])
            let elements = try #require(try JSONSerialization.jsonObject(with: Data(log.stdout.utf8)) as? [[String: Any]])
            #expect(elements.map { $0["kind"] as? String } == [
                "genesis", "profile", "meeting-open", "share", "check-in", "meeting-close", "share",
            ])
            for element in elements {
                #expect(Self.isHex64(element["id"]), "id: \(element)")
                #expect(Self.isHex64(element["author"]), "author: \(element)")
                let time = try #require(element["time"] as? String)
                #expect(Self.parseTime(time) != nil, "time: \(time)")
            }
            #expect(Set(elements.compactMap { $0["id"] as? String }).count == 7)
            let meetingID = try #require(elements[2]["id"] as? String)
            #expect(elements[2]["topic"] as? String == "Step four")
            #expect(elements[3]["text"] as? String == "Tonight I called my sponsor.")
            #expect(elements[3]["meeting"] as? String == meetingID)
            #expect(elements[4]["note"] as? String == "Feeling steady")
            #expect(elements[4]["mood"] as? Int == 4)
            #expect(elements[4]["milestoneDays"] as? Int == 30)
            #expect(elements[4]["wantsSupport"] as? Bool == true)
            #expect(elements[4]["meeting"] as? String == meetingID)
            #expect(elements[5]["meeting"] as? String == meetingID)
            #expect(elements[6]["text"] as? String == "Said after the meeting.")
            #expect(elements[6]["meeting"] == nil)
            #expect(elements[0]["name"] as? String == "Circle")
            #expect(elements[1]["pseudonym"] as? String == "Ana")

            // status --json
            let status = try s.succeed(["status", "--json"])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let member = try #require(report["member"] as? String)
            #expect(Self.isHex64(member))
            #expect(elements.allSatisfy { $0["author"] as? String == member })
            #expect(Self.isHex64(report["digest"]))
            #expect(report["entries"] as? Int == elements.count)

            // The human log groups the meeting's entries under its heading.
            let text = try s.succeed(["log"]).stdout
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let heading = try #require(lines.firstIndex { $0.hasPrefix("Meeting") && $0.contains("Step four") }, "\(text)")
            let inside = try #require(lines.firstIndex { $0.contains("Tonight I called my sponsor.") }, "\(text)")
            let note = try #require(lines.firstIndex { $0.contains("Feeling steady") }, "\(text)")
            let closed = try #require(lines.firstIndex { $0.contains("closed the meeting") }, "\(text)")
            let after = try #require(lines.firstIndex { $0.contains("Said after the meeting.") }, "\(text)")
            #expect(heading < inside && inside < note && note < closed && closed < after, "\(text)")
            #expect(!lines[heading...closed].contains(""), "the meeting's section is one block: \(text)")
            #expect(lines[closed..<after].contains(""), "the later share is outside the meeting: \(text)")
            #expect(lines.contains { $0.contains("mood 4/5") && $0.contains("30 days") && $0.contains("would like support") })

            let verified = try s.succeed(["verify"])
            #expect(verified.stdout.contains("7 entries"))
        }
    }

    @Test func helpListsEverySubcommand() throws {
        try withSession { s in
            let help = try s.meetkit(["--help"])
            #expect(help.status == 0, "\(help)")
            for command in ["init", "status", "group", "meeting", "share", "checkin", "log", "verify"] {
                #expect(help.stdout.contains("  \(command)"), "'\(command)' missing from: \(help.stdout)")
            }
            let group = try s.meetkit(["group", "--help"])
            #expect(group.status == 0 && group.stdout.contains("create"), "\(group)")
            let meeting = try s.meetkit(["meeting", "--help"])
            #expect(meeting.status == 0 && meeting.stdout.contains("start") && meeting.stdout.contains("end"), "\(meeting)")
        }
    }

    @Test func aPassphraseFileUnlocksTheNode() throws {
        try withSession { s in
            try s.setUpGroup()
            let file = s.root.appendingPathComponent("passphrase").path
            try Data((s.passphrase + "\n").utf8).write(to: URL(fileURLWithPath: file))
            try s.succeed(["share", "via a file", "--passphrase-file", file], env: ["MEETKIT_PASSPHRASE": nil])
            #expect(try s.entryCount() == 3)
        }
    }

    /// `meetkit run &` followed at once by a write: the command finds the node holding the data
    /// directory while it unlocks (moderate hardening: 0.4 s) and loads, before its control
    /// socket exists; it waits for the socket and hands the node the command.
    @Test func aCommandGivenWhileTheNodeStartsWaitsForIt() throws {
        try withSession { s in
            try s.succeed(["init", "--name", "Ana", "--kdf", "moderate"])
            try s.succeed(["group", "create", "Circle"])
            try Self.withNode(s) { node, socket in
                Self.wait(for: node) { Self.isLocked(s.home + "/lock") }
                #expect(!FileManager.default.fileExists(atPath: socket), "the node was up before the command was given")

                try s.succeed(["share", "said while the node was starting"])
                #expect(FileManager.default.fileExists(atPath: socket))
                #expect(node.isRunning)
                let log = try s.succeed(["log"]).stdout
                #expect(log.contains("said while the node was starting"))
            }
        }
    }

    /// `log --meeting latest`, `--since` and `--limit` show part of the log, saying how much of
    /// it; a filter that names nothing, or a limit of 0, is one clear sentence.
    @Test func theLogShowsOneMeetingOrTheLatestEntries() throws {
        try withSession { s in
            try s.setUpGroup()
            try s.succeed(["share", "before any meeting"])
            try s.succeed(["meeting", "start", "--topic", "Hope"])
            try s.succeed(["share", "in the meeting"])
            let latest = try s.succeed(["log", "--meeting", "latest"]).stdout
            #expect(latest.contains("5 entries") && latest.contains("showing 2"), "\(latest)")
            #expect(latest.contains("in the meeting") && !latest.contains("before any meeting"), "\(latest)")
            let last = try s.succeed(["log", "--limit", "1", "--json"]).stdout
            #expect(last.contains("in the meeting") && !last.contains("Hope"), "\(last)")
            let recent = try s.succeed(["log", "--since", "1h"]).stdout
            #expect(recent.contains("before any meeting") && recent.contains("in the meeting"))
            let before = s.snapshot()
            for (arguments, word) in [
                (["log", "--limit", "0"], "limit"), (["log", "--meeting", "00000000"], "no meeting"), (["log", "--since", "soon"], "--since"),
            ] {
                s.expectRefused(try s.meetkit(arguments), unchanged: before, mentioning: [word])
            }
        }
    }

    /// Two members through a running node: `join --json` and `sync --json` report what
    /// crossed, the counts as numbers (the benchmark and scripts read them so); before Ben
    /// joins, a sync says why there is no one to sync with.
    @Test func joinAndSyncReportWhatCrossed() throws {
        try HostileWorld.with { w in
            for name in ["Ana", "Ben"] { try w.initialize(name) }
            try w.succeed("Ana", ["group", "create", "Circle"])
            let anaNode = try w.run("Ana")
            // Before Ben joins, neither has anyone to sync with, and each is told why.
            let alone = try w.meetkit("Ana", ["sync", "--peer", anaNode.address])
            #expect(alone.status == 1 && alone.stderr.contains("No one else is in your group yet"), "\(alone)")
            let outside = try w.meetkit("Ben", ["sync", "--peer", anaNode.address])
            #expect(outside.status == 1 && outside.stderr.contains("You are in no group yet"), "\(outside)")
            let joined = try Self.object(try w.succeed("Ben", ["group", "join", try w.invite("Ana"), "--peer", anaNode.address, "--json"]).stdout)
            #expect(joined["name"] as? String == "Circle", "\(joined)")
            for text in ["one", "two", "three"] { try w.succeed("Ana", ["share", text]) }
            let synced = try Self.object(try w.succeed("Ben", ["sync", "--peer", anaNode.address, "--json"]).stdout)
            #expect(synced["received"] as? Int == 3 && synced["sent"] as? Int == 0, "\(synced)")
            #expect(synced["name"] as? String == "Ana" && synced["address"] as? String == anaNode.address, "\(synced)")
            w.stop(anaNode)
        }
    }

    static func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    /// A running node speaks the control protocol of Protocol/control.md: a request of another
    /// version and lines that are not requests each get one clear error, and it goes on
    /// serving commands.
    @Test func theRunningNodeAnswersABadControlRequestWithAnErrorAndKeepsServing() throws {
        try withSession { s in
            try s.setUpGroup()
            try Self.withNode(s) { node, socket in
                Self.wait(for: node) { FileManager.default.fileExists(atPath: socket) }
                let share = String(decoding: try JSONEncoder().encode(Request.share(text: "sneaked", expiresIn: nil, group: nil)), as: UTF8.self)
                for (line, code) in [
                    ("{\"version\":99,\"request\":\(share)}", EngineError.Code.unsupportedVersion),
                    ("{\"version\":1,\"request\":{\"launch\":{}}}", .malformedRequest),
                    ("\u{0}\u{1}garbage", .malformedRequest),
                ] {
                    let answer = try #require(try ControlClient.send(Array(line.utf8), to: socket), "the node did not answer \(line)")
                    let reply = try JSONDecoder().decode(Control.Reply.self, from: Data(answer))
                    #expect(reply.error?.code == code && reply.response == nil, "\(line)")
                }
                #expect(node.isRunning)
                try s.succeed(["share", "after the bad requests"])
                let log = try s.succeed(["log", "--json"]).stdout
                #expect(log.contains("after the bad requests") && !log.contains("sneaked"))
            }
        }
    }

    /// `body` with `meetkit run` running for session `s` (on loopback, without discovery), and
    /// the path of its control socket; the node is stopped afterwards.
    static func withNode(_ s: CLISession, _ body: (Process, String) throws -> Void) throws {
        let node = Process()
        node.executableURL = URL(fileURLWithPath: s.meetkitPath)
        node.arguments = ["run", "--listen", "127.0.0.1:0", "--no-discovery"]
        node.environment = s.environment()
        node.standardInput = FileHandle.nullDevice
        node.standardOutput = FileHandle.nullDevice
        node.standardError = FileHandle.nullDevice
        try node.run()
        defer {
            node.terminate()
            node.waitUntilExit()
        }
        try body(node, s.home + "/control.sock")
    }

    /// Returns once `condition` holds, `node` has stopped, or 20 s have passed.
    static func wait(for node: Process, _ condition: () -> Bool) {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition(), node.isRunning, ContinuousClock.now < deadline { usleep(2_000) }
    }

    /// Whether another process holds the flock on `path`.
    static func isLocked(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    static func isHex64(_ value: Any?) -> Bool {
        guard let string = value as? String else { return false }
        return string.count == 64 && string.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
