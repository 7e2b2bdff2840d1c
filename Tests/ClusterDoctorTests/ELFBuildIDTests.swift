import CClusterFuturesSystem
import ClusterDoctor
import ClusterFuturesTestSupport
import Foundation
import Testing

@Suite struct ELFBuildIDTests {
    /// The first bytes of a file, as the doctor reads them.
    static func head(of path: String, count: Int = HostReport.headBytes) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }

    /// The running test binary's build id, as the dynamic loader's program headers give it.
    static var ownBuildID: [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = cf_build_id(&buffer, buffer.count)
        return Array(buffer.prefix(length))
    }

    @Test func theRunningBinaryAsTheLoaderSeesIt() throws {
        let expected = Self.ownBuildID
        try #require(!expected.isEmpty, "the test binary has no build id")
        #expect(ELFBuildID.parse(try Self.head(of: "/proc/self/exe")) == .buildID(expected))
    }

    @Test func cfDoctorHasOneOfItsOwn() throws {
        let id = try #require(ELFBuildID.parse(try Self.head(of: MPIRunner.program("cf-doctor"))).bytes)
        #expect(id.count == 20)  // ld's default, a SHA-1.
        #expect(id != Self.ownBuildID)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func handMadeFiles(wide: Bool, bigEndian: Bool) {
        let id: [UInt8] = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5]
        // Another note first, whose name and descriptor need padding.
        let notes = [
            TinyELF.note(name: "Go", type: 4, descriptor: [9, 9, 9, 9, 9], bigEndian: bigEndian, align: 4)
                + TinyELF.note(name: "GNU", type: 3, descriptor: id, bigEndian: bigEndian, align: 4),
        ]
        #expect(ELFBuildID.parse(TinyELF.file(wide: wide, bigEndian: bigEndian, notes: notes)) == .buildID(id))
        // A note segment aligned to 8, as .note.gnu.property is, before the build id's.
        let aligned8 = [
            TinyELF.note(name: "GNU", type: 5, descriptor: [1, 2, 3, 4, 5, 6, 7, 8], bigEndian: bigEndian, align: 8),
            TinyELF.note(name: "GNU", type: 3, descriptor: id, bigEndian: bigEndian, align: 4),
        ]
        #expect(ELFBuildID.parse(TinyELF.file(wide: wide, bigEndian: bigEndian, notes: aligned8, aligns: [8, 4])) == .buildID(id))
    }

    @Test func filesWithoutABuildID() {
        #expect(ELFBuildID.parse(TinyELF.file(wide: true, bigEndian: false, notes: [])) == .noBuildID)
        let abiTag = TinyELF.note(name: "GNU", type: 1, descriptor: [0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0], bigEndian: false, align: 4)
        #expect(ELFBuildID.parse(TinyELF.file(wide: true, bigEndian: false, notes: [abiTag])) == .noBuildID)
        // Type 3, but not GNU's.
        let other = TinyELF.note(name: "XYZ", type: 3, descriptor: [1, 2, 3, 4], bigEndian: false, align: 4)
        #expect(ELFBuildID.parse(TinyELF.file(wide: false, bigEndian: false, notes: [other])) == .noBuildID)
    }

    @Test func notELF() {
        #expect(ELFBuildID.parse([]) == .notELF)
        #expect(ELFBuildID.parse(Array("#!/bin/sh\necho hello\n".utf8)) == .notELF)
        #expect(ELFBuildID.parse([0x7f, 0x45, 0x4c, 0x47, 2, 1]) == .notELF)
        #expect(ELFBuildID.parse([0x7f, 0x45, 0x4c, 0x46, 3, 1] + [UInt8](repeating: 0, count: 64)) == .notELF)  // No such class.
        #expect(ELFBuildID.parse([0x7f, 0x45, 0x4c, 0x46, 2, 0] + [UInt8](repeating: 0, count: 64)) == .notELF)  // No byte order.
    }

    /// Every prefix of a real binary: never a wrong answer, never a trap, and once the build id is
    /// in reach it stays found.
    @Test func everyPrefixOfARealBinary() throws {
        let bytes = try Self.head(of: "/proc/self/exe", count: 4096)
        let expected = Self.ownBuildID
        var found = false
        for length in 0...bytes.count {
            let result = ELFBuildID.parse(Array(bytes.prefix(length)))
            switch result {
            case .buildID(let id):
                #expect(id == expected)
                found = true
            case .truncated:
                #expect(!found, "lost the build id at \(length) bytes")
            case .notELF:
                #expect(length == 0)
            case .noBuildID:
                Issue.record("no build id reported at \(length) bytes: the notes are cut off, not absent")
            }
        }
        #expect(found)
    }

    @Test func hostileHeaders() {
        var base = TinyELF.file(wide: true, bigEndian: false, notes: [
            TinyELF.note(name: "GNU", type: 3, descriptor: [1, 2, 3, 4], bigEndian: false, align: 4),
        ])
        #expect(ELFBuildID.parse(base) == .buildID([1, 2, 3, 4]))
        func with(_ edits: (inout [UInt8]) -> Void) -> ELFBuildID.Result {
            var copy = base
            edits(&copy)
            return ELFBuildID.parse(copy)
        }
        // e_phoff at the end of the address space, e_phnum and e_phentsize at their largest.
        #expect(with { TinyELF.put(UInt64.max, at: 32, size: 8, into: &$0, bigEndian: false) } == .truncated)
        // Thousands of program headers claimed: the note comes before the table runs out.
        #expect(with { TinyELF.put(0xfffe, at: 56, size: 2, into: &$0, bigEndian: false) } == .buildID([1, 2, 3, 4]))
        #expect(with {
            TinyELF.put(0xffff, at: 54, size: 2, into: &$0, bigEndian: false)
            TinyELF.put(0xfffe, at: 56, size: 2, into: &$0, bigEndian: false)
        } == .truncated)
        // The note segment's offset and size beyond any file.
        let segment = 64 + 56  // The second program header, after a PT_LOAD.
        #expect(with { TinyELF.put(UInt64.max, at: segment + 8, size: 8, into: &$0, bigEndian: false) } == .truncated)
        #expect(with { TinyELF.put(UInt64(Int.max), at: segment + 8, size: 8, into: &$0, bigEndian: false) } == .truncated)
        #expect(with { TinyELF.put(UInt64.max, at: segment + 32, size: 8, into: &$0, bigEndian: false) } == .truncated)
        // The note's name and descriptor sizes past the segment's end.
        let noteStart = Int(TinyELF.notesOffset(wide: true, segments: 1))
        #expect(with { TinyELF.put(0xffff_ffff, at: noteStart, size: 4, into: &$0, bigEndian: false) } == .noBuildID)
        #expect(with { TinyELF.put(0xffff_ffff, at: noteStart + 4, size: 4, into: &$0, bigEndian: false) } == .noBuildID)
        // PN_XNUM: the count lives in a section header beyond the bytes read.
        #expect(with { TinyELF.put(0xffff, at: 56, size: 2, into: &$0, bigEndian: false) } == .noBuildID)
        base.removeLast(2)
        #expect(ELFBuildID.parse(base) == .truncated)
    }

    @Test func garbageAndMutations() throws {
        var random = SplitMix64(seed: 0xE1F)
        for _ in 0..<2000 {
            let count = Int.random(in: 0..<300, using: &random)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            if count >= 6, Bool.random(using: &random) {
                bytes.replaceSubrange(0..<6, with: [0x7f, 0x45, 0x4c, 0x46, UInt8.random(in: 1...2, using: &random), UInt8.random(in: 1...2, using: &random)])
            }
            _ = ELFBuildID.parse(bytes)
        }
        let real = try Self.head(of: "/proc/self/exe", count: 2048)
        #expect(ELFBuildID.parse(real).bytes != nil)
        for _ in 0..<5000 {
            var bytes = real
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                bytes[Int.random(in: 0..<1024, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            _ = ELFBuildID.parse(bytes)
        }
    }

    @Test func hex() {
        #expect([0x00, 0x0f, 0xa0, 0xff].hexString == "000fa0ff")
        #expect([UInt8]().hexString == "")
    }
}

/// Builds small ELF files: a header, a PT_LOAD, one PT_NOTE per note block, then the notes.
enum TinyELF {
    static func put(_ value: UInt64, at offset: Int, size: Int, into bytes: inout [UInt8], bigEndian: Bool) {
        for index in 0..<size {
            let shift = UInt64(8 * (bigEndian ? size - 1 - index : index))
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> shift)
        }
    }

    static func note(name: String, type: UInt32, descriptor: [UInt8], bigEndian: Bool, align: Int) -> [UInt8] {
        let nameBytes = Array(name.utf8) + [0]
        func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (align - bytes.count % align) % align) }
        var header = [UInt8](repeating: 0, count: 12)
        put(UInt64(nameBytes.count), at: 0, size: 4, into: &header, bigEndian: bigEndian)
        put(UInt64(descriptor.count), at: 4, size: 4, into: &header, bigEndian: bigEndian)
        put(UInt64(type), at: 8, size: 4, into: &header, bigEndian: bigEndian)
        return padded(header + nameBytes) + padded(descriptor)
    }

    static func notesOffset(wide: Bool, segments: Int) -> UInt64 {
        UInt64((wide ? 64 : 52) + (segments + 1) * (wide ? 56 : 32))
    }

    static func file(wide: Bool, bigEndian: Bool, notes: [[UInt8]], aligns: [Int]? = nil) -> [UInt8] {
        let headerSize = wide ? 64 : 52
        let entrySize = wide ? 56 : 32
        var offset = Int(notesOffset(wide: wide, segments: notes.count))
        var bytes = [UInt8](repeating: 0, count: offset)
        bytes.replaceSubrange(0..<6, with: [0x7f, 0x45, 0x4c, 0x46, wide ? 2 : 1, bigEndian ? 2 : 1])
        bytes[6] = 1
        func field(_ value: UInt64, _ at32: Int, _ at64: Int, _ size32: Int, _ size64: Int) {
            put(value, at: wide ? at64 : at32, size: wide ? size64 : size32, into: &bytes, bigEndian: bigEndian)
        }
        field(UInt64(headerSize), 28, 32, 4, 8)  // e_phoff
        field(UInt64(entrySize), 42, 54, 2, 2)  // e_phentsize
        field(UInt64(notes.count + 1), 44, 56, 2, 2)  // e_phnum
        // A PT_LOAD first, to be skipped.
        put(1, at: headerSize, size: 4, into: &bytes, bigEndian: bigEndian)
        for (index, block) in notes.enumerated() {
            let entry = headerSize + (index + 1) * entrySize
            let align = UInt64(aligns?[index] ?? 4)
            put(4, at: entry, size: 4, into: &bytes, bigEndian: bigEndian)  // PT_NOTE
            if wide {
                put(UInt64(offset), at: entry + 8, size: 8, into: &bytes, bigEndian: bigEndian)
                put(UInt64(block.count), at: entry + 32, size: 8, into: &bytes, bigEndian: bigEndian)
                put(align, at: entry + 48, size: 8, into: &bytes, bigEndian: bigEndian)
            } else {
                put(UInt64(offset), at: entry + 4, size: 4, into: &bytes, bigEndian: bigEndian)
                put(UInt64(block.count), at: entry + 16, size: 4, into: &bytes, bigEndian: bigEndian)
                put(align, at: entry + 28, size: 4, into: &bytes, bigEndian: bigEndian)
            }
            bytes += block
            offset += block.count
        }
        return bytes
    }
}
