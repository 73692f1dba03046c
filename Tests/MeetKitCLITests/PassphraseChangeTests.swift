import Foundation
import Testing

/// `meetkit passphrase`: the keystore sealed again, the log untouched.
@Suite struct PassphraseChangeTests {
    @Test func afterAChangeOnlyTheNewPassphraseUnlocks() throws {
        try withSession { s in
            try s.setUpGroup()
            try s.succeed(["share", "written before the change"])
            let log = s.snapshot()
            let newPassphrase = "a brand new passphrase"
            s.addSecret(newPassphrase)
            let changed = try s.succeed(["passphrase", "--kdf", "interactive"], env: ["MEETKIT_NEW_PASSPHRASE": newPassphrase])
            #expect(changed.stdout.contains("only the new one unlocks it now"), "\(changed)")

            let old = try s.meetkit(["log"])
            #expect(old.status == 1 && old.stderr.contains("passphrase is wrong"), "\(old)")
            let new = try s.succeed(["log"], env: ["MEETKIT_PASSPHRASE": newPassphrase])
            #expect(new.stdout.contains("written before the change"), "\(new)")
            try s.succeed(["verify"], env: ["MEETKIT_PASSPHRASE": newPassphrase])
            #expect(s.snapshot().files.filter { !$0.key.hasSuffix("keystore") } == log.files.filter { !$0.key.hasSuffix("keystore") })
        }
    }

    @Test func aWrongCurrentPassphraseOrAShortNewOneChangesNothing() throws {
        try withSession { s in
            try s.setUpGroup()
            let before = s.snapshot()
            s.expectRefused(
                try s.meetkit(["passphrase"], env: ["MEETKIT_PASSPHRASE": "not the passphrase", "MEETKIT_NEW_PASSPHRASE": "something long enough"]),
                unchanged: before, mentioning: ["passphrase is wrong"])
            s.expectRefused(
                try s.meetkit(["passphrase"], env: ["MEETKIT_NEW_PASSPHRASE": "short"]), unchanged: before, mentioning: ["at least 8"])
        }
    }
}
