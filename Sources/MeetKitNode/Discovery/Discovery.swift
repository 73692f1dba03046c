import Foundation
import Logging
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol

/// `meetkit run`'s discovery (Protocol/discovery.md): publishes one private advert per group,
/// opens the adverts of others, and dials the members they name. DNS-SD is only a hint: the
/// node's own connections say who is alive, a member who stops answering is no longer dialled,
/// and without Avahi the node says so once, goes on with the peers it was given, and tries
/// again every `retryInterval`.
actor Discovery {
    /// How often discovery checks that it is running and that its adverts name every group.
    static let retryInterval = Duration.seconds(5)
    /// A member that has not answered for this long is no longer dialled, until its advert is
    /// found again: published anew, or looked up afresh while browsing again (a host that
    /// vanished without a goodbye stays listed for over an hour, but stops resolving).
    static let giveUpAfter = Duration.seconds(60)
    /// Once its own advert is out, the member with the greater key waits this long before
    /// dialling, so two members who find each other at once make one connection, not two.
    /// Before that, no one can have found it, so it dials at once.
    static let dialGrace = Duration.seconds(2)
    /// While a member of our groups has neither a session nor a dialler (never seen, or given
    /// up on), discovery browses afresh this often: once a partition heals, a member whose
    /// advert was missed or whose dials failed for `giveUpAfter` is found, and dialled, again.
    static let browseAgainInterval = Duration.seconds(30)

    /// An advert that opened under one of our groups' network keys.
    struct Sighting {
        let group: GroupID
        let member: PublicKey
        let address: PeerAddress
        let seen: ContinuousClock.Instant
    }

    struct MemberKey: Hashable {
        let group: GroupID
        let member: PublicKey
    }

    private let node: Node
    private let port: UInt16
    private let logger: Logger
    private var engine: DNSSD?
    private let events: AsyncStream<DNSSD.Event>
    private let emit: AsyncStream<DNSSD.Event>.Continuation
    /// Whether the daemon answered last time; nil before the first try.
    private var available: Bool?
    /// The groups and epochs the current adverts were sealed for.
    private var published: [GroupID: UInt32] = [:]
    private var sightings: [DNSSD.Instance: Sighting] = [:]
    private var dialers: [MemberKey: Task<Void, Never>] = [:]
    /// Whether an advert of ours is published (its name probe done): others may dial us.
    private var visible = false
    /// When DNS-SD last started browsing, afresh or from scratch.
    private var browsed = ContinuousClock.now

    init(node: Node, port: UInt16, logger: Logger) {
        self.node = node
        self.port = port
        self.logger = logger
        (events, emit) = AsyncStream.makeStream(of: DNSSD.Event.self)
    }

    /// Runs until cancelled, then withdraws the adverts.
    func run() async {
        let emit = self.emit
        engine = DNSSD(type: Advert.serviceType) { emit.yield($0) }
        await withDiscardingTaskGroup { tasks in
            tasks.addTask {
                for await event in self.events { await self.handle(event) }
            }
            tasks.addTask {
                while !Task.isCancelled {
                    await self.maintain()
                    try? await Task.sleep(for: Self.retryInterval)
                }
                self.emit.finish()
            }
        }
        engine?.stop()
        for dialer in dialers.values { dialer.cancel() }
    }

    /// Starts DNS-SD if it is not running, publishes afresh when the groups changed, dials
    /// members who became known since their advert was seen, and browses afresh while a
    /// member is out of reach.
    private func maintain() async {
        let epochs = await node.epochs()
        if available != true || epochs != published { start(epochs: epochs, keys: await node.networkKeys()) }
        for sighting in sightings.values { await dial(sighting) }
        if available == true, ContinuousClock.now - browsed >= Self.browseAgainInterval, await someMemberOutOfReach() {
            browsed = .now
            engine?.browseAgain()
        }
    }

    /// Whether a member of one of our groups has no session and no dialler.
    private func someMemberOutOfReach() async -> Bool {
        for group in await node.groups() {
            for member in await node.otherMembers(of: group)
            where dialers[MemberKey(group: group, member: member)] == nil {
                if await !node.isConnected(member, in: group) { return true }
            }
        }
        return false
    }

    private func start(epochs: [GroupID: UInt32], keys: [(group: GroupID, key: SecretBytes)]) {
        let adverts = keys.map { group, key in
            Advert.txtRecord(token: Advert.token(for: node.identity.publicKey, networkKey: key, nonce: SecureRandom.bytes(AEAD.nonceLength)))
        }
        do {
            sightings = [:]
            try engine?.start(port: port, adverts: adverts)
            browsed = .now
            published = epochs
            if available == false { logger.notice("DNS-SD is available again: advertising and browsing") }
            available = true
        } catch {
            if available != false {
                logger.warning("DNS-SD is unavailable: \(error); members given with --peer still sync; retrying every \(Self.retryInterval.seconds) s")
            }
            available = false
        }
    }

    private func handle(_ event: DNSSD.Event) async {
        switch event {
        case .published(let name):
            visible = true
            logger.info("advertising", metadata: ["instance": "\(name)", "port": "\(port)"])
        case .failed(let code):
            logger.warning("DNS-SD is unavailable: \(DNSSD.Failure(code: code)); members given with --peer still sync; retrying every \(Self.retryInterval.seconds) s")
            available = false
            visible = false
            sightings = [:]
        case .appeared(let instance, let address, let port, let txt):
            guard let token = Advert.token(inTXT: txt) else { return }
            // Any epoch's key: a member who missed a re-key still advertises under the old one.
            for (group, key, _) in await node.handshakeKeys() {
                guard let member = Advert.open(token, networkKey: key) else { continue }
                guard member != node.identity.publicKey else { return }  // our own advert
                let sighting = Sighting(
                    group: group, member: member, address: PeerAddress(host: address, port: Int(port)), seen: .now)
                let known = sightings.updateValue(sighting, forKey: instance)
                if known?.member != member || known?.address != sighting.address {
                    logger.info("member found", metadata: ["peer": "\(member.fingerprint)", "address": "\(sighting.address)"])
                }
                await node.sighted(group: group, member: member, address: sighting.address)
                await dial(sighting)
                return
            }
        case .disappeared(let instance):
            guard let gone = sightings.removeValue(forKey: instance) else { return }
            logger.info("member's advert withdrawn", metadata: ["peer": "\(gone.member.fingerprint)", "address": "\(gone.address)"])
            if address(of: MemberKey(group: gone.group, member: gone.member)) == nil {
                await node.advertWithdrawn(group: gone.group, member: gone.member)
            }
        }
    }

    /// The newest advertised address of a member.
    private func address(of key: MemberKey) -> PeerAddress? {
        sightings.values.filter { $0.group == key.group && $0.member == key.member }.max { $0.seen < $1.seen }?.address
    }

    /// Keeps one dialler per advertised member we know to be a member.
    private func dial(_ sighting: Sighting) async {
        let key = MemberKey(group: sighting.group, member: sighting.member)
        guard dialers[key] == nil, await node.otherMembers(of: sighting.group).contains(sighting.member) else { return }
        let waitFirst = visible && node.identity.publicKey > sighting.member
        dialers[key] = Task { await self.keepDialling(key, waitFirst: waitFirst) }
    }

    /// Dials `key` whenever it is advertised and not connected, with backoff (1 s doubling to
    /// 30 s); gives up after `giveUpAfter` without an answer, forgetting its adverts.
    private func keepDialling(_ key: MemberKey, waitFirst: Bool) async {
        defer { dialers[key] = nil }
        var delay = Duration.seconds(1)
        var failingSince: ContinuousClock.Instant?
        if waitFirst { try? await Task.sleep(for: Self.dialGrace) }
        while !Task.isCancelled, let address = address(of: key) {
            if await node.isConnected(key.member, in: key.group) {
                failingSince = nil
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            do {
                try await Network.keepSession(with: address, node: node, group: key.group, member: key.member)
                failingSince = nil
                delay = .seconds(1)
            } catch {
                logger.info("member unreachable", metadata: ["peer": "\(key.member.fingerprint)", "address": "\(address)", "reason": "\(error)"])
                let since = failingSince ?? .now
                failingSince = since
                if ContinuousClock.now - since >= Self.giveUpAfter {
                    logger.notice("member gone: no answer for \(Self.giveUpAfter.seconds) s; not dialled again until its advert is found again",
                        metadata: ["peer": "\(key.member.fingerprint)", "address": "\(address)"])
                    sightings = sightings.filter { $0.value.group != key.group || $0.value.member != key.member }
                    await node.advertWithdrawn(group: key.group, member: key.member)
                    return
                }
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }
}

extension Duration {
    var seconds: Int64 { components.seconds }
}
