import ArgumentParser
import Foundation
import MeetKitCrypto
import MeetKitStore

struct Init: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set up this device as a member's node.",
        discussion: """
            Creates the data directory, a new identity and a passphrase-sealed keystore. With
            --restore, the identity, name and group keys come from a backup made by 'meetkit
            backup' (opened with the same passphrase); the restored node then writes nothing in
            a group until it has synced its earlier entries from a member or a bundle.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    @Option(name: .long, help: "The name other members will see (a pseudonym is fine).")
    var name: String?

    @Option(name: .long, help: "Restore this member's identity from a backup file made by 'meetkit backup'.")
    var restore: String?

    func validate() throws {
        guard (name == nil) != (restore == nil) else { throw ValidationError("Give either --name NAME or --restore FILE.") }
    }

    enum KDF: String, ExpressibleByArgument, CaseIterable {
        case moderate, interactive
        var cost: Argon2id.Cost { self == .moderate ? .moderate : .interactive }
    }

    @Option(name: .long, help: "Passphrase hardening: moderate (0.4 s, 256 MiB) or interactive (0.06 s, 64 MiB).")
    var kdf: KDF = .moderate

    func run() throws {
        let store: Store
        if let restore {
            guard let backup = FileManager.default.contents(atPath: restore) else { throw CLIError("Cannot read \(restore).") }
            store = try Store.restore(at: node.directory, backup: [UInt8](backup), passphrase: node.passphrase(), cost: kdf.cost)
        } else {
            store = try Store.create(
                at: node.directory, passphrase: node.passphrase(confirm: true), pseudonym: name ?? "", cost: kdf.cost)
        }
        if output.json {
            try Output.json([
                "member": store.memberID.hex, "fingerprint": store.memberID.fingerprint,
                "name": store.pseudonym, "home": store.directory.path,
            ])
        } else {
            Output.line("\(restore == nil ? "Created" : "Restored") a MeetKit node for \(Output.safe(store.pseudonym)) in \(store.directory.path).")
            if restore != nil {
                Output.line("Before writing, sync with a member ('meetkit run', or 'meetkit sync --peer HOST:PORT') or import a bundle.")
            }
            Output.line("Your fingerprint: \(store.memberID.fingerprint) (compare it face to face when you join a group).")
        }
    }
}
