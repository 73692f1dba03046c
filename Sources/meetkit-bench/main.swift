// meetkit-bench: MeetKit's speed, as ratios to this machine's own Ed25519 verify rate
// measured in the same run. Run it in release mode, with `meetkit` built beside it:
//
//     swift build -c release --product meetkit
//     swift build -c release --product meetkit-bench     (one --product per build: the last wins)
//     .build/release/meetkit-bench [--entries N] [--sync-entries N] [--mesh-entries N] [--discovery-runs N]
//
// --entries N          entries for the in-process figures (default 5,000)
// --sync-entries N     entries one node receives from another in the sync figure (default 100,000)
// --mesh-entries N     entries each of the five nodes writes for the convergence figure (default 1,000)
// --discovery-runs N   new members timed for the discovery figure (default 10; 0 leaves it out)
//
// The node figures run the real `meetkit` found next to this executable as separate processes
// talking TCP on 127.0.0.1 (they need `ss` from iproute2 to count bytes on the wire); without
// that binary they are left out. A full run takes a minute or two; progress goes to stderr.
//
// The discovery figure is the time from `meetkit run` on a new member's host to its first
// completed sync with a member, the two finding each other over DNS-SD: the median of N runs,
// each a fresh member (joined beforehand) whose node starts on host h2 of a two-host lab
// (Tests/Lab/lab.sh: network namespaces on a bridge, each with its own avahi-daemon) while the
// founder's node runs on h1 with one entry the newcomer lacks. Its baseline is the same node's
// own advert (the mDNS name probe, about 0.8 s), timed in the same runs; browsing does not wait
// for that probe, so a first sync before it is expected. Both are timed from spawning `lab.sh
// exec ... meetkit run` (about 10 ms of lab.sh and nsenter included) to the moment the log line
// is read from the node's stderr pipe. The newcomer finds the founder's advert at once and
// dials before its own advert is out (Protocol/discovery.md §What a node does), so its first
// sync is expected well before that baseline; the count of runs that synced first says so.
// About 4 s a run. It needs root and what `lab.sh check` asks for, and is left out, with a
// note, without them. Its lab (named bdNNNN, in the progress notes) is torn down at the end,
// also after a failure; after a killed run, `Tests/Lab/lab.sh down bdNNNN`.
//
// It prints figures and never fails on them: speed is checked by reading the table, not by
// timed tests that flake on a busy machine. Targets are printed beside the figures they concern.
import Foundation
import MeetKitCore
import MeetKitCrypto
import MeetKitStore

let arguments = CommandLine.arguments
func flag(_ name: String, default value: Int) -> Int {
    arguments.firstIndex(of: name).flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? value
}
let entryCount = flag("--entries", default: 5_000)
let syncEntryCount = flag("--sync-entries", default: 100_000)
let meshEntryCount = flag("--mesh-entries", default: 1_000)
let discoveryRuns = flag("--discovery-runs", default: 10)
let clock = ContinuousClock()

/// Operations per second of `body`, run `count` times; the best of three rounds.
func rate(_ count: Int, _ body: (Int) throws -> Void) rethrows -> Double {
    var best = 0.0
    for _ in 0..<3 {
        let elapsed = try clock.measure { for i in 0..<count { try body(i) } }
        best = max(best, Double(count) / seconds(elapsed))
    }
    return best
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func row(_ name: String, _ value: Double, _ unit: String, baseline: Double? = nil) {
    let ratio = baseline.map { String(format: "%6.2f", value / $0) } ?? "     -"
    print(name.padding(toLength: 50, withPad: " ", startingAt: 0)
        + String(format: "%12.0f", value) + " " + unit.padding(toLength: 10, withPad: " ", startingAt: 0) + ratio)
}

// MARK: Baseline

let key = SigningKey.generate()
let message = SecureRandom.bytes(32)
let signature = key.sign(message)
let rawVerify = rate(20_000) { _ in precondition(key.publicKey.isValidSignature(signature, for: message)) }

// MARK: Entries in memory

let contentKey = SecretBytes(randomCount: 32)
let group = GroupID(bytes: SecureRandom.bytes(32))!
var entries: [Entry] = []
var head: FeedHead?
for i in 0..<entryCount {
    let entry = try Entry.create(
        content: .share(Share(text: "Share number \(i): " + String(repeating: "x", count: 200))), group: group,
        after: head, lamport: UInt64(i + 1), timestamp: 1_800_000_000_000, epoch: 0, author: key,
        contentKey: contentKey, nonce: SecureRandom.bytes(24))
    entries.append(entry)
    head = entry.head
}
let wires = entries.map { ($0.wire, $0.body) }
let nonce = SecureRandom.bytes(AEAD.nonceLength)
let createRate = try rate(2_000) { i in
    _ = try Entry.create(
        content: .share(Share(text: "bench \(i)")), group: group, after: head, lamport: 1, timestamp: 0, epoch: 0,
        author: key, contentKey: contentKey, nonce: nonce)
}
let verifyRate = try rate(wires.count) { i in _ = try Entry(wire: wires[i].0, body: wires[i].1) }
let openRate = try rate(entries.count) { i in _ = try entries[i].openContent(contentKey: contentKey) }

// MARK: The store on disk

let directory = DataDirectory(path: NSTemporaryDirectory() + "meetkit-bench-\(getpid())")
defer { try? FileManager.default.removeItem(atPath: directory.path) }
var passphraseBytes = Array("benchmark passphrase".utf8)
let passphrase = SecretBytes(consuming: &passphraseBytes)
let kdfTime = try clock.measure {
    _ = try Argon2id.deriveKey(length: 32, passphrase: passphrase, salt: SecureRandom.bytes(16), cost: .moderate)
}
var store: Store? = try Store.create(at: directory, passphrase: passphrase, pseudonym: "Bench", cost: .interactive)
let storeGroup = try store!.createGroup(name: "Bench", at: Date())
let appendElapsed = try clock.measure {
    for i in 0..<entryCount {
        try store!.append(.share(Share(text: "Share number \(i): " + String(repeating: "x", count: 200))), to: storeGroup, at: Date())
    }
}
let appendRate = Double(entryCount) / seconds(appendElapsed)
let storeVerifyElapsed = try clock.measure { _ = try store!.verify() }
store = nil
let interactiveKDF = try clock.measure {
    _ = try Argon2id.deriveKey(length: 32, passphrase: passphrase, salt: SecureRandom.bytes(16), cost: .interactive)
}
let reopenElapsed = try clock.measure { store = try Store.open(at: directory, passphrase: passphrase) }
let logElapsed = clock.measure { _ = store!.log(of: storeGroup) }
let databaseBytes = (try? FileManager.default.attributesOfItem(atPath: directory.database)[.size] as? Int) ?? 0

// MARK: Nodes over loopback: real `meetkit` processes

/// Progress on stderr, so that the table on stdout stays clean.
func note(_ text: String) {
    FileHandle.standardError.write(Data("meetkit-bench: \(text)\n".utf8))
}

func newPassphrase() -> SecretBytes {
    var bytes = Array("benchmark passphrase".utf8)
    return SecretBytes(consuming: &bytes)
}

/// The built `meetkit` beside this executable, or nil.
func meetkitBesideBench() -> String? {
    guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
    let path = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("meetkit").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One `meetkit` child process. Its stdout and stderr go to files in `root`.
final class MeetKitProcess {
    let process = Process()
    let outPath: String
    let errPath: String
    let arguments: [String]

    init(_ executable: String, _ arguments: [String], root: String) throws {
        let id = UUID().uuidString
        outPath = root + "/out-\(id)"
        errPath = root + "/err-\(id)"
        self.arguments = arguments
        guard FileManager.default.createFile(atPath: outPath, contents: nil),
              FileManager.default.createFile(atPath: errPath, contents: nil),
              let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath)
        else { throw BenchFailure("cannot create output files in \(root)") }
        defer {
            try? out.close()
            try? err.close()
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = [
            "PATH": "/usr/bin:/bin", "HOME": root, "MEETKIT_PASSPHRASE": "benchmark passphrase", "TZ": "UTC",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self) }

    /// Waits for the exit (killing the process after `limit`) and returns its status.
    @discardableResult
    func wait(limit: Duration = .seconds(600)) -> Int32 {
        let deadline = clock.now + limit
        while process.isRunning && clock.now < deadline { usleep(1_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    /// `meetkit run --listen 127.0.0.1:0`: the port it logs ("listening address=127.0.0.1:PORT").
    func listeningPort() throws -> Int {
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline && process.isRunning {
            for line in stderr.split(separator: "\n") where line.contains("listening") {
                if let field = line.split(separator: " ").first(where: { $0.hasPrefix("address=127.0.0.1:") }),
                   let port = Int(field.dropFirst("address=127.0.0.1:".count)) {
                    return port
                }
            }
            usleep(5_000)
        }
        throw BenchFailure("meetkit \(arguments.joined(separator: " ")) never listened: \(stderr)")
    }

    /// SIGTERM (a node stops cleanly on it), then the exit.
    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        wait(limit: .seconds(30))
    }

    /// VmRSS from /proc/PID/status, in KiB.
    var residentKiB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
}

/// Runs `meetkit ARGS` to its end; fails unless it exits 0. Returns its stdout and the wall
/// time from spawn to exit.
@discardableResult
func meetkit(_ executable: String, _ arguments: [String], root: String) throws -> (output: String, elapsed: Duration) {
    let start = clock.now
    let child = try MeetKitProcess(executable, arguments, root: root)
    let status = child.wait()
    let elapsed = clock.now - start
    guard status == 0 else {
        throw BenchFailure("meetkit \(arguments.prefix(2).joined(separator: " ")) exited \(status): \(child.stderr.suffix(500))")
    }
    return (child.stdout, elapsed)
}

/// `meetkit run` on a free loopback port, dialling `peers`; returns once it listens.
func startNode(_ executable: String, home: String, peers: [Int] = [], root: String) throws -> (MeetKitProcess, Int) {
    let node = try MeetKitProcess(
        executable, ["run", "--listen", "127.0.0.1:0", "--home", home] + peers.flatMap { ["--peer", "127.0.0.1:\($0)"] },
        root: root)
    do {
        return (node, try node.listeningPort())
    } catch {
        node.stop()
        throw error
    }
}

/// Bytes of one entry as it travels: its wire form and its body.
func size(_ entry: Entry) -> Int { Entry.wireLength + (entry.body?.count ?? 0) }

/// Payload bytes received over TCP by the sockets of `pids`, from the kernel's own per-socket
/// counter (`tcp_info.bytes_received`, as `ss -ti` prints it): every byte sent between the
/// nodes is received by one of them, so the sum counts each byte on the wire once, without
/// IP/TCP headers and without retransmissions. Only sockets still open are seen: the nodes
/// keep their connections, so this is everything they exchanged.
func tcpPayloadBytesReceived(by pids: Set<Int32>) throws -> Int {
    let ss = Process()
    let pipe = Pipe()
    ss.executableURL = URL(fileURLWithPath: "/usr/bin/ss")
    ss.arguments = ["-tinpH"]
    ss.standardOutput = pipe
    ss.standardError = FileHandle.nullDevice
    try ss.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    ss.waitUntilExit()
    // Each socket is a line naming its process ("users:((\"meetkit\",pid=123,fd=9))") followed
    // by an indented line of tcp_info fields.
    var total = 0
    var owner: Int32?
    for line in output.split(separator: "\n") {
        if let first = line.first, !first.isWhitespace {
            owner = line.range(of: "pid=").flatMap { Int32(line[$0.upperBound...].prefix { $0.isNumber }) }
        } else if let owner, pids.contains(owner),
                  let field = line.split(separator: " ").first(where: { $0.hasPrefix("bytes_received:") }) {
            total += Int(field.dropFirst("bytes_received:".count)) ?? 0
        }
    }
    return total
}

/// Writes `count` shares into the only group of the store at `directory`, as its member's next
/// entries, fast: signed with `Entry.create` and stored by `Store.ingest`, 5,000 to a
/// transaction. Their bodies are sealed under a key of the benchmark's own (the store does not
/// hand out the group's): nothing on the receiving side opens a body (verification checks the
/// signature and the body's hash), so receiving them costs what receiving any share does.
func fillFeed(_ directory: DataDirectory, count: Int) throws {
    let store = try Store.open(at: directory, passphrase: newPassphrase())
    let group = try store.resolveGroup(nil)
    let log = store.log(of: group)
    var head = log.last { $0.entry.header.author == store.memberID }?.entry.head
    var lamport = log.map(\.entry.header.lamport).max() ?? 0
    let contentKey = SecretBytes(randomCount: 32)
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    var batch: [Entry] = []
    for i in 0..<count {
        lamport += 1
        let entry = try Entry.create(
            content: .share(Share(text: "Share number \(i): " + String(repeating: "x", count: 200))), group: group,
            after: head, lamport: lamport, timestamp: now, epoch: head?.epoch ?? 0, author: store.identity,
            contentKey: contentKey, nonce: SecureRandom.bytes(AEAD.nonceLength))
        head = entry.head
        batch.append(entry)
        if batch.count == 5_000 || i == count - 1 {
            try store.ingest(batch, into: group)
            batch = []
        }
    }
}

struct SyncFigures {
    var entries = 0
    var received = 0
    var elapsed = Duration.zero
    var emptySync = Duration.zero
    /// CPU time (user + system) of the receiving `meetkit sync` and of the sender's node
    /// during it: with 2 cores, how far each was from being busy the whole time.
    var receiverCPU = 0.0
    var senderCPU: Double?
    var senderResidentKiB: Int?
}

/// CPU seconds (user + system) of the children this process has waited for.
func childrenCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// CPU seconds (user + system) used so far by the running process `pid`, from /proc.
func processCPU(_ pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")")
    else { return nil }
    // After "pid (comm)": field 3 is the state; utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// One node receiving `count` entries from another: the receiver joins the sender's group,
/// the sender's store gets `count` new entries, then `meetkit sync --peer` on the receiver is
/// timed against the sender's `meetkit run`, from spawn to exit.
func benchmarkSync(_ executable: String, root: String, count: Int) throws -> SyncFigures {
    let sender = DataDirectory(path: root + "/sender")
    let receiver = DataDirectory(path: root + "/receiver")
    let code = try {
        let store = try Store.create(at: sender, passphrase: newPassphrase(), pseudonym: "Sender", cost: .interactive)
        let group = try store.createGroup(name: "Bench", at: Date())
        return try store.createInvite(to: group, lifetime: 3_600, at: Date()).text
    }()
    _ = try Store.create(at: receiver, passphrase: newPassphrase(), pseudonym: "Receiver", cost: .interactive)

    var (node, port) = try startNode(executable, home: sender.path, root: root)
    defer { node.stop() }
    try meetkit(executable, ["group", "join", code, "--peer", "127.0.0.1:\(port)", "--home", receiver.path], root: root)
    node.stop()

    note("writing \(count) entries into the sender's store")
    try fillFeed(sender, count: count)

    (node, port) = try startNode(executable, home: sender.path, root: root)
    note("timing meetkit sync of \(count) entries")
    var figures = SyncFigures(entries: count)
    let (cpuBefore, senderBefore) = (childrenCPU(), processCPU(node.pid))
    let sync = try meetkit(executable, ["sync", "--peer", "127.0.0.1:\(port)", "--home", receiver.path, "--json"], root: root)
    figures.elapsed = sync.elapsed
    figures.receiverCPU = childrenCPU() - cpuBefore
    if let before = senderBefore, let after = processCPU(node.pid) { figures.senderCPU = after - before }
    let report = try JSONSerialization.jsonObject(with: Data(sync.output.utf8)) as? [String: Any]
    figures.received = report?["received"] as? Int ?? 0
    // The same again with nothing to send: what a sync costs besides the entries (process
    // start, unlocking the store, the handshake, the version vectors).
    figures.emptySync = try meetkit(executable, ["sync", "--peer", "127.0.0.1:\(port)", "--home", receiver.path], root: root).elapsed
    sleep(3)
    figures.senderResidentKiB = node.residentKiB
    return figures
}

struct MeshFigures {
    var nodes = 0
    var entriesPerNode = 0
    var union = 0
    var startup = Duration.zero
    var convergence = Duration.zero
    /// nil when `ss` could not be run.
    var wireBytes: Int?
    var deliveries = 0
    var deliveredBytes = 0
    /// Entries the nodes sent one another, counting every copy (`meetkit peers`: entriesSent).
    var entriesSent = 0
    var meanEntrySize = 0.0
    var freshResidentKiB: Int?
    var idleResidentKiB: [Int] = []
    var share: [Duration] = []
    var status: [Duration] = []
}

/// Five members, each holding `perNode` shares of their own that the others lack; their
/// nodes are started one after another, each dialling those already up (a full mesh, one
/// connection per pair). Measured: time from the first launch until every node reports the
/// same log digest, and the TCP payload bytes the nodes exchanged meanwhile. Then, idle:
/// each node's RSS, and the wall time of `meetkit share` and `meetkit status` handed to
/// node 0 (four peers connected) over its control socket.
func benchmarkMesh(_ executable: String, root: String, perNode: Int, count: Int = 5) throws -> MeshFigures {
    var figures = MeshFigures(nodes: count, entriesPerNode: perNode)
    let homes = (0..<count).map { DataDirectory(path: root + "/node\($0)") }
    let codes = try {
        let store = try Store.create(at: homes[0], passphrase: newPassphrase(), pseudonym: "Member 0", cost: .interactive)
        let group = try store.createGroup(name: "Bench", at: Date())
        return try (1..<count).map { _ in try store.createInvite(to: group, lifetime: 3_600, at: Date()).text }
    }()
    for i in 1..<count {
        _ = try Store.create(at: homes[i], passphrase: newPassphrase(), pseudonym: "Member \(i)", cost: .interactive)
    }
    do {
        let (founder, port) = try startNode(executable, home: homes[0].path, root: root)
        defer { founder.stop() }
        sleep(3)
        figures.freshResidentKiB = founder.residentKiB
        for (i, code) in codes.enumerated() {
            try meetkit(executable, ["group", "join", code, "--peer", "127.0.0.1:\(port)", "--home", homes[i + 1].path], root: root)
        }
    }

    // Each member writes offline (durable appends, readable by the group); what each holds
    // then decides what must cross.
    note("writing \(perNode) entries into each of \(count) stores")
    var sizes: [EntryID: Int] = [:]
    var held: [Set<EntryID>] = []
    for home in homes {
        let store = try Store.open(at: home, passphrase: newPassphrase())
        let group = try store.resolveGroup(nil)
        for i in 0..<perNode {
            try store.append(.share(Share(text: "Share number \(i): " + String(repeating: "x", count: 200))), to: group, at: Date())
        }
        let entries = store.log(of: group).map(\.entry)
        for entry in entries { sizes[entry.id] = size(entry) }
        held.append(Set(entries.map(\.id)))
    }
    figures.union = sizes.count
    figures.meanEntrySize = Double(sizes.values.reduce(0, +)) / Double(max(sizes.count, 1))
    for ids in held {
        let missing = sizes.keys.filter { !ids.contains($0) }
        figures.deliveries += missing.count
        figures.deliveredBytes += missing.reduce(0) { $0 + sizes[$1, default: 0] }
    }

    note("starting \(count) nodes and waiting for convergence")
    var nodes: [MeetKitProcess] = []
    defer { for node in nodes { node.stop() } }
    var ports: [Int] = []
    let start = clock.now
    for home in homes {
        let (node, port) = try startNode(executable, home: home.path, peers: ports, root: root)
        nodes.append(node)
        ports.append(port)
    }
    figures.startup = clock.now - start
    // Converged: every node holds all `union` entries (and then, as checked below, the same
    // digest). Nodes already there are not asked again, so the polling stays light.
    let deadline = start + .seconds(600)
    var pending = Set(homes.indices)
    var digests: Set<String> = []
    while !pending.isEmpty {
        for i in pending.sorted() {
            let status = try meetkit(executable, ["status", "--json", "--home", homes[i].path], root: root).output
            let report = try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any]
            if report?["entries"] as? Int == figures.union {
                pending.remove(i)
                digests.insert(report?["digest"] as? String ?? "")
            }
        }
        guard clock.now < deadline else { throw BenchFailure("the \(count) nodes did not converge within 10 minutes") }
    }
    figures.convergence = clock.now - start
    figures.wireBytes = try? tcpPayloadBytesReceived(by: Set(nodes.map(\.pid)))
    guard digests.count == 1 else { throw BenchFailure("the nodes hold the same entries but report different digests") }
    for home in homes {
        let peers = try meetkit(executable, ["peers", "--json", "--home", home.path], root: root).output
        let sessions = try JSONSerialization.jsonObject(with: Data(peers.utf8)) as? [[String: Any]] ?? []
        figures.entriesSent += sessions.reduce(0) { $0 + ($1["entriesSent"] as? Int ?? 0) }
    }

    sleep(5)
    figures.idleResidentKiB = nodes.compactMap(\.residentKiB)

    note("timing share and status through node 0")
    for i in 0...20 {
        let status = try meetkit(executable, ["status", "--home", homes[0].path], root: root).elapsed
        let share = try meetkit(executable, ["share", "Latency probe \(i)", "--home", homes[0].path], root: root).elapsed
        if i > 0 {  // the first of each warms caches
            figures.status.append(status)
            figures.share.append(share)
        }
    }
    return figures
}

func median(_ values: [Duration]) -> Duration {
    let sorted = values.sorted()
    return sorted.isEmpty ? .zero : sorted[sorted.count / 2]
}

// MARK: Discovery between hosts: a lab of network namespaces

/// Tests/Lab/lab.sh, found from this file's place in the repository.
let labScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Tests/Lab/lab.sh").path

/// A lab made by lab.sh (see its header): hosts h1…hN, each a network namespace on a bridge
/// with its own avahi-daemon. Everything started in it ends with `down()`, which must follow.
struct BenchLab {
    let name = "bd" + String(format: "%04d", Int.random(in: 0..<10_000))
    let executable: String
    let root: String

    /// `lab.sh up`: the hosts, each with its avahi-daemon ready. A failed `up` tears down what it made.
    init(hosts: Int, meetkit executable: String, root: String) throws {
        self.executable = executable
        self.root = root
        try script(["up", name, String(hosts)])
    }

    /// Runs lab.sh ARGS to its end; fails unless it exits 0. Returns its stdout.
    @discardableResult
    func script(_ arguments: [String]) throws -> String {
        let child = try MeetKitProcess(labScript, arguments, root: root)
        let status = child.wait(limit: .seconds(120))
        guard status == 0 else {
            throw BenchFailure("lab.sh \(arguments.prefix(3).joined(separator: " ")) exited \(status): \(child.stderr.suffix(500))")
        }
        return child.stdout
    }

    /// `ARGS` on host `host`, to its end; fails unless it exits 0. Returns its stdout.
    @discardableResult
    func run(_ host: Int, _ arguments: [String]) throws -> String {
        do {
            return try script(["exec", name, "h\(host)"] + arguments)
        } catch {
            throw BenchFailure("\(arguments.prefix(3).joined(separator: " ")) on h\(host): \(error)")
        }
    }

    /// `meetkit ARGS` on host `host`, to its end; fails unless it exits 0. Returns its stdout.
    @discardableResult
    func meetkit(_ host: Int, _ arguments: [String]) throws -> String {
        try run(host, [executable] + arguments)
    }

    /// `meetkit ARGS` on host `host` in the background, logging to `log`, until `down()`.
    func spawn(_ host: Int, log: String, _ arguments: [String]) throws {
        try script(["spawn", name, "h\(host)", log, executable] + arguments)
    }

    func down() {
        do { try script(["down", name]) } catch { note("could not tear lab \(name) down (Tests/Lab/lab.sh down-all will): \(error)") }
    }
}

/// Why the discovery figure cannot be measured here, or nil if it can.
func discoveryUnavailable(meetkit executable: String?, runs: Int, root: String) -> String? {
    guard runs > 0 else { return "--discovery-runs 0" }
    guard executable != nil else { return "no meetkit beside meetkit-bench (build it with --product meetkit)" }
    guard geteuid() == 0 else { return "not root (the lab makes network namespaces)" }
    guard let check = try? MeetKitProcess(labScript, ["check"], root: root) else { return "cannot run \(labScript)" }
    guard check.wait(limit: .seconds(30)) == 0 else {
        return "lab.sh check failed: " + check.stderr.split(separator: "\n").joined(separator: "; ")
    }
    return nil
}

struct DiscoveryFigures {
    /// Per run, from spawning the new member's `meetkit run` to its first "synced" log line,
    /// and to its own "advertising" line (its advert's name probe done).
    var firstSync: [Duration] = []
    var ownAdvert: [Duration] = []
    var runs: Int { firstSync.count }
    var syncedBeforeAdvert: Int { zip(firstSync, ownAdvert).filter { $0 < $1 }.count }
}

/// Ana founds a group on h1 and runs her node; then, `runs` times, a new member on h2 joins
/// (through Ana's node, found over DNS-SD), Ana shares one entry, and the new member's node is
/// started and timed (`timeNewNode`). A fresh member each time: every node starts cold, with
/// no address of Ana's and an entry to fetch from her. Between runs, the stopped node's advert
/// is let go from every host's cache (`waitUntilWithdrawn`).
func benchmarkDiscovery(_ executable: String, root: String, runs: Int) throws -> DiscoveryFigures {
    let lab = try BenchLab(hosts: 2, meetkit: executable, root: root)
    defer { lab.down() }
    note("discovery: lab \(lab.name) up; Ana founds a group on h1 and starts her node")
    let ana = root + "/ana"
    try lab.meetkit(1, ["init", "--name", "Ana", "--kdf", "interactive", "--home", ana])
    try lab.meetkit(1, ["group", "create", "Bench", "--home", ana])
    try lab.spawn(1, log: root + "/ana.log", ["run", "--home", ana])
    try waitForLogLine("advertising", in: root + "/ana.log")

    var figures = DiscoveryFigures()
    for i in 1...runs {
        let home = root + "/member\(i)"
        try lab.meetkit(2, ["init", "--name", "Member\(i)", "--kdf", "interactive", "--home", home])
        let invite = try lab.meetkit(1, ["group", "invite", "--home", ana])
        let code = invite.split(separator: "\n").last.map(String.init) ?? ""
        try lab.meetkit(2, ["group", "join", code, "--home", home])
        try lab.meetkit(1, ["share", "Welcome, member \(i).", "--home", ana])
        let (sync, advert, instance) = try timeNewNode(lab, host: 2, home: home)
        figures.firstSync.append(sync)
        figures.ownAdvert.append(advert)
        note(String(format: "discovery run %d of %d: first sync after %.0f ms, own advert after %.0f ms", i, runs,
            seconds(sync) * 1000, seconds(advert) * 1000))
        try waitUntilWithdrawn(instance, lab: lab)
    }
    return figures
}

/// Waits until the log at `path` has a line ending "] MESSAGE" (a node's log message).
func waitForLogLine(_ message: String, in path: String, limit: Duration = .seconds(30)) throws {
    let log = { String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
    let deadline = clock.now + limit
    while clock.now < deadline {
        if log().split(separator: "\n").contains(where: { $0.hasSuffix("] \(message)") }) { return }
        usleep(20_000)
    }
    throw BenchFailure("no '\(message)' in \(path) within \(limit): \(log().suffix(800))")
}

/// Starts `meetkit run` for `home` on `host` and reads its log from a pipe as it comes: returns
/// the times from spawn to its first "synced" line and to its own "advertising" line, and the
/// advert's instance name. Then stops it with SIGTERM and waits for its exit. `lab.sh exec`
/// ends up as the node itself (lab.sh and nsenter exec), so the PID signalled is the node's.
func timeNewNode(_ lab: BenchLab, host: Int, home: String) throws -> (sync: Duration, advert: Duration, instance: String) {
    let node = Process()
    let pipe = Pipe()
    node.executableURL = URL(fileURLWithPath: labScript)
    node.arguments = ["exec", lab.name, "h\(host)", lab.executable, "run", "--home", home]
    node.environment = ["PATH": "/usr/bin:/bin", "HOME": lab.root, "MEETKIT_PASSPHRASE": "benchmark passphrase", "TZ": "UTC"]
    node.standardInput = FileHandle.nullDevice
    node.standardOutput = FileHandle.nullDevice
    node.standardError = pipe
    let start = clock.now
    try node.run()
    defer {
        kill(node.processIdentifier, SIGTERM)
        let deadline = clock.now + .seconds(30)
        while node.isRunning && clock.now < deadline { usleep(1_000) }
        if node.isRunning { kill(node.processIdentifier, SIGKILL) }
        node.waitUntilExit()
    }

    var sync: Duration?
    var advert: Duration?
    var instance = ""
    var log = ""
    var pending: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4_096)
    let fd = pipe.fileHandleForReading.fileDescriptor
    let deadline = start + .seconds(30)
    while sync == nil || advert == nil {
        guard clock.now < deadline else {
            throw BenchFailure("the new node on h\(host) had not synced and advertised after 30 s: \(log.suffix(800))")
        }
        var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 100) > 0 else { continue }
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        let now = clock.now
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { throw BenchFailure("the new node on h\(host) exited: \(log.suffix(800))") }
        pending += buffer[..<count]
        while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeSubrange(...end)
            log += line + "\n"
            if sync == nil && line.hasSuffix("] synced") { sync = now - start }
            if advert == nil && line.hasSuffix("] advertising") {
                advert = now - start
                let field = line.split(separator: " ").first { $0.hasPrefix("instance=") }
                instance = field.map { String($0.dropFirst("instance=".count)) } ?? ""
            }
        }
    }
    return (sync!, advert!, instance)
}

/// Waits until no host of the lab lists the advert `instance` (avahi-browse, from the host's
/// cache). A stopped node's goodbye takes it out of the caches a second later (RFC 6762
/// 10.1); until then, a new node on the same host would find it and dial its own address, and
/// a member would dial the new node as the old one.
func waitUntilWithdrawn(_ instance: String, lab: BenchLab, hosts: ClosedRange<Int> = 1...2) throws {
    let deadline = clock.now + .seconds(30)
    for host in hosts {
        while try lab.run(host, ["avahi-browse", "--parsable", "--terminate", "_meetkit._tcp"]).contains(";\(instance);") {
            guard clock.now < deadline else {
                throw BenchFailure("the advert \(instance) was still listed on h\(host) 30 s after its node stopped")
            }
            usleep(100_000)
        }
    }
}

let nodeRoot = NSTemporaryDirectory() + "meetkit-bench-nodes-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: nodeRoot) }
var syncFigures: Result<SyncFigures, Error>?
var meshFigures: Result<MeshFigures, Error>?
let meetkitExecutable = meetkitBesideBench()
if let meetkitExecutable {
    try FileManager.default.createDirectory(atPath: nodeRoot + "/sync", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: nodeRoot + "/mesh", withIntermediateDirectories: true)
    syncFigures = Result { try benchmarkSync(meetkitExecutable, root: nodeRoot + "/sync", count: syncEntryCount) }
    meshFigures = Result { try benchmarkMesh(meetkitExecutable, root: nodeRoot + "/mesh", perNode: meshEntryCount) }
}
try FileManager.default.createDirectory(atPath: nodeRoot + "/discovery", withIntermediateDirectories: true)
var discoveryFigures: Result<DiscoveryFigures, Error>?
let discoveryLeftOut = discoveryUnavailable(meetkit: meetkitExecutable, runs: discoveryRuns, root: nodeRoot + "/discovery")
if let discoveryLeftOut {
    note("discovery figure left out: \(discoveryLeftOut)")
} else if let meetkitExecutable {
    discoveryFigures = Result { try benchmarkDiscovery(meetkitExecutable, root: nodeRoot + "/discovery", runs: discoveryRuns) }
}

// MARK: Report

print("MeetKit benchmark: \(entryCount) entries of ~240 bytes of text, \(ProcessInfo.processInfo.activeProcessorCount) cores")
print("ratio = figure / raw Ed25519 verify rate measured in this run")
print("")
print("figure".padding(toLength: 50, withPad: " ", startingAt: 0) + "       value unit       ratio")
row("raw Ed25519 verify, 32 B (baseline)", rawVerify, "/s", baseline: rawVerify)
row("entry create (sign + encrypt)", createRate, "/s", baseline: rawVerify)
row("entry verify (decode + signature + body hash)", verifyRate, "/s", baseline: rawVerify)
row("entry body decrypt + decode", openRate, "/s", baseline: rawVerify)
row("durable append (one commit each, FULL sync)", appendRate, "/s", baseline: rawVerify)
row("meetkit verify over the store", Double(entryCount + 2) / seconds(storeVerifyElapsed), "entries/s", baseline: rawVerify)
row("store open: load \(entryCount + 2) entries", Double(entryCount + 2) / seconds(reopenElapsed - interactiveKDF), "entries/s", baseline: rawVerify)
row("log: decrypt and order the group's entries", Double(entryCount + 2) / seconds(logElapsed), "entries/s", baseline: rawVerify)
print("")
print(String(format: "passphrase unlock (Argon2id moderate)       %8.0f ms", seconds(kdfTime) * 1000))
print(String(format: "database size                               %8.0f bytes/entry", Double(databaseBytes) / Double(entryCount + 2)))

// MARK: Report: nodes

/// A figure that is not a rate: value, unit, and the target it is held to, if any.
func figure(_ name: String, _ value: Double, _ unit: String, decimals: Int = 0, target: String = "") {
    print(name.padding(toLength: 50, withPad: " ", startingAt: 0)
        + String(format: "%12.\(decimals)f", value) + " " + unit.padding(toLength: 10, withPad: " ", startingAt: 0)
        + (target.isEmpty ? "" : "      target \(target)"))
}

func milliseconds(_ d: Duration) -> Double { seconds(d) * 1000 }

print("")
if meetkitExecutable == nil {
    print("Node figures left out: no meetkit beside meetkit-bench (build it with --product meetkit).")
} else {
    print("Nodes over loopback: real meetkit processes, TCP on 127.0.0.1")
}
switch syncFigures {
case .success(let sync)?:
    let net = sync.elapsed - sync.emptySync
    row("raw Ed25519 verify, one core (baseline)", rawVerify, "/s", baseline: rawVerify)
    row("sync: \(sync.received) of \(sync.entries) entries received", Double(sync.received) / seconds(sync.elapsed), "entries/s",
        baseline: rawVerify)
    print("  (target: at least 0.85 of the baseline; wall time of 'meetkit sync' from spawn to exit,")
    print(String(format: "  %.2f s, of which an empty sync takes %.0f ms)", seconds(sync.elapsed), milliseconds(sync.emptySync)))
    figure("  CPU time of the receiving meetkit sync", sync.receiverCPU, "s", decimals: 2)
    if let sender = sync.senderCPU { figure("  CPU time of the sender's node meanwhile", sender, "s", decimals: 2) }
    row("sync, less the cost of an empty sync", Double(sync.received) / seconds(net), "entries/s", baseline: rawVerify)
case .failure(let error)?:
    print("sync figure failed: \(error)")
case nil:
    break
}
switch meshFigures {
case .success(let mesh)?:
    figure("\(mesh.nodes)-node convergence, \(mesh.entriesPerNode) new entries each", milliseconds(mesh.convergence), "ms")
    figure("  of which starting the \(mesh.nodes) nodes", milliseconds(mesh.startup), "ms")
    figure("  entries delivered (\(mesh.union) in all)", Double(mesh.deliveries), "entries")
    figure("  their own size (wire form + body)", Double(mesh.deliveredBytes), "bytes")
    figure("  entries sent, every copy counted", Double(mesh.entriesSent), "entries")
    if let wireBytes = mesh.wireBytes {
        figure("  TCP payload bytes between the nodes", Double(wireBytes), "bytes")
        figure("  overhead per delivered entry beyond its size", Double(wireBytes - mesh.deliveredBytes) / Double(max(mesh.deliveries, 1)),
            "bytes", decimals: 1, target: "<= 48")
        // Where it goes: copies of entries a node already had (each node answers every peer's
        // `have` and forwards what it receives), and the framing of every copy sent.
        let framing = Double(wireBytes) - Double(mesh.entriesSent) * mesh.meanEntrySize
        figure("  bytes per entry sent beyond its (mean) size", framing / Double(max(mesh.entriesSent, 1)), "bytes", decimals: 1)
    } else {
        print("  bytes on the wire: not counted (needs /usr/bin/ss from iproute2)")
    }
    if let fresh = mesh.freshResidentKiB {
        figure("idle RSS: new node, 1 group, no peers", Double(fresh) / 1024, "MiB", decimals: 1, target: "<= 25")
    }
    if let largest = mesh.idleResidentKiB.max() {
        figure("idle RSS: mesh node, \(mesh.union) entries, 4 peers (max)", Double(largest) / 1024, "MiB", decimals: 1,
            target: "<= 25")
    }
    if case .success(let sync)? = syncFigures, let sender = sync.senderResidentKiB {
        figure("idle RSS: sync sender, \(sync.entries) entries", Double(sender) / 1024, "MiB", decimals: 1)
    }
    figure("share through a running node (median of \(mesh.share.count))", milliseconds(median(mesh.share)), "ms", decimals: 1,
        target: "<= 50")
    figure("status through a running node (median of \(mesh.status.count))", milliseconds(median(mesh.status)), "ms", decimals: 1)
case .failure(let error)?:
    print("mesh figures failed: \(error)")
case nil:
    break
}

print("")
switch discoveryFigures {
case .success(let discovery)?:
    let (sync, advert) = (milliseconds(median(discovery.firstSync)), milliseconds(median(discovery.ownAdvert)))
    print("Discovery between two hosts: network namespaces on a bridge, each with its own avahi-daemon")
    print("ratio = figure / the new node's own advert (mDNS name probe), both from spawning 'meetkit run'")
    row("new node's own advert (baseline), median of \(discovery.runs)", advert, "ms", baseline: advert)
    row("new node's first sync with a member, median of \(discovery.runs)", sync, "ms", baseline: advert)
    figure("  fastest first sync", milliseconds(discovery.firstSync.min() ?? .zero), "ms")
    figure("  slowest first sync", milliseconds(discovery.firstSync.max() ?? .zero), "ms")
    figure("  runs whose first sync came before their advert", Double(discovery.syncedBeforeAdvert), "of \(discovery.runs)")
case .failure(let error)?:
    print("discovery figure failed: \(error)")
case nil:
    print("Discovery figure left out: \(discoveryLeftOut ?? "not measured").")
}
