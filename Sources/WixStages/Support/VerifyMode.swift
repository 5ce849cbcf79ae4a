import IngestStages
import MediaIngest
import WixMedia

/// `verify`: what is checked of the descriptor Wix returns (`true`/`false`, from earlier versions, mean `size`/`off`).
enum VerifyMode: String, OptionEnum {
    /// `sizeInBytes` equals the bytes sent (the default: the one thing Wix documents).
    case size
    /// Also `hash` equals the MD5 of the bytes sent — only right if Wix's undocumented `hash` is the content MD5.
    case md5
    /// Nothing.
    case off

    static let documentation =
        "\"size\" (default) checks Wix's sizeInBytes against the bytes sent; \"md5\" also its hash against their MD5 (Wix does not document what hash is); \"off\"."

    init(option input: OptionInput) throws {
        if let flag = input.value.boolValue {
            self = flag ? .size : .off
            return
        }
        guard let text = input.value.stringValue, let mode = VerifyMode(rawValue: text) else {
            throw input.typeMismatch(expected: "one of \"size\", \"md5\", \"off\"")
        }
        self = mode
    }

    /// `nil` when the descriptor matches what was sent; else what differs.
    func problem(_ descriptor: FileDescriptor, size: Int64, md5: String?) -> String? {
        guard self != .off else { return nil }
        if let reported = descriptor.sizeInBytes, reported != size,
            !(descriptor.operationStatus == "PENDING" && reported == 0)
        {
            return "Wix reports \(reported) bytes, \(size) were sent"
        }
        if self == .md5, let md5, !descriptor.hash.isEmpty, descriptor.hash.lowercased() != md5 {
            return "Wix reports hash \(descriptor.hash), the bytes sent have MD5 \(md5)"
        }
        return nil
    }
}
