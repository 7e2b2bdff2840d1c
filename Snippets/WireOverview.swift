import ClusterFuturesWire

struct Reading: Codable, Equatable {
    var station: String
    var celsius: [Double]
}

let reading = Reading(station: "tromsø", celsius: [-11.0, -9.5])
let bytes = try WireEncoder().encode(reading)
let decoded = try WireDecoder().decode(Reading.self, from: bytes)
assert(decoded == reading)
