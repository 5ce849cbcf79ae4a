import MediaIngest

/// `maxBytesPerSecond` on the upload stages: one limiter per target and run, shared by every worker — and, with a
/// PostgreSQL ledger, by every host running the pipeline (a schedule in `ingest_budget`).
package enum BandwidthOption {
    package static let documentation =
        "Hold uploads to this many bytes per second, for all workers together (and every host of a shared PostgreSQL ledger): \"20MB\" so a night run leaves an office uplink usable. Default: no limit."

    /// The smallest limit accepted.
    package static let minimum: Int64 = 16_000

    package static func limit(_ options: OptionValues, _ option: StageOption<ByteSize?>) throws -> Int64? {
        guard let value = try options[option] else { return nil }
        guard value.bytes >= minimum else {
            throw options.error(option, "expected at least 16kB per second, got \(value.bytes) bytes")
        }
        return value.bytes
    }

    /// The run's limiter for `target` (the stages of one target share it).
    package static func limiter(_ bytesPerSecond: Int64, target: String, context: PipelineContext) -> ByteRateLimiter? {
        let key = "\(context.pipelineName)|\(target)"
        return try? context.resources.shared("bandwidth|" + key) {
            ByteRateLimiter(bytesPerSecond: bytesPerSecond, shared: context.services.requestBudget, sharedKey: key)
        }
    }
}
