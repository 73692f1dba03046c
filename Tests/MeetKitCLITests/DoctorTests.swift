import Foundation
import Testing

/// `meetkit doctor` on this machine, outside any lab: there is no avahi-daemon in this network
/// namespace (the lab tests check the other way round), so DNS-SD is always a problem here.
@Suite struct DoctorTests {
    struct Check: Decodable {
        let check: String
        let ok: Bool
        let detail: String
    }

    private func doctor(_ s: CLISession) throws -> (status: Int32, checks: [String: Check]) {
        let result = try s.meetkit(["doctor", "--json"])
        let list = try JSONDecoder().decode([Check].self, from: Data(result.stdout.utf8))
        return (result.status, Dictionary(uniqueKeysWithValues: list.map { ($0.check, $0) }))
    }

    @Test func aHealthyDirectoryAndClockPassTheirChecks() throws {
        try withSession { s in
            try s.setUpGroup()
            try s.succeed(["share", "something"])
            let (_, checks) = try doctor(s)
            #expect(Set(checks.keys) == ["dns-sd", "clock", "data directory", "interfaces"])
            #expect(checks["data directory"]?.ok == true, "\(checks)")
            #expect(checks["clock"]?.ok == true, "\(checks)")
            #expect(checks["clock"]?.detail.contains("after your newest entry") == true, "\(checks)")
        }
    }

    @Test func aDirectoryOthersCanReadIsAProblemWithItsRemedy() throws {
        try withSession { s in
            try s.setUpGroup()
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: s.home)
            var (status, checks) = try doctor(s)
            #expect(status == 1)
            #expect(checks["data directory"]?.ok == false)
            #expect(checks["data directory"]?.detail.contains("chmod 700") == true, "\(checks)")

            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: s.home)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: s.home + "/keystore")
            (status, checks) = try doctor(s)
            #expect(checks["data directory"]?.ok == false)
            #expect(checks["data directory"]?.detail.contains("keystore") == true, "\(checks)")
        }
    }

    @Test func withoutAvahiTheTextSaysWhatIsWrongAndExitsOne() throws {
        try withSession { s in
            try s.setUpGroup()
            let result = try s.meetkit(["doctor"])
            #expect(result.status == 1)
            #expect(result.stdout.contains("problem dns-sd: avahi-daemon is not reachable"), "\(result)")
            #expect(result.stdout.contains("ok      data directory"), "\(result)")
            #expect(result.stderr == "meetkit: 1 problem found.\n" || result.stderr.hasSuffix("problems found.\n"), "\(result)")
        }
    }
}
