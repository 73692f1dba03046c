import MeetKitCore
import MeetKitCrypto
import Testing

@Suite("Entry header")
struct EntryHeaderTests {
    let id = EntryID(bytes: [UInt8](repeating: 0x11, count: 32))!
    let bodyHash = [UInt8](repeating: 0x22, count: 32)

    var header: EntryHeader {
        EntryHeader(
            kind: .share, group: Fixtures.group, author: Fixtures.member.publicKey, sequence: 0x0102_0304_0506_0708,
            previous: id, lamport: 0x1112_1314_1516_1718, timestamp: Fixtures.startTime, epoch: 0x2122_2324,
            bodyLength: 0x0000_3132, bodyHash: bodyHash)
    }

    @Test func roundTrip() throws {
        let bytes = header.encoded()
        #expect(bytes.count == EntryHeader.encodedLength)
        #expect(try EntryHeader(decoding: bytes) == header)
    }

    @Test func layoutMatchesTheSpecification() {
        let bytes = header.encoded()
        #expect(bytes[0] == 1)
        #expect(bytes[1] == 5)
        #expect(Array(bytes[2..<34]) == Fixtures.group.bytes)
        #expect(Array(bytes[34..<66]) == Fixtures.member.publicKey.bytes)
        #expect(Array(bytes[66..<74]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(bytes[74..<106]) == id.bytes)
        #expect(Array(bytes[106..<114]) == [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18])
        #expect(Array(bytes[114..<122]) == bigEndianBytes(UInt64(Fixtures.startTime)))
        #expect(Array(bytes[122..<126]) == [0x21, 0x22, 0x23, 0x24])
        #expect(Array(bytes[126..<130]) == [0, 0, 0x31, 0x32])
        #expect(Array(bytes[130..<162]) == bodyHash)
        #expect(RawHeader(bytes).bytes == bytes)
    }

    @Test func genesisRoundTrip() throws {
        let genesis = EntryHeader(
            kind: .genesis, group: nil, author: Fixtures.founder.publicKey, sequence: 1, previous: nil,
            lamport: 1, timestamp: 0, epoch: 0, bodyLength: 60, bodyHash: bodyHash)
        let bytes = genesis.encoded()
        #expect(Array(bytes[2..<34]) == RawHeader.zero32)
        #expect(Array(bytes[74..<106]) == RawHeader.zero32)
        let decoded = try EntryHeader(decoding: bytes)
        #expect(decoded == genesis)
        #expect(decoded.group == nil)
        #expect(decoded.previous == nil)
    }

    @Test(arguments: [Int64.min, -1, 0, 1, Int64.max])
    func timestampsBeforeAndAfterTheEpochRoundTrip(_ timestamp: Int64) throws {
        var header = self.header
        header.timestamp = timestamp
        #expect(try EntryHeader(decoding: header.encoded()).timestamp == timestamp)
    }

    @Test func extremeIntegersRoundTrip() throws {
        var header = self.header
        header.sequence = .max
        header.lamport = .max
        header.epoch = .max
        header.bodyLength = EntryHeader.maximumBodyLength
        #expect(try EntryHeader(decoding: header.encoded()) == header)
    }

    @Test func oneEncodingPerHeader() throws {
        // Decoding and encoding again gives the same bytes: there is nothing to normalise.
        let bytes = header.encoded()
        #expect(try EntryHeader(decoding: bytes).encoded() == bytes)
    }
}
