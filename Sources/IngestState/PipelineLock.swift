import Foundation
import Glibc
import Synchronization

/// An exclusive `flock(2)` on a pipeline's lock file, so two runs of one pipeline never overlap. The kernel drops
/// the lock when the process dies, so a killed run never leaves a stale lock. The file holds the owner's pid and
/// start time, for the message the second run prints.
public final class PipelineLock: Sendable {
    /// The open lock file, or -1 once released.
    private let descriptor: Mutex<Int32>
    /// The lock file.
    public let path: String

    /// Why the lock could not be taken: a struct with an extensible ``Code`` (as swift-nio's `FileSystemError`).
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// The kind of failure.
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            private enum Value: String, Hashable, Sendable {
                case held, unusable
            }
            private let value: Value

            /// Another process holds the lock.
            public static let held = Code(value: .held)
            /// The lock file cannot be opened or locked.
            public static let unusable = Code(value: .unusable)

            public var description: String { value.rawValue }
        }

        /// The kind of failure.
        public var code: Code
        /// The lock file.
        public var path: String
        /// For ``Code/held``: who holds it (pid and start time), when known; otherwise the reason.
        public var detail: String

        /// Another process holds the lock.
        public static func held(path: String, owner: String) -> Failure {
            Failure(code: .held, path: path, detail: owner)
        }

        /// The lock file cannot be used.
        public static func unusable(path: String, reason: String) -> Failure {
            Failure(code: .unusable, path: path, detail: reason)
        }

        public var description: String {
            switch code {
            case .held: return "another run holds \(path)\(detail.isEmpty ? "" : " (\(detail))")"
            default: return "cannot use lock file \(path): \(detail)"
            }
        }
    }

    /// Takes the lock, or fails at once when another process holds it.
    public convenience init(path: String) throws(Failure) {
        let descriptor = try Self.openFile(path)
        guard try Self.tryLock(descriptor, path: path) else { throw Self.held(descriptor, path: path) }
        self.init(locked: descriptor, path: path)
    }

    /// Takes the lock, waiting up to `wait` for another run to release it (polling every 200 ms, cancellable).
    public static func acquire(path: String, waitingUpTo wait: Duration) async throws(Failure) -> PipelineLock {
        let descriptor = try openFile(path)
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        while try !tryLock(descriptor, path: path) {
            guard clock.now < deadline, (try? await Task.sleep(for: .milliseconds(200))) != nil else {
                throw held(descriptor, path: path)
            }
        }
        return PipelineLock(locked: descriptor, path: path)
    }

    private init(locked descriptor: Int32, path: String) {
        self.path = path
        self.descriptor = Mutex(descriptor)
        let owner = "pid \(getpid()) since \(Date().formatted(.iso8601))\n"
        _ = ftruncate(descriptor, 0)
        _ = owner.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    private static func openFile(_ path: String) throws(Failure) -> Int32 {
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .unusable(path: path, reason: String(cString: strerror(errno))) }
        return descriptor
    }

    /// `true` when the lock was taken, `false` when another process holds it.
    private static func tryLock(_ descriptor: Int32, path: String) throws(Failure) -> Bool {
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK { return false }
            close(descriptor)
            throw .unusable(path: path, reason: String(cString: strerror(code)))
        }
        return true
    }

    /// Closes the file and describes who holds the lock.
    private static func held(_ descriptor: Int32, path: String) -> Failure {
        let owner =
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        close(descriptor)
        return .held(path: path, owner: owner)
    }

    /// Releases the lock (once; later calls do nothing).
    public func release() {
        descriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            _ = ftruncate(descriptor, 0)
            flock(descriptor, LOCK_UN)
            close(descriptor)
            descriptor = -1
        }
    }

    deinit { release() }
}
