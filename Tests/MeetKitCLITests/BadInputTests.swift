import Foundation
import Testing

/// Each mistake a member can make gives one clear sentence on stderr, a non-zero exit, and
/// leaves the data directory byte for byte as it was.
@Suite struct BadInputTests {
    @Test func wrongPassphrase() throws {
        try withSession { s in
            try s.setUpGroup()
            let wrong = "wrong-\(UUID().uuidString)"
            s.addSecret(wrong)
            let before = s.snapshot()
            for command in [["share", "hello"], ["log"], ["status"], ["verify"]] {
                let result = try s.meetkit(command, env: ["MEETKIT_PASSPHRASE": wrong])
                s.expectRefused(result, unchanged: before, mentioning: ["passphrase"])
            }
        }
    }

    @Test func wrongPassphraseFile() throws {
        try withSession { s in
            try s.setUpGroup()
            let wrong = "wrong-\(UUID().uuidString)"
            s.addSecret(wrong)
            let file = s.root.appendingPathComponent("passphrase").path
            try Data((wrong + "\n").utf8).write(to: URL(fileURLWithPath: file))
            let before = s.snapshot()
            // The file wins over the environment, which holds the right passphrase here.
            let result = try s.meetkit(["share", "hello", "--passphrase-file", file])
            s.expectRefused(result, unchanged: before, mentioning: ["passphrase"])
            let missing = try s.meetkit(["share", "hello", "--passphrase-file", s.root.appendingPathComponent("nope").path])
            s.expectRefused(missing, unchanged: before, mentioning: ["passphrase file"])
        }
    }

    @Test func noDataDirectory() throws {
        try withSession { s in
            for command in [["share", "hello"], ["status"], ["log"], ["verify"], ["group", "create", "Circle"], ["meeting", "start"]] {
                let result = try s.meetkit(command)
                s.expectRefused(result, unchanged: s.snapshot(), mentioning: ["init"])
                #expect(!FileManager.default.fileExists(atPath: s.home), "\(command) created the data directory")
            }
        }
    }

    @Test func commandsBeforeAGroupExists() throws {
        try withSession { s in
            try s.succeed(["init", "--name", "Ana", "--kdf", "interactive"])
            let before = s.snapshot()
            for command in [["share", "hello"], ["checkin", "--mood", "3"], ["meeting", "start"], ["meeting", "end"], ["log"]] {
                let result = try s.meetkit(command)
                s.expectRefused(result, unchanged: before, mentioning: ["group create"])
            }
            let status = try s.succeed(["status"])
            #expect(status.stdout.contains("none yet"))
        }
    }

    @Test func initTwiceChangesNothing() throws {
        try withSession { s in
            try s.setUpGroup()
            let before = s.snapshot()
            let result = try s.meetkit(["init", "--name", "Bea", "--kdf", "interactive"])
            s.expectRefused(result, unchanged: before, mentioning: ["already"])
        }
    }

    @Test func endingWhenNoMeetingIsOpen() throws {
        try withSession { s in
            try s.setUpGroup()
            let before = s.snapshot()
            s.expectRefused(try s.meetkit(["meeting", "end"]), unchanged: before, mentioning: ["no meeting"])
        }
    }

    @Test func startingASecondMeeting() throws {
        try withSession { s in
            try s.setUpGroup()
            try s.succeed(["meeting", "start", "--topic", "First"])
            let before = s.snapshot()
            s.expectRefused(try s.meetkit(["meeting", "start", "--topic", "Second"]), unchanged: before, mentioning: ["still open"])
            #expect(try s.entryCount() == 3)
        }
    }

    @Test(arguments: ["0", "6", "-1", "many"])
    func moodOutOfRange(mood: String) throws {
        try withSession { s in
            try s.setUpGroup()
            let before = s.snapshot()
            let result = try s.meetkit(["checkin", "--mood", mood])
            // A usage error from the argument parser: only the exit status and the files matter.
            #expect(result.status != 0, "\(result)")
            #expect(s.snapshot() == before)
            #expect(try s.entryCount() == 2)
        }
    }

    @Test func oversizedShare() throws {
        try withSession { s in
            try s.setUpGroup()
            let before = s.snapshot()
            let ascii = String(repeating: "a", count: 16_001)
            s.expectRefused(try s.meetkit(["share", ascii]), unchanged: before, mentioning: ["16000 bytes"])
            // The limit counts UTF-8 bytes, not characters: 8,001 × "é" is 16,002 bytes.
            let accented = String(repeating: "é", count: 8_001)
            s.expectRefused(try s.meetkit(["share", accented]), unchanged: before, mentioning: ["16000 bytes"])
            #expect(try s.entryCount() == 2)

            // Exactly at the limit is fine.
            try s.succeed(["share", String(repeating: "b", count: 16_000)])
            #expect(try s.entryCount() == 3)
        }
    }

    @Test func oversizedNoteAndName() throws {
        try withSession { s in
            try s.setUpGroup()
            let before = s.snapshot()
            s.expectRefused(
                try s.meetkit(["checkin", "--mood", "3", "--note", String(repeating: "n", count: 4_001)]),
                unchanged: before, mentioning: ["note"])
            s.expectRefused(
                try s.meetkit(["group", "create", String(repeating: "g", count: 129)]), unchanged: before,
                mentioning: ["group name"])
            s.expectRefused(try s.meetkit(["share", ""]), unchanged: before, mentioning: ["empty"])
        }
    }

    /// A duration that once trapped on converting to Int64 (1e300d, infd), or is merely out of
    /// range or not plainly written, is refused in one sentence, and nothing is written.
    @Test func durationsOutOfRange() throws {
        try withSession { s in
            try s.setUpGroup()
            let before = s.snapshot()
            let garbage = ["1e300d", "infd", "nand", "1e3d", "101y", "36501d", "-1d", "+1d", "0.5s", "0d", "1.5.3h", ".5h", "1_000d", "d"]
            for expires in garbage {
                // "--expires=VALUE", so that "-1d" reaches the command rather than the argument parser.
                s.expectRefused(try s.meetkit(["share", "x", "--expires=" + expires]), unchanged: before, mentioning: ["--expires"])
            }
            for expires in ["1e300d", "infd", "36501d"] {
                s.expectRefused(try s.meetkit(["group", "invite", "--expires", expires]), unchanged: before, mentioning: ["--expires"])
            }
            for lifetime in ["10m", "59m", "3599s", "1e300d", "infd", "36501d", "0h"] {
                s.expectRefused(try s.meetkit(["group", "retention", lifetime]), unchanged: before, mentioning: ["1 hour"])
            }
            #expect(try s.entryCount() == 2)

            // The limits themselves are fine: 100 years, 1 second, and a retention of 1 hour.
            try s.succeed(["share", "x", "--expires", "36500d"])
            try s.succeed(["share", "x", "--expires", "1s"])
            try s.succeed(["share", "x", "--expires", "1.5h"])
            try s.succeed(["group", "retention", "1h"])
            #expect(try s.entryCount() == 6)
        }
    }
}
