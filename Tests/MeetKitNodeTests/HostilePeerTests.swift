import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol
import MeetKitStore
import MeetKitTestSupport
import Testing

/// Strangers, broken peers, a non-member holding the network key, a replayed handshake, an
/// oversize frame and replayed entries: each is refused within the handshake timeout (or, for
/// the entries, stored no second time), while a member keeps syncing.
@Suite(.serialized) struct HostilePeerTests {
    /// The node's handshake timeout (Protocol/sync.md §Timeouts and limits) and our slack.
    static let handshakeTimeout: Duration = .seconds(5)
    static let slack: Duration = .milliseconds(1_500)

    @Test func hostileAndBrokenPeersAreRefusedWhileAMemberKeepsSyncing() throws {
        try withCluster { cluster in
            let ana = cluster.member("Ana")
            let ben = cluster.member("Ben")
            let cal = cluster.member("Cal")
            try ana.initialize()
            try ana.succeed(["group", "create", "Circle"])
            try ben.initialize()
            // Cal's identity is made here so the test can speak for him; his node never runs.
            let calIdentity = try Self.createNode(home: cal.home, name: "Cal", passphrase: cluster.passphrase)
            let benCode = try ana.invite()
            let calCode = try ana.invite()
            let strangerCode = try #require(InviteCode(text: try ana.invite()))
            let anaID = try #require(Hex.decode(try ana.status().member).flatMap { try? PublicKey(bytes: $0) })

            let node = try ana.run()
            try ben.succeed(["group", "join", benCode, "--peer", node.address])
            try cal.succeed(["group", "join", calCode, "--peer", node.address])
            let networkKey = strangerCode.networkKey

            // Ben keeps writing and syncing for as long as the probes run. The probes run on
            // their own threads and report what they found; the checks happen here.
            let findings = Findings()
            let probesDone = Flag()
            let member = DispatchGroup()
            DispatchQueue.global().async(group: member) {
                var n = 0
                while !probesDone.isSet || n < 2 {
                    n += 1
                    do {
                        let share = try ben.meetkit(["share", "Ben keeps going, \(n)."])
                        findings.check(share.status == 0, "\(share)")
                        let sync = try ben.meetkit(["sync", "--peer", node.address], timeout: .seconds(20))
                        findings.check(sync.status == 0 && sync.stdout.contains("sent 1 entries,"), "\(sync)")
                        findings.count("syncs")
                    } catch {
                        findings.check(false, "Ben: \(error)")
                        return
                    }
                }
            }

            let port = node.port
            let probes: [(String, @Sendable (Findings) throws -> Void)] = [
                ("stranger", { try Self.stranger(port: port, $0) }),
                ("garbage", { try Self.garbage(port: port, $0) }),
                ("stalled", { try Self.stalled(port: port, $0) }),
                ("non-member", { try Self.nonMember(port: port, networkKey: networkKey, server: anaID, $0) }),
                ("replay", { try Self.replay(port: port, networkKey: networkKey, identity: calIdentity, server: anaID, $0) }),
                ("oversize", { try Self.oversize(port: port, networkKey: networkKey, identity: calIdentity, server: anaID, $0) }),
                ("replayed entries", { try Self.replayEntries(port: port, networkKey: networkKey, identity: calIdentity, server: anaID, $0) }),
            ]
            let running = DispatchGroup()
            for (name, probe) in probes {
                DispatchQueue.global().async(group: running) {
                    do {
                        try probe(findings)
                        findings.count(name)
                    } catch {
                        findings.check(false, "probe \(name): \(error)")
                    }
                }
            }
            #expect(running.wait(timeout: .now() + 30) == .success, "the probes did not finish")
            probesDone.set()
            #expect(member.wait(timeout: .now() + 60) == .success, "Ben's syncs did not finish")
            for problem in findings.problems { Issue.record(Comment(rawValue: problem)) }
            for (name, _) in probes { #expect(findings.counts[name] == 1, "probe \(name) did not complete") }
            #expect(findings.counts["syncs", default: 0] >= 2)

            // Nothing of the hostile traffic reached the log, and the node is still healthy.
            let a = try ana.status()
            let b = try ben.status()
            #expect(a.digest == b.digest)
            let log = try ana.succeed(["log", "--json"]).array()
            let authors = Set(log.compactMap { $0["author"] as? String })
            #expect(authors == [a.member, b.member, try cal.status().member], "\(authors)")
            #expect(node.process.isRunning)
            Figures.record("hostile peers", "replayed handshakes accepted", findings.counts["replayed handshake accepted", default: 0])
            let ids = try ana.logIDs()
            #expect(Set(ids).count == ids.count, "the log holds an entry twice")
            let groups = try ana.succeed(["status", "--json"]).object()["groups"] as? [[String: Any]] ?? []
            #expect(groups.allSatisfy { ($0["quarantined"] as? [Any])?.isEmpty == true }, "a replay quarantined a feed: \(groups)")
            Figures.record(
                "hostile peers", "replayed entries stored again",
                "\(ids.count - Set(ids).count) of \(findings.counts["entries replayed", default: 0])")
            #expect(node.process.stop(), "meetkit run ignored SIGTERM")
            #expect(node.process.status == 0, "\(node.process.result())")
        }
    }

    // MARK: Probes

    /// (a) A stranger's 64 random bytes as a hello: no reply at all, and the connection closed.
    static func stranger(port: Int, _ findings: Findings) throws {
        let socket = try LoopbackSocket(port: port)
        socket.send(SecureRandom.bytes(SecretHandshake.helloLength))
        let outcome = socket.receive(timeout: handshakeTimeout + slack)
        findings.check(outcome.bytes.isEmpty, "a stranger got \(outcome.bytes.count) bytes back")
        findings.check(outcome.closed, "the node kept a stranger's connection open")
    }

    /// (b) 10 KB of garbage: closed, nothing sent back.
    static func garbage(port: Int, _ findings: Findings) throws {
        let socket = try LoopbackSocket(port: port)
        socket.send(SecureRandom.bytes(10 * 1024))
        let outcome = socket.receive(timeout: handshakeTimeout + slack)
        findings.check(outcome.bytes.isEmpty, "garbage got \(outcome.bytes.count) bytes back")
        findings.check(outcome.closed, "the node kept a garbage connection open")
    }

    /// (c) A peer that connects and says nothing: closed at the handshake timeout.
    static func stalled(port: Int, _ findings: Findings) throws {
        let socket = try LoopbackSocket(port: port)
        let outcome = socket.receive(timeout: handshakeTimeout + slack)
        findings.check(outcome.bytes.isEmpty, "a silent peer got \(outcome.bytes.count) bytes")
        findings.check(outcome.closed, "a silent peer was kept for over \(handshakeTimeout + slack)")
        findings.check(outcome.elapsed >= handshakeTimeout - .milliseconds(500), "a silent peer was closed after \(outcome.elapsed)")
    }

    /// (d) Someone holding the network key but never admitted: the handshake completes (the
    /// key opens the hellos), but the node answers `have` with `refused` and serves nothing.
    static func nonMember(port: Int, networkKey: SecretBytes, server: PublicKey, _ findings: Findings) throws {
        let socket = try LoopbackSocket(port: port)
        let handshake = try socket.handshake(networkKey: networkKey, identity: .generate(), serverKey: server)
        var encryptor = BoxStream.Encryptor(handshake: handshake.result)
        socket.send(encryptor.seal(MessageFramer.frame(.have(VersionVector()))))
        let outcome = socket.receive(timeout: handshakeTimeout + slack)
        findings.check(outcome.closed, "the node kept a non-member's session open")
        let reply = openReply(outcome.bytes, handshake: handshake.result)
        findings.check(!reply.unreadable, "the reply to a non-member is no box-stream")
        findings.check(reply.messages.allSatisfy(\.isRefusal), "a non-member was sent \(reply.messages.map(\.label))")
    }

    /// (e) A member's recorded hello and authenticate replayed on a new connection: a fresh
    /// server hello, then the replayed authenticate fails and no accept comes back.
    static func replay(port: Int, networkKey: SecretBytes, identity: SigningKey, server: PublicKey, _ findings: Findings) throws {
        let recorded: DialedHandshake
        do {
            let socket = try LoopbackSocket(port: port)
            recorded = try socket.handshake(networkKey: networkKey, identity: identity, serverKey: server)
            let encryptor = BoxStream.Encryptor(handshake: recorded.result)
            socket.send(encryptor.goodbye())
        }
        let socket = try LoopbackSocket(port: port)
        socket.send(recorded.clientHello)
        guard let hello = socket.read(exactly: SecretHandshake.helloLength, timeout: handshakeTimeout) else {
            return findings.check(false, "no server hello for a replayed client hello")
        }
        findings.check(hello != recorded.serverHello, "the node reused its ephemeral key")
        socket.send(recorded.authenticate)
        let outcome = socket.receive(timeout: handshakeTimeout + slack)
        findings.check(outcome.bytes.isEmpty, "a replayed authenticate got \(outcome.bytes.count) bytes back")
        findings.check(outcome.closed, "the node kept a replayed handshake open")
        if !outcome.bytes.isEmpty || !outcome.closed { findings.count("replayed handshake accepted") }
    }

    /// (g) A member takes every entry the node sends, then sends them all back in a new
    /// session as if they were new: the node stores none of them again.
    static func replayEntries(port: Int, networkKey: SecretBytes, identity: SigningKey, server: PublicKey, _ findings: Findings) throws {
        func session(replaying replayed: [RawEntry]) throws -> [RawEntry] {
            let socket = try LoopbackSocket(port: port)
            let handshake = try socket.handshake(networkKey: networkKey, identity: identity, serverKey: server)
            var encryptor = BoxStream.Encryptor(handshake: handshake.result)
            socket.send(encryptor.seal(MessageFramer.frame(.have(VersionVector()))))
            let reply = openReply(socket.receive(timeout: .seconds(2)).bytes, handshake: handshake.result)
            if !replayed.isEmpty {
                socket.send(encryptor.seal(MessageFramer.frame(.entries(replayed)) + MessageFramer.frame(.caughtUp)))
                _ = socket.receive(timeout: .seconds(1))
            }
            socket.send(encryptor.goodbye())
            return reply.messages.flatMap { message -> [RawEntry] in
                if case .entries(let entries) = message { return entries }
                return []
            }
        }
        let entries = try session(replaying: [])
        findings.check(!entries.isEmpty, "the node sent a member no entries")
        for _ in entries { findings.count("entries replayed") }
        _ = try session(replaying: entries)
    }

    /// (f) A member announcing a 2 MiB message: the node closes at once, without waiting for
    /// (or buffering) the 2 MiB.
    static func oversize(port: Int, networkKey: SecretBytes, identity: SigningKey, server: PublicKey, _ findings: Findings) throws {
        let socket = try LoopbackSocket(port: port)
        let handshake = try socket.handshake(networkKey: networkKey, identity: identity, serverKey: server)
        var encryptor = BoxStream.Encryptor(handshake: handshake.result)
        let length = UInt32(2 << 20)
        let prefix = (0..<4).map { UInt8(truncatingIfNeeded: length >> (24 - 8 * $0)) }
        socket.send(encryptor.seal(prefix + [UInt8](repeating: 1, count: 100)))
        let outcome = socket.receive(timeout: handshakeTimeout + slack)
        findings.check(outcome.closed, "the node waited for the rest of a 2 MiB message")
        findings.check(outcome.elapsed < .seconds(2), "an oversize frame was closed only after \(outcome.elapsed)")
        let reply = openReply(outcome.bytes, handshake: handshake.result)
        findings.check(!reply.unreadable, "the reply to an oversize frame is no box-stream")
        findings.check(reply.messages.allSatisfy(\.isRefusal), "after an oversize frame the node sent \(reply.messages.map(\.label))")
    }

    // MARK: Helpers

    /// Creates a member's data directory in this process and returns its identity; the store
    /// is closed (its lock released) on return.
    static func createNode(home: String, name: String, passphrase: String) throws -> SigningKey {
        var bytes = Array(passphrase.utf8)
        let store = try Store.create(
            at: DataDirectory(path: home), passphrase: SecretBytes(consuming: &bytes), pseudonym: name, cost: .interactive)
        return store.identity
    }
}

/// A flag set once, read from any thread.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// What threads outside the test's task found: problems and counts, checked by the test.
final class Findings: @unchecked Sendable {
    private let lock = NSLock()
    private var problemList: [String] = []
    private var countsByName: [String: Int] = [:]
    private var longestByName: [String: Duration] = [:]

    var problems: [String] { lock.withLock { problemList } }
    var counts: [String: Int] { lock.withLock { countsByName } }

    func check(_ condition: Bool, _ problem: @autoclosure () -> String) {
        guard !condition else { return }
        let text = problem()
        lock.withLock { problemList.append(text) }
    }

    func count(_ name: String) {
        lock.withLock { countsByName[name, default: 0] += 1 }
    }

    /// Keeps the longest `duration` recorded under `name`.
    func record(_ name: String, _ duration: Duration) {
        lock.withLock { longestByName[name] = max(longestByName[name] ?? .zero, duration) }
    }

    func longest(_ name: String) -> Duration { lock.withLock { longestByName[name] ?? .zero } }
}

extension WireMessage {
    var isRefusal: Bool {
        if case .refused = self { return true }
        return false
    }

    /// The message's kind, never its content.
    var label: String {
        switch self {
        case .have: "have"
        case .entries(let entries): "entries(\(entries.count))"
        case .caughtUp: "caught-up"
        case .ping: "ping"
        case .pong: "pong"
        case .join: "join"
        case .admitted: "admitted"
        case .refused(let reason): "refused(\(reason))"
        case .fork: "fork"
        }
    }
}
