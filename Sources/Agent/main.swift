import Dispatch
import Foundation
import Glibc
import Shared

/// `fuller-agent`: one per host. Registers with the masters, runs the containers they assign
/// through Docker, and reports on them (see `AgentCommand`).
let root = CommandSpec("fuller-agent", summary: "Fuller's agent: runs a host's containers.", flags: AgentCommand.flags)

do {
    switch try ArgumentParser.parse(Array(CommandLine.arguments.dropFirst()), for: root,
                                    environment: ProcessInfo.processInfo.environment) {
    case .help(let text):
        print(text)
        exit(0)
    case .run(let parsed):
        exit(AgentCommand.run(parsed))
    }
} catch {
    // A bad command line is logged like everything else: one JSON object per line.
    Logger(component: "agent").error("invalid command line", ["error": .string("\(error)")])
    exit(2)
}
