import Foundation
import NIOCore
import NIOPosix

/// The node's Unix-domain control socket (`control.sock` in the data directory, mode 0600):
/// a client sends one line and gets one line back (the engine's protocol, Protocol/control.md,
/// is carried inside). Only the data directory's owner can connect.
public enum ControlServer {
    /// Answers one request line (without its newline) with one reply line.
    public typealias Handler = @Sendable ([UInt8]) async -> [UInt8]
    static let maximumRequest = 1 << 20

    static func bind(path: String) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        let previous = umask(0o077)
        defer { umask(previous) }
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    static func serve(_ server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, handler: @escaping Handler) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { try? await answer(connection, handler: handler) }
                }
            }
        }
    }

    private static func answer(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, handler: Handler) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var request: [UInt8] = []
            for try await var chunk in inbound {
                request += chunk.readBytes(length: chunk.readableBytes) ?? []
                if request.last == UInt8(ascii: "\n") || request.count > maximumRequest { break }
            }
            if request.last == UInt8(ascii: "\n") { request.removeLast() }
            var line = await handler(request)
            line.append(UInt8(ascii: "\n"))
            // Through the channel, to wait until every byte is written out: the writer's
            // `write` returns once the reply is queued, and the close that follows would drop
            // whatever of a large reply the socket's buffer had not taken yet.
            try await connection.channel.writeAndFlush(ByteBuffer(bytes: line))
        }
    }
}

/// The command line's side of the control socket, in plain POSIX: a command that finds a
/// node running hands its command line over instead of opening the (locked) store.
public enum ControlClient {
    /// The node's reply line, or nil when no node is listening at `path`. Throws if a node
    /// took the request but its reply did not arrive whole.
    public static func send(_ request: [UInt8], to path: String) throws -> [UInt8]? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { return nil }
        var line = request
        line.append(UInt8(ascii: "\n"))
        guard line.withUnsafeBytes({ writeAll(fd, $0) }) else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            response += buffer[0..<n]
        }
        guard response.last == UInt8(ascii: "\n") else {
            throw NodeError.unreachable("The running node's reply was cut off; try again.")
        }
        return Array(response.dropLast())
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}
