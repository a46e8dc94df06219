import Shared

/// The client verbs of `fuller-master`: `job submit|list|status|kill|scale`, `task list|kill`,
/// `agents`, `cluster [add|remove]` and `autoscaler`. Each sends requests to a master's v1 API and prints a table, or the
/// server's JSON with `--json`.
///
/// Mounting: the integrator's root command lists `CLI.commands` among its subcommands and, when
/// the parsed path starts with one of `CLI.verbs`, hands the result to `CLI.run`. `runCLI` does
/// both steps with a root of its own.
enum CLI {
    /// The command trees to mount under the program's root.
    static let commands: [CommandSpec] = [job, task, agents, cluster, autoscaler]

    /// The first words that select a client verb.
    static let verbs: Set<String> = Set(commands.map(\.name))

    /// The most a job file may hold: the master's job body limit (DESIGN.md, Limits).
    static let jobBytesMax = 1024 * 1024

    /// Runs a parsed client verb; `parsed.commandPath` is the root's name followed by the verb's.
    /// Returns the process exit status.
    static func run(_ parsed: ParsedArguments, io: CLIIO) -> Int32 {
        let session = APISession(server: parsed.string("server") ?? defaultServer, io: io, token: parsed.string("token"))
        let context = VerbContext(parsed: parsed, session: session, json: parsed.bool("json"))
        do {
            switch parsed.commandPath.dropFirst().joined(separator: " ") {
            case "job submit": try JobVerbs.submit(context)
            case "job list": try JobVerbs.list(context)
            case "job status": try JobVerbs.status(context)
            case "job kill": try JobVerbs.kill(context)
            case "job scale": try JobVerbs.scale(context)
            case "task list": try TaskVerbs.list(context)
            case "task kill": try TaskVerbs.kill(context)
            case "agents": try ClusterVerbs.agents(context)
            case "cluster": try ClusterVerbs.cluster(context)
            case "cluster add": try ClusterVerbs.add(context)
            case "cluster remove": try ClusterVerbs.remove(context)
            case "autoscaler": try AutoscalerVerbs.show(context)
            case let other: preconditionFailure("no client verb \"\(other)\"")
            }
            return 0
        } catch {
            for line in error.lines { io.printError(line) }
            return error.exitCode
        }
    }
}

/// Runs `fuller-master` with `arguments` (without the program name) when they name a client verb:
/// parses them against `CLI.commands`, prints help or a usage error, or runs the verb. Returns the
/// exit status: 0, or as `CLIFailure` documents.
func runCLI(_ arguments: [String], environment: [String: String], io: CLIIO) -> Int32 {
    let root = CommandSpec("fuller-master", summary: "Fuller's master and its command-line client.",
                           subcommands: CLI.commands)
    do {
        switch try ArgumentParser.parse(arguments, for: root, environment: environment) {
        case .help(let text):
            io.writeOutput(text)
            return 0
        case .run(let parsed):
            return CLI.run(parsed, io: io)
        }
    } catch {
        io.printError("error: \(error.description) (see --help)")
        return CLIFailure.exitUsage
    }
}

/// What each verb gets: its arguments, a session with the master, and the output mode.
struct VerbContext {
    let parsed: ParsedArguments
    let session: APISession
    /// `--json`: print the server's JSON as-is instead of a table.
    let json: Bool

    var io: CLIIO { session.io }

    /// The single required positional (`ID`, `FILE`).
    var argument: String { parsed.positionals[0] }

    /// Prints a server body unchanged, ending it with a newline.
    func printJSON(_ bytes: [UInt8]) {
        var text = String(decoding: bytes, as: UTF8.self)
        if !text.hasSuffix("\n") { text += "\n" }
        io.writeOutput(text)
    }
}
