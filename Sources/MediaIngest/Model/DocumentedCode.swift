/// A rejection or failure code with what it means, as `ingest codes` and `docs/codes.md` show it. Stages declare the
/// codes they give in ``StageDefinition/codes``; the runner's own are ``runner``. The table is made from these
/// declarations, so it cannot drift from the code.
public struct DocumentedCode: Sendable, Hashable {
    /// Which side of the one rule (``ErrorPolicy``) the code is on.
    public enum Kind: String, Sendable, Hashable {
        /// A verdict about the bytes: final until the file changes.
        case rejection
        /// Trouble that may pass: retried by later runs.
        case failure
    }

    /// The code (`too_large`), or a family of codes (`http_NNN`).
    public var code: String
    public var kind: Kind
    /// What the kind means here, when it is not the plain rule (`and the run stops (exit 5)`).
    public var note: String?
    /// When it is given, in one sentence.
    public var meaning: String

    public init(_ code: String, _ kind: Kind, note: String? = nil, _ meaning: String) {
        self.code = code
        self.kind = kind
        self.note = note
        self.meaning = meaning
    }

    /// A rejection code.
    public static func rejection(_ code: Rejection.Code, note: String? = nil, _ meaning: String) -> DocumentedCode {
        DocumentedCode(code.rawValue, .rejection, note: note, meaning)
    }

    /// A failure code.
    public static func failure(_ code: AssetFailure.Code, note: String? = nil, _ meaning: String) -> DocumentedCode {
        DocumentedCode(code.rawValue, .failure, note: note, meaning)
    }

    // MARK: Codes several stages give

    public static let truncated = rejection(.truncated, "the file ends before its structure says it does")
    public static let malformed = rejection(
        .malformed,
        "its structure is invalid: loops, boxes past their parent, a box of size 0 inside a container, a WebP chunk past its RIFF container"
    )
    public static let notRegularFile = rejection(
        .notRegularFile, "a device, FIFO or socket, directly or through a link: never opened")
    public static let orphanSidecar = rejection(
        .orphanSidecar,
        "an XMP, AAE or Google Takeout JSON file with no media beside it (an album's `metadata.json` too): reported, never uploaded, left where it is"
    )
    public static let sidecarTooLarge = rejection(
        .sidecarTooLarge, note: "of the sidecar; its media goes on without it",
        "a sidecar over `sidecarMaxBytes` (never read)")
    public static let sidecarMalformed = rejection(
        .sidecarMalformed, note: "of the sidecar; its media goes on without it",
        "with `sidecars: \"attach\"`, a sidecar that is not JSON, XMP or a property list, or declares a DTD or entities"
    )
    public static let unreadable = rejection(
        .unreadable,
        "a broken symbolic link; a line that is not a valid URL"
    )
    public static let targetRejected = rejection(
        .targetRejected,
        "the target refused the file itself (Wix: a 4xx that is not about credentials, pacing or a used URL; a `filePath` over 100 characters)"
    )

    // MARK: The runner's

    /// What the runner and the ledger give, whatever the stages.
    public static let runner: [DocumentedCode] = [
        failure(
            .io,
            "a read or write error (a flaky NFS mount, a full disk), or a listed path that is not there or cannot be looked at: the file is tried again"
        ),
        failure(.error, "an error with no code of its own (a bug worth reporting); retried"),
        failure(
            .interrupted, note: "not recorded",
            "a second Ctrl-C cancelled it: the row stays in flight with what the attempt checkpointed, so the next run (or another host) recovers it — finding an upload that landed instead of sending it again — without spending an attempt"
        ),
        failure(.aborted, note: "the run stops: exit 5", "an error that stops the run and has no code of its own"),
        failure(.ledger, "the ledger could not be read or written"),
        failure(
            .sourceVanished, "the file vanished during an interrupted run before its upload was confirmed"),
        failure(
            .pairIncomplete,
            "the other half of a Live Photo failed: this half (uploaded or not) is not archived, and the next run retries both, reusing what was uploaded"
        ),
        failure(
            .claimLost, note: "of this host only",
            "a PostgreSQL ledger's claim expired while this process was frozen and another host took the asset over: its work is cancelled at once, mid-upload; the other host finishes it, this one records nothing"
        ),
    ]
}
