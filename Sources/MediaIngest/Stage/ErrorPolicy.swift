import Foundation

// The one rule that turns what a stage throws into an outcome. A stage returns `.reject` for a verdict it reached
// itself; whatever it throws goes through ``ErrorPolicy/outcome(of:stage:)``, which asks the error first:
//
// | thrown                                  | outcome                                                         |
// |-----------------------------------------|-----------------------------------------------------------------|
// | a ``ClassifiedError``                   | what its ``ClassifiedError/classification`` says                |
// | `CancellationError`                     | failed `interrupted` (a second Ctrl-C)                          |
// | a Foundation/POSIX file error           | failed `io`, retried: trouble reading is never a verdict        |
// | anything else                           | failed `error`, retried                                         |
//
// ``AssetRejecting``, ``AssetFailureDescribing`` and ``RunAbortingError`` are classified errors with one answer each.

/// An error that says what it means for the asset that met it: a verdict about its bytes, trouble a later run may get
/// past, or trouble no asset can get past. ``ErrorPolicy`` asks it before anything else, so a stage throws and never
/// catches an error only to decide what it means.
public protocol ClassifiedError: Error {
    /// What the error makes of the asset.
    var classification: ErrorClassification { get }
}

/// What a ``ClassifiedError`` makes of the asset that met it.
public enum ErrorClassification: Sendable, Equatable {
    /// A verdict about the bytes: rejected, final until the file changes.
    case rejection(Rejection)
    /// Trouble that may pass: failed with a code, retried by a later run.
    case failure(AssetFailure.Code, String)
    /// Trouble no other asset can get past either (revoked credentials, a spent retry budget): this asset fails with
    /// the code and the run stops taking files, saying `reason`.
    case abortsRun(AssetFailure.Code, reason: String)
}

/// An error that stops the whole run, not only the asset: nothing else can succeed (revoked credentials,
/// a retry budget spent on a dead endpoint). The asset that hit it is recorded as failed (`aborted`).
public protocol RunAbortingError: ClassifiedError {
    /// One line for the report and the terminal.
    var abortReason: String { get }
}

extension RunAbortingError {
    public var classification: ErrorClassification { .abortsRun(.aborted, reason: abortReason) }
}

/// An error that is trouble which may pass (the asset fails, a later run retries it), with a stable code for the
/// manifest, the ledger and `docs/codes.md`.
public protocol AssetFailureDescribing: ClassifiedError {
    /// A stable code, e.g. `http_503` or `timeout`.
    var failureCode: AssetFailure.Code { get }
    /// One line for the report.
    var failureMessage: String { get }
}

extension AssetFailureDescribing {
    public var classification: ErrorClassification { .failure(failureCode, failureMessage) }
}

/// An error that is a verdict about the asset's bytes (damaged past use, a format the stage refuses): thrown from
/// deep inside a parser, it rejects the asset — final until the file changes — like a returned `.reject`.
public protocol AssetRejecting: ClassifiedError {
    /// The rejection to record.
    var rejection: Rejection { get }
}

extension AssetRejecting {
    public var classification: ErrorClassification { .rejection(rejection) }
}

/// Trouble reading or writing a file that may pass — a flaky network mount, a full disk, a file another program holds
/// — as opposed to a verdict about its bytes: stages throw it (or ``FileError``), so the asset fails with code `io`
/// and a later run tries again, instead of rejecting it for good.
public struct IOFailure: Error, AssetFailureDescribing, CustomStringConvertible {
    /// One line naming the file and the reason.
    public var message: String

    /// Creates a failure.
    public init(_ message: String) { self.message = message }

    public var failureCode: AssetFailure.Code { .io }
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
        if let classified = error as? any ClassifiedError {
            switch classified.classification {
            case .rejection(var rejection):
                rejection.stage = rejection.stage ?? stage
                return .rejected(rejection)
            case .failure(let code, let message):
                return .failed(AssetFailure(code: code, message: message, stage: stage), abortsRun: nil)
            case .abortsRun(let code, let reason):
                return .failed(AssetFailure(code: code, message: reason, stage: stage), abortsRun: reason)
            }
        }
        return .failed(failure(of: error, stage: stage), abortsRun: nil)
    }

    /// The failure `error` stands for, when it fails the asset: its own code, `interrupted` for cancellation, `io`
    /// for file-system errors, else `error`. (A rejecting error's verdict is described as a failure of its code.)
    public static func failure(of error: any Error, stage: String?) -> AssetFailure {
        if let classified = error as? any ClassifiedError {
            switch classified.classification {
            case .failure(let code, let message): return AssetFailure(code: code, message: message, stage: stage)
            case .abortsRun(let code, let reason): return AssetFailure(code: code, message: reason, stage: stage)
            case .rejection(let rejection):
                return AssetFailure(
                    code: AssetFailure.Code(rejection.code.rawValue), message: rejection.reason, stage: stage)
            }
        }
        if error is CancellationError {
            return AssetFailure(code: .interrupted, message: "cancelled before it finished", stage: stage)
        }
        if isFileSystemError(error) {
            return AssetFailure(code: .io, message: String(describing: error), stage: stage)
        }
        return AssetFailure(code: .error, message: String(describing: error), stage: stage)
    }

    /// Foundation's and POSIX's file errors (a move into an archive folder, a copy on a full disk).
    static func isFileSystemError(_ error: any Error) -> Bool {
        if error is POSIXError { return true }
        if let cocoa = error as? CocoaError, cocoa.isFileError { return true }
        let bridged = error as NSError
        return bridged.domain == NSPOSIXErrorDomain
    }
}
