import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// Protocol/framing.md: round trips, drip-feeding, tampering, the size cap and the goodbye.
@Suite("Box-stream")
struct BoxStreamTests {
    static let key = Support.secret(repeating: 0x6b)
    static let nonce: [UInt8] = (0..<24).map { UInt8($0 * 7) }

    static func encryptor() -> BoxStream.Encryptor { BoxStream.Encryptor(key: key, nonce: nonce) }
    static func decryptor() -> BoxStream.Decryptor { BoxStream.Decryptor(key: key, nonce: nonce) }

    static func message(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    }

    /// The error `feed` throws, or nil when it returns.
    static func feedError(_ decryptor: inout BoxStream.Decryptor, _ bytes: [UInt8]) -> BoxStreamError? {
        do {
            _ = try decryptor.feed(bytes)
            return nil
        } catch {
            return error
        }
    }

    /// The bodies of `events`, joined, and whether the last one is the goodbye.
    static func joined(_ events: [BoxStreamEvent]) -> (bytes: [UInt8], goodbye: Bool, largest: Int) {
        var bytes: [UInt8] = []
        var largest = 0
        var goodbye = false
        for event in events {
            switch event {
            case .message(let body):
                #expect(!goodbye, "a message after the goodbye")
                #expect(!body.isEmpty)
                bytes += body
                largest = max(largest, body.count)
            case .goodbye:
                goodbye = true
            }
        }
        return (bytes, goodbye, largest)
    }

    // MARK: Round trips

    @Test(arguments: [0, 1, 4096, 4097, 100_000])
    func roundTrip(size: Int) throws {
        let message = Self.message(size)
        var encryptor = Self.encryptor()
        let wire = encryptor.seal(message)
        let packets = (size + 4095) / 4096
        #expect(wire.count == size + packets * BoxStream.headerLength)
        let stream = wire + encryptor.goodbye()
        var decryptor = Self.decryptor()
        let events = try decryptor.feed(stream)
        #expect(events.count == packets + 1)
        let result = Self.joined(events)
        #expect(result.bytes == message)
        #expect(result.goodbye)
        #expect(result.largest <= BoxStream.maxBodyLength)
        try decryptor.finish()
    }

    @Test func manyMessagesKeepTheirOrder() throws {
        var encryptor = Self.encryptor()
        var decryptor = Self.decryptor()
        for size in [3, 4096, 1, 9000, 17] {
            let message = Self.message(size).map { $0 ^ UInt8(size & 0xff) }
            #expect(Self.joined(try decryptor.feed(encryptor.seal(message))).bytes == message)
        }
        #expect(try decryptor.feed(encryptor.goodbye()) == [.goodbye])
    }

    @Test func dripFedOneByteAtATime() throws {
        var encryptor = Self.encryptor()
        let message = Self.message(10_000)
        let stream = encryptor.seal(message) + encryptor.goodbye()
        var decryptor = Self.decryptor()
        var events: [BoxStreamEvent] = []
        for byte in stream {
            let needed = decryptor.bytesNeeded
            #expect(needed > 0)
            events += try decryptor.feed([byte])
        }
        let result = Self.joined(events)
        #expect(result.bytes == message && result.goodbye)
        let needed = decryptor.bytesNeeded
        #expect(needed == 0)
    }

    @Test func everySplitOfASmallStreamGivesTheSameEvents() throws {
        var encryptor = Self.encryptor()
        let stream = encryptor.seal([1, 2, 3]) + encryptor.seal([]) + encryptor.seal([4, 5, 6, 7, 8]) + encryptor.goodbye()
        let expected: [BoxStreamEvent] = [.message([1, 2, 3]), .message([4, 5, 6, 7, 8]), .goodbye]
        var splits = 0
        for first in 0...stream.count {
            for second in first...stream.count {
                var decryptor = Self.decryptor()
                var events = try decryptor.feed(Array(stream[..<first]))
                events += try decryptor.feed(Array(stream[first..<second]))
                events += try decryptor.feed(Array(stream[second...]))
                #expect(events == expected, "split at \(first), \(second)")
                splits += 1
            }
        }
        #expect(splits == (stream.count + 1) * (stream.count + 2) / 2)
    }

    @Test func emptyMessageWritesNothing() {
        var encryptor = Self.encryptor()
        #expect(encryptor.seal([]).isEmpty)
        // …and does not use up a nonce: the next packet is the first.
        var fresh = Self.encryptor()
        #expect(encryptor.seal([9]) == fresh.seal([9]))
    }

    @Test func anEmptyPacketFromAnotherImplementationIsValid() throws {
        // Length 0, tag of the empty body: not a goodbye, carries nothing.
        var bodyNonce = Self.nonce
        BoxStream.increment(&bodyNonce)
        let tag = SecretBox.sealDetached([], nonce: bodyNonce, key: Self.key).tag
        let header = SecretBox.seal([0, 0] + tag, nonce: Self.nonce, key: Self.key)
        BoxStream.increment(&bodyNonce)
        var rest = BoxStream.Encryptor(key: Self.key, nonce: bodyNonce)
        var decryptor = Self.decryptor()
        #expect(try decryptor.feed(header + rest.seal([42]) + rest.goodbye()) == [.message([42]), .goodbye])
    }

    // MARK: Tampering

    @Test func everyBitFlipOfAHeaderOrBodyIsRejected() {
        var encryptor = Self.encryptor()
        let packet = encryptor.seal(Self.message(40))
        let goodbye = encryptor.goodbye()
        for bit in 0..<(packet.count * 8) {
            var tampered = packet
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            var decryptor = Self.decryptor()
            let expected: BoxStreamError = bit < BoxStream.headerLength * 8 ? .badHeader : .badBody
            #expect(Self.feedError(&decryptor, tampered + goodbye) == expected, "bit \(bit)")
            #expect(Self.feedError(&decryptor, goodbye) == .closed)
        }
        for bit in 0..<(goodbye.count * 8) {
            var tampered = goodbye
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            var decryptor = Self.decryptor()
            _ = try? decryptor.feed(packet)
            #expect(Self.feedError(&decryptor, tampered) == .badHeader, "goodbye bit \(bit)")
        }
    }

    @Test func reorderedReplayedOrDroppedPacketsAreRejected() throws {
        var encryptor = Self.encryptor()
        let first = encryptor.seal([1])
        let second = encryptor.seal([2])
        var reordered = Self.decryptor()
        #expect(Self.feedError(&reordered, second) == .badHeader)
        var replayed = Self.decryptor()
        #expect(try replayed.feed(first) == [.message([1])])
        #expect(Self.feedError(&replayed, first) == .badHeader)
        var dropped = Self.decryptor()
        #expect(Self.feedError(&dropped, encryptor.goodbye()) == .badHeader)
    }

    @Test func garbageIsAnErrorAsSoonAsAHeaderIsIn() {
        let garbage = [UInt8](repeating: 0xa5, count: 34 + 4096 * 4)
        var decryptor = Self.decryptor()
        #expect(Self.feedError(&decryptor, Array(garbage.prefix(33))) == nil)
        let needed = decryptor.bytesNeeded
        #expect(needed == 1)
        #expect(Self.feedError(&decryptor, [0xa5]) == .badHeader)
        let neededAfter = decryptor.bytesNeeded
        #expect(neededAfter == 0)
        var atOnce = Self.decryptor()
        #expect(Self.feedError(&atOnce, garbage) == .badHeader)
    }

    @Test(arguments: [4097, 5000, 65535])
    func headerClaimingMoreThan4096BytesIsRejectedUnbuffered(length: Int) {
        var header = ByteWriter()
        header.write(UInt16(length))
        header.write([UInt8](repeating: 0, count: 16))
        let forged = SecretBox.seal(header.bytes, nonce: Self.nonce, key: Self.key)
        var decryptor = Self.decryptor()
        #expect(Self.feedError(&decryptor, forged) == .bodyTooLong(length))
        let needed = decryptor.bytesNeeded
        #expect(needed == 0)
        var withBody = Self.decryptor()
        #expect(Self.feedError(&withBody, forged + [UInt8](repeating: 0, count: length)) == .bodyTooLong(length))
        #expect(Self.feedError(&withBody, [0]) == .closed)
    }

    @Test func aFullSizeBodyIsAccepted() throws {
        var encryptor = Self.encryptor()
        let wire = encryptor.seal(Self.message(4096))
        #expect(wire.count == BoxStream.maxPacketLength)
        var decryptor = Self.decryptor()
        #expect(try decryptor.feed(Array(wire.prefix(34))) == [])
        let needed = decryptor.bytesNeeded
        #expect(needed == 4096)
        #expect(try decryptor.feed(Array(wire.dropFirst(34))) == [.message(Self.message(4096))])
        let neededAfter = decryptor.bytesNeeded
        #expect(neededAfter == 34)
    }

    // MARK: The end

    @Test func goodbyeEndsTheStream() throws {
        var encryptor = Self.encryptor()
        var decryptor = Self.decryptor()
        #expect(try decryptor.feed(encryptor.seal([7]) + encryptor.goodbye()) == [.message([7]), .goodbye])
        let ended = decryptor.receivedGoodbye
        #expect(ended)
        let needed = decryptor.bytesNeeded
        #expect(needed == 0)
        #expect(try decryptor.feed([]) == [])
        #expect(Self.feedError(&decryptor, [0]) == .dataAfterGoodbye)
        #expect(Self.feedError(&decryptor, []) == .closed)
    }

    @Test func bytesAfterTheGoodbyeInTheSameFeedAreRejected() {
        let encryptor = Self.encryptor()
        let goodbye = encryptor.goodbye()
        var decryptor = Self.decryptor()
        #expect(Self.feedError(&decryptor, goodbye + [1]) == .dataAfterGoodbye)
    }

    @Test func endingWithoutTheGoodbyeIsTruncation() throws {
        var encryptor = Self.encryptor()
        let packet = encryptor.seal([1, 2, 3])
        var decryptor = Self.decryptor()
        #expect(throws: BoxStreamError.truncated) { try decryptor.finish() }
        _ = try decryptor.feed(Array(packet.prefix(40)))
        #expect(throws: BoxStreamError.truncated) { try decryptor.finish() }
        _ = try decryptor.feed(Array(packet.dropFirst(40)))
        #expect(throws: BoxStreamError.truncated) { try decryptor.finish() }
    }

    // MARK: Nonces

    @Test func noncesCountUpBigEndianAndWrap() {
        var nonce = [UInt8](repeating: 0, count: 22) + [0x00, 0xff]
        BoxStream.increment(&nonce)
        #expect(nonce == [UInt8](repeating: 0, count: 22) + [0x01, 0x00])
        var last = [UInt8](repeating: 0xff, count: 24)
        BoxStream.increment(&last)
        #expect(last == [UInt8](repeating: 0, count: 24))
    }

    @Test func noncesCarryAcrossBytesInTheStream() throws {
        // As box-stream-c's test_nounce_boundaries: a start close to a carry.
        let start = [UInt8](repeating: 0xff, count: 22) + [0xfd, 0x00]
        var encryptor = BoxStream.Encryptor(key: Self.key, nonce: start)
        var decryptor = BoxStream.Decryptor(key: Self.key, nonce: start)
        for round in 0..<600 {
            let message = [UInt8(truncatingIfNeeded: round), 1, 2, 3, 4, 5, 6, 7]
            #expect(try decryptor.feed(encryptor.seal(message)) == [.message(message)])
        }
    }
}
