import ArgumentParser
import Foundation
import MeetKit
import MeetKitNode
import MeetKitStore

@main
struct MeetKitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meetkit",
        abstract: "A private, offline meeting log for peer-support groups.",
        discussion: """
            Each member keeps a signed, encrypted, append-only log on their own device;
            members' nodes find each other and sync over the local network (DNS-SD), or by
            encrypted bundle files carried on a USB stick.
            Data directory: --home, else $MEETKIT_HOME, else ~/.meetkit.
            Passphrase: --passphrase-file, else $MEETKIT_PASSPHRASE, else a prompt.
            While 'meetkit run' is running, other commands are carried out by it.
            """,
        subcommands: [
            Init.self, Status.self, GroupCommand.self, MeetingCommand.self, ShareCommand.self,
            CheckInCommand.self, RedactCommand.self, LogCommand.self, PeersCommand.self, SyncCommand.self, ExportCommand.self, ImportCommand.self, Run.self, Verify.self,
            Doctor.self, PassphraseCommand.self, BackupCommand.self,
        ]
    )

    /// Runs the command; a failure prints one sentence on stderr and exits non-zero.
    static func main() async {
        do {
            var arguments = Array(CommandLine.arguments.dropFirst())
            var command = try parseAsRoot(arguments)
            if var join = command as? GroupCommand.Join, join.code == "-" {
                // The code comes on stdin, so that it never shows in the process list.
                let code = readLine(strippingNewline: true) ?? ""
                if let index = arguments.firstIndex(of: "-") { arguments[index] = code }
                join.code = code
                try join.validate()
                command = join
            }
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let (message, status) = describe(error)
            // Help and version requests end "successfully": they belong on stdout.
            (status == 0 ? FileHandle.standardOutput : FileHandle.standardError).write(Data(message.utf8))
            Foundation.exit(status)
        }
    }

    /// The text for stderr (or stdout, for help) and the exit status of `error`.
    static func describe(_ error: Error) -> (String, Int32) {
        switch error {
        case let error as StoreError: ("meetkit: \(error.message)\n", 1)
        case let error as CLIError: ("meetkit: \(error.message)\n", 1)
        case let error as NodeError: ("meetkit: \(error.description)\n", 1)
        case let error as EngineError: ("meetkit: \(error.cliMessage)\n", 1)
        default: (fullMessage(for: error) + "\n", exitCode(for: error).rawValue)
        }
    }
}

/// A failure of the command line itself (not of the store), as one sentence.
struct CLIError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
