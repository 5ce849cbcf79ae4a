import Foundation

/// rclone's way of naming remote storage: `NAME:path` (NAME is letters, digits, `_`, `-`, `.`, `+`, `@` and spaces,
/// not first), or a connection string `:backend,option=value:path`. One rule for everything that must tell a remote
/// from a local folder: `source.remote`, `upload.remote`, `source.archive`'s `to`, `ingest init`'s inbox.
public enum RemoteName {
    /// `dropbox:` of `dropbox:Clients/2026`; `nil` when the text does not start with a remote name.
    public static func prefix(of text: String) -> String? {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
        let name = text[..<colon]
        let allowed = name.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || "_-.+@ ".unicodeScalars.contains($0)
        }
        guard allowed, name.first != " ", name.first != "-" else { return nil }
        return String(text[...colon])
    }

    /// Whether `text` names remote storage (`NAME:path`, `:backend,…:path`) rather than a local path.
    public static func names(_ text: String) -> Bool { text.hasPrefix(":") || prefix(of: text) != nil }

    /// `written` as a root rclone takes — a remote or an absolute path — without trailing slashes (`remote:/` and `/`
    /// keep theirs); `nil` for anything else.
    public static func root(_ written: String) -> String? {
        guard written.hasPrefix("/") || names(written) else { return nil }
        var root = written
        while root.count > 1, root.hasSuffix("/"), !root.hasSuffix(":/") { root.removeLast() }
        return root
    }
}
