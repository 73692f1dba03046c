import Foundation
import Logging
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol
import MeetKitStore
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `meetkit run`: listens for members, keeps connections to the peers it was given, ticks the
/// sessions' clocks and serves the control socket, until SIGINT or SIGTERM.
public struct NodeService: Service {
    public struct Configuration: Sendable {
        public var listen: PeerAddress?
        public var peers: [PeerAddress]
        public var controlSocket: String?
        /// Advertise over DNS-SD and dial the members found (needs `listen`).
        public var discovery: Bool

        public init(listen: PeerAddress?, peers: [PeerAddress], controlSocket: String?, discovery: Bool) {
            self.listen = listen
            self.peers = peers
            self.controlSocket = controlSocket
            self.discovery = discovery
        }
    }

    public let node: Node
    let configuration: Configuration
    let control: ControlServer.Handler?
    let logger: Logger

    public init(node: Node, configuration: Configuration, control: ControlServer.Handler?, logger: Logger) {
        self.node = node
        self.configuration = configuration
        self.control = control
        self.logger = logger
    }

    public func run() async throws {
        await node.dropExpiredBodies()
        try await withThrowingDiscardingTaskGroup { group in
            if let address = configuration.listen {
                let server = try await Network.listen(on: address)
                let bound = server.channel.localAddress.flatMap { local in local.port.map { PeerAddress(host: address.host, port: $0) } }
                logger.info("listening", metadata: ["address": "\(bound ?? address)"])
                group.addTask { await untilShutdown { try await accept(server) } }
                if configuration.discovery, let port = bound?.port {
                    let discovery = Discovery(node: node, port: UInt16(port), logger: logger)
                    group.addTask { await untilShutdown { await discovery.run() } }
                }
            }
            if let path = configuration.controlSocket, let control {
                let server = try await ControlServer.bind(path: path)
                group.addTask { await untilShutdown { try await ControlServer.serve(server, handler: control) } }
            }
            for peer in configuration.peers {
                group.addTask { await untilShutdown { await keepConnected(to: peer) } }
            }
            group.addTask {
                await untilShutdown {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(200))
                        await node.tick()
                    }
                }
            }
        }
        await node.closeAll()
    }

    /// Runs `body` until SIGINT/SIGTERM asks the node to stop; stopping is not an error.
    private func untilShutdown(_ body: @escaping @Sendable () async throws -> Void) async {
        do {
            try await cancelWhenGracefulShutdown(body)
        } catch is CancellationError {
        } catch {
            logger.error("stopped", metadata: ["reason": "\(error)"])
        }
    }

    /// Serves every connection until cancelled; one bad peer never stops the node. Connections
    /// still in their handshake are bounded per address and in all (`HandshakeGate`).
    private func accept(_ server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) async throws {
        let gate = HandshakeGate()
        try await withThrowingDiscardingTaskGroup { connections in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    let address = connection.channel.remoteAddress.map(\.hostAndPort) ?? "unknown"
                    let channel = connection.channel
                    let host = channel.remoteAddress?.ipAddress ?? "unknown"
                    guard let token = await gate.enter(host, close: { channel.close(promise: nil) }) else {
                        // Closed through the async channel, which also finishes its writer.
                        try? await connection.executeThenClose { _, _ in }
                        continue
                    }
                    connections.addTask {
                        do {
                            try await Link.run(connection, role: .accepting, node: node, address: address) { _ in
                                Task { await gate.leave(token) }
                            }
                        } catch {
                            let (log, unlogged) = await gate.shouldLogFailure(from: host)
                            if log {
                                logger.notice(
                                    "connection refused",
                                    metadata: ["address": "\(address)", "reason": "\(error)", "unlogged since": "\(unlogged)"])
                            }
                        }
                        await gate.leave(token)
                    }
                }
            }
        }
    }

    /// Dials `peer` and stays connected, retrying with backoff (1 s doubling to 30 s).
    private func keepConnected(to peer: PeerAddress) async {
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                try await Network.keepSession(with: peer, node: node)
                delay = .seconds(1)
            } catch is CancellationError {
                return  // shutting down
            } catch {
                logger.info("peer unreachable", metadata: ["address": "\(peer)", "reason": "\(error)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }
}

/// TCP through SwiftNIO: listening and dialling.
public enum Network {
    static func listen(on address: PeerAddress) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    static func connect(to address: PeerAddress) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw NodeError.unreachable("Cannot connect to \(address): \(reason(error)).")
        }
    }

    /// A connection failure in a few words: "connection refused", "timed out".
    private static func reason(_ error: Error) -> String {
        var underlying = error
        if let failure = error as? NIOConnectionError, let first = failure.connectionErrors.first {
            underlying = first.error
        } else if let failure = error as? NIOConnectionError, let dns = failure.dnsAError ?? failure.dnsAAAAError {
            underlying = dns
        }
        switch underlying {
        case let io as IOError: return String(cString: strerror(io.errnoCode)).lowercased()
        case ChannelError.connectTimeout: return "timed out"
        default: return "\(underlying)"
        }
    }

    /// Dials `address` and stays in the session until it ends. Dialled sessions catch up one
    /// at a time (see `Node.takeCatchUpTurn`); this one gives up its turn once synced.
    static func keepSession(
        with address: PeerAddress, node: Node, group: GroupID? = nil, member: PublicKey? = nil
    ) async throws {
        let turn = try await node.takeCatchUpTurn()
        do {
            try await session(with: address, node: node, group: group, member: member) { id in
                _ = try? await node.waitUntilSynced(id)
                await node.endCatchUpTurn(turn)
                await node.waitUntilClosed(id)
            }
        } catch {
            await node.endCatchUpTurn(turn)
            throw error
        }
        await node.endCatchUpTurn(turn)
    }

    /// Opens a session with whichever member of our groups answers at `address` (the
    /// handshake needs the server's key: each member, or just `member` when an advert named
    /// it, is tried in turn), runs `body` with its id, then ends the session cleanly.
    public static func session<T: Sendable>(
        with address: PeerAddress, node: Node, group only: GroupID? = nil, member expected: PublicKey? = nil,
        _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let keys = await node.handshakeKeys()
        var lastFailure: Error = NodeError.unreachable(
            keys.isEmpty ? "You are in no group yet, so there is no one to sync with."
                : "No one else is in your group yet, so there is no one to sync with.")
        // Newest epoch first: a member who has not heard of a re-key yet answers only under
        // the key it holds (Protocol/epochs.md §Sessions).
        for (group, networkKey, _) in keys where only == nil || only == group {
            for member in await node.otherMembers(of: group) where expected == nil || expected == member {
                let start = SyncSession.Start.member(localVector: await node.versionVector(of: group))
                do {
                    return try await session(
                        with: address, node: node,
                        role: .dialing(group: group, networkKey: networkKey, serverKey: member, start: start), body)
                } catch let failure as Link.Failure {
                    lastFailure = failure
                }
            }
        }
        throw lastFailure is Link.Failure
            ? NodeError.unreachable("No member of your groups answered at \(address).") : lastFailure
    }

    /// Joins a group with an invite: connects to `member` (by default the inviter) at
    /// `address`, is admitted, syncs, then runs `afterSync` (which writes the new member's
    /// profile) before ending cleanly.
    public static func join(
        with code: InviteCode, at address: PeerAddress, member: PublicKey? = nil, node: Node,
        afterSync: @Sendable @escaping () async throws -> Void
    ) async throws -> Node.SyncReport {
        var secret = code.secret.exposedCopy()
        defer { SecretBytes.wipe(&secret) }
        let role = Link.Role.dialing(
            group: code.group, networkKey: code.networkKey, serverKey: member ?? code.inviter, start: .joining(secret: secret))
        do {
            return try await session(with: address, node: node, role: role) { id in
                let report = try await node.waitUntilSynced(id)
                try await afterSync()
                return report
            }
        } catch is Link.Failure {
            throw NodeError.unreachable(
                member == nil || member == code.inviter
                    ? "The member who invited you did not answer at \(address); check the address and that the invite code is complete."
                    : "The member's node at \(address) did not answer.")
        }
    }

    /// Joins through the first member found over DNS-SD whose advert opens with the invite's
    /// network key (the inviter, or any member who has the invite in their log), searching
    /// for at most `limit`.
    public static func join(
        with code: InviteCode, node: Node, searching limit: Duration = .seconds(20),
        afterSync: @Sendable @escaping () async throws -> Void
    ) async throws -> Node.SyncReport {
        let (events, emit) = AsyncStream.makeStream(of: DNSSD.Event.self)
        let browser = DNSSD(type: Advert.serviceType) { emit.yield($0) }
        do {
            try browser.start(port: 0, adverts: [])
        } catch {
            throw NodeError.unreachable(
                "Cannot look for the group's members: \(error). Give a member's node address with --peer HOST:PORT.")
        }
        defer { browser.stop() }
        let timer = Task {
            try? await Task.sleep(for: limit)
            emit.finish()
        }
        defer { timer.cancel() }
        var tried: Set<String> = []
        var lastFailure: Error?
        for await event in events {
            guard case .appeared(_, let host, let port, let txt) = event, let token = Advert.token(inTXT: txt),
                let member = Advert.open(token, networkKey: code.networkKey)
            else { continue }
            let address = PeerAddress(host: host, port: Int(port))
            guard tried.insert("\(member.hex) \(address)").inserted else { continue }
            do {
                return try await join(with: code, at: address, member: member, node: node, afterSync: afterSync)
            } catch {
                lastFailure = error
            }
        }
        throw lastFailure
            ?? NodeError.unreachable(
                "No member of the group was found on this network within \(limit.seconds) s; check that a member's node is running ('meetkit run') on the same network, or give its address with --peer HOST:PORT.")
    }

    private static func session<T: Sendable>(
        with address: PeerAddress, node: Node, role: Link.Role, _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let channel = try await connect(to: address)
        let (opened, announce) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                defer { announce.finish() }
                try await Link.run(channel, role: role, node: node, address: "\(address)") { announce.yield($0) }
                return nil
            }
            var ids = opened.makeAsyncIterator()
            guard let id = await ids.next() else {
                // The handshake failed: Link.run has thrown why.
                while let next = try await tasks.next() { if let value = next { return value } }
                throw NodeError.sessionEnded("The connection to \(address) closed during the handshake.")
            }
            do {
                let value = try await body(id)
                await node.finish(id)
                try await tasks.waitForAll()
                return value
            } catch {
                await node.finish(id)
                tasks.cancelAll()
                throw error
            }
        }
    }
}

extension SocketAddress {
    /// "127.0.0.1:7420" or "[::1]:7420".
    var hostAndPort: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

extension Node {
    func versionVector(of group: GroupID) -> VersionVector { store.versionVector(of: group) }
}
