import Foundation

/// A location inside a pipeline file, printed the way users write it: `stages[3].with.maxBytes`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// One step of a path.
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// The steps from the document root.
    public private(set) var components: [Component]

    /// The document root (printed as `$`).
    public static let root = JSONPath(components: [])

    /// Creates a path from its steps.
    public init(components: [Component]) {
        self.components = components
    }

    /// Parses a dotted path such as `stages[2].with.allow[0]`. Used by stages to point at a nested option.
    public init(parsing text: String) {
        var components: [Component] = []
        var current = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "." {
                if !current.isEmpty { components.append(.key(current)) }
                current = ""
            } else if character == "[" {
                if !current.isEmpty { components.append(.key(current)) }
                current = ""
                let close = text[index...].firstIndex(of: "]") ?? text.endIndex
                let number = text[text.index(after: index)..<close]
                if let value = Int(number) {
                    components.append(.index(value))
                } else {
                    components.append(.key(String(number)))
                }
                index = close
            } else {
                current.append(character)
            }
            if index < text.endIndex { index = text.index(after: index) }
        }
        if !current.isEmpty { components.append(.key(current)) }
        self.components = components
    }

    /// This path extended by an object key.
    public func appending(_ key: String) -> JSONPath {
        var copy = self
        copy.components.append(.key(key))
        return copy
    }

    /// This path extended by an array index.
    public func appending(index: Int) -> JSONPath {
        var copy = self
        copy.components.append(.index(index))
        return copy
    }

    /// This path extended by another (relative) path.
    public func appending(_ other: JSONPath) -> JSONPath {
        JSONPath(components: components + other.components)
    }

    public var description: String {
        if components.isEmpty { return "$" }
        var text = ""
        for component in components {
            switch component {
            case .key(let key):
                let plain =
                    !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "$" }
                if plain {
                    if !text.isEmpty { text += "." }
                    text += key
                } else {
                    text += "[\"\(key)\"]"
                }
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    public static func < (lhs: JSONPath, rhs: JSONPath) -> Bool {
        for (left, right) in zip(lhs.components, rhs.components) where left != right {
            switch (left, right) {
            case (.index(let a), .index(let b)): return a < b
            case (.key(let a), .key(let b)): return a < b
            case (.index, .key): return true
            case (.key, .index): return false
            }
        }
        return lhs.components.count < rhs.components.count
    }
}
