import ArgumentParser
import Foundation
import MeetKitStore

@main
struct MeetKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meetkit",
        abstract: "A private, offline meeting log for peer-support groups.",
        discussion: """
            Each member keeps a signed, encrypted, append-only log on their own device.
            Data directory: --home, else $MEETKIT_HOME, else ~/.meetkit.
            Passphrase: --passphrase-file, else $MEETKIT_PASSPHRASE, else a prompt.
            """,
        subcommands: [
            Init.self, Status.self, GroupCommand.self, MeetingCommand.self, ShareCommand.self,
            CheckInCommand.self, LogCommand.self, Verify.self,
        ]
    )

    /// Runs the command; a failure prints one sentence on stderr and exits non-zero.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as StoreError {
            Output.fail(error.message)
        } catch let error as CLIError {
            Output.fail(error.message)
        } catch {
            exit(withError: error)
        }
    }
}

/// A failure of the command line itself (not of the store), as one sentence.
struct CLIError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
