import Model
import Shared

/// IAM credentials for one task, from the operator's provider command (`--credentials-command`).
///
/// The command's standard output is one JSON object: `RoleName`, `AccessKeyId`,
/// `SecretAccessKey`, `Token` and `Expiration` (RFC 3339), all strings; other members are
/// ignored. The endpoint serves them as EC2 does, at
/// `/latest/meta-data/iam/security-credentials/<RoleName>`, and asks again `refreshMargin`
/// before they expire.
struct MetadataCredentials: Sendable, Equatable {
    var roleName: String
    /// The EC2 credentials document served to the container.
    var document: [UInt8]
    /// When to run the provider again instead of serving these (never after `Expiration`).
    var refreshAfter: Timestamp

    /// The shortest time an answer is kept, so credentials that expire soon do not make every
    /// request run the command.
    static let minimumKeep: Duration = .seconds(10)

    static func parse(_ output: [UInt8], now: Timestamp, refreshMargin: Duration) throws(FieldError) -> MetadataCredentials {
        let json: JSONValue
        do { json = try JSONParser.parse(output) } catch {
            throw FieldError(field: "", message: "the provider's output is not JSON: \(error)")
        }
        var r = try ObjectReader(json, path: "")
        let role = try r.requiredString("RoleName")
        guard !role.isEmpty, role.utf8.count <= 128, !role.contains("/"),
              role.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw FieldError(field: "RoleName", message: "must be 1 to 128 printable characters without / or spaces")
        }
        let expirationText = try r.requiredString("Expiration")
        guard let expiration = Timestamp(rfc3339: expirationText) else {
            throw FieldError(field: "Expiration", message: "must be an RFC 3339 time")
        }
        guard expiration > now else { throw FieldError(field: "Expiration", message: "is in the past: \(expirationText)") }
        var w = JSONWriter()
        w.beginObject()
        w.field("Code", "Success")
        w.field("LastUpdated", now.rfc3339)
        w.field("Type", "AWS-HMAC")
        w.field("AccessKeyId", try r.requiredString("AccessKeyId"))
        w.field("SecretAccessKey", try r.requiredString("SecretAccessKey"))
        w.field("Token", try r.requiredString("Token"))
        w.field("Expiration", expirationText)
        w.endObject()
        let keep = max(expiration.advanced(by: .zero - refreshMargin), now.advanced(by: minimumKeep))
        return MetadataCredentials(roleName: role, document: w.bytes, refreshAfter: min(keep, expiration))
    }
}
