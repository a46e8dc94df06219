import Model
import Shared

/// How a task becomes a container, and how a stopped container becomes a task outcome.
extension Supervisor {
    static func containerName(_ taskId: String) -> String { "fuller-\(taskId)" }

    /// The container for `assignment`: the spec's image, command, entrypoint, env and secretEnv, Fuller's
    /// labels, the `FULLER_*` variables (which win over the spec's own), and resource limits
    /// (`NanoCpus` from cores; `Memory` with `MemorySwap` equal to it, so no swap).
    /// What every task container gets beyond its spec (the agent's flags; docs/containers.md):
    /// least privilege, and bounds on processes and on the log Docker keeps.
    struct Hardening: Sendable, Equatable {
        /// Dropped from Docker's default capabilities. Without `NET_RAW` a container cannot
        /// send forged ARP or IP packets (which would let it pose as a neighbour to the
        /// metadata endpoint), nor open raw sockets (`ping`).
        var capDrop = ["NET_RAW"]
        var noNewPrivileges = true
        /// Processes and threads in the container at most (`HostConfig.PidsLimit`).
        var pidsMax: Int64 = 1_024
        /// json-file rotation: one file's size at most, and files kept.
        var logFileBytesMax: Int64 = 10 * 1024 * 1024
        var logFilesMax = 3

        init() {}
    }

    static func createConfig(for assignment: TaskAssignment, metadataURL: String, agentId: String,
                             hardening: Hardening = Hardening()) -> ContainerCreateConfig {
        let spec = assignment.container
        var env = spec.env.merging(spec.secretEnv) { _, secret in secret }
        env["FULLER_TASK_ID"] = assignment.taskId
        env["FULLER_JOB_ID"] = assignment.jobId
        env["FULLER_TASK_INDEX"] = String(assignment.index)
        env["FULLER_NUM_CPU"] = cpuText(spec.resources.cpu)
        env["FULLER_NUM_MEM"] = String(spec.resources.memoryMB)
        env["FULLER_METADATA_URL"] = metadataURL
        let memoryBytes = Int64(spec.resources.memoryMB) * 1024 * 1024
        var config = ContainerCreateConfig(image: spec.image)
        config.command = spec.command
        config.entrypoint = spec.entrypoint.isEmpty ? nil : spec.entrypoint
        config.env = env
        config.labels = [managedLabel: "true", taskLabel: assignment.taskId, jobLabel: assignment.jobId, agentLabel: agentId]
        config.nanoCPUs = Int64((spec.resources.cpu * 1e9).rounded())
        config.memoryBytes = memoryBytes
        config.memorySwapBytes = memoryBytes
        config.healthcheck = spec.healthCheck.map(healthcheck)
        // The masters' policy admitted these at submit (`JobPolicy`); the executor checks them
        // again against this agent's own (`AgentPolicy`) before the create goes out.
        config.privileged = spec.privileged
        config.mounts = spec.mounts
        // A privileged container holds every capability and the host's devices: dropping one
        // would only mislead.
        if !spec.privileged {
            config.capDrop = hardening.capDrop
            config.noNewPrivileges = hardening.noNewPrivileges
        }
        config.pidsMax = hardening.pidsMax
        config.logFileBytesMax = hardening.logFileBytesMax
        config.logFilesMax = hardening.logFilesMax
        return config
    }

    /// Whole cores as an integer (`2`), fractions as a decimal (`0.5`).
    static func cpuText(_ cpu: Double) -> String {
        cpu == cpu.rounded() && abs(cpu) < 1e15 ? String(Int64(cpu)) : String(cpu)
    }

    /// A stopped container's meaning for its task.
    struct Outcome: Equatable {
        var reason: FinishReason
        var exitCode: Int?
        var message: String?
        /// Whether the container's last output belongs in the report.
        var wantsLogs: Bool
    }

    /// Order matters: a kill the master asked for wins, then OOM, then the runtime limit (the
    /// container ran at least that long, which is also how a restarted agent recognises its own
    /// runtime-limit stop), then the exit code.
    static func outcome(of details: ContainerDetails, record: TaskRecord) -> Outcome {
        let code = details.exitCode
        if record.killRequested {
            return Outcome(reason: .killed, exitCode: code, message: "killed", wantsLogs: false)
        }
        if details.oomKilled {
            return Outcome(reason: .failed, exitCode: code == 0 ? 137 : code, message: "OOM killed", wantsLogs: true)
        }
        if let limit = record.assignment.runtimeLimitSeconds, limit > 0,
           let started = dockerTime(details.startedAt), let finished = dockerTime(details.finishedAt),
           started.duration(to: finished) >= .seconds(limit) {
            return Outcome(reason: .runtimeLimitExceeded, exitCode: code,
                           message: "runtime limit of \(limit) s exceeded", wantsLogs: true)
        }
        // A task that ended normally keeps its last output too: often it is the result.
        if code == 0 { return Outcome(reason: .normal, exitCode: 0, message: nil, wantsLogs: true) }
        let error = details.error.isEmpty ? "" : ": \(details.error)"
        return Outcome(reason: .failed, exitCode: code, message: "exited with code \(code)\(error)", wantsLogs: true)
    }

    /// The report message: the outcome, then the tail of the container's output, cut to
    /// `bytesMax` bytes from the end (on a character boundary).
    static func message(_ base: String?, logTail: String?, bytesMax: Int) -> String? {
        guard let tail = logTail?.trimmingSuffixNewlines, !tail.isEmpty else { return base }
        var kept = Substring(tail)
        while kept.utf8.count > bytesMax { kept = kept.dropFirst(max(1, (kept.utf8.count - bytesMax) / 4)) }
        return (base.map { $0 + "\n" } ?? "") + "last output:\n" + kept
    }

    /// Docker's RFC 3339 times; nil for the zero time (`0001-01-01T00:00:00Z`) it writes for "never".
    static func dockerTime(_ text: String?) -> Timestamp? {
        guard let text, let time = Timestamp(rfc3339: text), time.millisecondsSinceEpoch > 0 else { return nil }
        return time
    }
}

extension String {
    fileprivate var trimmingSuffixNewlines: String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
