// A program that embeds MeetKit's library: it creates a node, founds a group, writes a
// check-in and reads the log back. The `meetkit` command line does the same through this API.
//
//     swift run meetkit-embedding-example [DIRECTORY]
//
// DIRECTORY is made (it must not hold a node yet); without it, a temporary one is used and
// removed at the end. The passphrase comes from $MEETKIT_PASSPHRASE, else an example one.
import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore

let arguments = CommandLine.arguments.dropFirst()
let temporary = arguments.isEmpty
let path = arguments.first ?? NSTemporaryDirectory() + "meetkit-embedding-\(UUID().uuidString)"
defer { if temporary { try? FileManager.default.removeItem(atPath: path) } }

var passphraseBytes = Array((ProcessInfo.processInfo.environment["MEETKIT_PASSPHRASE"] ?? "an example passphrase").utf8)
let passphrase = SecretBytes(consuming: &passphraseBytes)

do {
    // A node: identity and keystore sealed under the passphrase, an empty log.
    let store = try Store.create(at: DataDirectory(path: path), passphrase: passphrase, pseudonym: "Robin", cost: .interactive)
    print("node \(store.memberID.fingerprint) in \(path)")

    // A group with this member as founder, then a check-in in it.
    let group = try store.createGroup(name: "Embedded Circle", at: Date())
    let checkIn = try store.append(
        .checkIn(CheckIn(mood: 4, note: "Written through the library.", milestoneDays: 12)), to: group, at: Date())
    print("checked in: entry \(checkIn.id.short)")

    // The log, decrypted and in log order, and the state folded from it.
    let items = store.log(of: group)
    let state = store.state(of: group)
    for item in items {
        let who = state.displayName(of: item.entry.header.author)
        switch item.content {
        case .genesis(let name)?: print("\(who) founded \(name)")
        case .profile(let pseudonym)?: print("\(who) is known as \(pseudonym)")
        case .checkIn(let c)?: print("\(who) checked in: mood \(c.mood)/5, \(c.milestoneDays ?? 0) days: \(c.note ?? "")")
        default: print("\(who): \(item.entry.header.kind)")
        }
    }
    let report = try store.verify()
    print("verified \(report.entries) entries; log digest \(Hex.encode(store.summary(of: group).digest).prefix(16))")
} catch let error as StoreError {
    FileHandle.standardError.write(Data("meetkit-embedding-example: \(error.message)\n".utf8))
    exit(1)
}
