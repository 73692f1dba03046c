import MeetKitStore

/// Why the engine refused or failed a request: a stable code for programs, and one sentence
/// for people. The sentence names no command-line flag: front ends add their own hints by code.
public struct EngineError: Error, Codable, Sendable, Equatable {
    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A store's refusal, with its code (Protocol/control.md §Errors lists them).
    public init(_ error: StoreError) {
        self.init(Code(rawValue: error.code.rawValue), error.message)
    }

    public struct Code: RawRepresentable, Codable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let unknownGroup = Code(rawValue: StoreError.Code.unknownGroup.rawValue)
        public static let notPermitted = Code(rawValue: StoreError.Code.notPermitted.rawValue)
        public static let io = Code(rawValue: StoreError.Code.io.rawValue)
        public static let invalidBundle = Code(rawValue: "invalidBundle")
        public static let unknownMember = Code(rawValue: StoreError.Code.unknownMember.rawValue)
        public static let ambiguousMember = Code(rawValue: "ambiguousMember")
        public static let unknownEntry = Code(rawValue: "unknownEntry")
        public static let ambiguousEntry = Code(rawValue: "ambiguousEntry")
        public static let meetingAlreadyOpen = Code(rawValue: "meetingAlreadyOpen")
        public static let noOpenMeeting = Code(rawValue: "noOpenMeeting")
        public static let outOfRange = Code(rawValue: "outOfRange")
        public static let unsupportedVersion = Code(rawValue: "unsupportedVersion")
        public static let malformedRequest = Code(rawValue: "malformedRequest")
        public static let nodeStarting = Code(rawValue: "nodeStarting")
        public static let noNode = Code(rawValue: "noNode")
        public static let unreachable = Code(rawValue: "unreachable")
        public static let failed = Code(rawValue: "failed")
    }
}

extension EngineError {
    /// `body`'s failure as an engine error: store errors keep their code.
    static func catching<T>(_ body: () throws -> T) throws(EngineError) -> T {
        do { return try body() } catch let error as EngineError { throw error } catch let error as StoreError {
            throw EngineError(error)
        } catch {
            throw EngineError(.failed, "\(error)")
        }
    }
}
