import Foundation
import Glibc

/// Who this process is among the hosts that share a ledger: the owner of the claims it takes.
///
/// The name is the host name, or `INGEST_HOST` when set — so one machine can run several workers that behave like
/// separate hosts (tests, benchmarks, a big box). The boot id tells whether a claim's process ran on this very
/// machine since its last boot, where a process id can be checked: a claim whose process is gone is free at once.
public struct HostIdentity: Sendable, Hashable {
    /// The host's name in the ledger (letters, digits, `.`, `-` and `_`; at most 64 characters).
    public var name: String
    /// This machine's boot id (`/proc/sys/kernel/random/boot_id`), empty when unknown.
    public var bootID: String
    /// This process.
    public var pid: Int32

    /// The identity of this process.
    public static let current = HostIdentity(
        name: sanitized(ProcessInfo.processInfo.environment["INGEST_HOST"] ?? systemHostName()),
        bootID: (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "",
        pid: getpid())

    public init(name: String, bootID: String, pid: Int32) {
        self.name = name
        self.bootID = bootID
        self.pid = pid
    }

    /// Whether a process that ran on machine `bootID` with `pid` is certainly gone: same machine and boot, and no
    /// such process. (A live process, or one on another machine, is not gone: its lease decides.)
    public func processIsGone(bootID other: String, pid otherPID: Int32) -> Bool {
        guard !bootID.isEmpty, other == bootID, otherPID > 0 else { return false }
        return kill(otherPID, 0) != 0 && errno == ESRCH
    }

    static func systemHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func sanitized(_ text: String) -> String {
        let kept = String(
            text.unicodeScalars.map {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
                    ? Character($0) : "_"
            }
            .prefix(64))
        return kept.isEmpty ? "localhost" : kept
    }
}
