/// Appends fixed-width big-endian integers and raw bytes; the one encoder behind every
/// canonical layout in `Protocol/`.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }
    public mutating func write(_ value: UInt16) { writeBigEndian(value) }
    public mutating func write(_ value: UInt32) { writeBigEndian(value) }
    public mutating func write(_ value: UInt64) { writeBigEndian(value) }
    public mutating func write(_ value: Int64) { writeBigEndian(UInt64(bitPattern: value)) }
    public mutating func write(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    public mutating func write<C: Collection>(contentsOf raw: C) where C.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    private mutating func writeBigEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.bigEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `ByteWriter` wrote. Every read is bounds-checked; running out of input returns nil.
public struct ByteReader: Sendable {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func readUInt8() -> UInt8? { readBigEndian() }
    public mutating func readUInt16() -> UInt16? { readBigEndian() }
    public mutating func readUInt32() -> UInt32? { readBigEndian() }
    public mutating func readUInt64() -> UInt64? { readBigEndian() }
    public mutating func readInt64() -> Int64? { readUInt64().map { Int64(bitPattern: $0) } }

    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    private mutating func readBigEndian<T: FixedWidthInteger>() -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for byte in bytes[offset..<offset + size] { value = value << 8 | T(byte) }
        offset += size
        return value
    }
}
