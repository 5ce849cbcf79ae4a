/// How a name that is taken is never overwritten: `a.jpg`, then `a (1).jpg`, `a (2).jpg`… in the same folder. The
/// archive, the library's layout and the remote stages all number names this way.
public enum NumberedName {
    /// `path` itself for `index` 0, else its name numbered: `2026/a.jpg`, 2 → `2026/a (2).jpg` (a name starting with
    /// a dot has no extension: `.hidden (1)`).
    public static func candidate(_ path: String, _ index: Int) -> String {
        guard index > 0 else { return path }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return folder + name + " (\(index))" }
        return folder + name[..<dot] + " (\(index))" + name[dot...]
    }
}
