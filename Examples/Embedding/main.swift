// A program that embeds MeetKit's engine: it creates a node, founds a group, holds a short
// meeting (a share and a check-in), and reads the log back. The `meetkit` command line and a
// running node's control socket go through the same engine.
//
//     swift run meetkit-embedding-example [DIRECTORY]
//
// DIRECTORY is made (it must not hold a node yet); without it, a temporary one is used and
// removed at the end. The passphrase comes from $MEETKIT_PASSPHRASE, else an example one.
import Foundation
import MeetKit

let arguments = CommandLine.arguments.dropFirst()
let temporary = arguments.isEmpty
let path = arguments.first ?? NSTemporaryDirectory() + "meetkit-embedding-\(UUID().uuidString)"
defer { if temporary { try? FileManager.default.removeItem(atPath: path) } }

var passphraseBytes = Array((ProcessInfo.processInfo.environment["MEETKIT_PASSPHRASE"] ?? "an example passphrase").utf8)
let passphrase = SecretBytes(consuming: &passphraseBytes)

do {
    // A node: identity and keystore sealed under the passphrase, an empty log.
    let engine = try Engine.create(at: DataDirectory(path: path), passphrase: passphrase, pseudonym: "Robin", cost: .interactive)
    let me = try engine.status()
    print("node \(me.fingerprint) in \(path)")

    // A group with this member as founder, and a meeting in it.
    _ = try engine.createGroup(name: "Embedded Circle")
    let meeting = try engine.openMeeting(topic: "Getting started")
    let share = try engine.share("Written through the engine.")
    let checkIn = try engine.checkIn(mood: 4, note: "Steady today.", days: 12)
    let closed = try engine.closeMeeting()
    print("meeting \(meeting.id.prefix(8)): share \(share.id.prefix(8)), check-in \(checkIn.id.prefix(8)); \(closed.shares) share(s), \(closed.checkins) check-in(s)")

    // The log as a member reads it: decrypted, in log order, with the meetings it belongs to.
    let log = try engine.log()
    for entry in log.entries {
        switch entry.kind {
        case "genesis": print("\(entry.authorName) founded \(entry.name ?? "")")
        case "profile": print("\(entry.authorName) is known as \(entry.pseudonym ?? "")")
        case "meeting-open": print("\(entry.authorName) opened a meeting: \(entry.topic ?? "")")
        case "share": print("\(entry.authorName) shared: \(entry.text ?? "")")
        case "check-in": print("\(entry.authorName) checked in: mood \(entry.mood ?? 0)/5, \(entry.milestoneDays ?? 0) days: \(entry.note ?? "")")
        default: print("\(entry.authorName): \(entry.kind)")
        }
    }
    print("\(log.entries.count) entries; log digest \(log.digest.prefix(16))")
} catch {
    FileHandle.standardError.write(Data("meetkit-embedding-example: \(error.message)\n".utf8))
    exit(1)
}
