import Foundation
import FoundationXML
import MediaIngest

/// The values an XMP sidecar holds, read with Foundation's XML parser after any DTD or entity declaration was refused
/// (an XMP packet has no business declaring either; nothing is expanded or fetched). Properties are found by namespace
/// URI, not prefix, in both of XMP's spellings: attributes of `rdf:Description` and elements (with `rdf:Alt`,
/// `rdf:Bag` and `rdf:Seq` lists).
enum XMPSidecar {
    static let exif = "http://ns.adobe.com/exif/1.0/"
    static let photoshop = "http://ns.adobe.com/photoshop/1.0/"
    static let xmp = "http://ns.adobe.com/xap/1.0/"
    static let dc = "http://purl.org/dc/elements/1.1/"
    static let rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

    static func values(_ bytes: [UInt8]) throws(SidecarReader.Problem) -> SidecarValues {
        try refuseDeclarations(bytes, allowing: nil)
        let collector = Collector()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        parser.delegate = collector
        guard parser.parse() else {
            let reason = parser.parserError.map { "\(($0 as NSError).localizedDescription)" } ?? "not well-formed"
            throw .malformed("not XML (line \(parser.lineNumber): \(reason))")
        }
        guard collector.sawXMP else { throw .malformed("XML, but not XMP (no rdf:RDF or x:xmpmeta)") }
        return collector.values()
    }

    /// Refuses a DTD or an entity declaration anywhere in `bytes` (except one exact DOCTYPE, for property lists).
    static func refuseDeclarations(_ bytes: [UInt8], allowing doctype: String?) throws(SidecarReader.Problem) {
        let text = String(decoding: bytes, as: UTF8.self)
        if text.range(of: "<!ENTITY", options: .caseInsensitive) != nil {
            throw .malformed("XML that declares entities (refused: entity expansion)")
        }
        guard let start = text.range(of: "<!DOCTYPE", options: .caseInsensitive) else { return }
        guard let doctype, text[start.lowerBound...].hasPrefix(doctype), !text[start.upperBound...].contains("[")
        else {
            throw .malformed("XML with a document type declaration (refused: DTDs are never read)")
        }
    }

    /// Collects the properties while the parser walks the packet.
    final class Collector: NSObject, XMLParserDelegate {
        private var scopes: [[String: String]] = [["xml": "http://www.w3.org/XML/1998/namespace"]]
        private var path: [(uri: String, name: String)] = []
        private var text = ""
        private var found: [String: [String]] = [:]
        private(set) var sawXMP = false

        private func resolve(_ qualified: String) -> (uri: String, name: String) {
            let parts = qualified.split(separator: ":", maxSplits: 1).map(String.init)
            let (prefix, name) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            for scope in scopes.reversed() { if let uri = scope[prefix] { return (uri, name) } }
            return ("", name)
        }

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            var scope: [String: String] = [:]
            for (key, value) in attributes {
                if key == "xmlns" {
                    scope[""] = value
                } else if key.hasPrefix("xmlns:") {
                    scope[String(key.dropFirst(6))] = value
                }
            }
            scopes.append(scope)
            let element = resolve(elementName)
            if element.name == "xmpmeta" || (element.uri == XMPSidecar.rdf && element.name == "RDF") { sawXMP = true }
            path.append(element)
            text = ""
            if element.uri == XMPSidecar.rdf && element.name == "Description" {
                for (key, value) in attributes where !key.hasPrefix("xmlns") {
                    let attribute = resolve(key)
                    note(attribute.uri, attribute.name, value)
                }
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if text.count < 4096 { text += string }
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
        ) {
            let element = path.removeLast()
            scopes.removeLast()
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            text = ""
            guard !value.isEmpty else { return }
            if element.uri == XMPSidecar.rdf && element.name == "li" {
                // A list item belongs to the property two levels up (property → rdf:Alt/Bag/Seq → rdf:li).
                if path.count >= 2 { note(path[path.count - 2].uri, path[path.count - 2].name, value) }
            } else {
                note(element.uri, element.name, value)
            }
        }

        private func note(_ uri: String, _ name: String, _ value: String) {
            let key = uri + name
            if found[key, default: []].count < 200 { found[key, default: []].append(value) }
        }

        private func first(_ uri: String, _ name: String) -> String? { found[uri + name]?.first }

        func values() -> SidecarValues {
            var values = SidecarValues()
            values.captureTime =
                first(XMPSidecar.exif, "DateTimeOriginal") ?? first(XMPSidecar.photoshop, "DateCreated")
                ?? first(XMPSidecar.xmp, "CreateDate")
            values.title = first(XMPSidecar.dc, "title").flatMap(SidecarReader.nonEmpty)
            values.description = first(XMPSidecar.dc, "description").flatMap(SidecarReader.nonEmpty)
            values.keywords = found[XMPSidecar.dc + "subject"] ?? []
            values.rating = first(XMPSidecar.xmp, "Rating").flatMap(Double.init)
            if let latitude = first(XMPSidecar.exif, "GPSLatitude").flatMap(XMPSidecar.coordinate),
                let longitude = first(XMPSidecar.exif, "GPSLongitude").flatMap(XMPSidecar.coordinate)
            {
                values.location = .init(
                    latitude: latitude, longitude: longitude,
                    altitude: first(XMPSidecar.exif, "GPSAltitude").flatMap(XMPSidecar.rational))
            }
            return values
        }
    }

    /// An XMP GPS coordinate, `DDD,MM,SSk` or `DDD,MM.mmk` (k: N, S, E or W), as signed degrees.
    static func coordinate(_ text: String) -> Double? {
        guard let hemisphere = text.last, "NSEWnsew".contains(hemisphere) else { return nil }
        let parts = text.dropLast().split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else { return nil }
        let numbers = parts.compactMap { $0 }
        var degrees = numbers[0] + numbers[1] / 60
        if numbers.count == 3 { degrees += numbers[2] / 3600 }
        if "SWsw".contains(hemisphere) { degrees = -degrees }
        return abs(degrees) <= 180 ? degrees : nil
    }

    /// An XMP rational (`1234/10`) or a plain number.
    static func rational(_ text: String) -> Double? {
        let parts = text.split(separator: "/")
        if parts.count == 2, let numerator = Double(parts[0]), let denominator = Double(parts[1]), denominator != 0 {
            return numerator / denominator
        }
        return Double(text)
    }
}
