import Foundation
import Glibc
import PipelineTesting
import Testing

@testable import MediaIngest

/// `readdir`'s records are only as long as their names: reading one must not touch a byte past its `d_reclen`.
@Suite("directory entries read in place")
struct DirectoryEntryTests {
    /// A record placed as glibc may place the last one in its buffer: ending where unmapped memory begins. Copying
    /// `d_name` (what `RunLeftovers`, `FileSystem.removeTree` and `ingest doctor` did) faults here: the test process
    /// crashed in CI that way, in `RunLeftovers.remove` on a busy `/tmp`.
    @Test(
        "a short record at the very end of mapped memory", arguments: ["a", "IMG_0001.JPG", "ingest-demo-x", ".", ".."])
    func recordAtTheEdge(name: String) throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let memory = try #require(
            mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), "mmap")
        defer { munmap(memory, 2 * page) }
        #expect(mprotect(memory + page, page, PROT_NONE) == 0)
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let length = (nameOffset + name.utf8.count + 1 + 7) & ~7
        #expect(length < MemoryLayout<dirent>.size, "the record is shorter than a dirent")
        let start = memory + page - length
        memset(start, 0, length)
        start.storeBytes(
            of: UInt16(length), toByteOffset: MemoryLayout<dirent>.offset(of: \dirent.d_reclen)!, as: UInt16.self)
        start.storeBytes(
            of: UInt8(DT_REG), toByteOffset: MemoryLayout<dirent>.offset(of: \dirent.d_type)!, as: UInt8.self)
        for (index, byte) in name.utf8.enumerated() {
            start.storeBytes(of: byte, toByteOffset: nameOffset + index, as: UInt8.self)
        }

        let entry = DirectoryEntry(start.assumingMemoryBound(to: dirent.self))
        #expect(entry.name == name)
        #expect(entry.type == DT_REG)
        #expect(entry.isDotOrDotDot == (name == "." || name == ".."))
        #expect(entry.nameExtends(Array("ingest-demo-".utf8)) == name.hasPrefix("ingest-demo-"))
        #expect(!entry.nameExtends(Array(name.utf8)), "a name does not extend itself")
        #expect(entry.nameExtends([]) == !name.isEmpty)
    }

    @Test("a real folder: names, types, the run leftovers' prefix match")
    func realFolder() throws {
        let directory = TemporaryDirectory()
        let names = [
            "ingest-demo-20261203T101010Z-00af", "ingest-demo-", "ingest-demos", "é.jpg",
            String(repeating: "n", count: 255),
        ]
        for name in names { #expect(FileManager.default.createFile(atPath: directory.file(name), contents: nil)) }
        try FileSystem.createDirectory(directory.file("sub"))
        guard let stream = opendir(directory.path) else {
            throw FileError(path: directory.path, operation: "open", code: errno)
        }
        defer { closedir(stream) }
        var seen: [String: Int32] = [:]
        while let record = readdir(stream) {
            let entry = DirectoryEntry(record)
            if !entry.isDotOrDotDot { seen[entry.name] = entry.type }
        }
        #expect(Set(seen.keys) == Set(names + ["sub"]))
        #expect(seen["sub"].map { $0 == DT_DIR || $0 == DT_UNKNOWN } == true)
        #expect(
            Set(RunLeftovers.names(in: directory.path, withPrefix: "ingest-demo-"))
                == ["ingest-demo-20261203T101010Z-00af"])
    }
}
