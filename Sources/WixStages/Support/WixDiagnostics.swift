import Foundation
import IngestStages
import Logging
import MediaIngest
import WixMedia

extension WixUploadStage: Diagnosable {
    /// One List Folders call with the stage's credentials: accepted or not (401 and 403 explained), and the clock
    /// against Wix's `Date` header.
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        let client = WixMediaClient(
            baseURL: connection.baseURL, authorization: connection.authorization, retry: RetryPolicy(maxAttempts: 1),
            connections: 1, requestTimeout: .seconds(15), connectTimeout: .seconds(10), logger: context.logger)
        defer { Task { await client.close() } }
        let site = connection.reportInfo["siteId"]?.stringValue.map { "site \($0)" } ?? "the app instance"
        let probe: WixProbe
        do {
            probe = try await client.probe()
        } catch {
            return [
                Diagnosis(
                    "wix credentials", .fail, "no answer from \(connection.baseURL): \(error)",
                    fix:
                        "check the network, a proxy, or baseURL (https://www.wixapis.com; the emulator's address to try without an account)"
                ),
                Diagnosis("clock", .skip, "no answer from Wix to compare with"),
            ]
        }
        var checks: [Diagnosis] = []
        let refusal = [probe.code, probe.message].compactMap { $0 }.joined(separator: ": ")
        switch probe.status {
        case 200..<300:
            checks.append(Diagnosis("wix credentials", .pass, "accepted for \(site) at \(connection.baseURL)"))
        case 401:
            checks.append(
                Diagnosis(
                    "wix credentials", .fail, "refused (401 unauthenticated\(refusal.isEmpty ? "" : ": " + refusal))",
                    fix:
                        "the API key (or app secret) is wrong, expired or revoked: create an API key with the Manage Media Manager permission in the Wix dashboard and set its environment variable"
                ))
        case 403:
            checks.append(
                Diagnosis(
                    "wix credentials", .fail, "refused (403 permission denied\(refusal.isEmpty ? "" : ": " + refusal))",
                    fix:
                        "the key lacks the Manage Media Manager permission, or siteId names a site it was not made for (an API key needs wix-site-id: siteId)"
                ))
        default:
            checks.append(
                Diagnosis(
                    "wix credentials", .fail, "Wix answered \(probe.status)\(refusal.isEmpty ? "" : ": " + refusal)",
                    fix: "try again later; if it stays, check baseURL"))
        }
        if let server = probe.serverDate {
            let skew = probe.localDate.timeIntervalSince(server)
            let text = String(format: "%.0f s %@", abs(skew), skew >= 0 ? "ahead of Wix" : "behind Wix")
            if abs(skew) <= 30 {
                checks.append(Diagnosis("clock", .pass, "this machine is \(text)"))
            } else {
                checks.append(
                    Diagnosis(
                        "clock", abs(skew) > 300 ? .fail : .warn, "this machine is \(text)",
                        fix:
                            "run an NTP client (systemd-timesyncd, chrony): tokens carry lifetimes, and recovery looks for uploads by their time"
                    ))
            }
        } else {
            checks.append(Diagnosis("clock", .skip, "Wix's answer had no Date header"))
        }
        return checks
    }
}
