import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol

/// Sync messages. The first byte picks the mode:
///
/// - bit 7 set: the rest is one message for `WireMessage(decoding:)`; one that decodes must
///   re-encode to the same bytes (there is one encoding of each message).
/// - otherwise the rest is a byte stream for `MessageFramer`, fed in pieces of
///   (byte >> 2 & 31) + 1 bytes, and each message it yields goes to a `SyncSession`: a server
///   for a member (bits 0-1 = 0) or a stranger (1), or a client syncing (2) or joining (3). The
///   harness plays the shell: it verifies entries to ingest and fork proofs, serves and pushes
///   entries and fork proofs, admits and ticks the clock.
///
/// Refused: the message does not decode, the framer throws, or the session closes.
enum WireTarget {
    static func run(_ input: [UInt8]) -> FuzzOutcome {
        var script = FuzzInput(input)
        let flags = script.byte()
        let rest = script.rest()
        if flags & 0x80 != 0 {
            guard let message = WireMessage(decoding: rest) else { return .refused("not a message") }
            precondition(message.encoded() == rest, "\(message) does not re-encode to its bytes")
            return .accepted
        }
        var session = start(flags & 3)
        var framer = MessageFramer()
        var held = [Fixed.genesis]
        var forks: [(Entry, Entry)] = []
        var now = Duration.seconds(0)
        let piece = Int(flags >> 2 & 31) + 1
        for start in stride(from: 0, to: rest.count, by: piece) {
            let messages: [WireMessage]
            do {
                messages = try framer.feed(Array(rest[start..<min(start + piece, rest.count)]))
            } catch {
                return .refused(error)
            }
            for message in messages {
                now += .seconds(1)
                var directives = session.receive(message, now: now) { VersionVector([Fixed.author.publicKey: 1]) }
                while !directives.isEmpty {
                    let directive = directives.removeFirst()
                    switch directive {
                    case .send, .synced:
                        break
                    case .serve:
                        directives += session.serve(held, forkProofs: forks, now: now)
                    case .ingest(let raw):
                        let entries = raw.compactMap { try? Entry(wire: $0.wire, body: $0.body) }
                        guard entries.count == raw.count else {
                            directives += session.ingestFailed("an entry does not verify")
                            break
                        }
                        session.ingested(entries)
                        held += entries
                        directives += session.push(entries, now: now)
                    case .forkProof(let first, let second):
                        guard let a = try? Entry(wire: first.wire, body: nil), let b = try? Entry(wire: second.wire, body: nil)
                        else {
                            directives += session.ingestFailed("a fork proof does not verify")
                            break
                        }
                        forks.append((a, b))
                        directives += session.sendForkProofs([(a, b)], now: now)
                    case .admit:
                        directives += session.admissionGranted(sealedKeys: [1], now: now)
                    case .acceptAdmission:
                        directives += session.admissionAccepted(localVector: VersionVector(), now: now)
                    case .close(let error, _):
                        return .refused(error)
                    }
                }
            }
            if case .close(let error, _)? = session.tick(now: now).first { return .refused(error) }
        }
        return .accepted
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        let author = Fixed.author.publicKey
        let share = Fixed.authored(
            .share(Share(text: "hi")), group: Fixed.genesis.group, after: Fixed.genesis.head, lamport: 2)
        let other = Fixed.authored(
            .share(Share(text: "ho")), group: Fixed.genesis.group, after: Fixed.genesis.head, lamport: 2)
        let fork = WireMessage.fork(first: RawEntry(wire: share.wire, body: nil), second: RawEntry(wire: other.wire, body: nil))
        let messages: [(String, WireMessage)] = [
            ("have", .have(VersionVector([author: 1]))),
            ("have-empty", .have(VersionVector())),
            ("have-max", .have(VersionVector([author: .max]))),
            ("entries", .entries([RawEntry(Fixed.genesis), RawEntry(share)])),
            ("entries-without-body", .entries([RawEntry(share.droppingBody())])),
            ("caught-up", .caughtUp),
            ("ping", .ping),
            ("pong", .pong),
            ("join", .join(secret: [UInt8](repeating: 7, count: InviteCode.secretLength))),
            ("admitted", .admitted(sealedKeys: [1, 2, 3])),
            ("refused", .refused(reason: "not today")),
            ("fork", fork),
        ]
        let framed = { (list: [WireMessage]) in list.flatMap(MessageFramer.frame) }
        return messages.map { ("message-\($0.0)", [0x80] + $0.1.encoded()) } + [
            ("member-sync", [0] + framed([.have(VersionVector([author: 1])), .entries([RawEntry(share)]), .caughtUp])),
            ("member-sync-bytewise", [2] + framed([.have(VersionVector()), .caughtUp, .ping])),
            ("stranger-joins", [0x7d] + framed([.join(secret: [UInt8](repeating: 7, count: 16)), .have(VersionVector())])),
            ("stranger-syncs", [1] + framed([.have(VersionVector())])),
            ("client-syncs", [0x7e] + framed([.have(VersionVector([author: 2])), .caughtUp])),
            ("client-joins", [3] + framed([.admitted(sealedKeys: [9]), .have(VersionVector())])),
            ("member-fork", [0] + framed([.have(VersionVector([author: 1])), .entries([RawEntry(share)]), fork, .caughtUp])),
            ("empty-frame", [0, 0, 0, 0, 0]),
            ("oversize-frame", [0, 0xff, 0xff, 0xff, 0xff]),
        ]
    }

    private static func start(_ role: UInt8) -> SyncSession {
        switch role {
        case 0: return .server(peerIsMember: true, now: .zero)
        case 1: return .server(peerIsMember: false, now: .zero)
        case 2: return SyncSession.client(.member(localVector: VersionVector()), now: .zero).0
        default: return SyncSession.client(.joining(secret: [UInt8](repeating: 7, count: 16)), now: .zero).0
        }
    }
}
