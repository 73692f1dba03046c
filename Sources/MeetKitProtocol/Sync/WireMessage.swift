import MeetKitCore

/// An entry as it crosses the wire, not yet verified: its 226-byte wire form and its body
/// when the sender holds one. `Entry(wire:body:)` verifies it.
public struct RawEntry: Hashable, Sendable {
    public let wire: [UInt8]
    public let body: [UInt8]?

    public init(wire: [UInt8], body: [UInt8]?) {
        self.wire = wire
        self.body = body
    }

    public init(_ entry: Entry) {
        self.init(wire: entry.wire, body: entry.body)
    }

    /// count (u32) ‖ count × (wire form (226) ‖ body length (u32) ‖ body): in an `entries`
    /// message and in a bundle.
    static func write(_ entries: [RawEntry], to w: inout ByteWriter) {
        w.write(UInt32(entries.count))
        for entry in entries {
            w.write(entry.wire)
            w.write(UInt32(entry.body?.count ?? 0))
            if let body = entry.body { w.write(body) }
        }
    }

    /// Reads what `write` wrote, up to the end of `r`; nil if anything is malformed.
    static func read(from r: inout ByteReader) -> [RawEntry]? {
        guard let count = r.readUInt32(), Int(count) <= r.remaining / (Entry.wireLength + 4) else { return nil }
        var entries: [RawEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let wire = r.readBytes(Entry.wireLength), let length = r.readUInt32(),
                length <= EntryHeader.maximumBodyLength, let body = r.readBytes(Int(length))
            else { return nil }
            entries.append(RawEntry(wire: wire, body: length == 0 ? nil : body))
        }
        return r.isAtEnd ? entries : nil
    }
}

/// What two nodes say to each other inside a box-stream, once the handshake is done
/// (Protocol/sync.md §Messages). Each message is framed by `MessageFramer`.
public enum WireMessage: Hashable, Sendable {
    /// The sender's version vector for the session's group.
    case have(VersionVector)
    /// Entries the receiver lacks, in log order.
    case entries([RawEntry])
    /// The sender has sent everything the receiver lacked when its `have` arrived.
    case caughtUp
    case ping
    case pong
    /// A joining node presents its invite secret.
    case join(secret: [UInt8])
    /// The group's keys, sealed to the joining node.
    case admitted(sealedKeys: [UInt8])
    /// The sender is ending the session, and why (at most 256 bytes of UTF-8).
    case refused(reason: String)
    /// A fork proof (Protocol/sync.md §Forks): the wire forms of two entries that one author
    /// signed at one sequence. Bodies never travel with it; a body given here is not encoded.
    case fork(first: RawEntry, second: RawEntry)

    public static let maximumLength = 1 << 20
    public static let maximumReasonLength = 256

    enum Tag: UInt8 {
        case have = 1, entries, caughtUp, ping, pong, join, admitted, refused, fork
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .have(let vector):
            w.write(Tag.have.rawValue)
            w.write(vector.encoded())
        case .entries(let entries):
            w.write(Tag.entries.rawValue)
            RawEntry.write(entries, to: &w)
        case .caughtUp: w.write(Tag.caughtUp.rawValue)
        case .ping: w.write(Tag.ping.rawValue)
        case .pong: w.write(Tag.pong.rawValue)
        case .join(let secret):
            w.write(Tag.join.rawValue)
            w.write(secret)
        case .admitted(let sealed):
            w.write(Tag.admitted.rawValue)
            w.write(sealed)
        case .refused(let reason):
            w.write(Tag.refused.rawValue)
            // Whole characters only: a cut through one would make the message malformed.
            var bytes: [UInt8] = []
            for character in reason {
                guard bytes.count + character.utf8.count <= Self.maximumReasonLength else { break }
                bytes += character.utf8
            }
            w.write(bytes)
        case .fork(let first, let second):
            w.write(Tag.fork.rawValue)
            w.write(first.wire)
            w.write(second.wire)
        }
        return w.bytes
    }

    /// Decodes one message; nil for anything malformed, unknown or oversized.
    public init?(decoding bytes: [UInt8]) {
        guard bytes.count <= Self.maximumLength, let first = bytes.first, let tag = Tag(rawValue: first) else { return nil }
        var r = ByteReader(bytes)
        _ = r.readUInt8()
        switch tag {
        case .have:
            guard let vector = VersionVector(reading: &r), r.isAtEnd else { return nil }
            self = .have(vector)
        case .entries:
            guard let entries = RawEntry.read(from: &r) else { return nil }
            self = .entries(entries)
        case .caughtUp, .ping, .pong:
            guard r.isAtEnd else { return nil }
            self = tag == .caughtUp ? .caughtUp : tag == .ping ? .ping : .pong
        case .join:
            guard r.remaining == InviteCode.secretLength, let secret = r.readBytes(InviteCode.secretLength) else { return nil }
            self = .join(secret: secret)
        case .admitted:
            guard r.remaining > 0, r.remaining <= 64 * 1024, let sealed = r.readBytes(r.remaining) else { return nil }
            self = .admitted(sealedKeys: sealed)
        case .refused:
            guard r.remaining <= Self.maximumReasonLength, let text = r.readBytes(r.remaining),
                  let reason = String(validating: text, as: UTF8.self)
            else { return nil }
            self = .refused(reason: reason)
        case .fork:
            guard r.remaining == 2 * Entry.wireLength, let first = r.readBytes(Entry.wireLength),
                let second = r.readBytes(Entry.wireLength)
            else { return nil }
            self = .fork(first: RawEntry(wire: first, body: nil), second: RawEntry(wire: second, body: nil))
        }
    }
}

/// Splits the box-stream's byte stream into messages: length (u32, big-endian) ‖ message.
/// A length of 0 or over `WireMessage.maximumLength` is an error at once, before anything
/// is buffered (Protocol/sync.md §Framing).
public struct MessageFramer: Sendable {
    private var buffer: [UInt8] = []
    private var failed = false

    public init() {}

    public enum Error: Swift.Error, Equatable, Sendable {
        case oversizeMessage(UInt32)
        case emptyMessage
        case malformedMessage
    }

    public static func frame(_ message: WireMessage) -> [UInt8] {
        let payload = message.encoded()
        var w = ByteWriter(capacity: payload.count + 4)
        w.write(UInt32(payload.count))
        w.write(payload)
        return w.bytes
    }

    /// Takes more plaintext from the box-stream and returns the complete messages in it.
    public mutating func feed(_ bytes: [UInt8]) throws(Error) -> [WireMessage] {
        guard !failed else { throw .malformedMessage }
        buffer.append(contentsOf: bytes)
        var messages: [WireMessage] = []
        var offset = 0
        while buffer.count - offset >= 4 {
            let length = buffer[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard length > 0 else { failed = true; throw .emptyMessage }
            guard length <= WireMessage.maximumLength else { failed = true; throw .oversizeMessage(length) }
            guard buffer.count - offset - 4 >= Int(length) else { break }
            guard let message = WireMessage(decoding: Array(buffer[offset + 4..<offset + 4 + Int(length)])) else {
                failed = true
                throw .malformedMessage
            }
            messages.append(message)
            offset += 4 + Int(length)
        }
        if offset > 0 { buffer.removeFirst(offset) }
        return messages
    }
}
