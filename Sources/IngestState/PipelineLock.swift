import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock(2)` on a pipeline's lock file, so two runs of one pipeline never overlap. The kernel drops
/// the lock when the process dies, so a killed run never leaves a stale lock. The file holds the owner's pid and
/// start time, for the message the second run prints.
public final class PipelineLock {
    private let descriptor: Int32
    /// The lock file.
    public let path: String

    /// Why the lock could not be taken.
    public enum Failure: Error, CustomStringConvertible {
        case held(path: String, owner: String)
        case unusable(path: String, reason: String)

        public var description: String {
            switch self {
            case .held(let path, let owner): return "another run holds \(path)\(owner.isEmpty ? "" : " (\(owner))")"
            case .unusable(let path, let reason): return "cannot use lock file \(path): \(reason)"
            }
        }
    }

    /// Takes the lock, waiting up to `wait` seconds (0: fail at once when held).
    public init(path: String, wait: Double = 0) throws(Failure) {
        self.path = path
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .unusable(path: path, reason: String(cString: strerror(errno))) }
        let deadline = Date().addingTimeInterval(wait)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(descriptor)
                throw .unusable(path: path, reason: String(cString: strerror(code)))
            }
            if Date() >= deadline {
                let owner = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                close(descriptor)
                throw .held(path: path, owner: owner)
            }
            usleep(200_000)
        }
        self.descriptor = descriptor
        let owner = "pid \(getpid()) since \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(descriptor, 0)
        _ = owner.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    /// Releases the lock.
    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
