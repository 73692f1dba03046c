import Dispatch
import Foundation
import Logging
import MeetKitCore
import MeetKitCrypto
import MeetKitProtocol
import NIOCore

/// What a session asks of its connection's writer.
enum Outbound: Sendable {
    case send(WireMessage)
    /// Send `refused(reason)` if given, then the box-stream goodbye, then close.
    case close(refusal: String?)
}

/// One TCP connection from handshake to close (Protocol/handshake.md, Protocol/framing.md):
/// the I/O around the pure state machines. The `Node` actor holds the sync session.
enum Link {
    static let handshakeTimeout: TimeAmount = .seconds(5)

    enum Role: Sendable {
        /// Accepted a connection: any group whose network key opens the client's hello.
        case accepting
        /// Dialled a member whose key we expect, in the network of `group`.
        case dialing(group: GroupID, networkKey: SecretBytes, serverKey: PublicKey, start: SyncSession.Start)
    }

    enum Failure: Error, CustomStringConvertible {
        case handshake(String)
        case closed

        var description: String {
            switch self {
            case .handshake(let reason): "the handshake failed: \(reason)"
            case .closed: "the peer closed the connection"
            }
        }
    }

    /// Runs the connection to its end. Returns the session id once it opened one, or throws
    /// a handshake failure (the connection is closed either way).
    static func run(
        _ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, role: Role, node: Node, address: String,
        onOpen: (@Sendable (Int) -> Void)? = nil
    ) async throws {
        let raw = channel.channel
        let timeout = raw.eventLoop.scheduleTask(in: handshakeTimeout) { raw.close(promise: nil) }
        try await channel.executeThenClose { inbound, outbound in
            var reader = InboundBytes(inbound)
            let identity = node.identity
            let group: GroupID
            let result: HandshakeResult
            let start: SyncSession.Start?
            do {
                switch role {
                case .accepting:
                    (group, result) = try await acceptHandshake(&reader, outbound, identity: identity, keys: node.handshakeKeys())
                    start = nil
                case .dialing(let g, let networkKey, let serverKey, let s):
                    result = try await dialHandshake(
                        &reader, outbound, identity: identity, networkKey: networkKey, serverKey: serverKey)
                    (group, start) = (g, s)
                }
            } catch InboundBytes.Error.closed {
                timeout.cancel()
                throw Failure.handshake("the peer closed the connection (wrong network key or member key, or timed out)")
            } catch let error where !(error is Failure || error is CancellationError) {
                // A reset or a write after the peer closed: NIO's wording means nothing to a user.
                timeout.cancel()
                throw Failure.handshake("the connection was reset or closed")
            }
            timeout.cancel()

            let (stream, continuation) = AsyncStream.makeStream(of: Outbound.self)
            let id = await node.open(
                group: group, remote: result.remote, address: address, start: start, outbound: continuation)
            onOpen?(id)
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask { await write(stream, to: outbound, handshake: result, channel: raw) }
                await read(&reader, handshake: result, node: node, session: id)
                await node.closed(id)
                await tasks.waitForAll()
            }
        }
    }

    // MARK: Handshake

    private static func acceptHandshake(
        _ reader: inout InboundBytes, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, identity: SigningKey,
        keys: [(group: GroupID, key: SecretBytes, onlyMembers: Set<PublicKey>?)]
    ) async throws -> (GroupID, HandshakeResult) {
        let hello = try await reader.read(exactly: SecretHandshake.helloLength)
        // The hello is an HMAC under one network key: find which. A stranger's opens under
        // none and gets no reply at all. Under an earlier epoch's key only current members are
        // admitted, so a removed member's handshake fails (Protocol/epochs.md §Sessions).
        for (group, key, onlyMembers) in keys {
            guard var server = try? SecretHandshake.Server(
                networkKey: key, identity: identity, ephemeralSeed: SecureRandom.bytes(SecretHandshake.ephemeralSeedLength),
                authorize: { client in onlyMembers?.contains(client) ?? true }),
                let reply = try? server.receive(hello)
            else { continue }
            try await outbound.write(ByteBuffer(bytes: reply))
            let auth = try await reader.read(exactly: SecretHandshake.authenticateLength)
            do {
                guard let accept = try server.receive(auth), let result = server.result else {
                    throw Failure.handshake("no result")
                }
                try await outbound.write(ByteBuffer(bytes: accept))
                return (group, result)
            } catch let error as HandshakeError {
                throw Failure.handshake("\(error)")
            }
        }
        throw Failure.handshake("a hello under no known network key")
    }

    private static func dialHandshake(
        _ reader: inout InboundBytes, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, identity: SigningKey,
        networkKey: SecretBytes, serverKey: PublicKey
    ) async throws -> HandshakeResult {
        do {
            var client = try SecretHandshake.Client(
                networkKey: networkKey, identity: identity, serverKey: serverKey,
                ephemeralSeed: SecureRandom.bytes(SecretHandshake.ephemeralSeedLength))
            try await outbound.write(ByteBuffer(bytes: client.start()))
            var input = try await reader.read(exactly: client.expectedInputLength)
            while let reply = try client.receive(input) {
                try await outbound.write(ByteBuffer(bytes: reply))
                guard client.expectedInputLength > 0 else { break }
                input = try await reader.read(exactly: client.expectedInputLength)
            }
            guard let result = client.result else { throw Failure.handshake("incomplete") }
            return result
        } catch let error as HandshakeError {
            throw Failure.handshake("\(error)")
        }
    }

    // MARK: Session traffic

    /// Reads, decrypts, frames and verifies the peer's messages and hands them to the node in
    /// order. Verifying a batch (on every core) overlaps with the node storing the previous
    /// one; at most one batch waits, so a fast peer cannot make this buffer without bound.
    private static func read(_ reader: inout InboundBytes, handshake: HandshakeResult, node: Node, session: Int) async {
        var decryptor = BoxStream.Decryptor(handshake: handshake)
        var framer = MessageFramer()
        await withTaskGroup(of: Void.self) { deliveries in
            var delivering = false
            do {
                while let bytes = try await reader.next() {
                    for event in try decryptor.feed(bytes) {
                        guard case .message(let plaintext) = event else { return }  // goodbye
                        for message in try framer.feed(plaintext) {
                            var verified: [Entry] = []
                            if case .entries(let raw) = message {
                                switch verify(raw) {
                                case .success(let entries): verified = entries
                                case .failure(let error):
                                    await deliveries.waitForAll()
                                    await node.refused(session, error.explanation)
                                    return
                                }
                            }
                            if delivering { await deliveries.next() }
                            deliveries.addTask { await node.received(session, message, verified: verified) }
                            delivering = true
                        }
                    }
                }
            } catch let error as BoxStreamError {
                await deliveries.waitForAll()
                await node.malformed(session, "box-stream \(error)")
            } catch let error as MessageFramer.Error {
                await deliveries.waitForAll()
                await node.malformed(session, "framing \(error)")
            } catch {
                // The connection closed or failed under us: nothing more to read.
            }
        }
    }

    private static func write(
        _ stream: AsyncStream<Outbound>, to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        handshake: HandshakeResult, channel: Channel
    ) async {
        var encryptor = BoxStream.Encryptor(handshake: handshake)
        var refusal: String?
        do {
            for await command in stream {
                switch command {
                case .send(let message):
                    try await outbound.write(ByteBuffer(bytes: encryptor.seal(MessageFramer.frame(message))))
                    continue
                case .close(let reason):
                    refusal = reason
                }
                break
            }
            if let refusal {
                try await outbound.write(ByteBuffer(bytes: encryptor.seal(MessageFramer.frame(.refused(reason: refusal)))))
            }
            try await outbound.write(ByteBuffer(bytes: encryptor.goodbye()))
        } catch {
            // The peer is gone; closing below is all that is left to do.
        }
        try? await channel.close()
    }

    /// Verifies a batch: decode, signature, body hash. Large batches use every core.
    static func verify(_ raw: [RawEntry]) -> Result<[Entry], EntryError> {
        let cores = raw.count >= 64 ? System.coreCount : 1
        let chunk = (raw.count + cores - 1) / cores
        let results = ResultSlots<Result<[Entry], EntryError>>(count: cores)
        DispatchQueue.concurrentPerform(iterations: cores) { part in
            let slice = raw[min(part * chunk, raw.count)..<min((part + 1) * chunk, raw.count)]
            do throws(EntryError) {
                var verified: [Entry] = []
                verified.reserveCapacity(slice.count)
                for entry in slice { verified.append(try Entry(wire: entry.wire, body: entry.body)) }
                results[part] = .success(verified)
            } catch {
                results[part] = .failure(error)
            }
        }
        var all: [Entry] = []
        all.reserveCapacity(raw.count)
        for part in 0..<cores {
            switch results[part] {
            case .success(let entries)?: all += entries
            case .failure(let error)?: return .failure(error)
            case nil: break
            }
        }
        return .success(all)
    }
}

/// One slot per parallel worker, each written by exactly one worker.
private final class ResultSlots<T>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    subscript(index: Int) -> T? {
        get { lock.withLock { slots[index] } }
        set { lock.withLock { slots[index] = newValue } }
    }
}
