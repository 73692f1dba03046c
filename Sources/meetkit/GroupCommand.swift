import ArgumentParser
import Foundation
import MeetKitStore

struct GroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "Found and manage groups.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Found a new group, with you as its first member and admin.")

        @OptionGroup var node: NodeOptions
        @OptionGroup var output: JSONFlag

        @Argument(help: "The group's name; only members ever see it.")
        var name: String

        func run() throws {
            let store = try node.openStore()
            let group = try store.createGroup(name: name, at: Date())
            if output.json { return try Output.json(["id": group.hex, "name": name]) }
            Output.line("Founded group \(Output.safe(name)) (id \(group.short)); you are its first member.")
        }
    }
}
