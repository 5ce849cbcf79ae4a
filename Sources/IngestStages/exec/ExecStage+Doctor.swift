import Foundation
import Glibc
import MediaIngest

extension ExecStage: Diagnosable {
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        [Diagnosis("exec", .pass, "runs \(displayCommand) (found when the pipeline was built)")]
    }
}
