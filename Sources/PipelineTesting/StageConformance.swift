import Foundation
import Logging
import MediaIngest

/// Checks a stage against the stage contract (the DocC article "Implementing a stage", and `docs/custom-stages.md`) over real files, the way a
/// custom stage's own tests can: `#expect(try await StageConformance.check(stage, files: …).isEmpty)`.
///
/// For each file it runs the stage (after `earlier`, the stages it relies on) and checks that:
/// - the source file's bytes and modification time are untouched;
/// - a changed `contentPath` is a file in the harness's work folder whose size is `asset.size`;
/// - the asset keeps its `id`, `origin` and `ledgerKey`;
/// - new facts sit under one key of the stage's own;
/// - a rejection has a stable `lower_snake_case` code and a reason;
/// - a thrown error has a code of its own (not the catch-all `error`);
/// - running every file at once, on as many workers, gives the same outcomes as one at a time (no shared state).
public enum StageConformance {
    /// One broken rule, with the file that showed it.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var file: String
        public var rule: String
        public var description: String { "\((file as NSString).lastPathComponent): \(rule)" }
    }

    /// Runs the checks; returns what broke (empty when the stage keeps the contract).
    public static func check<S: Stage>(
        _ stage: S, files: [String], after earlier: [any Stage] = []
    ) async throws -> [Problem] {
        let harness = StageHarness(stage, concurrency: max(1, files.count))
        defer { harness.cleanUp() }
        var problems: [Problem] = []
        var sequential: [String] = []
        for (index, file) in files.enumerated() {
            let before = try fingerprint(file)
            let start = try await prepared(file, id: index + 1, after: earlier, harness: harness)
            let outcome = await outcomeKind(of: start, worker: 0, harness: harness)
            sequential.append(outcome.kind)
            problems += outcome.problems.map { Problem(file: file, rule: $0) }
            if try fingerprint(file) != before { problems.append(Problem(file: file, rule: "the source file changed")) }
        }
        // Every file at once, one worker each: the same answers.
        let concurrent = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (index, file) in files.enumerated() {
                // Ids the sequential pass did not use: each asset gets its own work folder, as in a run.
                let start = try await prepared(file, id: files.count + index + 1, after: earlier, harness: harness)
                group.addTask { (index, await outcomeKind(of: start, worker: index, harness: harness).kind) }
            }
            var kinds = [String](repeating: "", count: files.count)
            for try await (index, kind) in group { kinds[index] = kind }
            return kinds
        }
        for (index, file) in files.enumerated() where concurrent[index] != sequential[index] {
            problems.append(
                Problem(file: file, rule: "run concurrently it gave \(concurrent[index]), alone \(sequential[index])"))
        }
        return problems
    }

    private static func prepared<S: Stage>(
        _ file: String, id: Int, after earlier: [any Stage], harness: StageHarness<S>
    ) async throws -> Asset {
        var asset = StageHarness<S>.asset(for: file, id: id)
        for stage in earlier {
            try await stage.prepare(harness.context)
            let context = StageContext(
                pipeline: harness.context, logger: harness.context.logger, worker: 0, stageName: "\(type(of: stage))",
                assetWorkDirectory: harness.context.workDirectory + "/\(asset.id)")
            guard case .next(let next) = try await stage.process(asset, context: context) else { return asset }
            asset = next
        }
        try await harness.stage.prepare(harness.context)
        return asset
    }

    /// The outcome as a comparable word, and the rules it broke.
    private static func outcomeKind<S: Stage>(
        of start: Asset, worker: Int, harness: StageHarness<S>
    ) async -> (kind: String, problems: [String]) {
        var problems: [String] = []
        do {
            switch try await harness.process(start, worker: worker).result {
            case .next(let asset):
                problems += assetProblems(start, asset, workDirectory: harness.context.workDirectory)
                return ("next", problems)
            case .rejected(let asset, let rejection):
                problems += assetProblems(start, asset, workDirectory: harness.context.workDirectory)
                if rejection.code.rawValue.range(of: #"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"#, options: .regularExpression)
                    == nil
                {
                    problems.append("rejection code \"\(rejection.code.rawValue)\" is not lower_snake_case")
                }
                if rejection.reason.trimmingCharacters(in: .whitespaces).isEmpty {
                    problems.append("a rejection without a reason")
                }
                return ("rejected \(rejection.code.rawValue)", problems)
            }
        } catch {
            let failure = ErrorPolicy.failure(of: error, stage: nil)
            if failure.code == "error" {
                problems.append(
                    "threw an error without a failure code (conform it to AssetFailureDescribing): \(error)")
            }
            return ("failed \(failure.code)", problems)
        }
    }

    private static func assetProblems(_ before: Asset, _ after: Asset, workDirectory: String) -> [String] {
        var problems: [String] = []
        if after.id != before.id || after.origin != before.origin || after.ledgerKey != before.ledgerKey {
            problems.append("the asset's id, origin or ledgerKey changed")
        }
        if let path = after.contentPath, path != before.contentPath {
            let resolved = (path as NSString).standardizingPath
            if !resolved.hasPrefix(workDirectory + "/") {
                problems.append("contentPath \(path) is outside the work folder (use context.makeWorkFile)")
            }
            let size = (try? FileStatus.of(path))?.size
            if size == nil { problems.append("contentPath \(path) does not exist") }
            if let size, after.size != size {
                problems.append("asset.size \(after.size.map(String.init) ?? "nil") is not the work file's \(size)")
            }
        }
        let added = Set(after.facts.keys).subtracting(before.facts.keys)
        if added.count > 1 {
            problems.append(
                "facts added under several keys (\(added.sorted().joined(separator: ", "))): use one of the stage's own"
            )
        }
        return problems
    }

    private static func fingerprint(_ path: String) throws -> String {
        try FileHashing.sha256(ofFileAt: path) + " \(try FileStatus.of(path).modificationDate.timeIntervalSince1970)"
    }
}
