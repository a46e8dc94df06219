/// `--help` output for a command, generated from its declaration.
enum HelpText {
    /// Help for the last command in `path` (the root first).
    static func render(_ path: [CommandSpec]) -> String {
        let command = path.last!
        var usage = "Usage: " + path.map(\.name).joined(separator: " ")
        if !command.subcommands.isEmpty { usage += command.runsWithoutSubcommand ? " [COMMAND]" : " COMMAND" }
        usage += " [flags]"
        for positional in command.positionals {
            let name = positional.name + (positional.isVariadic ? "..." : "")
            usage += positional.isRequired ? " \(name)" : " [\(name)]"
        }
        var out = usage + "\n\n" + command.summary + "\n"
        if !command.subcommands.isEmpty {
            out += "\nCommands:\n" + table(command.subcommands.map { ($0.name, $0.summary) })
        }
        if !command.positionals.isEmpty {
            out += "\nArguments:\n" + table(command.positionals.map { ($0.name, $0.help) })
        }
        var seen = Set<String>(), flags: [Flag] = []
        for flag in path.reversed().flatMap(\.flags) where seen.insert(flag.name).inserted { flags.append(flag) }
        let rows = flags.sorted { $0.name < $1.name }.map { (signature($0), describe($0)) }
        out += "\nFlags:\n" + table(rows + [("-h, --help", "Show this help.")])
        return out
    }

    private static func signature(_ flag: Flag) -> String {
        if flag.kind == .bool { return "--[no-]" + flag.name }
        let placeholder: String = switch flag.kind {
        case .int: "N"
        case .double: "X"
        case .duration: "DURATION"
        case .list: "A,B,..."
        case .string, .bool: "VALUE"
        }
        return "--\(flag.name) \(flag.valueName ?? placeholder)"
    }

    private static func describe(_ flag: Flag) -> String {
        var text = flag.help
        if flag.isRequired { text += " (required)" }
        if let value = flag.defaultValue { text += " (default \(format(value)))" }
        return text + " [$\(flag.environmentName)]"
    }

    private static func format(_ value: ArgumentValue) -> String {
        switch value {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        case .duration(let duration): DurationText.format(duration)
        case .list(let items): items.joined(separator: ",")
        }
    }

    private static func table(_ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { "  " + $0.0.padding(to: width) + "  " + $0.1 + "\n" }.joined()
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
