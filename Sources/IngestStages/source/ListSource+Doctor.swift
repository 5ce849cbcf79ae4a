import Foundation
import Glibc
import MediaIngest

extension ListSource: Diagnosable {
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        guard let listPath else { return [Diagnosis("list", .pass, "paths are read from standard input")] }
        guard access(listPath, R_OK) == 0 else {
            return [
                Diagnosis(
                    "list", .fail, "\(listPath): \(String(cString: strerror(errno)))",
                    fix: "create the list (one path or URL per line) or fix source.list's file")
            ]
        }
        return [Diagnosis("list", .pass, "\(listPath) is readable")]
    }
}
