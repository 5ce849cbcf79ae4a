import Foundation
import Synchronization
import Testing

/// Clean-up that must finish before a test ends: stopping an emulator, removing its data folder and the files a test
/// wrote. `defer` cannot await, and a `Task` started in one may still be pending when the test process exits — which
/// left emulator data folders of several hundred megabytes in `/tmp` after every run. Helpers that start something
/// register its clean-up here; the ``Trait/cleansUp`` trait on a suite awaits it after each test, last first.
public final class TestCleanup: Sendable {
    @TaskLocal static var current: TestCleanup?

    private let actions = Mutex<[@Sendable () async -> Void]>([])

    /// Registers `action` with the running test's clean-up. Without the ``Trait/cleansUp`` trait nothing is
    /// registered: returns `false`, and the caller must clean up on its own.
    @discardableResult
    public static func register(_ action: @escaping @Sendable () async -> Void) -> Bool {
        guard let current else { return false }
        current.actions.withLock { $0.append(action) }
        return true
    }

    /// Registers `action`; a test whose suite lacks the ``Trait/cleansUp`` trait fails, saying so (its clean-up
    /// would otherwise never run).
    public static func mustRegister(
        sourceLocation: SourceLocation = #_sourceLocation, _ action: @escaping @Sendable () async -> Void
    ) {
        if !register(action) {
            Issue.record(
                "this suite needs the .cleansUp trait to stop what the test started", sourceLocation: sourceLocation)
        }
    }

    /// Registers the removal of `path` (a file or a folder).
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        register { try? FileManager.default.removeItem(atPath: path) }
    }

    func runAll() async {
        let actions = self.actions.withLock { actions in
            defer { actions.removeAll() }
            return actions
        }
        for action in actions.reversed() { await action() }
    }
}

/// Awaits the clean-up of each test in the suite (see ``TestCleanup``).
public struct CleansUpTrait: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Suites are scoped too; only a test case owns clean-up.
        guard testCase != nil else { return try await function() }
        let cleanup = TestCleanup()
        do {
            try await TestCleanup.$current.withValue(cleanup) { try await function() }
        } catch {
            await cleanup.runAll()
            throw error
        }
        await cleanup.runAll()
    }
}

extension Trait where Self == CleansUpTrait {
    /// Stops what the test started and removes what it wrote before the test counts as finished.
    public static var cleansUp: Self { CleansUpTrait() }
}
