import Foundation
import Synchronization
import Testing
@testable import JobStore
@testable import Master
@testable import Model
@testable import Shared

/// The submit route under an operator's `JobPolicy`, and secrets kept out of every answer.
@Suite struct JobPolicyAPITests {
    static func router(_ policy: JobPolicy) -> Router {
        let store = StoreHandle(JobStore())
        var router = Router()
        JobsAPI(store: store, replicator: ImmediateReplicator(store: store), nowMs: { 1_700_000_000_000 },
                newJobID: { "job-1" }, policy: policy).register(on: &router)
        return router
    }

    static func call(_ router: Router, _ method: HTTPMethod, _ target: String, body: String = "") -> (Int, String) {
        let box = Mutex<HTTPResponse?>(nil)
        router.handle(HTTPRequest(method: method, target: target, body: Array(body.utf8))) { r in box.withLock { $0 = r } }
        let r = box.withLock { $0 }!
        return (r.status, String(decoding: r.bodyBytes, as: UTF8.self))
    }

    static func job(_ extra: String) -> String {
        #"{"name":"p","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":0.5,"memoryMB":64}"#
            + extra + #"},"batch":{"size":1}}"#
    }

    static let socketMount = #","mounts":[{"hostPath":"/var/run/docker.sock","containerPath":"/var/run/docker.sock"}]"#

    @Test func theDefaultPolicyRefusesPrivilegedMountsAndTheSocket() {
        let router = Self.router(JobPolicy())
        for (extra, field) in [(#","privileged":true"#, "container.privileged"),
                               (#","mounts":[{"hostPath":"/srv","containerPath":"/d"}]"#, "container.mounts[0].hostPath"),
                               (Self.socketMount, "container.mounts[0].hostPath")] {
            let (status, body) = Self.call(router, .POST, "/v1/jobs", body: Self.job(extra))
            #expect(status == 403, "\(body)")
            #expect(body.contains(#""code":"permission_denied""#) && body.contains(#""field":"\#(field)""#), "\(body)")
        }
    }

    @Test func anOperatorPolicyAdmitsThemButTheSocketNeedsItsOwnFlag() {
        let mounts = Self.router(JobPolicy(allowPrivileged: true, allowHostMounts: true))
        #expect(Self.call(mounts, .POST, "/v1/jobs", body: Self.job(#","privileged":true,"mounts":[{"hostPath":"/srv","containerPath":"/d"}]"#)).0 == 201)
        let (status, body) = Self.call(mounts, .POST, "/v1/jobs", body: Self.job(Self.socketMount))
        #expect(status == 403 && body.contains("--allow-docker-socket"), "\(body)")
        let socket = Self.router(JobPolicy(allowHostMounts: true, allowDockerSocket: true))
        #expect(Self.call(socket, .POST, "/v1/jobs", body: Self.job(Self.socketMount)).0 == 201)
    }

    @Test func secretValuesNeverAppearInAnswers() {
        let router = Self.router(JobPolicy())
        let (created, createdBody) = Self.call(router, .POST, "/v1/jobs", body: Self.job(#","secretEnv":{"API_KEY":"very-secret-value-42"}"#))
        #expect(created == 201)
        for (status, body) in [(created, createdBody), Self.call(router, .GET, "/v1/jobs/job-1"), Self.call(router, .GET, "/v1/jobs")] {
            #expect(status == 200 || status == 201)
            #expect(!body.contains("very-secret-value-42"), "\(body)")
            #expect(body.contains(#""API_KEY":"<redacted>""#), "\(body)")
        }
    }
}
