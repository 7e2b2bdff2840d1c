/// The GNU build id of an ELF file (the `NT_GNU_BUILD_ID` note that `ld --build-id` writes), read
/// from the first bytes of the file through its program headers, as a remote `head -c` gives them.
///
/// Every offset and size comes from the file, so every one is checked against the bytes at hand;
/// a malformed or cut-off file gives ``Result/truncated`` or ``Result/notELF``, never a trap.
public enum ELFBuildID {
    /// What the bytes say.
    public enum Result: Equatable, Sendable {
        /// The build id's bytes.
        case buildID([UInt8])
        /// An ELF file whose program headers have no build-id note.
        case noBuildID
        /// Not an ELF file (a script, say), or an ELF header that makes no sense.
        case notELF
        /// An ELF file whose program headers or notes lie beyond the bytes given.
        case truncated

        /// The build id, if there is one.
        public var bytes: [UInt8]? {
            if case .buildID(let bytes) = self { bytes } else { nil }
        }
    }

    /// `PT_NOTE`.
    static let noteSegment: UInt32 = 4
    /// `NT_GNU_BUILD_ID`.
    static let buildIDNote: UInt32 = 3

    /// Finds the build id in `bytes`, the start of an ELF file (32- or 64-bit, either byte order).
    public static func parse(_ bytes: [UInt8]) -> Result {
        var reader = Reader(bytes: bytes)
        let magic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]  // "\u{7f}ELF"
        guard !bytes.isEmpty, bytes.prefix(4).elementsEqual(magic.prefix(bytes.count)) else { return .notELF }
        guard bytes.count >= 6 else { return .truncated }
        let wide: Bool
        switch bytes[4] {
        case 1: wide = false
        case 2: wide = true
        default: return .notELF
        }
        switch bytes[5] {
        case 1: reader.bigEndian = false
        case 2: reader.bigEndian = true
        default: return .notELF
        }
        // e_phoff, e_phentsize, e_phnum.
        guard let headerTable = wide ? reader.word64(at: 32) : reader.word32(at: 28).map(UInt64.init),
              let entrySize = reader.half(at: wide ? 54 : 42),
              let count = reader.half(at: wide ? 56 : 44) else { return .truncated }
        // PN_XNUM: the count lives in the first section header, at the end of the file.
        guard count != 0xffff else { return .noBuildID }
        guard Int(entrySize) >= (wide ? 56 : 32) else { return count == 0 ? .noBuildID : .notELF }
        guard let table = Int(exactly: headerTable) else { return .truncated }
        var cutOff = false
        for index in 0..<Int(count) {
            guard let entry = reader.offset(table, plus: index, times: Int(entrySize)),
                  let type = reader.word32(at: entry) else { return .truncated }
            guard type == noteSegment else { continue }
            // p_offset, p_filesz, p_align.
            guard let offset = wide ? reader.word64(at: entry + 8) : reader.word32(at: entry + 4).map(UInt64.init),
                  let size = wide ? reader.word64(at: entry + 32) : reader.word32(at: entry + 16).map(UInt64.init),
                  let align = wide ? reader.word64(at: entry + 48) : reader.word32(at: entry + 28).map(UInt64.init)
            else { return .truncated }
            guard let start = Int(exactly: offset), let length = Int(exactly: size),
                  case (let end, false) = start.addingReportingOverflow(length), end <= bytes.count else {
                cutOff = true
                continue
            }
            if let id = findBuildID(reader, from: start, to: end, alignment: align == 8 ? 8 : 4) {
                return .buildID(id)
            }
        }
        return cutOff ? .truncated : .noBuildID
    }

    /// The build id among the notes in `start..<end`, each `namesz`, `descsz`, `type`, then the name
    /// and the descriptor, each padded to `alignment`.
    private static func findBuildID(_ reader: Reader, from start: Int, to end: Int, alignment: Int) -> [UInt8]? {
        var position = start
        while let nameSize = reader.word32(at: position), let descriptorSize = reader.word32(at: position + 4),
              let type = reader.word32(at: position + 8) {
            let name = position + 12
            guard let nameEnd = reader.offset(name, plus: Int(nameSize), times: 1),
                  let descriptor = padded(nameEnd, to: alignment),
                  let descriptorEnd = reader.offset(descriptor, plus: Int(descriptorSize), times: 1),
                  descriptorEnd <= end else { return nil }
            if type == buildIDNote, nameSize == 4, descriptorSize > 0,
               reader.bytes[name..<name + 4].elementsEqual([0x47, 0x4e, 0x55, 0]) {
                return Array(reader.bytes[descriptor..<descriptorEnd])
            }
            guard let next = padded(descriptorEnd, to: alignment), next + 12 <= end else { return nil }
            position = next
        }
        return nil
    }

    private static func padded(_ offset: Int, to alignment: Int) -> Int? {
        let (sum, overflow) = offset.addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum & ~(alignment - 1)
    }

    /// Reads integers of the file's byte order at offsets checked against the bytes.
    private struct Reader {
        let bytes: [UInt8]
        var bigEndian = false

        /// `base + index * size`, or nil when it overflows or lies outside the bytes.
        func offset(_ base: Int, plus index: Int, times size: Int) -> Int? {
            let (product, overflow) = index.multipliedReportingOverflow(by: size)
            guard !overflow, base >= 0 else { return nil }
            let (sum, overflow2) = base.addingReportingOverflow(product)
            guard !overflow2, sum <= bytes.count else { return nil }
            return sum
        }

        private func unsigned(at offset: Int, count: Int) -> UInt64? {
            guard offset >= 0, count <= 8, case (let end, false) = offset.addingReportingOverflow(count),
                  end <= bytes.count else { return nil }
            var value: UInt64 = 0
            for index in 0..<count {
                let byte = UInt64(bytes[bigEndian ? offset + index : end - 1 - index])
                value = value << 8 | byte
            }
            return value
        }

        func half(at offset: Int) -> UInt16? { unsigned(at: offset, count: 2).map { UInt16(truncatingIfNeeded: $0) } }
        func word32(at offset: Int) -> UInt32? { unsigned(at: offset, count: 4).map { UInt32(truncatingIfNeeded: $0) } }
        func word64(at offset: Int) -> UInt64? { unsigned(at: offset, count: 8) }
    }
}

extension Array where Element == UInt8 {
    /// The bytes in lowercase hexadecimal, as `readelf -n` prints a build id.
    public var hexString: String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        var text = ""
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return text
    }
}
