import Foundation
import Logging

/// Watches a run as it goes (the CLI's progress bar). Calls may come from several tasks at once.
public protocol RunObserver: Sendable {
    /// The source announced how much it expects to produce.
    func sourceEstimated(count: Int, bytes: Int64)
    /// An asset entered the pipeline.
    func assetStarted(_ asset: Asset)
    /// An asset left the pipeline.
    func assetFinished(_ result: AssetResult)
}

extension RunObserver {
    public func sourceEstimated(count: Int, bytes: Int64) {}
    public func assetStarted(_ asset: Asset) {}
    public func assetFinished(_ result: AssetResult) {}
}

/// How a run is carried out.
public struct RunOptions: Sendable {
    /// Under dry-run, stages with side effects are not called; assets that reach them are reported as planned.
    public var isDryRun: Bool
    /// The logger for the run.
    public var logger: Logger
    /// Where the run's work folder is created (default: the system's temporary folder).
    public var workDirectoryParent: String?
    /// The ledger, if any.
    public var ledger: (any AssetLedger)?
    /// What the run's state supplies besides the ledger (a shared queue, a shared request budget).
    public var services: StateServices = .none
    /// The run's id (default: made from the start time, like `20261125T023149Z-44ef`).
    public var runID: String?
    /// Where small work files go (see ``ScratchSpace``).
    public var scratch: Scratch
    /// How many done, skipped or planned assets the report lists (rejected and failed ones are always listed;
    /// the counts cover all; the manifest has a line for each): a run over 200,000 files stays small in memory.
    public var recordLimit: Int = 10_000

    /// Where small work files go.
    public enum Scratch: Sendable, Hashable {
        /// A tmpfs folder if the machine has one (`$XDG_RUNTIME_DIR`, `/dev/shm`), else the work folder.
        case automatic
        /// Always the (disk-backed) work folder.
        case none
        /// This parent folder.
        case parent(String)
    }

    /// Creates options.
    public init(
        isDryRun: Bool = false, logger: Logger = Logger(label: "ingest"), workDirectoryParent: String? = nil,
        ledger: (any AssetLedger)? = nil, services: StateServices = .none,
        runID: String? = nil, scratch: Scratch = .automatic
    ) {
        self.services = services
        self.isDryRun = isDryRun
        self.logger = logger
        self.workDirectoryParent = workDirectoryParent
        self.ledger = ledger
        self.runID = runID
        self.scratch = scratch
    }
}
