import ArgumentParser
import Foundation
import MeetKitCrypto
import MeetKitStore

struct PassphraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passphrase",
        abstract: "Change the passphrase that unlocks this node.",
        discussion: """
            Only the keystore is sealed again; the log (sealed under a key the keystore holds)
            is untouched. The current passphrase comes as for every command; the new one from
            --new-passphrase-file, else $MEETKIT_NEW_PASSPHRASE, else a prompt (twice). Stop
            'meetkit run' first.
            """)

    @OptionGroup var node: NodeOptions

    @Option(name: .long, help: "Read the new passphrase from the first line of this file.")
    var newPassphraseFile: String?

    @Option(name: .long, help: "Passphrase hardening for the new seal: moderate or interactive.")
    var kdf: Init.KDF = .moderate

    func run() throws {
        let current = try node.passphrase()
        let new: SecretBytes
        if let file = newPassphraseFile {
            new = try Passphrase.obtain(file: file, confirm: false)
        } else if let value = ProcessInfo.processInfo.environment["MEETKIT_NEW_PASSPHRASE"] {
            var bytes = Array(value.utf8)
            new = SecretBytes(consuming: &bytes)
        } else {
            new = try Passphrase.prompt(twice: "New passphrase")
        }
        try Store.changePassphrase(at: node.directory, from: current, to: new, cost: kdf.cost)
        Output.line("The passphrase of \(node.directory.path) is changed; only the new one unlocks it now.")
    }
}
