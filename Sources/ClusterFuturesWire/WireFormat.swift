import Foundation

/// Limits the decoder enforces on untrusted input.
///
/// A message may come from another machine, so decoding one must neither exhaust the stack nor
/// allocate memory out of proportion to its size; past either limit the decoder throws a
/// `DecodingError.dataCorrupted` instead.
///
/// ## Depth
///
/// `Codable` decoding recurses: each nested value is decoded by a call inside its parent's
/// `init(from:)`. The decoder counts one level for each value it decodes through `init(from:)`
/// (a struct, class, enum or dictionary) and one for each array, and refuses a message nested
/// deeper than ``maxDepth``.
///
/// The rule for the default: ``maxDepth`` times the most stack one level takes, in a debug build
/// (where frames are largest), stays below half of a 512 KiB thread stack. Measured on Linux
/// x86-64 with Swift 6.3 (see `DepthTests`), a level takes up to about 3.7 KiB of stack in a debug
/// build and 1.3 KiB in a release build, counting the `init(from:)` of the recursive type itself
/// (encoding takes up to 2.6 KiB and 1.4 KiB); so a value at the default of 64 levels needs at
/// most about 240 KiB in a debug build and 90 KiB in a release build. Raise ``maxDepth`` only for threads with correspondingly larger stacks (the
/// main thread and threads of the cooperative pool have 8 MiB on Linux, secondary `Thread`s and
/// Dispatch threads often 512 KiB).
///
/// ## Memory
///
/// A decode may allocate at most ``allocationPerInputByte`` bytes for each byte of its input,
/// plus ``allocationAllowance``: see ``allocationBudget(forInputBytes:)``. The input is the
/// message and any out-of-band buffers (`WireBuffer`) given with it. The decoder charges as it
/// goes, before it allocates:
///
/// - every value read from a keyed or unkeyed container, or asked for with `decodeIfPresent`
///   (present or not), the stride of its type (`MemoryLayout<T>.stride`);
/// - every array read in one piece, its element count times its element stride, before
///   reserving its storage, plus 32 bytes;
/// - every value decoded through its `init(from:)`, and every element taken from an unkeyed
///   container as a nested container or `superDecoder()`, 32 bytes, for the object a class,
///   dictionary or indirect enum allocates;
/// - the key table, its key count times the stride of `String`, plus 32 bytes; and `allKeys` of a
///   keyed container, its key count times the key type's stride.
///
/// A struct's fields are charged both inside the struct's stride and each on its own, so the sum
/// is an upper bound of what the decoded value occupies. The bytes of strings and of arrays of
/// plain numbers are part of the input and are not charged again. The defaults (32 bytes per
/// input byte, 64 KiB allowance) admit arrays of optionals of one-word values even when every
/// element is nil (16 bytes for a 1-byte nil), and refuse a large array of nils decoded as
/// optionals of a struct wider than 32 bytes, which would otherwise turn each input byte into
/// that many bytes of memory.
public struct WireLimits: Sendable, Hashable {
    /// The deepest nesting of values (containers inside containers) the decoder accepts before it
    /// throws instead of recursing further. Default 64, which needs less than half of a 512 KiB
    /// stack even in a debug build; see "Depth" above.
    public var maxDepth: Int

    /// The bytes of memory a decode may allocate for each byte of its input, on top of
    /// ``allocationAllowance``. Default 32.
    public var allocationPerInputByte: Int

    /// The bytes of memory every decode may allocate whatever the size of its input. Default
    /// 65,536 (64 KiB).
    public var allocationAllowance: Int

    /// Creates limits: `maxDepth` is the deepest accepted nesting of containers, and a decode of
    /// `n` input bytes may allocate up to `allocationPerInputByte × n + allocationAllowance` bytes.
    public init(maxDepth: Int = 64, allocationPerInputByte: Int = 32, allocationAllowance: Int = 65_536) {
        self.maxDepth = maxDepth
        self.allocationPerInputByte = allocationPerInputByte
        self.allocationAllowance = allocationAllowance
    }

    /// The bytes a decode of `inputBytes` bytes of input may allocate:
    /// `allocationPerInputByte × inputBytes + allocationAllowance`, at most `Int.max` (negative
    /// settings count as 0).
    public func allocationBudget(forInputBytes inputBytes: Int) -> Int {
        let (scaled, overflow) = max(0, allocationPerInputByte).multipliedReportingOverflow(by: max(0, inputBytes))
        guard !overflow else { return Int.max }
        let (total, overflowAdding) = scaled.addingReportingOverflow(max(0, allocationAllowance))
        return overflowAdding ? Int.max : total
    }

    /// The limits used when none are given: `maxDepth` 64, 32 bytes per input byte plus 64 KiB.
    public static let `default` = WireLimits()
}

/// Which encoding a `WireCodec` produces: the compact binary format, or a readable fallback for
/// debugging that makes the same calls through Foundation's `JSONEncoder` / `JSONDecoder`.
public enum WireFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// The compact binary format of `WireEncoder` / `WireDecoder`.
    case binary
    /// Foundation's JSON (non-finite floats as the strings "inf", "-inf", "nan").
    case json
}

/// Encodes and decodes values in one chosen `WireFormat`.
public struct WireCodec: Sendable {
    /// The format this codec reads and writes.
    public let format: WireFormat
    private let limits: WireLimits

    /// Creates a codec for `format`; `limits` apply to binary decoding.
    public init(format: WireFormat = .binary, limits: WireLimits = .default) {
        self.format = format
        self.limits = limits
    }

    /// Encodes `value` into a new byte array in this codec's format.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        switch format {
        case .binary:
            return try WireEncoder().encode(value)
        case .json:
            let encoder = JSONEncoder()
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return Array(try encoder.encode(value))
        }
    }

    /// Decodes a `type` value from `bytes` written by a codec of the same format.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        switch format {
        case .binary:
            return try WireDecoder(limits: limits).decode(type, from: bytes)
        case .json:
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return try decoder.decode(type, from: Data(bytes))
        }
    }
}

// MARK: - Binary layout constants

/// One-byte tags that start every encoded value.
///
/// ```
/// message  := header value [keyTable]        header: 0x01 = no key table, 0x02 = key table follows
/// value    := 0x00                           nil
///           | 0x01 | 0x02                    false | true
///           | 0x03 zigzag-varint             signed integer (up to 64 bits)
///           | 0x04 varint                    unsigned integer (up to 64 bits)
///           | 0x05 f32-LE | 0x06 f64-LE      Float | Double
///           | 0x07 varint(len) utf8          String
///           | 0x08 varint(len) entry*        keyed container; entry := varint(keyIndex) value
///           | 0x09 varint(len) varint(n) value*   unkeyed container of n values (len covers n)
///           | 0x0A kind varint(n) raw-LE     bulk array of n trivial numbers (kind: WireBulkKind)
///           | 0x0B value                     `.some` marker, only before a value of Optional type
///                                            that wraps another Optional (keeps `Int??.some(nil)`)
///           | 0x0C i128-LE | 0x0D u128-LE    128-bit integers that do not fit 64 bits
///           | 0x0E kind varint(n) varint(i)  bulk array of n trivial numbers held out of band, in
///                                            buffer i of the message's `WireBuffer`s
/// keyTable := varint(k) (varint(len) utf8)^k
/// ```
@usableFromInline
enum WireTag {
    @usableFromInline static let null: UInt8 = 0x00
    @usableFromInline static let boolFalse: UInt8 = 0x01
    @usableFromInline static let boolTrue: UInt8 = 0x02
    @usableFromInline static let int: UInt8 = 0x03
    @usableFromInline static let uint: UInt8 = 0x04
    @usableFromInline static let float32: UInt8 = 0x05
    @usableFromInline static let float64: UInt8 = 0x06
    @usableFromInline static let string: UInt8 = 0x07
    @usableFromInline static let keyed: UInt8 = 0x08
    @usableFromInline static let unkeyed: UInt8 = 0x09
    @usableFromInline static let bulk: UInt8 = 0x0A
    @usableFromInline static let some: UInt8 = 0x0B
    @usableFromInline static let int128: UInt8 = 0x0C
    @usableFromInline static let uint128: UInt8 = 0x0D
    /// A bulk array left out of the message (`WireBuffer`): `kind varint(n) varint(index)`.
    @usableFromInline static let outOfBand: UInt8 = 0x0E

    /// First byte of a message without / with a trailing key table.
    @usableFromInline static let headerPlain: UInt8 = 0x01
    @usableFromInline static let headerKeyTable: UInt8 = 0x02

    /// A human-readable name of what a tag introduces, for error messages.
    static func name(_ tag: UInt8) -> String {
        switch tag {
        case null: return "nil"
        case boolFalse, boolTrue: return "bool"
        case int: return "signed integer"
        case uint: return "unsigned integer"
        case float32: return "float"
        case float64: return "double"
        case string: return "string"
        case keyed: return "keyed container"
        case unkeyed: return "unkeyed container"
        case bulk: return "bulk array"
        case some: return "optional marker"
        case int128: return "128-bit signed integer"
        case uint128: return "128-bit unsigned integer"
        case outOfBand: return "out-of-band array"
        default: return "unknown tag " + hex(tag)
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return "0x" + (digits.count < 2 ? "0" + digits : digits)
    }
}

/// Element kinds of a bulk array; the low nibble is log2 of the element size.
@usableFromInline
enum WireBulkKind {
    @usableFromInline static let int8: UInt8 = 0x00
    @usableFromInline static let int16: UInt8 = 0x01
    @usableFromInline static let int32: UInt8 = 0x02
    @usableFromInline static let int64: UInt8 = 0x03
    @usableFromInline static let uint8: UInt8 = 0x10
    @usableFromInline static let uint16: UInt8 = 0x11
    @usableFromInline static let uint32: UInt8 = 0x12
    @usableFromInline static let uint64: UInt8 = 0x13
    @usableFromInline static let float32: UInt8 = 0x22
    @usableFromInline static let float64: UInt8 = 0x23

    /// The element type's name, for messages.
    static func name(_ kind: UInt8) -> String {
        switch kind {
        case int8: return "Int8"
        case int16: return "Int16"
        case int32: return "Int32"
        case int64: return "Int64"
        case uint8: return "UInt8"
        case uint16: return "UInt16"
        case uint32: return "UInt32"
        case uint64: return "UInt64"
        case float32: return "Float"
        case float64: return "Double"
        default: return "unknown kind " + WireTag.hex(kind)
        }
    }

    /// Size in bytes of one element, or nil for an unknown kind.
    @inlinable
    static func size(_ kind: UInt8) -> Int? {
        switch kind {
        case int8, uint8: return 1
        case int16, uint16: return 2
        case int32, uint32, float32: return 4
        case int64, uint64, float64: return 8
        default: return nil
        }
    }
}
