import Model

/// A command whose encoding is over `Command.encodedBytesMax`: refused before it reaches the log,
/// with the field that made it large, so the client hears a permanent 413 and not a 503 that
/// invites it to retry.
public struct CommandTooLarge: Error, Sendable, Equatable {
    /// The field most of the bytes are in, as a path in the request (`container.env`).
    public var field: String
    public var bytes: Int
    public var bytesMax: Int
}

extension Command {
    /// The largest encoded command the log takes. Below the WAL's record limit (4 MiB) with
    /// room for the entry's own header and the binary frame around it, so an entry the leader
    /// accepts is one every member can write.
    public static let encodedBytesMax = 2 << 20

    /// The command's log encoding, or why it is too large to propose.
    public func boundedEncoding(bytesMax: Int = Command.encodedBytesMax) -> Result<[UInt8], CommandTooLarge> {
        let bytes = encoded()
        guard bytes.count > bytesMax else { return .success(bytes) }
        var field = ""
        if let value = try? JSONParser.parse(bytes) {
            // A job's fields are named as in the submitted job, without the command's wrapper.
            field = Self.largestField(value["spec"] ?? value, path: "")
        }
        return .failure(CommandTooLarge(field: field, bytes: bytes.count, bytesMax: bytesMax))
    }

    /// The path to where most of `value`'s bytes are: the largest member, descending while one
    /// member of an object holds at least half of it. An object whose bytes are spread over many
    /// members (an environment of many variables) is named itself.
    static func largestField(_ value: JSONValue, path: String) -> String {
        guard case .object(let members) = value,
              let (key, member, size) = members.map({ ($0.0, $0.1, encodedSize($0.1)) }).max(by: { $0.2 < $1.2 })
        else { return path }
        let here = path.isEmpty ? key : "\(path).\(key)"
        guard case .object(let inner) = member,
              let innerMax = inner.map({ encodedSize($0.1) }).max(), innerMax * 2 >= size else { return here }
        return largestField(member, path: here)
    }

    private static func encodedSize(_ value: JSONValue) -> Int {
        var w = JSONWriter()
        w.value(value)
        return w.bytes.count
    }
}
