import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore
import Testing

/// Creating, opening and refusing to open a store, against real files.
@Suite struct StoreLifecycleTests {
    @Test func createThenOpenRoundTrips() throws {
        let home = try TemporaryHome()
        let (member, group) = try {
            let store = try Fixture.create(home, pseudonym: "Ana")
            let group = try store.createGroup(name: "Circle", at: Date())
            return (store.memberID, group)
        }()

        let store = try Fixture.open(home)
        #expect(store.memberID == member)
        #expect(store.pseudonym == "Ana")
        #expect(store.groups.map(\.id) == [group])
        #expect(store.groups.first?.name == "Circle")
        #expect(try store.resolveGroup(nil) == group)
        #expect(store.entryCount == 2)
        let report = try store.verify()
        #expect(report.entries == 2 && report.feeds == 1 && report.groups == 1)
    }

    @Test func filesArePrivateToTheOwner() throws {
        let home = try TemporaryHome()
        _ = try Fixture.create(home)
        for path in [home.path, home.directory.keystore, home.directory.database] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(path) has mode \(String(mode, radix: 8))")
        }
    }

    @Test func appendSurvivesReopen() throws {
        let home = try TemporaryHome()
        var written: [EntryID] = []
        let group: GroupID
        do {
            let store = try Fixture.create(home)
            group = try store.createGroup(name: "Circle", at: Date())
            let meeting = try store.append(.meetingOpen(topic: "Steps"), to: group, at: Date())
            written.append(meeting.id)
            written.append(try store.append(.share(Share(text: "first", meeting: meeting.id)), to: group, at: Date()).id)
            written.append(try store.append(.checkIn(CheckIn(mood: 4, note: "ok", meeting: meeting.id)), to: group, at: Date()).id)
            written.append(try store.append(.meetingClose(meeting: meeting.id), to: group, at: Date()).id)
        }

        let store = try Fixture.open(home)
        let items = store.log(of: group)
        #expect(items.count == 6)
        #expect(Array(items.suffix(4).map(\.entry.id)) == written)
        #expect(items.allSatisfy { $0.content != nil })
        #expect(items.map(\.entry.header.sequence) == [1, 2, 3, 4, 5, 6])
        if case .share(let share)? = items[3].content {
            #expect(share.text == "first")
            #expect(share.meeting == written[0])
        } else {
            Issue.record("entry 4 should be the share, got \(String(describing: items[3].content))")
        }
        #expect(store.state(of: group).openMeeting == nil)

        // A reopened store continues the same feed.
        let next = try store.append(.share(Share(text: "second")), to: group, at: Date())
        #expect(next.header.sequence == 7)
        #expect(next.header.previous == written.last)
        #expect(try store.verify().entries == 7)
    }

    @Test func wrongPassphraseIsRefusedAndChangesNothing() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home)
        let before = FileSnapshot(home)
        let error = Fixture.storeError { _ = try Fixture.open(home, passphrase: "not the passphrase") }
        #expect(error?.code == .wrongPassphrase)
        #expect(error?.message.contains("not the passphrase") == false)
        #expect(FileSnapshot(home) == before)
        // The right one still works afterwards.
        #expect(try Fixture.open(home).entryCount == 7)
    }

    @Test func weakPassphraseIsRefusedBeforeAnythingIsWritten() throws {
        let home = try TemporaryHome()
        let error = Fixture.storeError {
            _ = try Store.create(at: home.directory, passphrase: Fixture.passphrase("short"), pseudonym: "Ana", cost: Fixture.cost)
        }
        #expect(error?.code == .weakPassphrase)
        #expect(!FileManager.default.fileExists(atPath: home.path))
    }

    @Test func openingAMissingDirectorySaysNotInitializedAndCreatesNothing() throws {
        let home = try TemporaryHome()
        let error = Fixture.storeError { _ = try Fixture.open(home) }
        #expect(error?.code == .notInitialized)
        #expect(!FileManager.default.fileExists(atPath: home.path))
    }

    @Test func creatingTwiceIsRefusedAndChangesNothing() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home)
        let before = FileSnapshot(home)
        let error = Fixture.storeError { _ = try Fixture.create(home, pseudonym: "Someone Else") }
        #expect(error?.code == .alreadyInitialized)
        #expect(FileSnapshot(home) == before)
        #expect(try Fixture.open(home).pseudonym == "Ana")
    }

    @Test func aMissingDatabaseIsReportedAndNotRecreated() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home)
        try FileManager.default.removeItem(atPath: home.directory.database)
        let error = Fixture.storeError { _ = try Fixture.open(home) }
        #expect(error?.code == .damagedDatabase)
        #expect(!FileManager.default.fileExists(atPath: home.directory.database))
    }

    @Test(arguments: ["truncated", "empty", "garbage", "flipped header"])
    func aDamagedKeystoreIsReportedAndLeftAlone(damage: String) throws {
        let home = try TemporaryHome()
        try Fixture.populate(home)
        let keystore = home.directory.keystore
        let original = try #require(FileManager.default.contents(atPath: keystore))
        var damaged = original
        switch damage {
        case "truncated": damaged = original.prefix(original.count / 2)
        case "empty": damaged = Data()
        case "garbage": damaged = Data((0..<original.count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        default: damaged[3] ^= 0x01  // inside the magic
        }
        try damaged.write(to: URL(fileURLWithPath: keystore))
        let before = FileSnapshot(home)
        let error = Fixture.storeError { _ = try Fixture.open(home) }
        #expect(error?.code == .damagedKeystore)
        #expect(FileSnapshot(home) == before)
    }

    /// Changing a cost parameter (part of the associated data) must not let the keystore open.
    @Test func aKeystoreWithAlteredCostDoesNotOpen() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home)
        let keystore = home.directory.keystore
        var bytes = try #require(FileManager.default.contents(atPath: keystore))
        bytes[17 + 7] ^= 0x01  // a byte of the Argon2id operations count
        try bytes.write(to: URL(fileURLWithPath: keystore))
        let error = Fixture.storeError { _ = try Fixture.open(home) }
        #expect(error?.code == .wrongPassphrase || error?.code == .damagedKeystore)
    }

    /// A second store on the same directory waits for the first to let go of its lock.
    @Test func aSecondOpenWaitsForTheFirstToClose() throws {
        let home = try TemporaryHome()
        try Fixture.populate(home, shares: 1)
        var first: Store? = try Fixture.open(home)
        #expect(first != nil)

        let result = OpenResult()
        let directory = home.directory
        let thread = Thread {
            let started = ContinuousClock.now
            do {
                let store = try Store.open(at: directory, passphrase: Fixture.passphrase())
                let group = try store.resolveGroup(nil)
                try store.append(.share(Share(text: "from the second")), to: group, at: Date())
                result.finish(.success(ContinuousClock.now - started))
            } catch {
                result.finish(.failure(error))
            }
        }
        thread.start()
        Thread.sleep(forTimeInterval: 0.6)
        #expect(result.value == nil, "the second store must not open while the first holds the lock")
        first = nil

        let outcome = try #require(result.wait(timeout: 10))
        switch outcome {
        case .success(let waited): #expect(waited >= .milliseconds(500))
        case .failure(let error): Issue.record("second open failed: \(error)")
        }
        let store = try Fixture.open(home)
        #expect(store.entryCount == 4)
        #expect(try store.verify().entries == 4)
    }
}

/// The outcome of work on another thread.
final class OpenResult: @unchecked Sendable {
    private let condition = NSCondition()
    private var outcome: Result<Duration, any Error>?

    var value: Result<Duration, any Error>? {
        condition.lock()
        defer { condition.unlock() }
        return outcome
    }

    func finish(_ outcome: Result<Duration, any Error>) {
        condition.lock()
        self.outcome = outcome
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: TimeInterval) -> Result<Duration, any Error>? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil && condition.wait(until: deadline) {}
        return outcome
    }
}
