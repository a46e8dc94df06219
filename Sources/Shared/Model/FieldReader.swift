/// A problem with one field of a request, named by its dotted path (`container.resources.cpu`).
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}

/// Reads one JSON object strictly: every member must be read, or `finish()` names the first
/// member nobody asked for. Wrong types are reported with the member's full path.
public struct ObjectReader {
    public let path: String
    private let members: [(String, JSONValue)]
    private var read: Set<String> = []

    public init(_ value: JSONValue, path: String) throws(FieldError) {
        guard case .object(let members) = value else {
            throw FieldError(field: path, message: "expected an object, found \(value.typeName)")
        }
        self.path = path
        self.members = members
    }

    public func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw member, marking it read; a JSON `null` counts as absent.
    public mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let member = members.first(where: { $0.0 == key }) else { return nil }
        if case .null = member.1 { return nil }
        return member.1
    }

    public mutating func string(_ key: String) throws(FieldError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw typeError(key, "a string", v) }
        return s
    }

    public mutating func requiredString(_ key: String) throws(FieldError) -> String {
        guard let s = try string(key) else { throw FieldError(field: fieldPath(key), message: "is required") }
        return s
    }

    public mutating func int(_ key: String) throws(FieldError) -> Int? {
        guard let v = value(key) else { return nil }
        switch v {
        case .int(let i) where i >= Int64(Int.min) && i <= Int64(Int.max): return Int(i)
        case .double(let d) where d == d.rounded() && abs(d) < 9.0e15: return Int(d)
        default: throw typeError(key, "an integer", v)
        }
    }

    public mutating func requiredInt(_ key: String) throws(FieldError) -> Int {
        guard let i = try int(key) else { throw FieldError(field: fieldPath(key), message: "is required") }
        return i
    }

    public mutating func double(_ key: String) throws(FieldError) -> Double? {
        guard let v = value(key) else { return nil }
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw typeError(key, "a number", v)
        }
    }

    public mutating func bool(_ key: String) throws(FieldError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw typeError(key, "a boolean", v) }
        return b
    }

    public mutating func stringArray(_ key: String) throws(FieldError) -> [String]? {
        guard let v = value(key) else { return nil }
        guard case .array(let elements) = v else { throw typeError(key, "an array of strings", v) }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for (i, e) in elements.enumerated() {
            guard case .string(let s) = e else {
                throw FieldError(field: "\(fieldPath(key))[\(i)]", message: "expected a string, found \(e.typeName)")
            }
            out.append(s)
        }
        return out
    }

    /// An object whose values are all strings (labels, env, constraints), in document order.
    public mutating func stringMap(_ key: String) throws(FieldError) -> [(String, String)]? {
        guard let v = value(key) else { return nil }
        guard case .object(let members) = v else { throw typeError(key, "an object of strings", v) }
        var out: [(String, String)] = []
        out.reserveCapacity(members.count)
        for (k, e) in members {
            guard case .string(let s) = e else {
                throw FieldError(field: "\(fieldPath(key)).\(k)", message: "expected a string, found \(e.typeName)")
            }
            out.append((k, s))
        }
        return out
    }

    public mutating func object(_ key: String) throws(FieldError) -> ObjectReader? {
        guard let v = value(key) else { return nil }
        return try ObjectReader(v, path: fieldPath(key))
    }

    /// Fails on the first member that was never read: unknown fields are rejected, not ignored.
    public func finish() throws(FieldError) {
        for (key, _) in members where !read.contains(key) {
            throw FieldError(field: fieldPath(key), message: "unknown field")
        }
    }

    private func typeError(_ key: String, _ expected: String, _ found: JSONValue) -> FieldError {
        FieldError(field: fieldPath(key), message: "expected \(expected), found \(found.typeName)")
    }
}
