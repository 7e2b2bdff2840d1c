import ClusterFuturesTestSupport
import ClusterFuturesWire
import Foundation
import Testing

/// Encodes and decodes `value` with `codec`.
func roundTrip<T: Codable>(_ value: T, _ format: WireFormat = .binary) throws -> T {
    let codec = WireCodec(format: format)
    return try codec.decode(T.self, from: try codec.encode(value))
}

/// Binary encoding of `value`.
func wire<T: Encodable>(_ value: T) throws -> [UInt8] {
    try WireEncoder().encode(value)
}

/// The `debugDescription` of a `DecodingError` / `EncodingError`, or the error's description.
func describe(_ error: any Error) -> String {
    switch error {
    case let error as DecodingError:
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
            .keyNotFound(_, let context), .dataCorrupted(let context):
            return context.debugDescription
        @unknown default:
            return "\(error)"
        }
    case let error as EncodingError:
        switch error {
        case .invalidValue(_, let context):
            return context.debugDescription
        @unknown default:
            return "\(error)"
        }
    default:
        return "\(error)"
    }
}

/// Appends an unsigned LEB128 varint.
func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
    var v = value
    while v >= 0x80 {
        bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
        v >>= 7
    }
    bytes.append(UInt8(v))
}

func varintSize(_ value: Int) -> Int {
    var n = 1
    var v = UInt64(value) >> 7
    while v != 0 { n += 1; v >>= 7 }
    return n
}

// MARK: - Shared model types

struct Particle: Codable, Equatable {
    var id: Int
    var name: String
    var position: [Double]
    var charge: Double?
    var tags: [String]
}

enum Shape: Codable, Equatable, Hashable {
    case circle(radius: Double)
    case rect(width: Double, height: Double)
    case labeled(String, Int)
    case point
}

enum Level: Int, Codable, Equatable { case low = 1, high = 2 }
enum Suit: String, Codable, Equatable { case hearts, spades }

/// A String-backed enum usable as a dictionary key that encodes as a keyed container.
enum Color: String, Codable, Hashable, CodingKeyRepresentable { case red, green }

/// An enum key without `CodingKeyRepresentable`: Swift encodes such dictionaries as unkeyed
/// key/value alternations.
enum Planet: Int, Codable, Hashable { case mercury = 1, venus = 2 }

final class Box: Codable, Equatable {
    var value: Int
    var next: Box?
    init(value: Int, next: Box? = nil) {
        self.value = value
        self.next = next
    }
    static func == (a: Box, b: Box) -> Bool { a.value == b.value && a.next == b.next }
}

struct FuzzRecord: Codable, Equatable {
    var id: Int
    var name: String?
    var values: [Double]
    var nested: [[Int8]]
    var map: [String: UInt16]
    var shape: Shape
    var flags: [Bool?]
    var box: Box?
}
