import Foundation
import MeetKitTestSupport
import Testing

/// Privacy on the wire and at rest (threat model: someone on the hall's Wi-Fi, someone who
/// copies a device's files): a whole meeting between three hosts is captured on the lab's
/// bridge, and the capture and copies of the data directories are searched for every name,
/// key, group id and piece of content.
@Suite("Capture", .enabled(if: Lab.isSupported), .timeLimit(Lab.timeLimit))
struct CaptureTests {
    @Test func aCapturedMeetingAndCopiedDataDirectoriesRevealNothing() throws {
        let group = try LabGroup(hosts: 3)
        defer { group.close() }
        let capture = group.directory.appendingPathComponent("meeting.pcap")
        let tcpdump = Process()
        tcpdump.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        tcpdump.arguments = ["netns", "exec", "\(group.lab.name)-br", "tcpdump", "-i", "br0", "-U", "-s", "0", "-w", capture.path]
        tcpdump.standardOutput = FileHandle.nullDevice
        tcpdump.standardError = FileHandle.nullDevice
        try tcpdump.run()
        // SIGKILL: a child of this test process may inherit a mask that blocks SIGTERM. With -U
        // every packet is already written when it arrives.
        defer { if tcpdump.isRunning { kill(tcpdump.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 1)  // tcpdump opens the interface

        // The meeting: joins by DNS-SD, nodes running, shares and check-ins (one private).
        try group.foundAndJoin(members: 1...3)
        for host in 2...3 { try group.startNode(host) }
        let texts = [
            "Ninety days today, thank you all.", "I nearly called my old dealer on Friday.",
            "Court date next week; please keep me in mind.",
        ]
        try group.succeed(1, ["meeting", "start", "--topic", "Honesty with family"])
        try group.succeed(2, ["share", texts[0]])
        try group.succeed(3, ["share", texts[1]])
        try group.succeed(1, ["checkin", "--mood", "2", "--note", texts[2], "--to", "Member2"])
        try group.succeed(1, ["meeting", "end"])
        let converged = try eventually(timeout: .seconds(20)) { Set(try (1...3).map { try group.status($0).digest }).count == 1 }
        #expect(converged)
        let statuses = try (1...3).map { try group.status($0) }
        let groupID = try JSONSerialization.jsonObject(with: Data(try group.succeed(1, ["status", "--json"]).utf8)) as? [String: Any]
        let groupHex = try #require((groupID?["groups"] as? [[String: Any]])?.first?["id"] as? String)

        Thread.sleep(forTimeInterval: 1)
        kill(tcpdump.processIdentifier, SIGKILL)
        tcpdump.waitUntilExit()
        let wire = try Data(contentsOf: capture)
        #expect(wire.count > 10_000, "the capture holds only \(wire.count) bytes")
        // The search can find things: the adverts' service type is there, in the clear.
        #expect(wire.range(of: Data("_meetkit".utf8)) != nil, "the capture holds no DNS-SD traffic")

        // Everything a stranger must not learn, as text and as raw bytes.
        var secrets: [(String, Data)] = [("Lab Circle", Data("Lab Circle".utf8)), ("topic", Data("Honesty with family".utf8))]
        for text in texts { secrets.append((text, Data(text.utf8))) }
        for host in 1...3 { secrets.append(("Member\(host)", Data("Member\(host)".utf8))) }
        for status in statuses {
            secrets.append(("member key (hex)", Data(status.member.utf8)))
            secrets.append(("member key", Data(try #require(Self.bytes(hex: status.member)))))
        }
        secrets.append(("group id (hex)", Data(groupHex.utf8)))
        secrets.append(("group id", Data(try #require(Self.bytes(hex: groupHex)))))

        var wireHits = 0
        for (what, needle) in secrets where wire.range(of: needle) != nil {
            Issue.record("the capture holds \(what)")
            wireHits += 1
        }
        // A copy of each data directory (nodes stopped: what a thief takes away).
        group.lab.down()
        var (files, bytes, diskHits) = (0, 0, 0)
        for host in 1...3 {
            for name in try FileManager.default.contentsOfDirectory(atPath: group.home(host)) {
                guard let data = FileManager.default.contents(atPath: group.home(host) + "/" + name) else { continue }
                (files, bytes) = (files + 1, bytes + data.count)
                for (what, needle) in secrets where data.range(of: needle) != nil {
                    Issue.record("h\(host)'s \(name) holds \(what)")
                    diskHits += 1
                }
            }
        }
        Figures.record("privacy", "needles searched for (names, keys, group id, texts; raw and hex)", secrets.count)
        Figures.record("privacy", "capture of a 3-host meeting: size, hits", "\(wire.count / 1024) KiB, \(wireHits)")
        Figures.record("privacy", "copied data directories: files, size, hits", "\(files), \(bytes / 1024) KiB, \(diskHits)")
    }

    static func bytes(hex: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
