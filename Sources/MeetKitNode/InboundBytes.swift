import NIOCore

/// Reads exact byte counts from a channel's inbound stream, keeping what arrives beyond them.
struct InboundBytes {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var pending: [UInt8] = []

    init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) {
        iterator = inbound.makeAsyncIterator()
    }

    enum Error: Swift.Error {
        case closed
    }

    /// Exactly `count` bytes; throws `closed` if the peer closes first.
    mutating func read(exactly count: Int) async throws -> [UInt8] {
        while pending.count < count {
            guard var buffer = try await iterator.next() else { throw Error.closed }
            pending.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        }
        let out = Array(pending[0..<count])
        pending.removeFirst(count)
        return out
    }

    /// Whatever is buffered, else the next chunk; nil once the peer has closed.
    mutating func next() async throws -> [UInt8]? {
        if !pending.isEmpty {
            defer { pending = [] }
            return pending
        }
        guard var buffer = try await iterator.next() else { return nil }
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}
