import Foundation
import HTTPTypes
import Hummingbird

/// An error answered in Wix's documented error shape:
/// `{"message": "…", "details": {"applicationError": {"code": "…", "description": "…", "data": {}}}}` or, for
/// invalid requests, `{"message": "…", "details": {"validationError": {"fieldViolations": [{"field": …}]}}}`.
struct WixError: HTTPResponseError {
    /// One invalid field.
    struct FieldViolation: Sendable, Encodable {
        var field: String
        var description: String
        var violatedRule: String
    }

    var status: HTTPResponse.Status
    var message: String
    /// The application error code; `nil` sends none (`details` is then empty, as the strict readings require).
    var code: String?
    var violations: [FieldViolation] = []
    var headers: HTTPFields = [:]

    static func unauthenticated(_ message: String) -> WixError {
        WixError(status: .unauthorized, message: message, code: "UNAUTHENTICATED")
    }
    static func permissionDenied(_ message: String) -> WixError {
        WixError(status: .forbidden, message: message, code: "PERMISSION_DENIED")
    }
    static func notFound(_ message: String) -> WixError {
        WixError(status: .notFound, message: message, code: "NOT_FOUND")
    }
    static func invalid(_ violations: [FieldViolation]) -> WixError {
        WixError(
            status: .badRequest, message: violations.map { "\($0.field): \($0.description)" }.joined(separator: "; "),
            code: nil,
            violations: violations)
    }
    static func invalid(field: String, _ description: String, rule: String = "FORMAT") -> WixError {
        invalid([FieldViolation(field: field, description: description, violatedRule: rule)])
    }

    var body: [String: Any] {
        var details: [String: Any] = [:]
        if !violations.isEmpty {
            details["validationError"] = [
                "fieldViolations": violations.map {
                    ["field": $0.field, "description": $0.description, "violatedRule": $0.violatedRule]
                }
            ]
        } else if let code {
            details["applicationError"] = ["code": code, "description": message, "data": [String: Any]()]
        }
        return ["message": message, "details": details]
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
