import ArgumentParser
import Foundation
import MeetKit
import MeetKitNode

#if canImport(Glibc)
import Glibc
#endif

struct Doctor: AsyncParsableCommand, NodeCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check what this node needs: Avahi, the clock, the data directory, the network.",
        discussion: """
            Prints one line per check: ok or problem, then what was found. Exits 1 when any
            check finds a problem. Nothing secret is printed.
            """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: JSONFlag

    struct Check: Encodable {
        let check: String
        let ok: Bool
        let detail: String
    }

    func run() async throws {
        let checks = [avahi(), await clock(), dataDirectory(), interfaces()]
        if output.json {
            try Output.json(checks)
        } else {
            for check in checks { Output.line("\(check.ok ? "ok     " : "problem") \(check.check): \(check.detail)") }
        }
        let problems = checks.filter { !$0.ok }.count
        if problems > 0 { throw CLIError(problems == 1 ? "1 problem found." : "\(problems) problems found.") }
    }

    private func avahi() -> Check {
        do {
            try DNSSDDaemon.check()
            return Check(check: "dns-sd", ok: true, detail: "avahi-daemon answers; members on this network can find each other")
        } catch {
            return Check(
                check: "dns-sd", ok: false,
                detail: "\(error); start avahi-daemon (and D-Bus) so members find each other, or use 'meetkit run --peer HOST:PORT'")
        }
    }

    /// Sane: not before this release was made, and not behind the newest entry this member wrote
    /// (a clock that went back would stamp new entries earlier than old ones).
    private func clock() async -> Check {
        let now = Date()
        let stamp = Output.shortTime(Int64(now.timeIntervalSince1970 * 1000))
        if now < Self.releaseDate {
            return Check(check: "clock", ok: false, detail: "it says \(stamp), before this release was made; set the date")
        }
        let notCompared = Check(check: "clock", ok: true, detail: "\(stamp) (the store could not be read, so not compared with your entries)")
        // The running node knows; without one, the store is opened here.
        let newest: Int64?
        do {
            switch try Control.send(.newestOwnEntry, to: node.controlSocket, directory: node.directory) {
            case .success(.timestamp(let value))?: newest = value
            case nil: newest = Engine(store: try node.openStore()).newestOwnEntry()
            default: return notCompared
            }
        } catch {
            return notCompared
        }
        if let newest, newest > Int64(now.timeIntervalSince1970 * 1000) + 300_000 {
            return Check(
                check: "clock", ok: false,
                detail: "it says \(stamp), but you wrote an entry at \(Output.shortTime(newest)); set the date")
        }
        return Check(check: "clock", ok: true, detail: "\(stamp), after your newest entry")
    }

    /// Safe: a directory of this user's that no one else can read or enter.
    private func dataDirectory() -> Check {
        let path = node.directory.path
        var info = stat()
        guard lstat(path, &info) == 0 else {
            return Check(check: "data directory", ok: false, detail: "\(path) does not exist; run 'meetkit init'")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            return Check(check: "data directory", ok: false, detail: "\(path) is not a directory")
        }
        guard info.st_uid == getuid() else {
            return Check(check: "data directory", ok: false, detail: "\(path) belongs to another user (uid \(info.st_uid))")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            return Check(
                check: "data directory", ok: false,
                detail: "\(path) has mode \(String(mode, radix: 8)): others can look inside; run 'chmod 700 \(path)'")
        }
        let exposed = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { name in
            var file = stat()
            return lstat(path + "/" + name, &file) == 0 && file.st_mode & 0o077 != 0 && file.st_mode & S_IFMT != S_IFSOCK
        }
        guard exposed.isEmpty else {
            return Check(
                check: "data directory", ok: false,
                detail: "others may read \(exposed.sorted().joined(separator: ", ")) in \(path); run 'chmod 600' on them")
        }
        return Check(check: "data directory", ok: true, detail: "\(path), yours alone (mode 700)")
    }

    /// The IPv4 interfaces that are up; mDNS needs one, other than loopback, that does multicast.
    private func interfaces() -> Check {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else {
            return Check(check: "interfaces", ok: false, detail: "cannot list them: \(String(cString: strerror(errno)))")
        }
        defer { freeifaddrs(list) }
        var found: [(name: String, address: String, multicast: Bool, loopback: Bool)] = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            let flags = Int32(entry.pointee.ifa_flags)
            guard flags & Int32(IFF_UP) != 0, let address = entry.pointee.ifa_addr,
                address.pointee.sa_family == sa_family_t(AF_INET)
            else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            found.append((
                String(cString: entry.pointee.ifa_name), String(decoding: host.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self),
                flags & Int32(IFF_MULTICAST) != 0, flags & Int32(IFF_LOOPBACK) != 0
            ))
        }
        let listed = found.map { "\($0.name) \($0.address)\($0.multicast ? " (multicast)" : "")" }.joined(separator: ", ")
        guard found.contains(where: { $0.multicast && !$0.loopback }) else {
            return Check(
                check: "interfaces", ok: false,
                detail: "no network interface that can carry DNS-SD is up (\(listed.isEmpty ? "none" : listed)); join the meeting's Wi-Fi")
        }
        return Check(check: "interfaces", ok: true, detail: listed)
    }

    /// No clock set earlier than this is right.
    static let releaseDate = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01
}
