import MediaFormats

/// What a parser's complaint means for the asset, by the one rule (``ErrorPolicy``): damage is a verdict about the
/// bytes — `truncated` or `malformed` (a loop is malformed) — while a read error is trouble that may pass (`io`).
/// Stages let a `FormatError` propagate; they never map it themselves.
extension FormatError: ClassifiedError {
    public var classification: ErrorClassification {
        switch self {
        case .truncated(let text): .rejection(Rejection(.truncated, text))
        case .malformed(let text), .loop(let text): .rejection(Rejection(.malformed, text))
        case .io(let text): .failure(.io, text)
        }
    }
}
