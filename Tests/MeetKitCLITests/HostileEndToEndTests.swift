import Foundation
import MeetKitCore
import MeetKitCrypto
@testable import MeetKitStore
import MeetKitTestSupport
import Testing

/// The takeover, the puppet and the split of `HostileMemberTests`, end to end: every member is
/// a real `meetkit` data directory (keystore and SQLite log), honest members act only through
/// the built binary, nodes talk real TCP on 127.0.0.1, and the hostile member writes their
/// entries with `HostileMember` from their own data directory (opened while no `meetkit`
/// process uses it) and hands them over as a bundle file (`meetkit import`) or by sync.
@Suite(.serialized) struct HostileEndToEndTests {
    // MARK: - 1. The takeover

    /// Ana (founder) makes Rob an admin, then removes him. From his own data directory Rob
    /// forges a re-key to epoch 5 with keys he made up, a well-formed 0 → 1 re-key removing Ana
    /// (her feed cut just before her removal of him), a 1 ms retention and a re-key to the last
    /// epoch, all with tiny Lamport clocks in epoch 0. Cat imports them from a bundle; Rob's
    /// node also serves them. Ana still leads, epoch 1 is still hers, and the group goes on.
    @Test func aRemovedAdminCannotTakeTheGroupBack() throws {
        try HostileWorld.with { w in
            for name in ["Ana", "Rob", "Cat", "Dee"] { try w.initialize(name) }
            try w.succeed("Ana", ["group", "create", "Circle"])
            let anaNode = try w.run("Ana")
            for name in ["Rob", "Cat", "Dee"] {
                try w.succeed(name, ["group", "join", try w.invite("Ana"), "--peer", anaNode.address])
            }
            let (ana, rob, cat, dee) = (try w.me("Ana"), try w.me("Rob"), try w.me("Cat"), try w.me("Dee"))
            let oldShare = "Ana, before Rob left: what's said here stays here."
            try w.succeed("Ana", ["group", "admin", rob.fingerprint])
            try w.succeed("Ana", ["share", oldShare])
            for name in ["Rob", "Cat", "Dee"] { try w.succeed(name, ["sync", "--peer", anaNode.address]) }
            let before = try w.members("Cat")
            #expect(before.first { $0.key == rob.hex }?.admin == true, "Rob must be an admin at Cat before his removal: \(before)")

            try w.succeed("Ana", ["group", "remove", rob.fingerprint])
            for name in ["Cat", "Dee"] { try w.succeed(name, ["sync", "--peer", anaNode.address]) }
            let catLog = try w.log("Cat")
            let removal = try #require(
                catLog.first { $0["kind"] as? String == "re-key" && $0["author"] as? String == ana.hex && $0["newEpoch"] as? Int == 1 },
                "Cat never heard of Rob's removal: \(catLog)")
            let removalSequence = try #require(removal["sequence"] as? Int)
            #expect((removal["removed"] as? [String]) == [rob.hex])
            #expect(try w.epoch("Cat") == 1)

            // Rob, with no process of his running, writes the takeover from his own data directory.
            let forged = try w.withStore("Rob") { store -> Forgery in
                let hostile = HostileMember(store, in: try store.resolveGroup(nil))
                #expect(hostile.epochsHeld == [0], "Rob must hold epoch 0's keys only")
                let entries = try Self.takeover(
                    by: hostile, cutting: try w.key("Ana"), lastSequence: UInt64(removalSequence - 1),
                    others: [try w.key("Cat"), try w.key("Dee")])
                // His node will serve them too, to whoever syncs with it.
                try hostile.plant(entries)
                return Forgery(ids: entries.map(\.id.hex), bundle: try hostile.bundle(entries, epoch: 0))
            }
            let file = try w.write(forged.bundle, named: "takeover.mkb")

            // Delivered by hand: Cat (no node running) and Ana (through her running node) import it.
            let catDigest = try w.digest("Cat")
            let anaDigest = try w.digest("Ana")
            for name in ["Cat", "Ana"] {
                let imported = try w.meetkit(name, ["import", file])
                #expect(imported.status == 0, "\(imported)")
                #expect(imported.stdout.contains("Imported 0 new entries"), "\(name) stored some of Rob's takeover: \(imported)")
                #expect(imported.stdout.contains("written after their author's feed was cut"), "\(imported)")
            }
            #expect(try w.digest("Cat") == catDigest, "Cat's log changed on importing Rob's takeover")
            #expect(try w.digest("Ana") == anaDigest, "Ana's log changed on importing Rob's takeover")

            // Cat, as the CLI shows it: Ana leads, Rob is out, epoch 1 is still Ana's, and the old
            // share keeps its text.
            try Self.expectAnaStillLeads(w, at: "Cat", ana: ana, rob: rob, oldShare: oldShare, forged: forged.ids)
            try Self.expectAnaStillLeads(w, at: "Ana", ana: ana, rob: rob, oldShare: oldShare, forged: forged.ids)
            #expect(try w.succeed("Cat", ["verify"]).stdout.contains("intact"))

            // Delivered by sync: Rob's node, which holds the takeover in his own feed, cannot even
            // complete a handshake with a member, either way round; nothing changes at Cat or Ana.
            let robNode = try w.run("Rob")
            let catFromRob = try w.meetkit("Cat", ["sync", "--peer", robNode.address], timeout: .seconds(20))
            #expect(catFromRob.status != 0, "Cat synced with Rob's node after his removal: \(catFromRob)")
            let robToAna = try w.meetkit("Rob", ["sync", "--peer", anaNode.address], timeout: .seconds(20))
            #expect(robToAna.status != 0, "Rob's node synced with Ana's after his removal: \(robToAna)")
            for refused in [catFromRob, robToAna] {
                #expect(refused.stderr.contains("No member of your groups answered"), "\(refused)")
            }
            #expect(try w.digest("Cat") == catDigest, "Cat's log changed on syncing with Rob's node")
            #expect(try w.digest("Ana") == anaDigest, "Ana's log changed when Rob's node synced with it")
            w.stop(robNode)
            try Self.expectAnaStillLeads(w, at: "Cat", ana: ana, rob: rob, oldShare: oldShare, forged: forged.ids)

            // Cat writes in epoch 1 (Ana's), and it reaches Ana.
            let catShare = "Cat, after Rob's try."
            try w.succeed("Cat", ["share", catShare])
            #expect(try w.log("Cat").first { $0["text"] as? String == catShare }?["epoch"] as? Int == 1)
            try w.succeed("Cat", ["sync", "--peer", anaNode.address])
            #expect(try w.shareTexts("Ana").contains(catShare))

            // Ana can still remove someone: epoch 2 begins, and Cat reads what Ana writes in it.
            try w.succeed("Ana", ["group", "remove", dee.fingerprint])
            let afterShare = "Ana, after Rob and Dee."
            try w.succeed("Ana", ["share", afterShare])
            #expect(try w.epoch("Ana") == 2)
            #expect(Set(try w.members("Ana").map(\.key)) == [ana.hex, cat.hex])
            try w.succeed("Cat", ["sync", "--peer", anaNode.address])
            #expect(try w.epoch("Cat") == 2)
            let read = try w.log("Cat").first { $0["text"] as? String == afterShare }
            #expect(read?["epoch"] as? Int == 2 && read?["readable"] as? Bool == true, "Cat cannot read Ana's epoch-2 share: \(String(describing: read))")
            #expect(try w.digest("Cat") == (try w.digest("Ana")))
            #expect(try w.succeed("Cat", ["verify"]).stdout.contains("intact"))
        }
    }

    /// What Cat (or Ana) must see after Rob's takeover attempt, through the CLI only.
    static func expectAnaStillLeads(
        _ w: HostileWorld, at name: String, ana: HostileWorld.Me, rob: HostileWorld.Me, oldShare: String, forged: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let members = try w.members(name)
        let anaThere = members.first { $0.key == ana.hex }
        #expect(anaThere?.admin == true && anaThere?.founder == true, "Ana is no longer the founding admin at \(name): \(members)",
                sourceLocation: sourceLocation)
        #expect(!members.contains { $0.key == rob.hex }, "Rob is a member again at \(name): \(members)", sourceLocation: sourceLocation)
        #expect(members.filter(\.admin).map(\.key) == [ana.hex], "admins at \(name): \(members)", sourceLocation: sourceLocation)
        #expect(try w.epoch(name) == 1, "the epoch moved at \(name)", sourceLocation: sourceLocation)
        let log = try w.log(name)
        let old = log.first { $0["text"] as? String == oldShare }
        #expect(old != nil && old?["dropped"] == nil, "Ana's old share lost its text at \(name)", sourceLocation: sourceLocation)
        let ids = Set(log.compactMap { $0["id"] as? String })
        #expect(ids.isDisjoint(with: forged), "\(name) keeps some of Rob's takeover", sourceLocation: sourceLocation)
        // Epoch 1 began with Ana's removal of Rob, and nothing else re-keyed.
        let rekeys = log.filter { $0["kind"] as? String == "re-key" }
        #expect(rekeys.map { $0["author"] as? String } == [ana.hex], "re-keys at \(name): \(rekeys)", sourceLocation: sourceLocation)
        #expect(!log.contains { $0["kind"] as? String == "retention" }, "a retention stands at \(name)", sourceLocation: sourceLocation)
    }

    /// Rob's takeover (as in `HostileMemberTests.takeover`): all in his own feed, with tiny
    /// Lamport clocks (so that they stand before Ana's removal in log order), in epoch 0.
    static func takeover(by rob: HostileMember, cutting ana: PublicKey, lastSequence: UInt64, others: [PublicKey]) throws -> [Entry] {
        let group = rob.group
        let cutAna = [Rekey.Removal(member: ana, lastSequence: lastSequence)]
        let monthAgo = Int64(Date().timeIntervalSince1970 * 1000) - 30 * 86_400_000
        let toFive = try rob.entry(
            .rekey(Rekey(epoch: 5, removed: cutAna, keys: try seal(forgedKeys(group, epoch: 5), to: [others[0], rob.key]))),
            lamport: 3, epoch: 0)
        let toOne = try rob.entry(
            .rekey(Rekey(epoch: 1, removed: cutAna, keys: try seal(forgedKeys(group, epoch: 1), to: [rob.key] + others))),
            after: toFive.head, lamport: 4, epoch: 0)
        let oneMillisecond = try rob.entry(.retention(milliseconds: 1), after: toOne.head, lamport: 5, epoch: 0, timestamp: monthAgo)
        let last = try rob.entry(
            .rekey(Rekey(epoch: .max, removed: cutAna, keys: try seal(forgedKeys(group, epoch: .max), to: [others[0], rob.key]))),
            after: oneMillisecond.head, lamport: 6, epoch: 0)
        return [toFive, toOne, oneMillisecond, last]
    }

    static func seal(_ keys: EpochKeys, to recipients: [PublicKey]) throws -> [Rekey.Sealed] {
        var plain = keys.encoded()
        defer { SecretBytes.wipe(&plain) }
        return try recipients.map { Rekey.Sealed(recipient: $0, box: try SealedBox.seal(plain, to: $0.curve25519())) }
    }

    static func forgedKeys(_ group: GroupID, epoch: UInt32) -> EpochKeys {
        EpochKeys(group: group, epoch: epoch, contentKey: SecretBytes(randomCount: 32), networkKey: SecretBytes(randomCount: 32))
    }

    struct Forgery {
        let ids: [String]
        let bundle: [UInt8]
    }

    // MARK: - 2. The puppet

    /// Ben, a plain member, admits a puppet key of his own making: with no invite, with the id
    /// of Ana's unused invite read from his own log but no proof, and with a proof made from a
    /// secret of his own; the puppet then signs a share. Ana imports it all from a bundle (and
    /// Cat gets Ben's entries by sync). The puppet is a member nowhere, the invite still admits
    /// the person it was meant for, and Ana's next re-key seals nothing to the puppet.
    @Test func aMemberCannotAdmitAPuppet() throws {
        try HostileWorld.with { w in
            for name in ["Ana", "Ben", "Cat", "Dan"] { try w.initialize(name) }
            try w.succeed("Ana", ["group", "create", "Circle"])
            let anaNode = try w.run("Ana")
            for name in ["Ben", "Cat"] {
                try w.succeed(name, ["group", "join", try w.invite("Ana"), "--peer", anaNode.address])
            }
            let spare = try w.invite("Ana")  // for Dan, later; Ben sees only its entry
            try w.succeed("Ben", ["sync", "--peer", anaNode.address])
            let (ana, ben, cat) = (try w.me("Ana"), try w.me("Ben"), try w.me("Cat"))
            // `log --json` shows no invite ids (only `kind: invite`): Ben reads the id from his store.
            #expect(try w.log("Ben").contains { $0["kind"] as? String == "invite" })

            let puppet = SigningKey.generate()
            let forged = try w.withStore("Ben") { store -> (adds: [String], share: String, bundle: [UInt8]) in
                let group = try store.resolveGroup(nil)
                let hostile = HostileMember(store, in: group)
                let unused = store.state(of: group).invites.values.filter { $0.usedBy == nil }.map(\.invite.id)
                let inviteID = try #require(unused.count == 1 ? unused.first : nil, "Ben's log must show exactly one unused invite")
                let noInvite = try hostile.entry(.memberAdd(MemberAdd(member: puppet.publicKey, invite: nil)))
                let noProof = try hostile.entry(
                    .memberAdd(MemberAdd(member: puppet.publicKey, invite: inviteID)), after: noInvite.head,
                    lamport: noInvite.header.lamport + 1)
                let wrongProof = try hostile.entry(
                    .memberAdd(MemberAdd(
                        member: puppet.publicKey, invite: inviteID,
                        proof: InviteCode.proof(
                            secret: SecretBytes(randomCount: InviteCode.secretLength), group: group, member: puppet.publicKey))),
                    after: noProof.head, lamport: noProof.header.lamport + 1)
                let adds = [noInvite, noProof, wrongProof]
                // What the puppet signs, with the epoch-0 content key Ben gave it.
                let contentKey = try #require(store.keys[group]?.sets(of: 0).first?.contentKey)
                let puppetShare = Entry.sign(
                    EntryHeader(
                        kind: .share, group: group, author: puppet.publicKey, sequence: 1, previous: nil,
                        lamport: wrongProof.header.lamport + 1, timestamp: Int64(Date().timeIntervalSince1970 * 1000), epoch: 0,
                        bodyLength: 0, bodyHash: nil),
                    plaintext: try EntryContent.share(Share(text: "I am a member too")).encoded(), author: puppet,
                    contentKey: contentKey, nonce: SecureRandom.bytes(AEAD.nonceLength))
                // Ben's own feed holds his member-adds, so his node serves them to whoever syncs.
                try hostile.plant(adds)
                return (adds.map(\.id.hex), puppetShare.id.hex, try hostile.bundle(adds + [puppetShare], epoch: 0))
            }
            let file = try w.write(forged.bundle, named: "puppet.mkb")
            let imported = try w.meetkit("Ana", ["import", file])
            // Ben's three member-adds are stored (they break no rule of his feed); the puppet's share is not.
            #expect(imported.status == 0 && imported.stdout.contains("Imported 3 new entries"), "\(imported)")
            // The puppet's own share is refused, and said to be: not counted as already held.
            #expect(imported.stdout.contains("(0 of the 4 were already here; 1 refused"), "\(imported)")
            #expect(imported.stdout.contains("its author is not a member"), "\(imported)")

            // Cat gets Ben's member-adds by sync, from Ben's node and from Ana's.
            let benNode = try w.run("Ben")
            try w.succeed("Cat", ["sync", "--peer", benNode.address])
            w.stop(benNode)
            try w.succeed("Cat", ["sync", "--peer", anaNode.address])
            let puppetHex = Hex.encode(puppet.publicKey.bytes)
            for name in ["Ana", "Cat"] {
                let members = try w.members(name)
                #expect(Set(members.map(\.key)) == [ana.hex, ben.hex, cat.hex], "members at \(name): \(members)")
                let log = try w.log(name)
                // Ben's member-adds reached both (by bundle, by sync), and admitted no one.
                let adds = log.filter { $0["kind"] as? String == "member-add" && $0["member"] as? String == puppetHex }
                #expect(adds.compactMap { $0["id"] as? String } == forged.adds, "Ben's member-adds at \(name): \(adds)")
                #expect(!log.contains { $0["author"] as? String == puppetHex }, "\(name) keeps an entry signed by the puppet")
                #expect(!log.contains { $0["id"] as? String == forged.share })
                #expect(!log.contains { $0["text"] as? String == "I am a member too" })
            }

            // The invite Ben named still admits Dan, the person it was meant for.
            try w.succeed("Dan", ["group", "join", spare, "--peer", anaNode.address])
            let dan = try w.me("Dan")
            #expect(Set(try w.members("Ana").map(\.key)) == [ana.hex, ben.hex, cat.hex, dan.hex])
            try w.succeed("Ben", ["sync", "--peer", anaNode.address])
            #expect(try w.digest("Ben") == (try w.digest("Ana")))

            // Ana removes Cat: the re-key seals epoch 1's keys to Ana, Ben and Dan, not the puppet.
            try w.succeed("Ana", ["group", "remove", cat.fingerprint])
            let rekey = try #require(try w.log("Ana").first { $0["kind"] as? String == "re-key" })
            #expect((rekey["removed"] as? [String]) == [cat.hex])
            // (`log --json` shows a re-key's removals, not its recipients: those are read from Ana's store.)
            w.stop(anaNode)
            try w.withStore("Ana") { store in
                let group = try store.resolveGroup(nil)
                let state = store.state(of: group)
                #expect(state.epoch == 1)
                #expect(!state.isMember(puppet.publicKey))
                #expect(!state.keyHolders.contains(puppet.publicKey), "the puppet holds the group's keys at Ana")
                #expect(Set(state.keyHolders.map { Hex.encode($0.bytes) }) == [ana.hex, ben.hex, dan.hex])
                let sealedTo = store.log(of: group).compactMap { item -> [String]? in
                    guard case .rekey(let rekey)? = item.content else { return nil }
                    return rekey.keys.map { Hex.encode($0.recipient.bytes) }
                }
                #expect(sealedTo.count == 1)
                #expect(Set(sealedTo.first ?? []) == [ana.hex, ben.hex, dan.hex], "the re-key is sealed to \(sealedTo)")
                let reasons = try forged.adds.map { id in state.ineffective[try #require(EntryID(hex: id))] }
                #expect(reasons == [
                    "it names no invite of this group", "it does not prove that its author holds the invite",
                    "it does not prove that its author holds the invite",
                ])
            }
        }
    }

    // MARK: - 3. The split

    /// Eve signs two entries at one place in her feed, a share and a profile, and gives one to
    /// Ana and the other to Ben, each by bundle. Once Ana's and Ben's nodes sync, both quarantine
    /// Eve's feed, agree on the log, keep neither branch, and what they write afterwards crosses
    /// both ways.
    @Test func anEquivocatingMemberIsQuarantinedOnBothSides() throws {
        try HostileWorld.with { w in
            for name in ["Ana", "Ben", "Eve"] { try w.initialize(name) }
            try w.succeed("Ana", ["group", "create", "Circle"])
            let anaNode = try w.run("Ana")
            for name in ["Ben", "Eve"] {
                try w.succeed(name, ["group", "join", try w.invite("Ana"), "--peer", anaNode.address])
            }
            let honest = "Eve, honestly."
            try w.succeed("Eve", ["share", honest])
            try w.succeed("Eve", ["sync", "--peer", anaNode.address])
            try w.succeed("Ben", ["sync", "--peer", anaNode.address])
            let eve = try w.me("Eve")
            #expect(try w.digest("Ben") == (try w.digest("Ana")))

            let (toAnaText, toBenName) = ("Eve, to Ana only.", "Eve, to Ben only")
            let forged = try w.withStore("Eve") { store -> (toAna: [UInt8], toBen: [UInt8], ids: [String], sequence: UInt64) in
                let hostile = HostileMember(store, in: try store.resolveGroup(nil))
                let toAna = try hostile.entry(.share(Share(text: toAnaText)))
                let toBen = try hostile.entry(.profile(pseudonym: toBenName))
                #expect(toAna.header.sequence == toBen.header.sequence && toAna.header.previous == toBen.header.previous)
                return (
                    try hostile.bundle([toAna], epoch: 0), try hostile.bundle([toBen], epoch: 0), [toAna.id.hex, toBen.id.hex],
                    toAna.header.sequence
                )
            }
            let (fileA, fileB) = (try w.write(forged.toAna, named: "to-ana.mkb"), try w.write(forged.toBen, named: "to-ben.mkb"))
            let atAna = try w.meetkit("Ana", ["import", fileA])
            #expect(atAna.status == 0 && atAna.stdout.contains("Imported 1 new entries"), "\(atAna)")
            let atBen = try w.meetkit("Ben", ["import", fileB])
            #expect(atBen.status == 0 && atBen.stdout.contains("Imported 1 new entries"), "\(atBen)")

            // Ana's and Ben's nodes sync.
            _ = try w.run("Ben")  // stopped by the world at the end
            let sync = try w.meetkit("Ben", ["sync", "--peer", anaNode.address], timeout: .seconds(20))
            let settled = try eventually(timeout: .seconds(10)) {
                let (a, b) = (try w.status("Ana"), try w.status("Ben"))
                return a.digest == b.digest && a.quarantined == [eve.hex] && b.quarantined == [eve.hex]
            }
            #expect(settled, "Ana and Ben did not settle on a quarantine of Eve's feed; Ben's sync: \(sync)")
            for name in ["Ana", "Ben"] {
                let status = try w.status(name)
                #expect(status.quarantined == [eve.hex], "no quarantine of Eve's feed at \(name): \(status)")
                #expect(status.quarantinedAt == [forged.sequence], "\(name): \(status)")
                let log = try w.log(name)
                #expect(Set(log.compactMap { $0["id"] as? String }).isDisjoint(with: forged.ids), "\(name) keeps a branch of Eve's fork")
                #expect(!log.contains { $0["text"] as? String == toAnaText }, "\(name) shows the branch Eve gave Ana")
                #expect(!log.contains { $0["pseudonym"] as? String == toBenName }, "\(name) shows the branch Eve gave Ben")
                #expect(log.contains { $0["text"] as? String == honest }, "\(name) lost Eve's entry before the fork")
                #expect(try w.succeed(name, ["verify"]).stdout.contains("intact"))
            }
            #expect(try w.digest("Ana") == (try w.digest("Ben")))

            // What Ana and Ben write afterwards crosses both ways.
            let (fromAna, fromBen) = ("Ana, after the split.", "Ben, after the split.")
            try w.succeed("Ana", ["share", fromAna])
            try w.succeed("Ben", ["share", fromBen])
            let again = try w.meetkit("Ben", ["sync", "--peer", anaNode.address], timeout: .seconds(20))
            #expect(again.status == 0, "\(again)")
            let crossed = try eventually(timeout: .seconds(10)) {
                try w.shareTexts("Ben").contains(fromAna) && w.shareTexts("Ana").contains(fromBen)
            }
            let (atAnaNow, atBenNow) = (try w.shareTexts("Ana"), try w.shareTexts("Ben"))
            #expect(crossed, "later shares did not cross: Ana \(atAnaNow), Ben \(atBenNow)")
            #expect(try w.digest("Ana") == (try w.digest("Ben")))
            #expect(try w.status("Ana").quarantined == [eve.hex])
        }
    }
}

// MARK: - The world

/// One test's members, each a data directory under a short temporary directory (a control
/// socket's path must fit in sockaddr_un), and every process started for them. `with` stops
/// them all (SIGTERM, then SIGKILL) and removes the directory, however the test ends.
final class HostileWorld: @unchecked Sendable {
    let root: URL
    let passphrase = "pass-\(UUID().uuidString.prefix(8))-phrase"
    let meetkitPath: String
    private let lock = NSLock()
    private var processes: [Process] = []

    static func with(_ body: (HostileWorld) throws -> Void) throws {
        let world = try HostileWorld()
        defer { world.tearDown() }
        try body(world)
    }

    private init() throws {
        root = URL(fileURLWithPath: "/tmp").appendingPathComponent("mkh-\(UUID().uuidString.prefix(12))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        meetkitPath = try BuiltProducts.executable("meetkit").path
    }

    private func tearDown() {
        let all = lock.withLock { processes }
        for process in all where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for process in all { Self.reap(process, grace: .seconds(5)) }
        try? FileManager.default.removeItem(at: root)
    }

    /// Waits up to `grace` for `process` to end, then SIGKILLs it; always reaps it.
    private static func reap(_ process: Process, grace: Duration) {
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func home(_ name: String) -> String { root.appendingPathComponent(name).path }

    func environment(_ name: String) -> [String: String] {
        [
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": root.path, "MEETKIT_HOME": home(name),
            "MEETKIT_PASSPHRASE": passphrase, "TZ": "UTC",
        ]
    }

    /// Starts `meetkit ARGS` for member `name` with its output in files (never pipes).
    private func start(_ name: String, _ arguments: [String]) throws -> (Process, out: URL, err: URL) {
        let base = root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        let (out, err) = (base.appendingPathExtension("out"), base.appendingPathExtension("err"))
        guard FileManager.default.createFile(atPath: out.path, contents: nil),
              FileManager.default.createFile(atPath: err.path, contents: nil)
        else { throw CocoaError(.fileWriteUnknown) }
        let (outHandle, errHandle) = (try FileHandle(forWritingTo: out), try FileHandle(forWritingTo: err))
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: meetkitPath)
        process.arguments = arguments
        process.environment = environment(name)
        process.currentDirectoryURL = root
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try lock.withLock {
            try process.run()
            processes.append(process)
        }
        return (process, out, err)
    }

    /// Runs `meetkit ARGS` for member `name` to completion; killed after `timeout`.
    @discardableResult
    func meetkit(_ name: String, _ arguments: [String], timeout: Duration = .seconds(30)) throws -> CLIResult {
        let (process, out, err) = try start(name, arguments)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        let timedOut = process.isRunning
        Self.reap(process, grace: .zero)
        let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        return CLIResult(
            arguments: ["(\(name))"] + arguments, status: status,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: ((try? String(contentsOf: err, encoding: .utf8)) ?? "") + (timedOut ? "\n(killed after \(timeout))" : ""))
    }

    /// Runs `meetkit ARGS` for member `name` and expects exit status 0.
    @discardableResult
    func succeed(_ name: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let result = try meetkit(name, arguments)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return result
    }

    func initialize(_ name: String) throws {
        try succeed(name, ["init", "--name", name, "--kdf", "interactive"])
    }

    /// `group invite`: the code on its last line.
    func invite(_ name: String) throws -> String {
        let result = try succeed(name, ["group", "invite"])
        return try #require(result.stdout.split(separator: "\n").last.map(String.init), "\(result)")
    }

    func write(_ bytes: [UInt8], named file: String) throws -> String {
        let url = root.appendingPathComponent(file)
        try Data(bytes).write(to: url)
        return url.path
    }

    // MARK: Nodes

    struct Node {
        let process: Process
        let address: String
    }

    /// Starts `meetkit run` for `name` on a free loopback port; returns once it listens and
    /// serves its control socket.
    func run(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Node {
        let (process, _, err) = try start(name, ["run", "--listen", "127.0.0.1:0", "--no-discovery"])
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline && process.isRunning {
            let log = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
            if let port = Self.port(in: log), FileManager.default.fileExists(atPath: home(name) + "/control.sock") {
                return Node(process: process, address: "127.0.0.1:\(port)")
            }
            usleep(10_000)
        }
        kill(process.processIdentifier, SIGTERM)
        Self.reap(process, grace: .seconds(2))
        let log = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        Issue.record("meetkit run did not come up for \(name): \(log)", sourceLocation: sourceLocation)
        throw HostileError("meetkit run did not come up for \(name)")
    }

    /// SIGTERM, then SIGKILL after 10 s; returns once the process has ended.
    func stop(_ node: Node) {
        if node.process.isRunning { kill(node.process.processIdentifier, SIGTERM) }
        Self.reap(node.process, grace: .seconds(10))
    }

    static func port(in log: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains("listening") {
            guard let range = line.range(of: "address=127.0.0.1:") else { continue }
            if let port = Int(line[range.upperBound...].prefix { $0.isNumber }), port > 0 { return port }
        }
        return nil
    }

    // MARK: The member's own store

    /// Opens member `name`'s store with their passphrase, for `body` only (no `meetkit`
    /// process may use the data directory meanwhile); the lock is released on return.
    func withStore<T>(_ name: String, _ body: (Store) throws -> T) throws -> T {
        var bytes = Array(passphrase.utf8)
        let store = try Store.open(at: DataDirectory(path: home(name)), passphrase: SecretBytes(consuming: &bytes))
        return try body(store)
    }

    // MARK: What the CLI shows

    struct Me {
        let hex: String
        let fingerprint: String
    }

    struct Listed: CustomStringConvertible {
        let key: String
        let name: String
        let admin: Bool
        let founder: Bool
        var description: String { "\(name)\(admin ? " (admin)" : "")\(founder ? " (founder)" : "") \(key.prefix(8))" }
    }

    struct Status: CustomStringConvertible {
        let digest: String
        let epoch: Int
        let quarantined: [String]
        let quarantinedAt: [UInt64]
        var description: String { "digest \(digest.prefix(16)), epoch \(epoch), quarantined \(quarantined) at \(quarantinedAt)" }
    }

    func me(_ name: String) throws -> Me {
        let object = try Self.object(try succeed(name, ["status", "--json"]))
        return Me(hex: try #require(object["member"] as? String), fingerprint: try #require(object["fingerprint"] as? String))
    }

    func key(_ name: String) throws -> PublicKey {
        let hex = try me(name).hex
        return try PublicKey(bytes: try #require(Hex.decode(hex)))
    }

    func status(_ name: String) throws -> Status {
        let object = try Self.object(try succeed(name, ["status", "--json"]))
        let groups = try #require(object["groups"] as? [[String: Any]])
        let group = try #require(groups.count == 1 ? groups.first : nil, "\(object)")
        let quarantined = try #require(group["quarantined"] as? [[String: Any]], "\(group)")
        return Status(
            digest: try #require(object["digest"] as? String), epoch: try #require(group["epoch"] as? Int),
            quarantined: quarantined.compactMap { $0["member"] as? String },
            quarantinedAt: quarantined.compactMap { ($0["sequence"] as? Int).map(UInt64.init) })
    }

    func digest(_ name: String) throws -> String { try status(name).digest }
    func epoch(_ name: String) throws -> Int { try status(name).epoch }

    func members(_ name: String) throws -> [Listed] {
        try Self.array(try succeed(name, ["group", "members", "--json"])).map { element in
            Listed(
                key: try #require(element["member"] as? String), name: element["name"] as? String ?? "",
                admin: try #require(element["admin"] as? Bool), founder: try #require(element["founder"] as? Bool))
        }
    }

    func log(_ name: String) throws -> [[String: Any]] {
        try Self.array(try succeed(name, ["log", "--json"]))
    }

    func shareTexts(_ name: String) throws -> [String] {
        try log(name).filter { $0["kind"] as? String == "share" }.compactMap { $0["text"] as? String }
    }

    static func object(_ result: CLIResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
    }

    static func array(_ result: CLIResult) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], "\(result)")
    }
}
