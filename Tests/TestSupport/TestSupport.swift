import Foundation
import Synchronization

/// The repository's root folder (found from this file's location).
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The test corpus: real media files written by nobody here (`Tests/Fixtures/corpus`, with `SOURCES.md`).
public enum Corpus {
    /// The corpus folder.
    public static let root = repositoryRoot + "/Tests/Fixtures/corpus"

    /// Absolute path of a corpus file given relative to the corpus root.
    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// One row of `expected.tsv`.
    public struct Expectation: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var mime: String
        public var size: Int64
        public var hasEXIF: Bool
        public var hasGPS: Bool
        /// `nil` when exiftool found none (`-`).
        public var orientation: Int?

        public var absolutePath: String { Corpus.path(path) }
        public var description: String { path }
        public var fileExtension: String { (path as NSString).pathExtension.lowercased() }
    }

    /// Every row of `expected.tsv`.
    public static let expectations: [Expectation] = {
        guard let text = try? String(contentsOfFile: root + "/expected.tsv", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 6 else { return nil }
            return Expectation(
                path: fields[0], mime: fields[1], size: Int64(fields[2]) ?? -1, hasEXIF: fields[3] == "1",
                hasGPS: fields[4] == "1",
                orientation: Int(fields[5]))
        }
    }()

    /// The rows whose path starts with `prefix` (e.g. `images/jpeg/`).
    public static func expectations(under prefix: String) -> [Expectation] {
        expectations.filter { $0.path.hasPrefix(prefix) }
    }

    /// The row for one file.
    public static func expectation(_ relative: String) -> Expectation? {
        expectations.first { $0.path == relative }
    }
}

/// The output of a finished process.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a program and collects its output.
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
    input: String? = nil, timeout: Double = 300
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let stdoutPipe = Pipe()
    let stderrPipe = Pipe()
    let stdinPipe = Pipe()
    process.standardOutput = stdoutPipe
    process.standardError = stderrPipe
    process.standardInput = stdinPipe
    // Drained by blocking reads on Dispatch threads (see `drain`), never by readabilityHandler's dispatch sources.
    let output = OutputCollector()
    let readers = DispatchGroup()
    try process.run()
    try? stdoutPipe.fileHandleForWriting.close()
    try? stderrPipe.fileHandleForWriting.close()
    for (pipe, isStdout) in [(stdoutPipe, true), (stderrPipe, false)] {
        drainOnThread(pipe.fileHandleForReading, into: output, stdout: isStdout, group: readers)
    }
    if let input { stdinPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try? stdinPipe.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
        if Date() > deadline {
            kill(process.processIdentifier, SIGKILL)
            break
        }
        usleep(10_000)
    }
    process.waitUntilExit()
    readers.wait()
    let (out, err) = output.text
    return ProcessResult(status: process.terminationStatus, stdout: out, stderr: err)
}

/// Drains `handle` into `output` on a thread of its own, inside `group`. Not on a Dispatch queue: libdispatch on
/// Linux keeps about one worker per core and is slow to add more when they block, so minutes of blocking reads
/// (exiftool over the corpus, a 1 GiB upload) starved what the code under test runs on Dispatch — swift-subprocess's
/// pipes among it, which made `exec` time out. Not on the Swift concurrency pool either, which the emulator serves on.
func drainOnThread(_ handle: FileHandle, into output: OutputCollector, stdout: Bool, group: DispatchGroup) {
    group.enter()
    let thread = Thread {
        output.append(drain(handle), stdout: stdout)
        group.leave()
    }
    thread.stackSize = 256 << 10
    thread.start()
}

/// Reads a pipe to its end with read(2), retrying EINTR. Not `readDataToEndOfFile()`: it traps (`try!`) on EINTR, which
/// a crash backtrace or any signal can cause; not `readabilityHandler`: its dispatch sources crashed libdispatch's
/// event loop (bad pointer in `_dispatch_event_loop_drain`) while other tests opened and closed descriptors quickly.
public func drain(_ handle: FileHandle) -> Data {
    let descriptor = handle.fileDescriptor
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count > 0 {
            data.append(contentsOf: buffer[0..<count])
        } else if count < 0 && errno == EINTR {
            continue
        } else {
            return data
        }
    }
}

final class OutputCollector: Sendable {
    private let buffers = Mutex<(Data, Data)>((Data(), Data()))
    func append(_ data: Data, stdout: Bool) {
        buffers.withLock { buffers in
            if stdout { buffers.0.append(data) } else { buffers.1.append(data) }
        }
    }
    var text: (String, String) {
        buffers.withLock { (String(decoding: $0.0, as: UTF8.self), String(decoding: $0.1, as: UTF8.self)) }
    }
}

/// The folder holding the built products (`ingest`, `wix-media-emulator`) next to the test bundle.
public let productsDirectory: String = {
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
    // The xctest bundle on Linux is a plain executable in the products folder; step out of a bundle if there is one.
    while url.path != "/" && url.pathExtension == "xctest" { url.deleteLastPathComponent() }
    return url.path
}()

/// The path of a built executable product.
public func builtProduct(_ name: String) -> String { productsDirectory + "/" + name }

/// Hex SHA-256 of a file, computed with coreutils' `sha256sum` (an independent implementation).
public func sha256sum(_ path: String) throws -> String {
    let result = try runProcess("/usr/bin/sha256sum", [path])
    return String(result.stdout.prefix(64))
}

/// Copies corpus files into a fresh folder, keeping their relative paths, and returns the folder.
public func copyCorpus(_ relativePaths: [String], into directory: String) throws {
    for relative in relativePaths {
        let destination = directory + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Corpus.path(relative), toPath: destination)
    }
}

/// Runs a program without blocking a thread of the Swift concurrency pool while it runs (tests that serve HTTP
/// from the same process, like the in-process emulator, would otherwise starve on a 2-core machine).
public func runProcessAsync(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
    timeout: Double = 300
) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let stdoutPipe = Pipe()
    let stderrPipe = Pipe()
    process.standardOutput = stdoutPipe
    process.standardError = stderrPipe
    process.standardInput = FileHandle.nullDevice
    // Each pipe is drained to its end on a thread of its own (see `drainOnThread`), so the bytes arrive in order and
    // the child never blocks on a full pipe.
    let output = OutputCollector()
    let readers = DispatchGroup()
    for (pipe, isStdout) in [(stdoutPipe, true), (stderrPipe, false)] {
        drainOnThread(pipe.fileHandleForReading, into: output, stdout: isStdout, group: readers)
    }
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { finished in
            let code = finished.terminationStatus
            readers.notify(queue: .global()) { continuation.resume(returning: code) }
        }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            try? stdoutPipe.fileHandleForWriting.close()
            try? stderrPipe.fileHandleForWriting.close()
            continuation.resume(throwing: error)
            return
        }
        try? stdoutPipe.fileHandleForWriting.close()
        try? stderrPipe.fileHandleForWriting.close()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if process.isRunning { kill(pid, SIGKILL) } }
    }
    let (out, err) = output.text
    return ProcessResult(status: status, stdout: out, stderr: err)
}
