import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol
import MeetKitTestSupport
import Testing

/// Members find each other over DNS-SD (Protocol/discovery.md), each on a host of its own with
/// its own avahi-daemon, using the real `meetkit`; no address is typed anywhere.
@Suite("Discovery between hosts", .enabled(if: Lab.isSupported), .timeLimit(Lab.timeLimit))
struct DiscoveryTests {
    @Test("Three hosts that know no addresses find each other, converge, push live, and notice one that leaves")
    func threeHostsConverge() throws {
        let group = try LabGroup(hosts: 3)
        defer { group.close() }
        try group.foundAndJoin(members: 1...3)
        group.stopNode(1)

        // Each writes while no node runs: three different logs.
        for host in 1...3 { try group.succeed(host, ["share", "Offline share from host \(host)."]) }
        #expect(Set(try (1...3).map { try group.status($0).digest }).count == 3)

        for host in 1...3 { try group.startNode(host) }
        var digests: [String] = []
        let converged = try eventually(timeout: .seconds(30)) {
            digests = try (1...3).map { try group.status($0).digest }
            return Set(digests).count == 1
        }
        #expect(converged, "digests: \(digests)\n\((1...3).map { group.logText($0) }.joined(separator: "\n---\n"))")
        let members = try (1...3).map { try group.status($0).member }

        // Everyone lists the other two: advertised and connected.
        for host in 1...3 {
            var peers: [LabGroup.Peer] = []
            let listed = try eventually(timeout: .seconds(20)) {
                peers = try group.peers(host)
                return Set(peers.filter { $0.connected && $0.advertised }.map(\.member))
                    == Set(members.enumerated().filter { $0.offset != host - 1 }.map(\.element))
            }
            #expect(listed, "h\(host) lists \(peers)")
            #expect(peers.allSatisfy { $0.address.hasPrefix("10.77.0.") }, "\(peers)")
        }
        #expect(group.logText(1).contains("member found"))

        // A new entry on one reaches the others at once (pushed, not polled).
        try group.succeed(2, ["share", "Live from host 2."])
        let pushed = try eventually(timeout: .seconds(5)) { Set(try (1...3).map { try group.status($0).digest }).count == 1 }
        #expect(pushed, "the live share did not reach every host within 5 s")

        // Host 3 vanishes without a goodbye: the others notice through their own heartbeats.
        try group.cutOff(3)
        for host in 1...2 {
            var peers: [LabGroup.Peer] = []
            let noticed = try eventually(timeout: .seconds(45)) {
                peers = try group.peers(host)
                return peers.contains { $0.member == members[2] && !$0.connected }
            }
            #expect(noticed, "h\(host) still lists h3 as connected: \(peers)")
            #expect(try group.peers(host).contains { $0.member == members[1 - (host - 1)] && $0.connected })
        }
    }

    @Test("Avahi and python-zeroconf see the advert: only a version and a token, fresh at every publication")
    func independentClientsSeeOnlyVersionAndToken() throws {
        let group = try LabGroup(hosts: 3)
        defer { group.close() }
        try group.foundAndJoin(members: 1...2)
        let code = try group.succeed(1, ["group", "invite"]).split(separator: "\n").last.map(String.init) ?? ""
        let networkKey = try #require(InviteCode(text: code)).networkKey
        let member = try group.status(1).member
        let secrets = [member, try group.status(2).member, "Member1", "Member2", "Lab Circle"]
            + [try #require(InviteCode(text: code)).group.hex]

        let first = try #require(try advertSeenByAvahi(group, from: 2))
        #expect(Advert.open(try #require(Base64URL.decode(first.token)), networkKey: networkKey)?.hex == member)
        for secret in secrets { #expect(!first.line.localizedCaseInsensitiveContains(secret), "advert reveals \(secret)") }

        // python-zeroconf, on a host whose Avahi is stopped, sees the same record.
        try group.lab.avahiStop(3)
        let python = Lab.repository.appendingPathComponent(".venv-interop/bin/python3").path
        let browser = Lab.repository.appendingPathComponent("Tests/Interop/zeroconf_browse.py").path
        let browse = try group.lab.run(3, [python, browser, "3"])
        #expect(browse.status == 0, "\(browse.stderr)")
        let services = browse.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(ZeroconfService.self, from: Data($0.utf8)) }
        let seen = try #require(services.first { $0.name == first.instance }, "zeroconf saw \(browse.stdout)")
        #expect(seen.txt == ["v": "1", "t": first.token])
        #expect(seen.addresses == [group.lab.address(of: 1)])
        for secret in secrets { #expect(!browse.stdout.localizedCaseInsensitiveContains(secret), "zeroconf saw \(secret)") }

        // A second publication (the node restarted) shares nothing with the first.
        group.stopNode(1)
        try group.startNode(1)
        var second: (instance: String, token: String, line: String)?
        let republished = try eventually(timeout: .seconds(20)) {
            second = try advertSeenByAvahi(group, from: 2)
            return second.map { $0.instance != first.instance } ?? false
        }
        #expect(republished)
        if let second {
            #expect(second.token != first.token)
            #expect(Advert.open(try #require(Base64URL.decode(second.token)), networkKey: networkKey)?.hex == member)
        }
    }

    @Test("Without Avahi, nodes given addresses still sync, doctor says why, and DNS-SD resumes when Avahi returns")
    func withoutAvahiAddressesStillWork() throws {
        let group = try LabGroup(hosts: 2)
        defer { group.close() }
        for host in 1...2 { try group.lab.avahiStop(host) }
        for host in 1...2 { try group.succeed(host, ["init", "--name", "Member\(host)", "--kdf", "interactive"]) }
        try group.succeed(1, ["group", "create", "Lab Circle"])
        try group.startNode(1)
        let address = "\(group.lab.address(of: 1)):7420"

        // Joining without an address says what to do instead.
        let code = try group.succeed(1, ["group", "invite"]).split(separator: "\n").last.map(String.init) ?? ""
        let lost = try group.meetkit(2, ["group", "join", "-"], input: code + "\n")
        #expect(lost.status == 1)
        #expect(lost.stderr.contains("avahi-daemon is not reachable") && lost.stderr.contains("--peer"), "\(lost.stderr)")

        try group.succeed(2, ["group", "join", "-", "--peer", address], input: code + "\n")
        try group.startNode(2, ["--peer", address])
        try group.succeed(2, ["share", "Sent without DNS-SD."])
        let converged = try eventually(timeout: .seconds(20)) { try group.status(1).digest == group.status(2).digest }
        #expect(converged, "\(group.logText(1))\n---\n\(group.logText(2))")

        let doctor = try group.meetkit(1, ["doctor"])
        #expect(doctor.status == 1)
        #expect(doctor.stdout.contains("problem dns-sd: avahi-daemon is not reachable"), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("ok      data directory"), "\(doctor.stdout)")
        #expect(doctor.stderr.contains("1 problem found"), "\(doctor.stderr)")

        // Said once, however many retries fail; then Avahi comes back and the node advertises.
        Thread.sleep(forTimeInterval: 6)
        #expect(group.logText(1).components(separatedBy: "DNS-SD is unavailable").count - 1 == 1, "\(group.logText(1))")
        try group.lab.avahiStart(1)
        let resumed = eventually(timeout: .seconds(15)) { group.logText(1).contains("DNS-SD is available again") }
        #expect(resumed, "\(group.logText(1))")
        let advertising = eventually(timeout: .seconds(10)) { group.logText(1).contains("advertising") }
        #expect(advertising)
        let healthy = try group.meetkit(1, ["doctor"])
        #expect(healthy.stdout.contains("ok      dns-sd"), "\(healthy.stdout)")
    }

    /// The one `_meetkit._tcp` advert avahi-browse on `host` resolves (`-p`: "=;IF;PROTO;NAME;
    /// TYPE;DOMAIN;HOST;ADDRESS;PORT;TXT"), after checking its TXT holds only v=1 and t=TOKEN.
    private func advertSeenByAvahi(_ group: LabGroup, from host: Int) throws -> (instance: String, token: String, line: String)? {
        let output = try group.lab.run(host, ["avahi-browse", "-rpt", "_meetkit._tcp"]).stdout
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 10, fields[0] == "=", fields[7] == group.lab.address(of: 1) else { continue }
            let txt = fields[9].split(separator: " ").map { $0.trimmingCharacters(in: ["\""]) }
            #expect(txt.count == 2 && txt.contains("v=1"), "TXT: \(txt)")
            guard let token = txt.first(where: { $0.hasPrefix("t=") })?.dropFirst(2) else { return nil }
            #expect(token.count == 96)
            return (fields[3], String(token), String(line))
        }
        return nil
    }
}
