import Foundation

/// What a run's report keeps beyond its counts, whatever the number of assets, so it can be looked at later (`ingest
/// report NAME --html`): throughput over time, the slowest assets, the problems grouped by code with examples, and the
/// retries the clients spent by kind. Small by construction (a point per second, ten slowest, five examples a code).
public struct RunSummary: Sendable, Codable, Hashable {
    /// Assets that left the pipeline during one second of the run.
    public struct Second: Sendable, Codable, Hashable {
        /// Seconds since the run started.
        public var second: Int
        public var done = 0
        public var rejected = 0
        public var failed = 0
        public var skipped = 0
        /// Bytes of the sources done in that second.
        public var bytes: Int64 = 0

        public init(second: Int) { self.second = second }
    }

    /// One slow asset.
    public struct Slow: Sendable, Codable, Hashable {
        public var path: String
        public var status: AssetStatus
        public var durationMs: Int
        public var size: Int64?
    }

    /// The rejections (or failures) of one code.
    public struct Problem: Sendable, Codable, Hashable {
        public var status: AssetStatus
        public var code: String
        public var count: Int
        /// The first few: path and reason.
        public var examples: [Example]

        public struct Example: Sendable, Codable, Hashable {
            public var path: String
            public var reason: String
        }
    }

    /// Per second of the run (seconds with nothing leaving are left out).
    public var timeline: [Second] = []
    /// The slowest assets, slowest first.
    public var slowest: [Slow] = []
    /// Rejections and failures by status and code, the largest group first.
    public var problems: [Problem] = []
    /// Retries spent by kind (`http_503`, `connection`…), over every component's `reportInfo["retries"]`.
    public var retries: [String: Int] = [:]

    public init() {}

    /// How many slow assets and examples per code are kept.
    static let slowestKept = 10
    static let examplesKept = 5

    /// Adds one finished asset, `second` seconds into the run.
    mutating func add(_ record: AssetRecord, second: Int) {
        if timeline.last?.second != second {
            if let index = timeline.lastIndex(where: { $0.second <= second }), timeline[index].second == second {
                update(&timeline[index], record)
                return
            }
            var point = Second(second: second)
            update(&point, record)
            let index = timeline.firstIndex(where: { $0.second > second }) ?? timeline.endIndex
            timeline.insert(point, at: index)
        } else {
            update(&timeline[timeline.count - 1], record)
        }
        if record.status != .skipped {
            let slow = Slow(path: record.path, status: record.status, durationMs: record.durationMs, size: record.size)
            if slowest.count < Self.slowestKept || record.durationMs > (slowest.last?.durationMs ?? 0) {
                let index = slowest.firstIndex(where: { $0.durationMs < slow.durationMs }) ?? slowest.endIndex
                slowest.insert(slow, at: index)
                if slowest.count > Self.slowestKept { slowest.removeLast() }
            }
        }
        if record.status == .rejected || record.status == .failed {
            let code = record.code ?? "?"
            let example = Problem.Example(path: record.path, reason: record.reason ?? "")
            if let index = problems.firstIndex(where: { $0.status == record.status && $0.code == code }) {
                problems[index].count += 1
                if problems[index].examples.count < Self.examplesKept { problems[index].examples.append(example) }
            } else {
                problems.append(Problem(status: record.status, code: code, count: 1, examples: [example]))
            }
        }
    }

    private func update(_ point: inout Second, _ record: AssetRecord) {
        switch record.status {
        case .done:
            point.done += 1
            point.bytes += record.size ?? 0
        case .rejected: point.rejected += 1
        case .failed: point.failed += 1
        case .skipped, .planned: point.skipped += 1
        }
    }

    /// The problems, the largest group first.
    var sorted: RunSummary {
        var copy = self
        copy.problems.sort { $0.count == $1.count ? $0.code < $1.code : $0.count > $1.count }
        return copy
    }

    /// Collects `retries` objects from the components' report facts (`{"retries": {"http_503": 3}}`, at any depth).
    static func retries(in info: [String: JSONValue]) -> [String: Int] {
        var found: [String: Int] = [:]
        func walk(_ value: JSONValue) {
            guard let object = value.objectValue else { return }
            if let retries = object["retries"]?.objectValue {
                for (kind, count) in retries { found[kind, default: 0] += Int(count.intValue ?? 0) }
            }
            for (key, child) in object where key != "retries" { walk(child) }
        }
        walk(.object(info))
        return found
    }
}
