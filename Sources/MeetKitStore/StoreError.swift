/// A failure of the store, with one sentence a person can act on.
///
/// `code` is for programs; `message` is for people and never contains a secret or any
/// decrypted content.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notInitialized
        case alreadyInitialized
        case wrongPassphrase
        case weakPassphrase
        case damagedKeystore
        case damagedDatabase
        case readOnly
        case busy
        case diskFull
        case io
        case invalidEntry
        case invalidContent
        case noGroup
        case unknownGroup
        case ambiguousGroup
        case meetingAlreadyOpen
        case noOpenMeeting
        case verificationFailed
        case notPermitted
        case unknownMember
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
