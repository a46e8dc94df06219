/// A command line the user got wrong. Each message names the flag or argument at fault.
public enum ArgumentError: Error, Equatable, CustomStringConvertible {
    case unknownFlag(String)
    /// `source` is `--flag` or the environment variable's name.
    case invalidValue(source: String, value: String, expected: String)
    case missingValue(flag: String)
    case missingRequired(flag: String)
    case unknownCommand(String, available: [String])
    case missingCommand(available: [String])
    case unexpectedArgument(String)
    case missingArgument(String)

    public var description: String {
        switch self {
        case .unknownFlag(let flag): "unknown flag \(flag)"
        case .invalidValue(let source, let value, let expected): "\(source): \"\(value)\" is not \(expected)"
        case .missingValue(let flag): "\(flag) needs a value"
        case .missingRequired(let flag): "missing required \(flag)"
        case .unknownCommand(let name, let available):
            "unknown command \"\(name)\" (expected one of: \(available.joined(separator: ", ")))"
        case .missingCommand(let available): "missing command (expected one of: \(available.joined(separator: ", ")))"
        case .unexpectedArgument(let argument): "unexpected argument \"\(argument)\""
        case .missingArgument(let name): "missing argument \(name)"
        }
    }
}
