import Foundation
import MediaIngest
import Synchronization

/// A one-line progress bar on standard error (terminals only): files, bytes, rate and ETA.
final class ProgressBar: RunObserver, Sendable {
    private struct State {
        var totalFiles = 0
        var totalBytes: Int64 = 0
        var files = 0
        var bytes: Int64 = 0
        var problems = 0
        var lastDraw: ContinuousClock.Instant?
        var finished = false
    }

    private let state = Mutex(State())
    private let started = ContinuousClock.now
    private let width = 24

    func sourceEstimated(count: Int, bytes: Int64) {
        state.withLock {
            $0.totalFiles += count
            $0.totalBytes += bytes
        }
        draw(force: true)
    }

    func assetFinished(_ result: AssetResult) {
        state.withLock { state in
            state.files += 1
            state.bytes += result.asset.sourceSize ?? result.asset.size ?? 0
            if result.status == .failed || result.status == .rejected { state.problems += 1 }
        }
        draw(force: false)
    }

    func finish() {
        let wasDrawn = state.withLock { state -> Bool in
            defer { state.finished = true }
            return state.lastDraw != nil && !state.finished
        }
        if wasDrawn { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    private func draw(force: Bool) {
        let now = ContinuousClock.now
        let line = state.withLock { state -> String? in
            guard !state.finished else { return nil }
            if !force, let last = state.lastDraw, now - last < .milliseconds(100) { return nil }
            state.lastDraw = now
            let elapsed = max(
                Double((now - started).components.seconds) + Double((now - started).components.attoseconds) / 1e18,
                0.001)
            let fraction =
                state.totalBytes > 0
                ? Double(state.bytes) / Double(state.totalBytes)
                : (state.totalFiles > 0 ? Double(state.files) / Double(state.totalFiles) : 0)
            let filled = Int((min(fraction, 1) * Double(width)).rounded())
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let rate = Double(state.bytes) / elapsed
            var eta = ""
            if rate > 0, state.totalBytes > state.bytes {
                let remaining = Int(Double(state.totalBytes - state.bytes) / rate)
                eta = String(format: " · ETA %d:%02d", remaining / 60, remaining % 60)
            }
            let problems = state.problems > 0 ? " · \(state.problems) rejected/failed" : ""
            // Until the source has listed everything (a streaming folder walk), there is no total to show.
            guard state.totalFiles > 0 else {
                return
                    "\r\u{1B}[2K\(state.files) files · \(ByteSize.format(state.bytes)) · \(ByteSize.format(Int64(rate)))/s · listing…\(problems)"
            }
            return
                "\r\u{1B}[2K[\(bar)] \(state.files)/\(state.totalFiles) files · \(ByteSize.format(state.bytes))/\(ByteSize.format(state.totalBytes)) · \(ByteSize.format(Int64(rate)))/s\(eta)\(problems)"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }
}
