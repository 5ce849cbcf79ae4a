import Foundation
import Logging

/// One line of `ingest doctor`: what was checked, how it went, and what to do about it.
public struct Diagnosis: Sendable, Hashable, Codable {
    /// How a check went.
    public enum Status: String, Sendable, Hashable, Codable {
        /// Fine.
        case pass
        /// Works, with something worth knowing (an archive on another file system is copied, not renamed).
        case warn
        /// Will not work as it is: a run would fail or abort.
        case fail
        /// Not checked (nothing to check, or an earlier failure makes it moot).
        case skip
    }

    /// What was checked (`inbox`, `wix credentials`).
    public var check: String
    public var status: Status
    /// What was found, in one line.
    public var detail: String
    /// What to do, when something is to be done.
    public var fix: String?

    public init(_ check: String, _ status: Status, _ detail: String, fix: String? = nil) {
        self.check = check
        self.status = status
        self.detail = detail
        self.fix = fix
    }
}

/// What a component's self-check may know: the pipeline, and where its sources read (the archive compares file
/// systems with them).
public struct DiagnosisContext: Sendable {
    public var pipelineName: String
    public var baseDirectory: String
    /// The folders the pipeline's sources read.
    public var sourceRoots: [String]
    public var logger: Logger

    public init(pipelineName: String, baseDirectory: String, sourceRoots: [String], logger: Logger) {
        self.pipelineName = pipelineName
        self.baseDirectory = baseDirectory
        self.sourceRoots = sourceRoots
        self.logger = logger
    }
}

/// A component that can check, before any run, that it will work here: its folder is readable, its tool is on the
/// `PATH`, its credentials are accepted. `ingest doctor` asks every component of a pipeline that conforms. A check
/// must change nothing (no upload, no folder created at the target) and be quick: one cheap call at most.
public protocol Diagnosable: PipelineComponent {
    /// The component's checks.
    func diagnose(_ context: DiagnosisContext) async -> [Diagnosis]
}

/// The folder sources read (`ingest doctor` gives them to the components' checks).
public protocol FolderReading {
    /// The folder, absolute.
    var readRoot: String { get }
}
