import ArgumentParser
import Foundation
import MeetKitCrypto
import MeetKitStore

/// Where the node lives and how to unlock it: shared by every command.
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (default: $MEETKIT_HOME, else ~/.meetkit).")
    var home: String?

    @Option(name: .long, help: "Read the passphrase from the first line of this file.")
    var passphraseFile: String?

    var directory: DataDirectory {
        DataDirectory.resolve(explicit: home, environment: ProcessInfo.processInfo.environment)
    }

    var controlSocket: String { directory.path + "/control.sock" }

    func passphrase(confirm: Bool = false) throws -> SecretBytes {
        try Passphrase.obtain(file: passphraseFile, confirm: confirm)
    }

    /// The node's store, opened and unlocked here (no node runs in the directory).
    func openStore() throws -> Store {
        try Store.open(at: directory, passphrase: passphrase())
    }
}

/// A command that acts on a node's data directory.
protocol NodeCommand {
    var node: NodeOptions { get }
}

/// Which group a command acts on.
struct GroupOption: ParsableArguments {
    @Option(name: .long, help: "Group name or id prefix (needed only when you are in several groups).")
    var group: String?
}

struct JSONFlag: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
}
