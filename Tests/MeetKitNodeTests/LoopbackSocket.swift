import Foundation
import MeetKitCrypto
import MeetKitProtocol

/// A plain blocking TCP client to 127.0.0.1 (never any other address), for playing hostile
/// or broken peers byte by byte. It may come from another loopback address (127.0.0.2, say),
/// to stand for another device.
final class LoopbackSocket {
    private var fd: Int32

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(port: Int, from source: UInt32 = 0x7F00_0001) throws {
        precondition(source >> 24 == 127, "loopback addresses only")
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        if source != 0x7F00_0001 {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = in_addr_t(source.bigEndian)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let error = errno
                _ = Glibc.close(fd)
                throw Failure(description: "bind: errno \(error)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let error = errno
            _ = Glibc.close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port): errno \(error)")
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    /// Writes all of `bytes`; false once the peer has closed or reset the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// What the peer sent until it closed or `timeout` passed.
    struct Outcome {
        var bytes: [UInt8] = []
        /// The peer closed (FIN or reset) before the timeout.
        var closed = false
        /// When it closed, or when we gave up, from the start of `receive`.
        var elapsed: Duration = .zero
    }

    /// Reads until the peer closes or `timeout` passes, or (if given) `limit` bytes arrived.
    func receive(timeout: Duration, limit: Int? = nil) -> Outcome {
        let start = ContinuousClock.now
        let deadline = start + timeout
        var outcome = Outcome()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let limit, outcome.bytes.count >= limit { break }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, left.seconds * 1000)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let wanted = limit.map { min(buffer.count, $0 - outcome.bytes.count) } ?? buffer.count
            let n = recv(fd, &buffer, wanted, 0)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                outcome.closed = true
                break
            }
            outcome.bytes += buffer[0..<n]
        }
        outcome.elapsed = ContinuousClock.now - start
        return outcome
    }

    /// What the peer has done so far, asked without waiting: closed (FIN or reset), sent
    /// something, or neither.
    enum State { case open, sentBytes, closed }

    func state() -> State {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        if n > 0 { return .sentBytes }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return .open }
        return .closed
    }

    /// Exactly `count` bytes, or nil if the peer closed or `timeout` passed first.
    func read(exactly count: Int, timeout: Duration) -> [UInt8]? {
        let outcome = receive(timeout: timeout, limit: count)
        return outcome.bytes.count == count ? outcome.bytes : nil
    }
}

/// A completed secret handshake from the test process, and the bytes it exchanged.
struct DialedHandshake {
    let result: HandshakeResult
    let clientHello: [UInt8]
    let serverHello: [UInt8]
    let authenticate: [UInt8]
}

extension LoopbackSocket {
    /// Runs the client side of the secret handshake over this socket as `identity`.
    func handshake(networkKey: SecretBytes, identity: SigningKey, serverKey: PublicKey) throws -> DialedHandshake {
        var client = try SecretHandshake.Client(
            networkKey: networkKey, identity: identity, serverKey: serverKey,
            ephemeralSeed: SecureRandom.bytes(SecretHandshake.ephemeralSeedLength))
        let hello = client.start()
        guard send(hello) else { throw Failure(description: "the node closed before our hello") }
        guard let serverHello = read(exactly: SecretHandshake.helloLength, timeout: .seconds(5)) else {
            throw Failure(description: "no server hello")
        }
        guard let authenticate = try client.receive(serverHello) else { throw Failure(description: "no authenticate") }
        guard send(authenticate) else { throw Failure(description: "the node closed before our authenticate") }
        guard let accept = read(exactly: SecretHandshake.acceptLength, timeout: .seconds(5)) else {
            throw Failure(description: "no server accept")
        }
        _ = try client.receive(accept)
        guard let result = client.result else { throw Failure(description: "the handshake did not complete") }
        return DialedHandshake(result: result, clientHello: hello, serverHello: serverHello, authenticate: authenticate)
    }
}

/// What came back through the box-stream.
struct BoxStreamReply {
    var messages: [WireMessage] = []
    var goodbye = false
    /// The stream could not be read: wrong keys, or bytes that are no box-stream.
    var unreadable = false
}

/// Opens everything a node sent after the handshake.
func openReply(_ bytes: [UInt8], handshake: HandshakeResult) -> BoxStreamReply {
    var reply = BoxStreamReply()
    var decryptor = BoxStream.Decryptor(handshake: handshake)
    var framer = MessageFramer()
    do {
        for event in try decryptor.feed(bytes) {
            switch event {
            case .message(let plaintext): reply.messages += try framer.feed(plaintext)
            case .goodbye: reply.goodbye = true
            }
        }
    } catch {
        reply.unreadable = true
    }
    return reply
}
