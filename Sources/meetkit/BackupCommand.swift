import ArgumentParser
import Foundation
import MeetKitStore

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a backup of your identity, name and group keys, sealed under your passphrase.",
        discussion: """
            Keep it somewhere safe, away from this device: with it and the passphrase, 'meetkit
            init --restore FILE' makes a node that is you again, which then fetches the log
            from members. Stop 'meetkit run' first.
            """)

    @OptionGroup var node: NodeOptions

    @Argument(help: "The backup file to write.")
    var file: String

    @Option(name: .long, help: "Passphrase hardening for the backup: moderate or interactive.")
    var kdf: Init.KDF = .moderate

    func run() throws {
        let passphrase = try node.passphrase()
        let store = try Store.open(at: node.directory, passphrase: passphrase)
        try AtomicFile.write(try store.identityBackup(passphrase: passphrase, cost: kdf.cost), to: file)
        Output.line("Wrote the identity backup of \(Output.safe(store.pseudonym)) (\(store.memberID.fingerprint)) to \(file); it opens with your passphrase.")
    }
}
