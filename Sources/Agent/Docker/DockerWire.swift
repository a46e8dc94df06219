import Model
import Shared

/// The Engine API's JSON and query strings: what Fuller sends and how it reads the replies. Pure
/// functions, so they are tested without a daemon. Replies are read leniently (Docker adds fields
/// in every release); a missing field reads as its zero value.
enum DockerWire {
    /// Docker's "never" for `StartedAt`/`FinishedAt`.
    static let zeroTime = "0001-01-01T00:00:00Z"

    /// The body of `POST /containers/create`.
    static func createBody(_ config: ContainerCreateConfig) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("Image", config.image)
        if !config.command.isEmpty { w.key("Cmd"); strings(config.command, into: &w) }
        if let entrypoint = config.entrypoint { w.key("Entrypoint"); strings(entrypoint, into: &w) }
        // Sorted so that the same config always encodes to the same bytes.
        w.key("Env"); strings(config.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, into: &w)
        w.key("Labels"); stringMap(config.labels, into: &w)
        if let hostname = config.hostname { w.field("Hostname", hostname) }
        if let check = config.healthcheck {
            w.key("Healthcheck")
            w.beginObject()
            w.key("Test"); strings(check.test, into: &w)
            w.field("Interval", check.intervalNanoseconds)
            w.field("Timeout", check.timeoutNanoseconds)
            w.field("Retries", check.retries)
            w.field("StartPeriod", check.startPeriodNanoseconds)
            w.endObject()
        }
        w.key("HostConfig")
        w.beginObject()
        w.field("NanoCpus", config.nanoCPUs)
        w.field("Memory", config.memoryBytes)
        w.field("MemorySwap", config.memorySwapBytes)
        if config.privileged { w.field("Privileged", true) }
        if !config.mounts.isEmpty { w.key("Binds"); strings(config.mounts.map(bind), into: &w) }
        if !config.capDrop.isEmpty { w.key("CapDrop"); strings(config.capDrop, into: &w) }
        if config.noNewPrivileges { w.key("SecurityOpt"); strings(["no-new-privileges"], into: &w) }
        if config.pidsMax > 0 { w.field("PidsLimit", config.pidsMax) }
        if config.logFileBytesMax > 0 && config.logFilesMax > 0 {
            w.key("LogConfig")
            w.beginObject()
            w.field("Type", "json-file")
            w.key("Config")
            stringMap(["max-size": String(config.logFileBytesMax), "max-file": String(config.logFilesMax)], into: &w)
            w.endObject()
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }

    /// `host:container`, with `:ro` for a read-only mount.
    static func bind(_ mount: Mount) -> String {
        "\(mount.hostPath):\(mount.containerPath)" + (mount.readOnly ? ":ro" : "")
    }

    /// `GET /containers/{id}/json`.
    static func containerDetails(_ json: JSONValue) -> ContainerDetails {
        let state = json["State"]
        let startedAt = time(state?["StartedAt"]?.stringValue)
        let health = state?["Health"]?["Status"]?.stringValue
        let ip = json["NetworkSettings"]?["IPAddress"]?.stringValue
        let name = json["Name"]?.stringValue ?? ""
        return ContainerDetails(
            id: json["Id"]?.stringValue ?? "",
            name: name.hasPrefix("/") ? String(name.dropFirst()) : name,
            labels: stringMap(json["Config"]?["Labels"]),
            status: state?["Status"]?.stringValue ?? "",
            running: state?["Running"]?.boolValue ?? false,
            exitCode: Int(state?["ExitCode"]?.int64Value ?? 0),
            oomKilled: state?["OOMKilled"]?.boolValue ?? false,
            error: state?["Error"]?.stringValue ?? "",
            startedAt: startedAt,
            finishedAt: time(state?["FinishedAt"]?.stringValue),
            ipAddress: ip.flatMap { $0.isEmpty ? nil : $0 },
            health: health.flatMap { $0.isEmpty || $0 == "none" ? nil : $0 },
            image: json["Config"]?["Image"]?.stringValue ?? "",
            env: environment(json["Config"]?["Env"]),
            nanoCPUs: json["HostConfig"]?["NanoCpus"]?.int64Value ?? 0,
            memoryBytes: json["HostConfig"]?["Memory"]?.int64Value ?? 0,
            memorySwapBytes: json["HostConfig"]?["MemorySwap"]?.int64Value ?? 0,
            hostname: json["Config"]?["Hostname"]?.stringValue ?? "",
            macAddress: macAddress(json["NetworkSettings"], ip: ip))
    }

    /// `NetworkSettings.Networks.<net>.MacAddress` of the network that gave the container `ip`,
    /// else the legacy top-level `NetworkSettings.MacAddress`; lower case, nil when none.
    static func macAddress(_ settings: JSONValue?, ip: String?) -> String? {
        var candidates: [String?] = []
        if case .object(let networks)? = settings?["Networks"] {
            let byName = networks.sorted { $0.0 < $1.0 }.map(\.1)
            candidates += byName.filter { ip != nil && $0["IPAddress"]?.stringValue == ip }.map { $0["MacAddress"]?.stringValue }
        }
        candidates.append(settings?["MacAddress"]?.stringValue)
        return candidates.compactMap { $0 }.first { !$0.isEmpty }?.lowercased()
    }

    /// One entry of `GET /containers/json`.
    static func containerSummary(_ json: JSONValue) -> ContainerSummary {
        var names: [String] = []
        if case .array(let values)? = json["Names"] {
            names = values.compactMap(\.stringValue).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        }
        return ContainerSummary(id: json["Id"]?.stringValue ?? "", names: names,
                                labels: stringMap(json["Labels"]), state: json["State"]?.stringValue ?? "")
    }

    /// One line of `GET /events`.
    static func event(_ json: JSONValue) -> DockerEvent {
        let actor = json["Actor"]
        let nanos = json["timeNano"]?.int64Value ?? (json["time"]?.int64Value ?? 0) * 1_000_000_000
        return DockerEvent(type: json["Type"]?.stringValue ?? "", action: json["Action"]?.stringValue ?? "",
                           id: actor?["ID"]?.stringValue ?? json["id"]?.stringValue ?? "",
                           attributes: stringMap(actor?["Attributes"]), timeNanoseconds: nanos)
    }

    /// The error inside one line of a pull's progress stream (`{"error": …, "errorDetail": …}`),
    /// or nil for a progress line. A line that is not JSON is an error too: the stream is broken.
    static func pullProgressError(_ line: ArraySlice<UInt8>) -> String? {
        guard let json = try? JSONParser.parse(Array(line)) else {
            return "unreadable pull progress: \(String(decoding: line.prefix(200), as: UTF8.self))"
        }
        if let message = json["errorDetail"]?["message"]?.stringValue, !message.isEmpty { return message }
        if let message = json["error"]?.stringValue { return message.isEmpty ? "pull failed" : message }
        return nil
    }

    /// The daemon's `{"message": …}`, or the body as text when it is not that shape.
    static func errorMessage(_ body: [UInt8]) -> String? {
        if let json = try? JSONParser.parse(body), let message = json["message"]?.stringValue { return message }
        let text = String(decoding: body.prefix(1024), as: UTF8.self)
        let trimmed = text.trimmingWhitespace
        return trimmed.isEmpty ? nil : trimmed
    }

    /// `name` and `tag` for `POST /images/create`: `registry:5000/app:1` → (`registry:5000/app`, `1`).
    /// A digest reference goes whole into `fromImage`; no tag means `latest`, since an empty tag
    /// would make the daemon pull every tag of the repository.
    static func splitReference(_ reference: String) -> (name: String, tag: String?) {
        if reference.contains("@") { return (reference, nil) }
        let lastSlash = reference.lastIndex(of: "/")
        if let colon = reference.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, "latest")
    }

    /// `?a=1&b=2` with each name and value percent-encoded; empty for no items.
    static func query(_ items: [(String, String)]) -> String {
        if items.isEmpty { return "" }
        return "?" + items.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    /// `filters` for list and events: `{"label":["k=v",…]}`, sorted so it is stable.
    static func labelFilter(_ labels: [String: String]) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("label")
        strings(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, into: &w)
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// Percent-encodes all but RFC 3986 unreserved characters, plus `keep` (e.g. `/` and `:` in an
    /// image reference used as a path, which the daemon's router expects as they are).
    static func escape(_ text: String, keeping keep: Set<UInt8> = []) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case _ where keep.contains(byte):
                out.append(byte)
            default:
                out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Helpers

    private static func time(_ text: String?) -> String? {
        guard let text, !text.isEmpty, text != zeroTime else { return nil }
        return text
    }

    private static func stringMap(_ value: JSONValue?) -> [String: String] {
        guard case .object(let members)? = value else { return [:] }
        var map: [String: String] = [:]
        for (key, value) in members { map[key] = value.stringValue ?? "" }
        return map
    }

    /// `["K=V", …]` as a map; an entry without `=` is a name with an empty value.
    private static func environment(_ value: JSONValue?) -> [String: String] {
        guard case .array(let entries)? = value else { return [:] }
        var env: [String: String] = [:]
        for entry in entries.compactMap(\.stringValue) {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            env[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return env
    }

    private static func strings(_ values: [String], into w: inout JSONWriter) {
        w.beginArray()
        for value in values { w.string(value) }
        w.endArray()
    }

    private static func stringMap(_ map: [String: String], into w: inout JSONWriter) {
        w.beginObject()
        for (key, value) in map.sorted(by: { $0.key < $1.key }) { w.field(key, value) }
        w.endObject()
    }
}

extension JSONValue {
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    /// An integer, also from a whole `double` (Docker writes some sizes as floats).
    var int64Value: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value == value.rounded() && abs(value) < 9.0e18: return Int64(value)
        default: return nil
        }
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
