import Foundation
import Logging
import MediaIngest
import Synchronization
import TestSupport
import Testing

@testable import IngestPostgres

/// `maxBytesPerSecond` shared by hosts: one byte schedule per key in `ingest_budget`, reserved by every host.
@Suite(
    "PostgreSQL: a bandwidth limit two hosts share",
    .enabled(if: PostgresTestServer.isAvailable, Comment(rawValue: PostgresTestServer.skipReason)))
struct PostgresBandwidthTests {
    @Test("two hosts sending at once stay on one schedule: 4 MB at 1 MB/s end 4 s after the start, not 2")
    func twoHostsOneSchedule() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        var ledgers: [PostgresLedger] = []
        for host in ["a", "b"] {
            ledgers.append(
                PostgresLedgerTests.ledger(
                    try await PostgresLedgerTests.open(url), pipeline: "bandwidth", host: PostgresLedgerTests.host(host)
                ))
        }
        let budget = try #require(ledgers[0].services.requestBudget)
        #expect(budget.sharesBytes)
        // No one sleeps: each reservation's wait says where its bytes fall on the shared schedule.
        let longest = Mutex(Duration.zero)
        let limiters = ledgers.map { ledger in
            ByteRateLimiter(
                bytesPerSecond: 1_000_000, shared: ledger.services.requestBudget, sharedKey: "pipeline|wix|site",
                sleep: { wait in longest.withLock { $0 = max($0, wait) } })
        }
        let began = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for limiter in limiters {
                group.addTask { for _ in 0..<20 { try await limiter.take(100_000) } }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - began
        let wait = longest.withLock { $0 }
        // The last 100 kB end 4 s after the first reservation, less the burst and the time the test itself took.
        #expect(wait <= .seconds(4) - .milliseconds(250))
        #expect(
            wait >= .seconds(4) - .milliseconds(250) - elapsed - .milliseconds(100), "\(wait), test took \(elapsed)")
        for ledger in ledgers { await ledger.close() }
    }
}
