import MediaFormats
import MediaIngest

extension ValidateStage {
    /// The findings about what an image carries besides its pixels — an archive or executable appended
    /// (`polyglot`), script code in its metadata (`embedded_code`), compressed text metadata that inflates past the
    /// cap (`metadata_bomb`) — in the file `source`, whose headers are `info`.
    /// - Throws: ``FormatError`` when the file cannot be read.
    func payloadFinding(in source: FileBytes, info: ImageInfo, where place: String = "") throws -> Rejection? {
        if rules.checkStructure, info.trailingBytes > 0, let end = info.structureEnd {
            let trailer = try source.bytes(at: end, count: Int(min(info.trailingBytes, 1 << 20)))
            if let found = ContentChecks.hostileSignature(in: trailer, includingArchives: true) {
                return Rejection(
                    .polyglot,
                    "\(found) is appended after the end of the \(info.format.rawValue.uppercased()) image (\(info.trailingBytes) extra bytes)\(place)",
                    details: ["trailingBytes": .int(info.trailingBytes)])
            }
        }
        guard rules.rejectEmbeddedCode || rules.maxTextMetadata != nil else { return nil }
        var inflated = 0
        for block in info.metadataBlocks {
            let payload = try source.bytes(at: block.offset, count: min(block.length, 1 << 20))
            if rules.rejectEmbeddedCode,
                let found = ContentChecks.hostileSignature(in: payload, includingArchives: false)
            {
                return Rejection(.embeddedCode, "\(Self.metadataName(block.kind)) metadata contains \(found)\(place)")
            }
            if let cap = rules.maxTextMetadata, info.format == .png,
                let compressed = Self.compressedPayload(kind: block.kind, payload: payload)
            {
                guard let size = Inflate.inflatedSize(of: compressed, cap: Int(cap.bytes) - inflated) else {
                    return Rejection(
                        .malformed, "\(Self.metadataName(block.kind)) chunk holds invalid compressed data\(place)")
                }
                inflated += size
                if inflated > Int(cap.bytes) {
                    return Rejection(
                        .metadataBomb,
                        "compressed \(Self.metadataName(block.kind)) metadata inflates to more than \(cap)\(place)")
                }
            }
        }
        return nil
    }

    /// ``payloadFinding(in:info:where:)`` on the source file, when an earlier stage (`strip.metadata`, an `exec`
    /// stage) replaced the bytes `validate` judges: a finding about the source's bytes reaches the verdict whatever
    /// the stage order. The copy passed the other rules; the source is read again only for these findings.
    func sourcePayloadFinding(_ asset: Asset, checked path: String) throws -> Rejection? {
        guard rules.checkStructure || rules.rejectEmbeddedCode || rules.maxTextMetadata != nil,
            let source = asset.origin.path, source != path
        else { return nil }
        let bytes: FileBytes
        let info: ImageInfo?
        do {
            bytes = try FileBytes(path: source)
            info = try ImageHeaders.inspect(bytes, deep: rules.checkStructure)
        } catch is FormatError {
            return nil  // damage the copy no longer has: the stripper rebuilt the file from what it could parse
        }
        guard let info else { return nil }
        let stage = asset.facts["strip"] != nil ? "strip.metadata" : "an earlier stage"
        return try payloadFinding(
            in: bytes, info: info, where: " (in the source file; \(stage) removed it from the copy)")
    }
}
