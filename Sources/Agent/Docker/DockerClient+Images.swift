import Model
import Shared

/// Images: inspect and pull.
extension DockerClient {
    func inspectImage(_ reference: String) async throws(DockerError) -> DockerImage? {
        let response: HTTPResponse
        do {
            response = try await call(.GET, "/images/\(DockerWire.escape(reference, keeping: Self.referenceBytes))/json")
        } catch .notFound {
            return nil
        }
        guard let id = try parseJSON(response)["Id"]?.stringValue else {
            throw .serverError(status: response.status, message: "image inspect: no Id in the daemon's reply")
        }
        return DockerImage(id: id)
    }

    /// Reads the progress stream to its end: the daemon answers 200 once the pull has begun and
    /// reports a failure after that only as a line `{"error": …}`, which throws `.serverError`
    /// (status 200) with its message. A failure before the pull begins (an unknown registry host)
    /// comes back as a status with `{"message": …}`.
    func pullImage(_ reference: String) async throws(DockerError) {
        let (name, tag) = DockerWire.splitReference(reference)
        var query = [("fromImage", name)]
        if let tag { query.append(("tag", tag)) }
        try await streamLines(.POST, "/images/create", query: query, timeout: configuration.pullTimeout,
                              idleTimeout: configuration.pullIdleTimeout) { line in
            guard let message = DockerWire.pullProgressError(line) else { return nil }
            return .failure(.serverError(status: 200, message: message))
        }
    }

    /// Bytes of an image reference the daemon's router takes literally in a path.
    static let referenceBytes: Set<UInt8> = [UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "@")]
}
