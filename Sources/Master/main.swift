import Foundation
import Glibc
import Shared

/// `fuller-master`: the master server and the command-line client.
let root = CommandSpec("fuller-master", summary: "Fuller's master: the job API and, with --server, its client.",
                       subcommands: [ServeCommand.serve, ServeCommand.dev, SimulateCommand.spec, LocalProvider.command] + CLI.commands)

let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32
do {
    switch try ArgumentParser.parse(arguments, for: root, environment: ProcessInfo.processInfo.environment) {
    case .help(let text):
        print(text)
        status = 0
    case .run(let parsed):
        switch parsed.commandPath.last {
        case "serve": status = ServeCommand.run(parsed, dev: false)
        case "dev": status = ServeCommand.run(parsed, dev: true)
        case "simulate": status = SimulateCommand.run(parsed)
        case _ where parsed.commandPath.count > 1 && parsed.commandPath[1] == LocalProvider.command.name:
            status = LocalProvider.run(parsed)
        case _ where parsed.commandPath.count > 1 && CLI.verbs.contains(parsed.commandPath[1]):
            status = CLI.run(parsed, io: .standard())
        default:
            if case .help(let text)? = try? ArgumentParser.parse(["--help"], for: root, environment: [:]) { print(text) }
            status = 2
        }
    }
} catch {
    // The servers log JSON lines from the first line on, a bad command line included; the CLI
    // verbs speak to people, so their usage errors stay plain text.
    if ["serve", "dev"].contains(arguments.first) {
        Logger(component: "master").error("invalid command line", ["error": .string("\(error)")])
    } else {
        FileHandle.standardError.write(Data("fuller-master: \(error)\n".utf8))
    }
    status = 2
}
// `_exit` after the explicit shutdown above: background threads (the Raft loop, peer senders,
// timers) may still be winding down, and running the process's exit-time teardown under them
// has crashed the process after a clean stop. Everything durable is already on disk.
fflush(nil)   // all C streams (the CLI prints through stdout)
_exit(status)
