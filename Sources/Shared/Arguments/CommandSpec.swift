/// What a flag holds. Lists are comma-separated and may also be given by repeating the flag.
public enum FlagKind: String, Sendable {
    case string, int, double, bool, duration, list
}

/// A parsed flag value.
public enum ArgumentValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case duration(Duration)
    case list([String])
}

/// A declared `--flag`. Its value comes from the command line, else from the environment
/// variable `FULLER_<NAME>` (uppercased, dashes as underscores), else from `defaultValue`.
public struct Flag: Sendable {
    /// The name without dashes, e.g. `data-dir`.
    public var name: String
    public var kind: FlagKind
    public var defaultValue: ArgumentValue?
    public var isRequired: Bool
    public var help: String
    /// The placeholder shown in help (`--data-dir DIR`); derived from the kind when nil.
    public var valueName: String?

    public init(_ name: String, _ kind: FlagKind, default defaultValue: ArgumentValue? = nil,
                required isRequired: Bool = false, help: String, valueName: String? = nil) {
        precondition(!name.isEmpty && !name.hasPrefix("-") && !name.contains("="), "bad flag name \(name)")
        precondition(!(isRequired && defaultValue != nil), "--\(name) cannot be required and have a default")
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.isRequired = isRequired
        self.help = help
        self.valueName = valueName
    }

    /// The environment variable that can supply this flag: `data-dir` → `FULLER_DATA_DIR`.
    public var environmentName: String {
        "FULLER_" + String(name.uppercased().map { $0 == "-" ? "_" : $0 })
    }
}

/// A declared positional argument.
public struct Positional: Sendable {
    public var name: String
    public var help: String
    public var isRequired: Bool
    /// Takes every remaining argument; only the last positional may be variadic.
    public var isVariadic: Bool

    public init(_ name: String, help: String, required isRequired: Bool = true, variadic isVariadic: Bool = false) {
        self.name = name
        self.help = help
        self.isRequired = isRequired
        self.isVariadic = isVariadic
    }
}

/// A command: its flags, positionals and subcommands. A subcommand sees its ancestors' flags too,
/// so `--server` declared once on `job` works for `job submit`, `job list` and the rest.
/// A command with subcommands takes no positionals of its own: its first word picks a subcommand.
public struct CommandSpec: Sendable {
    public var name: String
    public var summary: String
    public var flags: [Flag]
    public var positionals: [Positional]
    public var subcommands: [CommandSpec]
    /// The command also runs on its own, without a subcommand (`cluster` as well as `cluster add`).
    public var runsWithoutSubcommand: Bool

    public init(_ name: String, summary: String, flags: [Flag] = [], positionals: [Positional] = [],
                subcommands: [CommandSpec] = [], runsWithoutSubcommand: Bool = false) {
        precondition(subcommands.isEmpty || positionals.isEmpty, "\(name): subcommands or positionals, not both")
        precondition(positionals.dropLast().allSatisfy { !$0.isVariadic }, "\(name): only the last positional may be variadic")
        precondition(Set(flags.map(\.name)).count == flags.count, "\(name): duplicate flags")
        self.name = name
        self.summary = summary
        self.flags = flags
        self.positionals = positionals
        self.subcommands = subcommands
        self.runsWithoutSubcommand = runsWithoutSubcommand
    }
}

/// The outcome of a successful parse.
public enum ParseOutcome: Sendable {
    /// Run the command at `arguments.commandPath`.
    case run(ParsedArguments)
    /// `--help` or `-h` was given: print this text and exit 0.
    case help(String)
}

/// What the user asked for: which command, its positionals, and a value for every flag that has
/// one (from the command line, the environment or the default).
public struct ParsedArguments: Sendable {
    /// CommandSpec names from the root, e.g. `["fuller-master", "job", "submit"]`.
    public var commandPath: [String]
    public var positionals: [String]
    public var values: [String: ArgumentValue]
    let declared: Set<String>

    public func string(_ name: String) -> String? {
        guard case .string(let value)? = value(name) else { return nil }
        return value
    }

    public func int(_ name: String) -> Int? {
        guard case .int(let value)? = value(name) else { return nil }
        return value
    }

    public func double(_ name: String) -> Double? {
        guard case .double(let value)? = value(name) else { return nil }
        return value
    }

    /// False when the flag was given nowhere and has no default.
    public func bool(_ name: String) -> Bool {
        guard case .bool(let value)? = value(name) else { return false }
        return value
    }

    public func duration(_ name: String) -> Duration? {
        guard case .duration(let value)? = value(name) else { return nil }
        return value
    }

    /// Empty when the flag was given nowhere and has no default.
    public func list(_ name: String) -> [String] {
        guard case .list(let value)? = value(name) else { return [] }
        return value
    }

    private func value(_ name: String) -> ArgumentValue? {
        precondition(declared.contains(name), "--\(name) is not declared for \(commandPath.joined(separator: " "))")
        return values[name]
    }
}
