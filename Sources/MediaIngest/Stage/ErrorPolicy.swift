import Foundation

// The one rule that turns what a stage throws into an outcome. A stage returns `.reject` for a verdict it reached
// itself; whatever it throws goes through ``ErrorPolicy/outcome(of:stage:)``:
//
// | thrown                                  | outcome                                                         |
// |-----------------------------------------|-----------------------------------------------------------------|
// | ``RunAbortingError``                    | failed (its code, else `aborted`), and the run stops            |
// | `CancellationError`                     | failed `interrupted` (a second Ctrl-C)                          |
// | ``AssetRejecting``                      | rejected — a verdict about the bytes, final until they change   |
// | ``AssetFailureDescribing``              | failed with its code (`io`, `http_503`, `timeout`…), retried    |
// | a Foundation/POSIX file error           | failed `io`, retried: trouble reading is never a verdict        |
// | anything else                           | failed `error`, retried                                         |

/// An error that stops the whole run, not only the asset: nothing else can succeed (revoked credentials,
/// a retry budget spent on a dead endpoint). The asset that hit it is recorded as failed.
public protocol RunAbortingError: Error {
    /// One line for the report and the terminal.
    var abortReason: String { get }
}

/// An error that is trouble which may pass (the asset fails, a later run retries it), with a stable code for the
/// manifest, the ledger and `docs/codes.md`.
public protocol AssetFailureDescribing: Error {
    /// A stable code, e.g. `http_503` or `timeout`.
    var failureCode: String { get }
    /// One line for the report.
    var failureMessage: String { get }
}

/// An error that is a verdict about the asset's bytes (damaged past use, a format the stage refuses): thrown from
/// deep inside a parser, it rejects the asset — final until the file changes — like a returned `.reject`.
public protocol AssetRejecting: Error {
    /// The rejection to record.
    var rejection: Rejection { get }
}

/// Trouble reading or writing a file that may pass — a flaky network mount, a full disk, a file another program holds
/// — as opposed to a verdict about its bytes: stages throw it (or ``FileError``), so the asset fails with code `io`
/// and a later run tries again, instead of rejecting it for good.
public struct IOFailure: Error, AssetFailureDescribing, CustomStringConvertible {
    /// One line naming the file and the reason.
    public var message: String

    /// Creates a failure.
    public init(_ message: String) { self.message = message }

    public var failureCode: String { "io" }
    public var failureMessage: String { message }
    public var description: String { message }
}

/// The one mapping from thrown errors to outcomes (the table above), used by the runner for every stage.
public enum ErrorPolicy {
    /// What a thrown error makes of an asset.
    public enum Outcome: Sendable, Equatable {
        /// A verdict about the bytes.
        case rejected(Rejection)
        /// Trouble a later run may get past; `abortsRun` carries the reason when no other asset can succeed either.
        case failed(AssetFailure, abortsRun: String?)
    }

    /// The outcome of `error`, thrown by the stage of kind `stage`.
    public static func outcome(of error: any Error, stage: String?) -> Outcome {
        if let aborting = error as? any RunAbortingError {
            let described = error as? any AssetFailureDescribing
            return .failed(
                AssetFailure(
                    code: described?.failureCode ?? "aborted",
                    message: described?.failureMessage ?? aborting.abortReason, stage: stage),
                abortsRun: aborting.abortReason)
        }
        if error is CancellationError {
            return .failed(
                AssetFailure(code: "interrupted", message: "cancelled before it finished", stage: stage), abortsRun: nil
            )
        }
        if let rejecting = error as? any AssetRejecting {
            var rejection = rejecting.rejection
            rejection.stage = rejection.stage ?? stage
            return .rejected(rejection)
        }
        return .failed(failure(of: error, stage: stage), abortsRun: nil)
    }

    /// The failure `error` stands for (its code, `io` for file-system errors, else `error`).
    public static func failure(of error: any Error, stage: String?) -> AssetFailure {
        if let described = error as? any AssetFailureDescribing {
            return AssetFailure(code: described.failureCode, message: described.failureMessage, stage: stage)
        }
        if error is CancellationError {
            return AssetFailure(code: "interrupted", message: "cancelled before it finished", stage: stage)
        }
        if let aborting = error as? any RunAbortingError {
            return AssetFailure(code: "aborted", message: aborting.abortReason, stage: stage)
        }
        if isFileSystemError(error) {
            return AssetFailure(code: "io", message: String(describing: error), stage: stage)
        }
        return AssetFailure(code: "error", message: String(describing: error), stage: stage)
    }

    /// Foundation's and POSIX's file errors (a move into an archive folder, a copy on a full disk).
    static func isFileSystemError(_ error: any Error) -> Bool {
        if error is POSIXError { return true }
        if let cocoa = error as? CocoaError, cocoa.isFileError { return true }
        let bridged = error as NSError
        return bridged.domain == NSPOSIXErrorDomain
    }
}
