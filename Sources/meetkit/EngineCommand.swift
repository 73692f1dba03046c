import ArgumentParser
import Foundation
import MeetKit
import MeetKitNode

/// A command carried out by the engine: it builds a typed request, which goes to the running
/// node over the control socket (Protocol/control.md), or to an engine opened here when no
/// node runs; then it renders the response. It decides nothing itself.
protocol EngineCommand: AsyncParsableCommand, NodeCommand {
    func request() throws -> Request
    /// The response as text for people, or JSON for programs.
    func render(_ response: Response) throws -> String
}

extension EngineCommand {
    func run() async throws {
        let request = try request()
        let result: Result<Response, EngineError>
        if let answered = try Control.send(request, to: node.controlSocket, directory: node.directory) {
            result = answered
        } else {
            result = try await inProcess(request)
        }
        switch result {
        case .success(let response): Output.line(try render(response))
        case .failure(let error): throw error
        }
    }

    /// `request` carried out here, on the store (no node runs): by an engine, or, when it
    /// reaches members, by a node made for the occasion.
    private func inProcess(_ request: Request) async throws -> Result<Response, EngineError> {
        if case .peers = request {
            throw CLIError("No node is running in \(node.directory.path); start one with 'meetkit run'.")
        }
        if request.needsNode {
            return await Engine.perform(request, on: Node(store: try node.openStore(), logger: .meetkit(level: .error)))
        }
        let engine = Engine(store: try node.openStore())
        var bars: [String: Progress] = [:]
        engine.progress = { label, done, total in
            let bar = bars[label] ?? Progress(label: label, total: total, threshold: label == "Writing" ? 4 << 20 : 20_000)
            bars[label] = bar
            bar.advance(to: done)
            if done == total { bar.finish() }
        }
        return Result { () throws(EngineError) in try engine.perform(request) }
    }

    /// `response` as `T`, or a failure that says the node answered something else.
    func expect<T>(_ response: Response, _ extract: (Response) -> T?) throws -> T {
        guard let value = extract(response) else { throw CLIError("The node answered something unexpected; is it another version of meetkit?") }
        return value
    }
}

extension EngineError {
    /// The sentence the CLI prints: the engine's, with the command that helps where there is one.
    var cliMessage: String {
        let hint: String? = switch code {
        case .meetingAlreadyOpen: "End it first with 'meetkit meeting end'."
        case .noOpenMeeting: "Start one with 'meetkit meeting start'."
        case .unknownMember: "See 'meetkit group members'."
        case .unknownEntry: "See 'meetkit log --json' for entry ids."
        default: nil
        }
        return Output.safe(hint.map { message + " " + $0 } ?? message)
    }
}

extension Response {
    var status: StatusReport? { if case .status(let value) = self { value } else { nil } }
    var text: String? { if case .text(let value) = self { value } else { nil } }
    var members: [MemberView]? { if case .members(let value) = self { value } else { nil } }
    var log: LogView? { if case .log(let value) = self { value } else { nil } }
    var written: Written? { if case .written(let value) = self { value } else { nil } }
    var meetingOpened: MeetingOpened? { if case .meetingOpened(let value) = self { value } else { nil } }
    var meetingClosed: MeetingClosed? { if case .meetingClosed(let value) = self { value } else { nil } }
    var redacted: Redacted? { if case .redacted(let value) = self { value } else { nil } }
    var groupCreated: GroupCreated? { if case .groupCreated(let value) = self { value } else { nil } }
    var invited: Invited? { if case .invited(let value) = self { value } else { nil } }
    var memberChanged: MemberChanged? { if case .memberChanged(let value) = self { value } else { nil } }
    var retentionSet: RetentionSet? { if case .retentionSet(let value) = self { value } else { nil } }
    var exported: Exported? { if case .exported(let value) = self { value } else { nil } }
    var imported: Imported? { if case .imported(let value) = self { value } else { nil } }
    var verified: Verified? { if case .verified(let value) = self { value } else { nil } }
    var synced: Synced? { if case .synced(let value) = self { value } else { nil } }
    var joined: Joined? { if case .joined(let value) = self { value } else { nil } }
    var peers: [Node.PeerInfo]? { if case .peers(let value) = self { value } else { nil } }
}
