import Model
import Shared

/// The agent's flags for what task containers may have and are held to (docs/containers.md):
/// its own policy (`AgentPolicy`), checked before every create whatever the masters admitted,
/// and the hardening every task container gets (`Supervisor.Hardening`).
enum ContainerOptions {
    static let flags: [Flag] = [
        Flag("allow-privileged", .bool, help: "Let task containers run privileged (the masters must allow it too)."),
        Flag("host-mount-allow", .list,
             help: "Host path prefixes task containers may bind-mount, resolved with realpath (default: none, no host mounts).",
             valueName: "PATHS"),
        Flag("allow-docker-socket", .bool, help: "Let a host mount expose the Docker socket or a directory holding it (root on the host)."),
        Flag("allow-net-raw", .bool, help: "Leave NET_RAW to task containers (default: dropped; raw sockets allow ARP spoofing)."),
        Flag("allow-new-privileges", .bool, help: "Let setuid binaries in task containers gain privileges (default: no-new-privileges)."),
        Flag("container-pids-max", .int, default: .int(1_024), help: "Processes and threads a task container may hold at most.", valueName: "N"),
        Flag("container-log-file-mb", .int, default: .int(10), help: "Size of one json-file log file of a task container before it rotates.",
             valueName: "MB"),
        Flag("container-log-files", .int, default: .int(3), help: "Log files kept per task container.", valueName: "N"),
    ]

    /// Applies the flags to the executor's configuration; a usage message for a bad value.
    static func apply(_ args: ParsedArguments, to configuration: inout Executor.Configuration) -> String? {
        configuration.policy = AgentPolicy(allowPrivileged: args.bool("allow-privileged"),
                                           allowDockerSocket: args.bool("allow-docker-socket"),
                                           hostMountPrefixes: args.list("host-mount-allow").filter { !$0.isEmpty })
        for prefix in configuration.policy.hostMountPrefixes where !prefix.hasPrefix("/") {
            return "--host-mount-allow: \(prefix) is not an absolute path"
        }
        var hardening = Supervisor.Hardening()
        if args.bool("allow-net-raw") { hardening.capDrop.removeAll { $0 == "NET_RAW" } }
        hardening.noNewPrivileges = !args.bool("allow-new-privileges")
        let pids = args.int("container-pids-max") ?? 1_024
        let fileMB = args.int("container-log-file-mb") ?? 10
        let files = args.int("container-log-files") ?? 3
        guard pids >= 1 else { return "--container-pids-max: must be at least 1" }
        guard (1...1_024).contains(fileMB) else { return "--container-log-file-mb: must be 1 to 1024" }
        guard (1...100).contains(files) else { return "--container-log-files: must be 1 to 100" }
        hardening.pidsMax = Int64(pids)
        hardening.logFileBytesMax = Int64(fileMB) * 1024 * 1024
        hardening.logFilesMax = files
        configuration.supervisor.hardening = hardening
        return nil
    }
}
