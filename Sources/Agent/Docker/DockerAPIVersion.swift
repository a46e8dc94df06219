/// An Engine API version such as `1.41`, ordered numerically (`1.9` < `1.41`).
struct DockerAPIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    var major: Int
    var minor: Int

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `MAJOR.MINOR`; nil for anything else.
    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0 else {
            return nil
        }
        self.init(major: major, minor: minor)
    }

    static func < (lhs: DockerAPIVersion, rhs: DockerAPIVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    var description: String { "\(major).\(minor)" }

    /// The version to speak to `daemon`: the lower of its `ApiVersion` and `maximum`. Refuses a
    /// daemon older than `minimum`, or one that no longer speaks `maximum` (its `MinAPIVersion` is
    /// higher), since Fuller would then send requests it might misread.
    static func negotiate(daemon: DockerVersion, minimum: DockerAPIVersion,
                          maximum: DockerAPIVersion) throws(DockerError) -> DockerAPIVersion {
        guard let highest = DockerAPIVersion(daemon.apiVersion) else {
            throw .serverError(status: 200, message: "GET /version: unreadable ApiVersion \"\(daemon.apiVersion)\"")
        }
        guard highest >= minimum else {
            throw .daemonUnavailable("Docker \(daemon.version) speaks Engine API up to \(highest); Fuller needs \(minimum) or newer")
        }
        let chosen = min(highest, maximum)
        if let lowest = DockerAPIVersion(daemon.minAPIVersion), lowest > chosen {
            throw .daemonUnavailable("Docker \(daemon.version) speaks Engine API \(lowest) and newer only; Fuller speaks up to \(chosen)")
        }
        return chosen
    }
}
