import Foundation
import MeetKitNode
import MeetKitStore

/// The control socket's protocol (Protocol/control.md): one JSON line each way, versioned.
public enum Control {
    /// The version this build speaks. A request of another version gets an error naming both.
    public static let version = 1

    /// What a client sends: `{"version":1,"request":{…}}`.
    public struct Envelope: Codable, Sendable {
        public let version: Int
        public let request: Request

        public init(_ request: Request) {
            version = Control.version
            self.request = request
        }
    }

    /// What the node answers: the response, or an error; never both.
    public struct Reply: Codable, Sendable {
        public let version: Int
        public let response: Response?
        public let error: EngineError?

        public init(_ result: Result<Response, EngineError>) {
            version = Control.version
            switch result {
            case .success(let response): (self.response, error) = (response, nil)
            case .failure(let error): (response, self.error) = (nil, error)
            }
        }
    }

    /// The node's side: decodes one request line and answers it with `handle`; a line of
    /// another version, or one that is not a request, gets an error and nothing else happens.
    public static func answer(_ line: [UInt8], with handle: (Request) async -> Result<Response, EngineError>) async -> [UInt8] {
        let reply: Reply
        if let version = (try? JSONDecoder().decode(Version.self, from: Data(line)))?.version, version != Control.version {
            reply = Reply(.failure(EngineError(
                .unsupportedVersion,
                "This node speaks control protocol version \(Control.version), not \(version); use the meetkit that came with it.")))
        } else if let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(line)) {
            reply = Reply(await handle(envelope.request))
        } else {
            reply = Reply(.failure(EngineError(.malformedRequest, "The node could not read the request.")))
        }
        return Array((try? JSONEncoder().encode(reply)) ?? Data())
    }

    private struct Version: Decodable {
        let version: Int
    }

    /// The client's side: `request` sent to the node serving `socket`, its reply; nil when no
    /// node is listening there. A node that is starting (it holds `directory` while it
    /// unlocks and loads, before its socket exists) is waited for, up to `wait`.
    public static func send(
        _ request: Request, to socket: String, directory: DataDirectory, wait: Duration = .seconds(30)
    ) throws(EngineError) -> Result<Response, EngineError>? {
        let line: [UInt8]
        do { line = Array(try JSONEncoder().encode(Envelope(request))) } catch {
            throw EngineError(.malformedRequest, "The request could not be encoded.")
        }
        func attempt() throws(EngineError) -> Result<Response, EngineError>? {
            let answer: [UInt8]?
            do { answer = try ControlClient.send(line, to: socket) } catch {
                throw EngineError(.failed, "\(error)")
            }
            guard let answer else { return nil }
            guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(answer)) else {
                throw EngineError(.malformedRequest, "The running node's reply could not be read; is it another version of meetkit?")
            }
            if let response = reply.response { return .success(response) }
            return .failure(reply.error ?? EngineError(.failed, "The running node answered nothing."))
        }
        if let result = try attempt() { return result }
        let deadline = ContinuousClock.now + wait
        while directory.isInUse {
            guard ContinuousClock.now < deadline else {
                throw EngineError(
                    .nodeStarting,
                    "The node in \(directory.path) is still starting, or another meetkit command is using it; try again in a moment.")
            }
            Thread.sleep(forTimeInterval: 0.05)
            if let result = try attempt() { return result }
        }
        return try attempt()
    }
}
