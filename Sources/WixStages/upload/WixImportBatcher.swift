import Foundation
import IngestStages
import MediaIngest
import WixMedia

/// Gathers the run's URL imports into Bulk Import File calls (up to 100 URLs each, as Wix documents): an import
/// waits at most `window` for others to join it, then goes with them. Each caller gets its own file or its own error;
/// a call whose answer is lost is resolved URL by URL (``WixMediaClient/importAllOnce(_:since:)``), never repeated
/// blindly.
actor WixImportBatcher {
    private struct Waiting {
        var request: ImportRequest
        var since: Date
        var continuation: CheckedContinuation<FileDescriptor, any Error>
    }

    private let client: WixMediaClient
    private let window: Duration
    private var waiting: [Waiting] = []
    private var timer: Task<Void, Never>?

    init(client: WixMediaClient, window: Duration = .milliseconds(50)) {
        self.client = client
        self.window = window
    }

    /// Imports `request` in the next batch; `since`: when this asset's import was checkpointed.
    func importFile(_ request: ImportRequest, since: Date) async throws -> FileDescriptor {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append(Waiting(request: request, since: since, continuation: continuation))
            if waiting.count >= 100 {
                timer?.cancel()
                timer = nil
                Task { await self.flush() }
            } else if timer == nil {
                timer = Task {
                    try? await Task.sleep(for: self.window)
                    await self.flush()
                }
            }
        }
    }

    private func flush() async {
        timer = nil
        guard !waiting.isEmpty else { return }
        let batch = Array(waiting.prefix(100))
        waiting.removeFirst(batch.count)
        if !waiting.isEmpty, timer == nil {
            timer = Task {
                try? await Task.sleep(for: self.window)
                await self.flush()
            }
        }
        let since = batch.map(\.since).min() ?? Date()
        do {
            let results = try await client.importAllOnce(batch.map(\.request), since: since)
            for (item, result) in zip(batch, results) { item.continuation.resume(with: result) }
        } catch {
            for item in batch { item.continuation.resume(throwing: error) }
        }
    }
}
