import Foundation
import MeetKitCore
import MeetKitCrypto
import Testing

@testable import MeetKitProtocol

/// The box-stream vectors in Protocol/vectors/box-stream (layout in its README.md).
@Suite("Box-stream vectors")
struct BoxStreamVectorTests {
    struct Packet: Decodable {
        let plain: String
        let header: String
        let body: String
    }

    struct Vectors: Decodable {
        let source: String
        let key: String
        let nonce: String
        let packets: [Packet]
        let goodbye_header: String
    }

    static func vectors() throws -> Vectors {
        let url = Support.vectorsDirectory.appendingPathComponent("box-stream/vectors.json")
        return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }

    @Test func encryptorReproducesEveryHeaderBodyAndTheGoodbye() throws {
        let vectors = try Self.vectors()
        #expect(vectors.source.contains("box-stream-c"))
        #expect(vectors.packets.count == 2)
        var encryptor = BoxStream.Encryptor(key: try Support.secret(vectors.key), nonce: try Support.bytes(vectors.nonce))
        for packet in vectors.packets {
            let wire = encryptor.seal(try Support.bytes(packet.plain))
            let header = try Support.bytes(packet.header)
            let body = try Support.bytes(packet.body)
            #expect(header.count == BoxStream.headerLength)
            #expect(Array(wire.prefix(BoxStream.headerLength)) == header)
            #expect(Array(wire.dropFirst(BoxStream.headerLength)) == body)
        }
        #expect(encryptor.goodbye() == (try Support.bytes(vectors.goodbye_header)))
    }

    @Test func decryptorOpensThemBack() throws {
        let vectors = try Self.vectors()
        var decryptor = BoxStream.Decryptor(key: try Support.secret(vectors.key), nonce: try Support.bytes(vectors.nonce))
        var events: [BoxStreamEvent] = []
        for packet in vectors.packets {
            events += try decryptor.feed(try Support.bytes(packet.header))
            let needed = decryptor.bytesNeeded
            #expect(needed == (try Support.bytes(packet.body)).count)
            events += try decryptor.feed(try Support.bytes(packet.body))
        }
        events += try decryptor.feed(try Support.bytes(vectors.goodbye_header))
        let expected = try vectors.packets.map { BoxStreamEvent.message(try Support.bytes($0.plain)) } + [.goodbye]
        #expect(events == expected)
        let ended = decryptor.receivedGoodbye
        #expect(ended)
        try decryptor.finish()
    }
}
