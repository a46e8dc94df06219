import Model
import Shared

/// The token flags of `serve` and `dev`, and what they turn into.
///
/// `serve` without `--token-file` runs open and says so loudly on every start; `dev` stays
/// open by default (README's run command), and with `--token-file` makes its local agent a
/// token of its own (role `agent`, in memory only).
enum AuthOptions {
    static let flags: [Flag] = [
        Flag("allow-privileged", .bool, help: "Let jobs run privileged containers (container.privileged)."),
        Flag("allow-host-mounts", .bool, help: "Let jobs bind-mount host paths (container.mounts); each agent still admits only paths under its own --host-mount-allow, and the Docker socket stays refused."),
        Flag("allow-docker-socket", .bool, help: "With --allow-host-mounts, let jobs mount the Docker socket or a directory holding it (root on the host)."),
        Flag("token-file", .string, help: "Bearer tokens callers must present, one per line: ROLE NAME TOKEN [expires=RFC3339]; reloaded on SIGHUP. Without it the API is open.", valueName: "PATH"),
    ]
    static let serveFlags: [Flag] = [
        Flag("peer-token", .string, help: "The peer-role token this master presents to the other masters (never given to agents); needed with --token-file in a group.", valueName: "TOKEN"),
    ]

    struct Setup {
        var authenticator: Authenticator?
        var peerToken: String?
        /// `dev` only: the credential its local agent presents.
        var devAgentToken: String?
    }

    static func setup(_ args: ParsedArguments, dev: Bool, replicated: Bool, logger: Logger) throws(UsageError) -> Setup {
        var setup = Setup()
        if !dev, let token = args.string("peer-token") {   // `dev` has no peers and no such flag
            guard TokenSet.isWellFormed(token) else {
                throw UsageError(message: "--peer-token: must be \(TokenSet.tokenBytesMin) to \(TokenSet.tokenBytesMax) printable ASCII characters")
            }
            setup.peerToken = token
        }
        guard let path = args.string("token-file") else {
            if !dev {
                logger.warn("AUTHENTICATION IS OFF: no --token-file, so anyone who reaches the API and peer ports can submit, kill and reconfigure; never run like this outside a private test network")
            }
            return setup
        }
        if replicated && setup.peerToken == nil {
            throw UsageError(message: "--peer-token is required with --token-file in a replicated group (the masters authenticate to each other)")
        }
        var extra = TokenSet()
        if dev {
            let token = randomToken()
            do { try extra.add(Principal(role: .agent, name: "dev-agent"), token: token) } catch {
                throw UsageError(message: "cannot make the local agent's token: \(error)")
            }
            setup.devAgentToken = token
        }
        do {
            setup.authenticator = try Authenticator(tokenFile: path, extra: extra, logger: logger)
        } catch {
            throw UsageError(message: "--token-file: \(error.description)")
        }
        setup.authenticator?.reloadOnHangup()
        return setup
    }

    /// 32 random bytes as hex, from the system's generator.
    /// `--allow-privileged`, `--allow-host-mounts`, `--allow-docker-socket`.
    static func jobPolicy(_ args: ParsedArguments) -> JobPolicy {
        JobPolicy(allowPrivileged: args.bool("allow-privileged"), allowHostMounts: args.bool("allow-host-mounts"),
                  allowDockerSocket: args.bool("allow-docker-socket"))
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}
