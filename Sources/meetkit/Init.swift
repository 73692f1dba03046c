import ArgumentParser
import MeetKitCrypto
import MeetKitStore

struct Init: ParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set up this device as a member's node.",
        discussion: "Creates the data directory, a new identity and a passphrase-sealed keystore.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    @Option(name: .long, help: "The name other members will see (a pseudonym is fine).")
    var name: String

    enum KDF: String, ExpressibleByArgument, CaseIterable {
        case moderate, interactive
        var cost: Argon2id.Cost { self == .moderate ? .moderate : .interactive }
    }

    @Option(name: .long, help: "Passphrase hardening: moderate (0.4 s, 256 MiB) or interactive (0.06 s, 64 MiB).")
    var kdf: KDF = .moderate

    func run() throws {
        let store = try Store.create(
            at: node.directory, passphrase: node.passphrase(confirm: true), pseudonym: name, cost: kdf.cost)
        if output.json {
            try Output.json([
                "member": store.memberID.hex, "fingerprint": store.memberID.fingerprint,
                "name": store.pseudonym, "home": store.directory.path,
            ])
        } else {
            Output.line("Created a MeetKit node for \(Output.safe(store.pseudonym)) in \(store.directory.path).")
            Output.line("Your fingerprint: \(store.memberID.fingerprint) (compare it face to face when you join a group).")
        }
    }
}
