/// Parses a command line against a `CommandSpec` tree.
///
/// Accepted forms: `--flag value`, `--flag=value`, `--bool`, `--no-bool`, `--bool=false`,
/// `--` (everything after it is positional), `-` as a positional (stdin), `-h`/`--help` anywhere
/// before `--`. Flags may come before or after positionals. Precedence for each flag: command line,
/// then `FULLER_<FLAG>` from `environment`, then its default. The environment is a parameter so
/// tests never touch the process's own.
public enum ArgumentParser {
    public static func parse(_ arguments: [String], for root: CommandSpec,
                             environment: [String: String]) throws(ArgumentError) -> ParseOutcome {
        var state = State(root: root)
        var index = 0, flagsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if flagsEnded {
                state.positionals.append(argument)
            } else if argument == "--" {
                flagsEnded = true
            } else if argument == "--help" || argument == "-h" {
                return .help(HelpText.render(state.path))
            } else if argument.hasPrefix("--") {
                try state.takeFlag(argument, arguments, &index)
            } else if argument.hasPrefix("-"), argument != "-", Double(argument) == nil {
                throw .unknownFlag(argument)
            } else if let current = state.path.last, !current.subcommands.isEmpty {
                guard let next = current.subcommands.first(where: { $0.name == argument }) else {
                    throw .unknownCommand(argument, available: current.subcommands.map(\.name))
                }
                state.enter(next)
            } else {
                state.positionals.append(argument)
            }
        }
        return .run(try state.finish(environment: environment))
    }

    /// Parses `text` as a value of `kind`; `source` names the flag or variable in errors.
    static func value(_ text: String, _ kind: FlagKind, source: String) throws(ArgumentError) -> ArgumentValue {
        func invalid(_ expected: String) -> ArgumentError {
            .invalidValue(source: source, value: text, expected: expected)
        }
        switch kind {
        case .string: return .string(text)
        case .int:
            guard let number = Int(text) else { throw invalid("an integer") }
            return .int(number)
        case .double:
            guard let number = Double(text), number.isFinite else { throw invalid("a number") }
            return .double(number)
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: throw invalid("true or false")
            }
        case .duration:
            guard let duration = DurationText.parse(text) else { throw invalid("a duration like 250ms, 10s, 5m or 1h") }
            return .duration(duration)
        case .list:
            return .list(text.split(separator: ",").map(String.init))
        }
    }
}

extension ArgumentParser {
    /// The parse in progress: the command path so far, the flags it can see, and what was given.
    private struct State {
        var path: [CommandSpec]
        var flags: [String: Flag] = [:]
        var given: [String: ArgumentValue] = [:]
        var positionals: [String] = []

        init(root: CommandSpec) {
            path = []
            enter(root)
        }

        mutating func enter(_ command: CommandSpec) {
            path.append(command)
            for flag in command.flags { flags[flag.name] = flag }
        }

        /// Handles one `--…` argument, taking the next argument as its value when needed.
        mutating func takeFlag(_ argument: String, _ arguments: [String], _ index: inout Int) throws(ArgumentError) {
            let body = argument.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
            if flags[name] == nil, name.hasPrefix("no-"), let flag = flags[String(name.dropFirst(3))],
               flag.kind == .bool, inline == nil {
                given[flag.name] = .bool(false)
                return
            }
            guard let flag = flags[name] else { throw .unknownFlag("--" + name) }
            let text: String
            if let inline {
                text = inline
            } else if flag.kind == .bool {
                text = "true"
            } else if index < arguments.count {
                text = arguments[index]
                index += 1
            } else {
                throw .missingValue(flag: "--" + name)
            }
            let value = try ArgumentParser.value(text, flag.kind, source: "--" + name)
            if case .list(let more) = value, case .list(let earlier)? = given[name] {
                given[name] = .list(earlier + more)  // a repeated list flag accumulates
            } else {
                given[name] = value
            }
        }

        /// Applies the environment and defaults, checks required flags and positionals.
        func finish(environment: [String: String]) throws(ArgumentError) -> ParsedArguments {
            let command = path.last!
            if !command.subcommands.isEmpty, !command.runsWithoutSubcommand { throw .missingCommand(available: command.subcommands.map(\.name)) }
            var values = given
            for flag in flags.values.sorted(by: { $0.name < $1.name }) where values[flag.name] == nil {
                if let text = environment[flag.environmentName] {
                    values[flag.name] = try ArgumentParser.value(text, flag.kind, source: flag.environmentName)
                } else if let defaultValue = flag.defaultValue {
                    values[flag.name] = defaultValue
                } else if flag.isRequired {
                    throw .missingRequired(flag: "--" + flag.name)
                }
            }
            try checkPositionals(command.positionals)
            return ParsedArguments(commandPath: path.map(\.name), positionals: positionals, values: values,
                                   declared: Set(flags.keys))
        }

        private func checkPositionals(_ declared: [Positional]) throws(ArgumentError) {
            for (offset, positional) in declared.enumerated() where positional.isRequired && offset >= positionals.count {
                throw .missingArgument(positional.name)
            }
            if declared.last?.isVariadic != true, positionals.count > declared.count {
                throw .unexpectedArgument(positionals[declared.count])
            }
        }
    }
}
