import AsyncHTTPClient
import Foundation
import Logging
import MediaIngest
import NIOCore
import Subprocess
import Synchronization
import SystemPackage

/// One `rclone rcd` for a run, supervised: started on first use, on a random loopback port with a random user and
/// password (given through the environment, never on a command line another local user could read), and started again
/// when it died (a kill, a crash) — the call that found it dead is retried once by ``RcloneClient``. Closed with the
/// run (a ``RunResource``): SIGTERM, then SIGKILL after two seconds.
///
/// Every component of a run that talks to rclone (`source.remote`, `source.archive` on its objects, `upload.remote`)
/// shares the one daemon through ``shared(in:configPath:logger:)``.
public final class RcloneDaemon: RunResource, Sendable {
    /// What a running daemon answers on.
    public struct Endpoint: Sendable, Hashable {
        public var baseURL: String
        public var user: String
        public var password: String
        /// Counts starts: a client that saw an error on endpoint N asks for a fresh one only if N is still current.
        public var generation: Int
    }

    /// Why the daemon cannot run.
    public struct StartError: Error, CustomStringConvertible, AssetFailureDescribing {
        public var description: String
        public var failureCode: AssetFailure.Code { "rclone_unavailable" }
        public var failureMessage: String { description }
    }

    private struct State {
        var endpoint: Endpoint?
        var task: Task<Void, Never>?
        var generation = 0
        var closed = false
    }

    private let state = Mutex(State())
    /// Serialises starts: concurrent workers that find it down wait for one start.
    private let starting = AsyncSemaphore()
    let executable: String
    let configPath: String?
    let logger: Logger
    /// The daemon's own HTTP client: a loopback peer that does not accept a connection within two seconds is dead
    /// (a shared client would wait its long default before the restart).
    let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(timeout: .init(connect: .seconds(2))))

    init(executable: String, configPath: String?, logger: Logger) {
        self.executable = executable
        self.configPath = configPath
        self.logger = logger
    }

    /// A client of this daemon.
    public var client: RcloneClient { RcloneClient(daemon: self, http: http) }

    /// The run's daemon for this config (one per config file).
    public static func shared(in context: PipelineContext, configPath: String?, logger: Logger) throws -> RcloneDaemon {
        try context.resources.shared("rclone:" + (configPath ?? "")) {
            guard let executable = RcloneDaemon.findExecutable() else {
                throw StartError(
                    description:
                        "rclone is not installed (or not on PATH): install it (Debian: apt-get install rclone) or set RCLONE_BINARY"
                )
            }
            return RcloneDaemon(executable: executable, configPath: configPath, logger: logger)
        }
    }

    /// `RCLONE_BINARY`, else `rclone` on `PATH`.
    public static func findExecutable(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let given = environment["RCLONE_BINARY"], !given.isEmpty {
            return FileManager.default.isExecutableFile(atPath: given) ? given : nil
        }
        for folder in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = String(folder) + "/rclone"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The running daemon's endpoint, starting it (again) when there is none or `stale` is the current one.
    public func endpoint(replacing stale: Endpoint? = nil) async throws -> Endpoint {
        if let current = state.withLock({ $0.endpoint }), current != stale { return current }
        await starting.wait()
        defer { starting.signal() }
        let (current, closed, started) = state.withLock { ($0.endpoint, $0.closed, $0.generation > 0) }
        if closed { throw StartError(description: "rclone was stopped with the run") }
        if let current, current != stale { return current }
        if let stale {
            logger.warning("rclone rcd stopped answering; starting it again", metadata: ["url": "\(stale.baseURL)"])
            state.withLock { $0.task?.cancel() }
        } else if started {
            logger.warning("rclone rcd is gone; starting it again")
        }
        return try await start()
    }

    private func start() async throws -> Endpoint {
        let user = "ingest"
        let password = Self.randomSecret()
        var environment: [Environment.Key: String?] = ["RCLONE_RC_USER": user, "RCLONE_RC_PASS": password]
        if let configPath { environment["RCLONE_CONFIG"] = configPath }
        let arguments = [
            "rcd", "--rc-addr", "127.0.0.1:0", "--rc-no-auth=false", "--log-level", "NOTICE",
            "--use-json-log=false",
        ]
        var platform = PlatformOptions()
        platform.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(2))]
        let configuration = Configuration(
            executable: .path(FilePath(executable)), arguments: Arguments(arguments),
            environment: .inherit.updating(environment), platformOptions: platform)
        let (addresses, continuation) = AsyncStream.makeStream(of: String.self)
        let logger = self.logger
        // Starts are serialised (``starting``): this start's generation is the next one.
        let generation = state.withLock { $0.generation + 1 }
        let task = Task { [weak self] in
            do {
                _ = try await Subprocess.run(
                    configuration, input: .none, output: .discarded, error: .sequence
                ) { execution in
                    var announced = false
                    var tail: [String] = []
                    for try await line in execution.standardError.strings() {
                        if !announced, let url = Self.servingURL(in: line) {
                            announced = true
                            continuation.yield(url)
                        } else {
                            // Errors of calls come back in their answers (and are reported there); the log is
                            // for `--verbose`.
                            logger.debug("rclone: \(line.trimmingCharacters(in: .whitespacesAndNewlines))")
                        }
                        tail = Array((tail + [line]).suffix(5))
                    }
                    if !announced {
                        logger.error("rclone rcd did not start: \(tail.joined().trimmingCharacters(in: .newlines))")
                    }
                }
            } catch {
                logger.error("rclone rcd: \(error)")
            }
            continuation.finish()
            // Gone (killed, crashed, stopped): the next call starts another at once instead of waiting to connect.
            self?.forget(generation)
        }
        var iterator = addresses.makeAsyncIterator()
        guard let url = await iterator.next() else {
            task.cancel()
            throw StartError(description: "rclone rcd did not start (\(executable)); see the log above")
        }
        return state.withLock { state in
            state.generation = generation
            state.task = task
            let endpoint = Endpoint(baseURL: url, user: user, password: password, generation: generation)
            state.endpoint = endpoint
            return endpoint
        }
    }

    private func forget(_ generation: Int) {
        state.withLock { state in
            if state.endpoint?.generation == generation { state.endpoint = nil }
        }
    }

    /// `http://127.0.0.1:PORT` from rclone's `Serving remote control on http://127.0.0.1:PORT/`.
    static func servingURL(in line: String) -> String? {
        guard let range = line.range(of: "Serving remote control on ") else { return nil }
        var url = line[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        while url.hasSuffix("/") { url.removeLast() }
        return url.hasPrefix("http://127.0.0.1:") ? url : nil
    }

    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt64, radix: 36) }.joined()
    }

    public func close() async {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.closed = true
            state.endpoint = nil
            return state.task
        }
        task?.cancel()
        await task?.value
        try? await http.shutdown()
    }
}

/// A one-permit semaphore for async code (starts are rare; waiters are few).
final class AsyncSemaphore: Sendable {
    private struct State {
        var available = true
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resume = state.withLock { state -> Bool in
                if state.available {
                    state.available = false
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func signal() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.available = true
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
