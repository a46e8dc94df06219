import Model
import Shared

/// `POST /v1/cluster/members` and `DELETE /v1/cluster/members/{id}`: membership changes, one
/// server at a time (see `MembershipChanges`). Followers never see these: `LeaderGate` sends
/// the client to the leader first.
struct MembersAPI: Sendable {
    /// nil on a single master, which has no group to change.
    let changes: MembershipChanges?

    static let nameBytesMax = 64

    func register(on router: inout Router) {
        router.add(.POST, "/v1/cluster/members") { request, _, respond in add(request, respond) }
        router.add(.DELETE, "/v1/cluster/members/{id}") { _, params, respond in
            let name = params["id"] ?? ""
            guard let changes else { return respond(Self.apiError(.notReplicated).response) }
            changes.run({ $0.remove(name: name) }) { result in respond(Self.response(result, name: name, peerAddress: nil)) }
        }
    }

    private func add(_ request: HTTPRequest, _ respond: @escaping Router.Respond) {
        let name: String, address: String
        do {
            var r = try ObjectReader(try RequestBody.json(request), path: "")
            name = try r.requiredString("id")
            address = try r.requiredString("peerAddress")
            try r.finish()
            try Self.validate(name: name, peerAddress: address)
        } catch {
            return respond(APIError.from(error).response)
        }
        guard let changes else { return respond(Self.apiError(.notReplicated).response) }
        changes.run({ $0.add(name: name, peerAddress: address) }) { result in
            respond(Self.response(result, name: name, peerAddress: address))
        }
    }

    /// A member name is what `--id` takes; a peer address is `HOST:PORT` with a real port.
    static func validate(name: String, peerAddress: String) throws(APIError) {
        let nameOK = !name.isEmpty && name.utf8.count <= nameBytesMax
            && name.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || "._-".unicodeScalars.contains($0) }
        guard nameOK else {
            throw APIError(.invalidArgument, "must be 1 to \(nameBytesMax) letters, digits, '.', '_' or '-'", field: "id")
        }
        guard let colon = peerAddress.lastIndex(of: ":"), let port = Int(peerAddress[peerAddress.index(after: colon)...]),
              (1...65_535).contains(port), colon != peerAddress.startIndex,
              !peerAddress.contains(where: { $0 == "/" || $0.isWhitespace }) else {
            throw APIError(.invalidArgument, "must be HOST:PORT with a port from 1 to 65535, got \"\(peerAddress)\"", field: "peerAddress")
        }
    }

    static func response(_ result: Result<MembershipChanges.Outcome, MembershipChanges.Failure>, name: String,
                         peerAddress: String?) -> HTTPResponse {
        switch result {
        case .failure(let failure):
            return apiError(failure).response
        case .success(.redirect(let leader)):
            var r = APIError(.redirect, "this master handed leadership to \(leader); repeat the request there").response
            r.headers.set("Location", "http://\(leader)/v1/cluster/members/\(name)")
            return r
        case .success(let outcome):
            var w = JSONWriter()
            w.beginObject()
            w.field("id", name)
            if let peerAddress { w.field("peerAddress", peerAddress) }
            let (status, role) = switch outcome {
            case .added(voter: true): (201, "voter")
            case .added(voter: false): (202, "learner")
            default: (200, "removed")
            }
            w.field("role", role)
            w.endObject()
            return Rendering.json(status, w.bytes)
        }
    }

    static func apiError(_ failure: MembershipChanges.Failure) -> APIError {
        switch failure {
        case .notReplicated:
            APIError(.conflict, "this master runs alone; membership changes need a group started with --peers")
        case .busy, .change(.pending):
            APIError(.conflict, "a membership change is already in progress; retry once it has committed")
        case .change(.invalid):
            APIError(.conflict, "the change does not fit the current membership")
        case .change(.notLeader):
            APIError(.unavailable, "leadership changed during the request; retry")
        case .change(.timedOut):
            APIError(.unavailable, "the change did not commit in time; it may still take effect (see GET /v1/cluster)")
        case .alreadyMember(let name):
            APIError(.conflict, "\(name) is already a voting member", field: "id")
        case .nameCollision(let other):
            APIError(.conflict, "this name hashes to the node id of member \(other); choose another", field: "id")
        case .notFound(let name):
            APIError(.notFound, "\(name) is not a member of the group")
        case .lastVoter:
            APIError(.conflict, "cannot remove the last voting member")
        case .rejected(let e):
            e.apiError
        case .noHandover:
            APIError(.unavailable, "no other master took over leadership in time; retry")
        }
    }
}
