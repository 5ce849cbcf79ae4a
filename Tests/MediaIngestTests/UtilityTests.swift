import Foundation
import MediaIngest
import Testing

@Suite("Utilities")
struct UtilityTests {
    @Test(arguments: [
        ("*.jpg", "a.jpg", true), ("*.jpg", "dir/sub/a.jpg", true), ("*.jpg", "a.jpeg", false),
        ("*.{jpg,jpeg}", "x/a.jpeg", true), ("2024/*.jpg", "2024/a.jpg", true), ("2024/*.jpg", "2024/x/a.jpg", false),
        ("2024/**/*.jpg", "2024/a.jpg", true), ("2024/**/*.jpg", "2024/x/y/a.jpg", true),
        ("**/raw/*", "a/raw/b.cr2", true),
        ("raw/**", "raw/a/b.cr2", true), ("raw/**", "other/raw/b", false), ("IMG_????.JPG", "IMG_0001.JPG", true),
        ("IMG_????.JPG", "IMG_01.JPG", false), ("[a-c]*.png", "b1.png", true), ("[!a-c]*.png", "b1.png", false),
        ("**", "anything/at/all", true), ("a*b", "a/b", false), ("x/a**b", "x/a/y/b", true), ("a**b", "x/a/y/b", false),
    ])
    func glob(pattern: String, path: String, matches: Bool) throws {
        #expect(try Glob(pattern).matches(path) == matches)
    }

    @Test func globCaseAndErrors() throws {
        #expect(try Glob("*.jpg", caseInsensitive: true).matches("IMG.JPG"))
        #expect(try !Glob("*.jpg").matches("IMG.JPG"))
        #expect(throws: GlobError.self) { try Glob("[abc") }
        #expect(throws: GlobError.self) { try Glob("{a,b") }
    }

    @Test(arguments: [
        ("25MB", Int64(25_000_000)), ("25 MB", 25_000_000), ("1.5GiB", 1_610_612_736), ("10M", 10_485_760),
        ("250KB", 250_000),
        ("512", 512), ("1_000", 1000), ("0", 0), ("2 TB", 2_000_000_000_000), ("100b", 100),
    ])
    func sizes(text: String, bytes: Int64) {
        #expect(ByteSize(parsing: text)?.bytes == bytes)
    }

    @Test func badSizesAndPrinting() {
        for text in ["", "MB", "-5MB", "25 parsecs", "1.2.3MB"] { #expect(ByteSize(parsing: text) == nil, "\(text)") }
        #expect(ByteSize(25_000_000).description == "25MB")
        #expect(ByteSize(10_485_760).description == "10MiB")
        #expect(ByteSize(1234).description == "1234B")
        #expect(ByteSize.format(31_200_000) == "31.2 MB")
    }

    @Test(arguments: [
        ("30s", 30.0), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("2d", 172_800), ("90", 90), ("1.5s", 1.5),
    ])
    func durations(text: String, seconds: Double) {
        #expect(DurationValue(parsing: text)?.seconds == seconds)
    }

    @Test func durationPrinting() {
        #expect(DurationValue(seconds: 5400).description == "1h30m")
        #expect(DurationValue(seconds: 0.25).description == "250ms")
        #expect(DurationValue(parsing: "5 parsecs") == nil)
    }

    @Test func mimePatterns() throws {
        let image = try #require(MIMEPattern("image/*"))
        #expect(image.matches("image/jpeg"))
        #expect(image.matches("IMAGE/PNG; charset=binary"))
        #expect(!image.matches("video/mp4"))
        #expect(try #require(MIMEPattern("*")).matches("application/pdf"))
        #expect(
            try #require(MIMEPattern("application/vnd.openxmlformats-*")).matches(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))
        for bad in ["image", "*/jpeg", "image/jp*g", "", "a/b/c"] { #expect(MIMEPattern(bad) == nil, "\(bad)") }
    }

    @Test func suggestions() {
        #expect(closestMatch(to: "maxbyte", in: ["maxBytes", "minBytes", "allow"]) == "maxBytes")
        #expect(closestMatch(to: "upload.libary", in: ["upload.library", "upload.wix"]) == "upload.library")
        #expect(closestMatch(to: "zzzzzz", in: ["maxBytes", "allow"]) == nil)
    }

    @Test func paths() {
        #expect(
            JSONPath.root.appending("stages").appending(index: 3).appending("with").appending("maxBytes").description
                == "stages[3].with.maxBytes")
        #expect(JSONPath(parsing: "stages[3].with.allow[0]").description == "stages[3].with.allow[0]")
        #expect(JSONPath.root.appending("odd key").description == #"["odd key"]"#)
        #expect(PathResolution.resolve("../x/./y", against: "/a/b") == "/a/x/y")
    }

    @Test(arguments: [
        ("/photos/2024/IMG_1.JPG", "IMG_1.JPG"), ("relative/name.png", "name.png"), ("plain.gif", "plain.gif"),
        ("/trailing/slash/", "slash"), ("/", "/"), ("", ""), ("/a//b", "b"), ("/über/straße.jpg", "straße.jpg"),
    ])
    func originFileName(path: String, expected: String) {
        #expect(Asset.Origin.file(path: path, root: "/", relativePath: path).fileName == expected)
    }

    @Test("ISO 8601 timestamps: the same text as Foundation's format style, without it")
    func iso8601() {
        let style = Date.ISO8601FormatStyle.iso8601.year().month().day().dateSeparator(.dash).time(
            includingFractionalSeconds: true
        )
        .timeSeparator(.colon).timeZone(separator: .omitted)
        var generator = SystemRandomNumberGenerator()
        var dates = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_764_000_000.999),
            Date(timeIntervalSince1970: -0.25),
            Date(timeIntervalSince1970: 951_782_400.5), Date(timeIntervalSince1970: 4_102_444_799.123),
        ]
        for _ in 0..<500 {
            dates.append(
                Date(
                    timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_799, using: &generator)) + Double(
                        Int.random(in: 0...999, using: &generator)) / 1000 + 0.0001))
        }
        for date in dates {
            #expect(ISO8601.string(from: date) == date.formatted(style), "\(date.timeIntervalSince1970)")
            #expect(
                ISO8601.date(from: ISO8601.string(from: date)).map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
        }
        #expect(ISO8601.string(from: Date(timeIntervalSince1970: 1_764_000_000.25)) == "2025-11-24T16:00:00.250Z")
        // Far out of gmtime's range: no trap, some text.
        #expect(!ISO8601.string(from: Date(timeIntervalSince1970: 1e300)).isEmpty)
        #expect(!ISO8601.string(from: Date(timeIntervalSince1970: -1e20)).isEmpty)
    }

    @Test func semaphoreLimitsAndCancels() async throws {
        let semaphore = AsyncSemaphore(limit: 2)
        try await semaphore.acquire()
        try await semaphore.acquire()
        let waiter = Task { try await semaphore.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        semaphore.release()
        try await semaphore.acquire()
    }
}

@Suite("FileSystem.removeTree")
struct RemoveTreeTests {
    @Test("removes nested folders and files, deletes symbolic links without following them")
    func removesTree() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tree-\(UUID().uuidString)").path
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createDirectory(atPath: root + "/a/b/c", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "keep".write(toFile: outside + "/precious.txt", atomically: true, encoding: .utf8)
        for file in ["x", "a/y", "a/b/z", "a/b/c/w"] {
            try "data".write(toFile: root + "/" + file, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/a/link", withDestinationPath: outside)
        FileSystem.removeTree(root)
        #expect(!FileManager.default.fileExists(atPath: root))
        #expect(FileManager.default.fileExists(atPath: outside + "/precious.txt"))
        FileSystem.removeTree(root)  // missing: no error, no crash

        // A link where the folder should be: the link goes, what it points at stays.
        try FileManager.default.createSymbolicLink(atPath: root, withDestinationPath: outside)
        FileSystem.removeTree(root)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: root)) == nil)
        #expect(FileManager.default.fileExists(atPath: outside + "/precious.txt"))
    }
}

@Suite("display text and the strict JSON parser")
struct DisplayTextAndJSONParserTests {
    @Test("control characters, escapes, C1 controls and bidi overrides are shown as escapes; plain text is untouched")
    func escaping() {
        #expect(DisplayText.escaped("IMG_0001.jpg") == "IMG_0001.jpg")
        #expect(DisplayText.escaped("caf\u{E9} \u{65E5}\u{672C}.jpg") == "caf\u{E9} \u{65E5}\u{672C}.jpg")
        #expect(DisplayText.escaped("a\nb\rc\td") == #"a\nb\rc\td"#)
        #expect(DisplayText.escaped("\u{1B}[31mred") == #"\x1b[31mred"#)
        #expect(DisplayText.escaped("\u{00}\u{7F}\u{9B}") == #"\x00\x7f\x9b"#)
        #expect(DisplayText.escaped("photo\u{202E}gpj.exe") == #"photo\u{202e}gpj.exe"#)
        #expect(DisplayText.escaped(#"a\nb"#) == #"a\\nb"#, "a literal backslash cannot pass for an escape")
    }

    @Test("JSON: values, integers kept apart from doubles, positions in errors, duplicate keys refused")
    func parser() throws {
        let value = try JSONParser.parse(Array(#"{"a": [1, -2, 3.5, 1e3, true, null, "x\u00e9\n"], "b": {}}"#.utf8))
        #expect(value == ["a": [.int(1), .int(-2), .double(3.5), .double(1000), true, .null, "x\u{E9}\n"], "b": [:]])
        #expect(try JSONParser.parse(Array("9223372036854775808".utf8)) == .double(9_223_372_036_854_775_808))
        func failure(_ text: String) -> JSONParser.Failure? {
            do {
                _ = try JSONParser.parse(Array(text.utf8))
                return nil
            } catch {
                return error as? JSONParser.Failure
            }
        }
        let duplicate = try #require(failure("{\n  \"a\": 1,\n  \"a\": 2\n}"))
        #expect(duplicate.line == 3 && duplicate.column == 3)
        #expect(duplicate.path == JSONPath.root.appending("a"))
        #expect(duplicate.message.contains("duplicate key \"a\""))
        let cut = try #require(failure("{\"stages\": [1, 2"))
        #expect(cut.message.contains("ends inside an array"))
        #expect(failure("[1, 2,]")?.message.contains("trailing commas") == true)
        #expect(failure("{\"a\": 01}")?.message.contains("leading zero") == true)
        #expect(failure("\"\u{01}\"")?.message.contains("control character") == true)
        #expect(failure("[\"\\ud800\"]")?.message.contains("surrogate") == true)
        #expect(failure(String(repeating: "[", count: 600))?.message.contains("nested") == true)
        #expect(failure("")?.message.contains("empty") == true)
        #expect(failure("{} {}")?.message.contains("after the end") == true)
    }
}
