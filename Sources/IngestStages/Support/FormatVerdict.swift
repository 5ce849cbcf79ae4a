import MediaFormats
import MediaIngest

extension FormatError {
    /// What a parser's complaint means for the asset, by the one rule (``ErrorPolicy``): damage is a verdict about
    /// the bytes — `truncated` or `malformed` — while a read error is trouble that may pass.
    /// - Throws: ``IOFailure`` for `.io` (the asset fails and a later run retries it).
    func verdict() throws(IOFailure) -> Rejection {
        switch self {
        case .truncated(let text): return Rejection(.truncated, text)
        case .malformed(let text), .loop(let text): return Rejection(.malformed, text)
        case .io(let text): throw IOFailure(text)
        }
    }
}
