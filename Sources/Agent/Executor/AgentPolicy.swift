import Glibc
import Model
import Shared

/// What this agent's operator lets task containers have (`--allow-privileged`,
/// `--host-mount-allow`, `--allow-docker-socket`), checked on the agent before every create,
/// whatever the masters admitted at submit (`JobPolicy`): a master, or an assignment forged in
/// its name, cannot make an agent run what its operator forbade. See docs/containers.md.
///
/// Host mounts are an allow-list, not a deny-list: each `hostPath` is resolved (`realpath`:
/// symlinks, `.` and `..`) and must lie under an allowed prefix, itself resolved, on a path
/// component boundary (`/srv/data` admits `/srv/data` and `/srv/data/x`, never `/srv/data2`).
/// The create then names the resolved path, so a symlink the path held at the check is not
/// followed again; but Docker binds at start, following symlinks, so a directory along the
/// resolved path that someone swaps for a symlink between the check and the start still moves
/// the bind (docs/containers.md says which prefixes are safe to allow). A path that does not
/// exist is refused: Docker would create it, as root, wherever it points. The Docker-socket
/// rule of `JobPolicy` applies to the resolved path too.
struct AgentPolicy: Sendable, Equatable {
    var allowPrivileged = false
    var allowDockerSocket = false
    /// Host path prefixes a mount may lie under; empty = no host mounts.
    var hostMountPrefixes: [String] = []

    init(allowPrivileged: Bool = false, allowDockerSocket: Bool = false, hostMountPrefixes: [String] = []) {
        self.allowPrivileged = allowPrivileged
        self.allowDockerSocket = allowDockerSocket
        self.hostMountPrefixes = hostMountPrefixes
    }

    /// `config` with each mount's host path resolved, or the first refusal as the job field and why.
    /// `resolve` is `realpath` (nil when the path does not exist); tests pass the real one too.
    func admit(_ config: ContainerCreateConfig, resolve: (String) -> String? = Self.realPath) -> Result<ContainerCreateConfig, FieldError> {
        if config.privileged && !allowPrivileged {
            return .failure(FieldError(field: "container.privileged",
                                       message: "privileged containers are not allowed on this agent (it runs without --allow-privileged)"))
        }
        var admitted = config
        let prefixes = hostMountPrefixes.compactMap(resolve)
        for (index, mount) in config.mounts.enumerated() {
            let field = "container.mounts[\(index)].hostPath"
            guard !prefixes.isEmpty else {
                return .failure(FieldError(field: field, message: "host mounts are not allowed on this agent (it runs without --host-mount-allow)"))
            }
            guard let resolved = resolve(mount.hostPath) else {
                return .failure(FieldError(field: field, message: "\(mount.hostPath) does not exist on this agent"))
            }
            guard prefixes.contains(where: { Self.isWithin(resolved, $0) }) else {
                return .failure(FieldError(field: field,
                                           message: "\(mount.hostPath) resolves to \(resolved), outside this agent's --host-mount-allow"))
            }
            if !allowDockerSocket && (JobPolicy.exposesDockerSocket(resolved) || JobPolicy.exposesDockerSocket(mount.hostPath)) {
                return .failure(FieldError(field: field,
                                           message: "\(mount.hostPath) exposes the Docker socket (this agent runs without --allow-docker-socket)"))
            }
            admitted.mounts[index].hostPath = resolved
        }
        return .success(admitted)
    }

    /// Whether `path` is `prefix` or below it, on a component boundary. Both are resolved.
    static func isWithin(_ path: String, _ prefix: String) -> Bool {
        if prefix == "/" { return path.hasPrefix("/") }
        return path == prefix || path.hasPrefix(prefix + "/")
    }

    /// `realpath(3)`: the absolute path with every symlink, `.` and `..` resolved; nil when some
    /// component does not exist or cannot be read.
    @Sendable static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
