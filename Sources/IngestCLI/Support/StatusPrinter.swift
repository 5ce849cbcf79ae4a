import Foundation
import MediaIngest

/// Prints what `ingest status` shows of a ``LedgerStatus``, as text or JSON. A shared ledger (one that reports
/// claims) adds its location, every host's recent runs, the claims in flight and the queue.
struct StatusPrinter {
    let pipeline: Pipeline
    let location: String
    let json: Bool

    func print(_ status: LedgerStatus) {
        json ? Console.out(jsonText(status)) : text(status).forEach { Console.out($0) }
    }

    func jsonText(_ status: LedgerStatus) -> String {
        var object: [String: JSONValue] = [
            "pipeline": .string(pipeline.name), "counts": .object(status.counts.mapValues { .int(Int64($0)) }),
        ]
        object["failed"] = .array(
            status.failures.map {
                [
                    "path": .string($0.identity), "attempts": .int(Int64($0.attempts)),
                    "code": $0.code.map { .string($0) } ?? .null, "error": $0.error.map { .string($0) } ?? .null,
                ]
            })
        if let last = status.lastRun {
            object["lastRun"] = [
                "id": .string(last.id), "startedAt": .string(ISO8601.string(from: last.startedAt)),
                "finishedAt": last.finishedAt.map { .string(ISO8601.string(from: $0)) } ?? .null,
                "exitCode": last.exitCode.map { .int(Int64($0)) } ?? .null,
            ]
        }
        object["lastRunProblems"] = .array(status.lastRunProblems.compactMap { try? JSONValue(encoding: $0) })
        if let claims = status.claims {
            object["ledger"] = .string(location)
            object["runs"] = .array(
                status.runs.map { run in
                    [
                        "id": .string(run.id), "host": .string(run.host ?? "?"), "pid": .int(Int64(run.pid ?? 0)),
                        "startedAt": .string(ISO8601.string(from: run.startedAt)),
                        "finishedAt": run.finishedAt.map { .string(ISO8601.string(from: $0)) } ?? .null,
                        "exitCode": run.exitCode.map { .int(Int64($0)) } ?? .null, "live": .bool(run.live),
                    ]
                })
            object["claims"] = .array(
                claims.map {
                    [
                        "host": .string($0.host), "run": .string($0.runID), "count": .int(Int64($0.count)),
                        "expired": .int(Int64($0.expired)),
                    ]
                })
            object["queued"] = .int(Int64(status.queued ?? 0))
        }
        return JSONValue.object(object).jsonText(pretty: true)
    }

    func text(_ status: LedgerStatus) -> [String] {
        var order = ["done", "rejected", "failed", "in_flight"]
        if status.counts["vanished", default: 0] > 0 { order.append("vanished") }
        var lines = [
            "\(pipeline.name): "
                + order.map { "\(status.counts[$0] ?? 0) \($0.replacingOccurrences(of: "_", with: " "))" }
                .joined(separator: ", ")
        ]
        if let claims = status.claims {
            lines += shared(status, claims: claims)
        } else if let last = status.lastRun {
            let ended = last.finishedAt.map { "finished \(ISO8601.string(from: $0))" } ?? "did not finish"
            lines.append(
                "last run \(last.id): started \(ISO8601.string(from: last.startedAt)), \(ended), exit code \(last.exitCode.map(String.init) ?? "-")"
            )
        }
        if !status.lastRunProblems.isEmpty {
            lines.append("not accounted for in the last run (exit code 1 until fixed):")
            lines += status.lastRunProblems.map { "  " + $0.summary }
        }
        if !status.failures.isEmpty {
            lines.append("failed:")
            for failure in status.failures {
                lines.append(
                    "  \(failure.identity.displaySafe) — \(failure.code ?? "?"): \((failure.error ?? "").displaySafe) (\(failure.attempts) attempt\(failure.attempts == 1 ? "" : "s"))"
                )
            }
            lines.append(
                "(`ingest retry \(pipeline.name)` re-queues failed assets that used up maxAttempts=\(pipeline.state.maxAttempts))"
            )
        }
        return lines
    }

    /// A shared ledger's lines: where it is, the queue, every host's recent runs, the claims in flight.
    private func shared(_ status: LedgerStatus, claims: [LedgerStatus.Claims]) -> [String] {
        var lines = ["ledger: \(location) (shared by every host)"]
        let queued = status.queued ?? 0
        if queued > 0 { lines.append("queue: \(queued) item\(queued == 1 ? "" : "s") waiting") }
        lines.append(status.runs.isEmpty ? "no runs yet" : "runs (latest first):")
        for run in status.runs {
            let state =
                run.live
                ? "running"
                : run.finishedAt.map {
                    "finished \(ISO8601.string(from: $0)), exit code \(run.exitCode.map(String.init) ?? "-")"
                } ?? "did not finish (no heartbeat)"
            lines.append(
                "  \(run.id) on \((run.host ?? "?").displaySafe) (pid \(run.pid ?? 0)): started \(ISO8601.string(from: run.startedAt)), \(state)"
            )
        }
        if !claims.isEmpty {
            lines.append("claims in flight:")
            for claim in claims {
                let expired = claim.expired > 0 ? " (\(claim.expired) with an expired lease: free to take over)" : ""
                lines.append("  \(claim.host.displaySafe), run \(claim.runID): \(claim.count)\(expired)")
            }
        }
        return lines
    }
}
