import Foundation
import MeetKitTestSupport
import Testing

/// Partitions (issue 7): five members on five lab hosts, found by DNS-SD, their nodes running,
/// while nftables rules inside the hosts cut links, split the group in two and drop a share of
/// the packets. Every member keeps writing through its node; after each heal every host must
/// reach the same digest and hold every share whose command succeeded.
@Suite(
    "Partitions between hosts", .enabled(if: Lab.isSupported && Lab.canInjectFaults),
    .timeLimit(Figures.isLong ? .minutes(60) : Lab.timeLimit))
struct PartitionTests {
    /// How long a healed group may take to converge: a dialler may be in a 30 s backoff, and
    /// a dial through a lossy link can lose its handshake (5 s) more than once.
    static let convergenceLimit = Duration.seconds(90)
    /// Longer than a member takes to give up on a silent peer: the idle timeout closes the
    /// session (30 s, sync.md), then 60 s of failing dials (discovery.md), with one 5 s
    /// connect timeout at the end.
    static let pastGiveUp = Duration.seconds(105)

    @Test("cut, split, heal and loss do what they say, to TCP and to mDNS")
    func faultsDoWhatTheySay() throws {
        let lab = try Lab(hosts: 3)
        defer { lab.down() }
        #expect(try reachable(lab, from: 1, to: 2) && reachable(lab, from: 1, to: 3))

        try lab.cut(1, 2)
        #expect(try lab.faults() == "h1 cut=h2 loss=0\nh2 cut=h1 loss=0\nh3 cut= loss=0\n")
        #expect(try !reachable(lab, from: 1, to: 2) && !reachable(lab, from: 2, to: 1))
        #expect(try reachable(lab, from: 1, to: 3) && reachable(lab, from: 2, to: 3))
        // mDNS is cut with the link: an advert published on h1 now reaches h3, not h2.
        let log = lab.stateDirectory.appendingPathComponent("publish.log")
        _ = try lab.spawn(1, ["avahi-publish", "-s", "cut-\(lab.name)", "_meetkit._tcp", "7420", "v=1"], log: log)
        let seenOnH3 = try eventually(timeout: .seconds(15)) { try browse(lab, on: 3).contains("cut-\(lab.name)") }
        #expect(seenOnH3)
        #expect(try !browse(lab, on: 2).contains("cut-\(lab.name)"))

        try lab.heal(1, 2)
        #expect(try reachable(lab, from: 2, to: 1))
        let seenOnH2 = try eventually(timeout: .seconds(15)) { try browse(lab, on: 2).contains("cut-\(lab.name)") }
        #expect(seenOnH2, "h2 does not see h1's advert once healed")

        try lab.split([3])
        #expect(try lab.faults() == "h1 cut=h3 loss=0\nh2 cut=h3 loss=0\nh3 cut=h1,h2 loss=0\n")
        #expect(try reachable(lab, from: 1, to: 2) && !reachable(lab, from: 2, to: 3))
        try lab.heal()
        #expect(try lab.faults() == "h1 cut= loss=0\nh2 cut= loss=0\nh3 cut= loss=0\n")
        #expect(try reachable(lab, from: 3, to: 1))

        // 50 % loss on h2's input: of 400 datagrams from h1 about half arrive.
        try lab.setLoss(50, on: 2)
        #expect(try lab.faults().contains("h2 cut= loss=50"))
        let arrived = try datagramsArriving(lab, from: 1, to: 2, count: 400)
        #expect((120...280).contains(arrived), "\(arrived) of 400 arrived through 50 % loss")
        try lab.setLoss(0, on: 2)
        #expect(try datagramsArriving(lab, from: 1, to: 2, count: 100) == 100)
    }

    @Test("Five members keep writing through partitions and packet loss; after each heal all reach one digest and lose nothing acknowledged")
    func membersConvergeAfterEveryHeal() throws {
        let seed = ProcessInfo.processInfo.environment["MEETKIT_SEED"].flatMap { UInt64($0) } ?? .random(in: 0...UInt64.max)
        var random = SplitMix64(seed: seed)
        let cycles = PartitionCycle.plan(count: Figures.sized(ci: 3, long: 20), hosts: 5, using: &random)
        print("partition test: seed \(seed) (MEETKIT_SEED repeats it)\n" + cycles.map { "  \($0)" }.joined(separator: "\n"))

        let group = try LabGroup(hosts: 5)
        defer { group.close() }
        let hosts = Array(1...5)
        try group.foundAndJoin(members: 1...5)
        for host in 2...5 { try group.startNode(host) }
        try #require(try converges(group, within: .seconds(30)) != nil, "the five hosts did not converge before any fault")
        try #require(try meshes(group), "not every node has a session with every other: \(diagnosis(group, hosts: hosts))")
        let before = try group.status(1).entries

        let acknowledged = Acknowledged()
        var convergence: [Double] = []
        for (index, cycle) in cycles.enumerated() {
            // Faults on, everyone writing while they last; then heal.
            switch cycle.cut {
            case .none: break
            case .split(let side): try group.lab.split(side.sorted())
            }
            if cycle.loss > 0 { for host in hosts { try group.lab.setLoss(cycle.loss, on: host) } }
            let faults = try group.lab.faults()
            keepWriting(group, hosts: hosts, for: cycle.length, label: "c\(index)", into: acknowledged)
            try group.lab.heal()
            if !cycle.lossThroughHeal { for host in hosts { try group.lab.setLoss(0, on: host) } }

            let took = try converges(group, within: Self.convergenceLimit)
            guard let took else {
                Issue.record(
                    """
                    cycle \(index) (\(cycle)) did not converge within \(Self.convergenceLimit) of the heal; \
                    digests \(try group.digests(hosts))
                    faults during the cycle:
                    \(faults)\(diagnosis(group, hosts: hosts))
                    """)
                break
            }
            convergence.append(took)
            print("partition cycle \(index): \(cycle); converged \(String(format: "%.1f", took)) s after the heal; \(acknowledged.count) shares acknowledged")
            // One digest, so one log: it holds a new entry for every acknowledged share (and at most
            // one for each refused one, which may have been written before its reply was lost).
            // The texts themselves are read at the end, from the stopped nodes' stores: a running
            // node's `log --json` goes through the control socket, whose reply is lost once it
            // grows past a few hundred KiB (a long run writes thousands of shares).
            let added = try group.status(1).entries - before
            #expect(
                (acknowledged.count...(acknowledged.count + acknowledged.failures.count)).contains(added),
                "cycle \(index): \(added) entries added for \(acknowledged.count) acknowledged shares")
            if cycle.lossThroughHeal { for host in hosts { try group.lab.setLoss(0, on: host) } }
        }
        #expect(acknowledged.failures.isEmpty, "shares refused by a running node: \(acknowledged.failures.prefix(5))")

        for host in hosts { group.stopNode(host) }
        var lost = 0
        for host in hosts {
            let missing = acknowledged.texts.subtracting(try group.sharedTexts(host))
            #expect(missing.isEmpty, "h\(host) lacks \(missing.count) acknowledged shares: \(missing.sorted().prefix(5))")
            lost = max(lost, missing.count)
        }
        let sorted = convergence.sorted()
        let losses = cycles.map(\.loss).filter { $0 > 0 }
        Figures.record("partition", "cycles", "\(convergence.count) of \(cycles.count) converged (seed \(seed))")
        Figures.record("partition", "partition length (s)", "\(cycles.map(\.length.components.seconds).min() ?? 0)–\(cycles.map(\.length.components.seconds).max() ?? 0)")
        Figures.record("partition", "median convergence after heal (s)", String(format: "%.1f", sorted.isEmpty ? 0 : sorted[sorted.count / 2]))
        Figures.record("partition", "max convergence after heal (s)", String(format: "%.1f", sorted.last ?? 0))
        Figures.record("partition", "acknowledged shares", acknowledged.count)
        Figures.record("partition", "lost acknowledged shares", lost)
        Figures.record(
            "partition", "packet loss during cycles (%)",
            "\(losses.min() ?? 0)–\(losses.max() ?? 0) on every host, in \(losses.count) of \(cycles.count) cycles")
    }

    @Test("Members cut apart past the give-up dial each other again once the link heals")
    func membersDialAgainAfterGivingUp() throws {
        let group = try LabGroup(hosts: 3)
        defer { group.close() }
        try group.foundAndJoin(members: 1...3)
        for host in 2...3 { try group.startNode(host) }
        try #require(try converges(group, within: .seconds(30)) != nil)
        try #require(try meshes(group), "not every node has a session with every other: \(diagnosis(group, hosts: [1, 2, 3]))")

        try group.lab.split([3])
        try group.succeed(1, ["share", "Written on h1 while h3 was away."])
        try group.succeed(3, ["share", "Written on h3, alone."])
        // Every member on each side gives up on those across.
        let gaveUp = eventually(timeout: Self.pastGiveUp + .seconds(30)) {
            gone(in: group.logText(3)) >= 2 && gone(in: group.logText(1)) >= 1 && gone(in: group.logText(2)) >= 1
        }
        #expect(gaveUp, "the members did not all give up on each other: \(diagnosis(group, hosts: [1, 2, 3]))")

        try group.lab.heal()
        let took = try converges(group, within: .seconds(60))
        #expect(took != nil, "no one dials across the healed link: \(diagnosis(group, hosts: [1, 2, 3]))")
        if let took {
            Figures.record("partition", "convergence after a cut past the 60 s give-up (s)", String(format: "%.1f", took))
        }
        for host in 1...3 {
            #expect(try group.sharedTexts(host).isSuperset(of: ["Written on h1 while h3 was away.", "Written on h3, alone."]))
        }
    }

    // MARK: Helpers

    /// Seconds until every host of `group` reports the same digest, or nil after `limit`.
    private func converges(_ group: LabGroup, within limit: Duration) throws -> Double? {
        let started = ContinuousClock.now
        let converged = try eventually(timeout: limit, interval: .milliseconds(250)) {
            Set(try group.digests(1...group.lab.hosts)).count == 1
        }
        guard converged else { return nil }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whether, within 30 s, every node has a session with every other node: each has found the
    /// others' adverts (a cut right after a node starts would hide its advert).
    private func meshes(_ group: LabGroup) throws -> Bool {
        let hosts = 1...group.lab.hosts
        return try eventually(timeout: .seconds(30)) {
            try hosts.allSatisfy { host in
                let reached = try group.peers(host).filter { $0.connected && $0.advertised }.map { $0.address.split(separator: ":")[0] }
                return Set(reached).isSuperset(of: hosts.filter { $0 != host }.map { Substring(group.lab.address(of: $0)) })
            }
        }
    }

    /// Every host in `hosts` shares a new text through its running node about once a second
    /// for `length`, each on a thread of its own; texts whose command succeeded are
    /// acknowledged.
    private func keepWriting(_ group: LabGroup, hosts: [Int], for length: Duration, label: String, into acknowledged: Acknowledged) {
        let deadline = ContinuousClock.now + length
        let writers = DispatchGroup()
        for host in hosts {
            writers.enter()
            Thread.detachNewThread {
                defer { writers.leave() }
                var number = 0
                while ContinuousClock.now < deadline {
                    number += 1
                    let text = "\(label) h\(host) #\(number): one day at a time."
                    let result = try? group.meetkit(host, ["share", text])
                    if result?.status == 0 {
                        acknowledged.add(text)
                    } else {
                        acknowledged.failed("h\(host): \(result?.stderr ?? "did not run")")
                    }
                    Thread.sleep(forTimeInterval: 1)
                }
            }
        }
        writers.wait()
    }

    /// What each host's node sees, for a failure message: the faults in place, each host's
    /// digest and connected peers, and the end of its node's log.
    private func diagnosis(_ group: LabGroup, hosts: [Int]) -> String {
        var lines = ["\nfaults now:", (try? group.lab.faults()) ?? "?"]
        for host in hosts {
            let connected = (try? group.peers(host))?.filter(\.connected).map(\.address) ?? []
            lines.append("h\(host): digest \((try? group.status(host).digest.prefix(12)) ?? "?"), connected to \(connected)")
            lines.append(group.logText(host).split(separator: "\n").suffix(12).joined(separator: "\n"))
        }
        return lines.joined(separator: "\n")
    }

    private func gone(in log: String) -> Int { log.components(separatedBy: "member gone").count - 1 }

    /// Whether a TCP connection from `host` to `peer` is answered within 2 s (by a refusal:
    /// nothing listens on the port, so an answer is an RST).
    private func reachable(_ lab: Lab, from host: Int, to peer: Int) throws -> Bool {
        let script = """
            import socket, sys
            s = socket.socket(); s.settimeout(2)
            try: s.connect((sys.argv[1], 9))
            except ConnectionRefusedError: print("answered")
            except OSError: print("silent")
            """
        let result = try lab.run(host, ["python3", "-c", script, lab.address(of: peer)])
        return result.stdout == "answered\n"
    }

    /// How many of `count` UDP datagrams sent from `host` arrive at `peer`.
    private func datagramsArriving(_ lab: Lab, from host: Int, to peer: Int, count: Int) throws -> Int {
        let receiver = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9999)); s.settimeout(3)
            print("ready", flush=True)
            n = 0
            try:
                while True: s.recv(64); n += 1
            except socket.timeout: print(n)
            """
        let output = lab.stateDirectory.appendingPathComponent("datagrams-\(UUID().uuidString.prefix(8)).log")
        _ = try lab.spawn(peer, ["python3", "-c", receiver], log: output)
        let text = { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
        try #require(eventually(timeout: .seconds(10)) { text().contains("ready") })
        let sender = "import socket, sys, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(\(count)): s.sendto(b'x', (sys.argv[1], 9999)); time.sleep(0.002)"
        try #require(try lab.run(host, ["python3", "-c", sender, lab.address(of: peer)]).status == 0)
        try #require(eventually(timeout: .seconds(10)) { text().split(separator: "\n").count == 2 })
        return Int(text().split(separator: "\n")[1]) ?? -1
    }

    /// What `avahi-browse` on `host` lists of `_meetkit._tcp` (from its daemon's cache and a
    /// fresh query).
    private func browse(_ lab: Lab, on host: Int) throws -> String {
        try lab.run(host, ["avahi-browse", "-pt", "_meetkit._tcp"]).stdout
    }
}

/// One cycle of the partition test: what is cut, how many packets are lost, for how long.
struct PartitionCycle: CustomStringConvertible {
    enum Cut {
        case none
        /// The hosts on one side; the rest are on the other.
        case split(Set<Int>)
    }

    let cut: Cut
    /// Percent of the packets each host receives that are dropped; 0 for none.
    let loss: Int
    /// Whether the loss stays while the group converges after the heal.
    let lossThroughHeal: Bool
    let length: Duration

    /// Cycles of five kinds in turn: a split in two, one host cut off with loss kept through the
    /// heal, a split with loss, loss alone, one host cut off. In a long run every fifth cut
    /// lasts past the members' give-up on each other.
    static func plan(count: Int, hosts: Int, using random: inout some RandomNumberGenerator) -> [PartitionCycle] {
        (0..<count).map { index in
            let everyone = Array(1...hosts).shuffled(using: &random)
            let pair = Set(everyone.prefix(2))
            let one: Set = [everyone[0]]
            let loss = Int.random(in: 10...30, using: &random)
            let length = Figures.isLong && index % 5 == 4
                ? PartitionTests.pastGiveUp
                : Duration.seconds(Int.random(in: Figures.sized(ci: 8...12, long: 8...30), using: &random))
            switch index % 5 {
            case 0: return PartitionCycle(cut: .split(pair), loss: 0, lossThroughHeal: false, length: length)
            case 1: return PartitionCycle(cut: .split(one), loss: loss, lossThroughHeal: true, length: length)
            case 2: return PartitionCycle(cut: .split(pair), loss: loss, lossThroughHeal: false, length: length)
            case 3: return PartitionCycle(cut: .none, loss: loss, lossThroughHeal: false, length: length)
            default: return PartitionCycle(cut: .split(one), loss: 0, lossThroughHeal: false, length: length)
            }
        }
    }

    var description: String {
        var parts: [String] = []
        switch cut {
        case .none: parts.append("no cut")
        case .split(let side): parts.append("\(side.sorted().map { "h\($0)" }.joined(separator: ",")) cut from the rest")
        }
        if loss > 0 { parts.append("\(loss) % loss\(lossThroughHeal ? " kept through the heal" : "")") }
        parts.append("for \(length.components.seconds) s")
        return parts.joined(separator: ", ")
    }
}

/// The shares whose `meetkit share` succeeded, gathered from the writers' threads.
final class Acknowledged: @unchecked Sendable {
    private let lock = NSLock()
    private var acknowledged: Set<String> = []
    private var refused: [String] = []

    var texts: Set<String> { lock.withLock { acknowledged } }
    var count: Int { lock.withLock { acknowledged.count } }
    var failures: [String] { lock.withLock { refused } }

    func add(_ text: String) { lock.withLock { _ = acknowledged.insert(text) } }
    func failed(_ reason: String) { lock.withLock { refused.append(reason) } }
}

