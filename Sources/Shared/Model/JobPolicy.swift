/// What an operator lets jobs ask for beyond an ordinary container (`serve --allow-privileged`,
/// `--allow-host-mounts`, `--allow-docker-socket`). Checked when a job is submitted; a job the
/// policy refuses is answered 403 naming the field. Pure.
///
/// The masters cannot see an agent's filesystem, so this is the cluster-wide gate only: each
/// agent checks every assignment again against its own flags (`AgentPolicy` in the agent:
/// `--allow-privileged`, `--allow-docker-socket`, and host mounts only under its
/// `--host-mount-allow` prefixes, resolved with `realpath`), and a task it refuses ends
/// `invalidRequest` without running. See docs/security.md.
///
/// The Docker socket is refused even with host mounts allowed: a container holding it controls
/// the host's Docker and so the host. So is any directory that contains it (`/`, `/var`, `/run`,
/// `/var/run`).
public struct JobPolicy: Sendable, Equatable {
    public var allowPrivileged: Bool
    public var allowHostMounts: Bool
    public var allowDockerSocket: Bool

    public init(allowPrivileged: Bool = false, allowHostMounts: Bool = false, allowDockerSocket: Bool = false) {
        self.allowPrivileged = allowPrivileged
        self.allowHostMounts = allowHostMounts
        self.allowDockerSocket = allowDockerSocket
    }

    /// Where Docker's socket lives on the hosts Fuller supports.
    public static let dockerSocketPaths = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd", "/var/run/containerd"]

    /// The first thing `spec` asks for that the policy refuses, as the field and why.
    public func refusal(_ spec: ContainerSpec) -> FieldError? {
        if spec.privileged && !allowPrivileged {
            return FieldError(field: "container.privileged", message: "privileged containers are not allowed here (masters run without --allow-privileged)")
        }
        for (index, mount) in spec.mounts.enumerated() {
            let field = "container.mounts[\(index)].hostPath"
            if !allowHostMounts {
                return FieldError(field: field, message: "host mounts are not allowed here (masters run without --allow-host-mounts)")
            }
            if !allowDockerSocket && Self.exposesDockerSocket(mount.hostPath) {
                return FieldError(field: field, message: "mounting the Docker socket (or a directory holding it) is not allowed here (masters run without --allow-docker-socket)")
            }
        }
        return nil
    }

    /// Whether `hostPath` is the socket, a directory above it, or any `docker.sock` (the socket
    /// may live elsewhere); containerd's socket directory, which gives the same control; or
    /// anything under `/proc`, whose `/proc/PID/root` leads back to the host's whole tree.
    /// `hostPath` is already validated: absolute, no `..` segments. Symlinks on the host are
    /// not resolved here (the master cannot see the agent's filesystem).
    public static func exposesDockerSocket(_ hostPath: String) -> Bool {
        let path = Mount.normalized(hostPath)
        if path.hasSuffix("/docker.sock") || path == "/proc" || path.hasPrefix("/proc/") { return true }
        return dockerSocketPaths.contains { socket in
            socket == path || path == "/" || socket.hasPrefix(path + "/") || path.hasPrefix(socket + "/")
        }
    }
}

extension Mount {
    static let pathBytesMax = 4_096

    /// `/a//b/./c/` → `/a/b/c`.
    static func normalized(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    func validate(field: String) throws(FieldError) {
        for (name, path) in [("hostPath", hostPath), ("containerPath", containerPath)] {
            guard path.hasPrefix("/"), path.utf8.count <= Self.pathBytesMax else {
                throw FieldError(field: "\(field).\(name)", message: "must be an absolute path of at most \(Self.pathBytesMax) bytes")
            }
            guard !path.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ",") }) else {
                throw FieldError(field: "\(field).\(name)", message: "must not contain ':', ',' or control characters")
            }
            guard !path.split(separator: "/").contains("..") else {
                throw FieldError(field: "\(field).\(name)", message: "must not contain '..'")
            }
        }
        guard Self.normalized(containerPath) != "/" else {
            throw FieldError(field: "\(field).containerPath", message: "must not be /")
        }
    }
}
