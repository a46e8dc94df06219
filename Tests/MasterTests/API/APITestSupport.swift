import Foundation
import Synchronization
import Testing
@testable import JobStore
@testable import Master
@testable import Model
@testable import Shared

/// Applies each command at once with the next index: the API without a disk.
final class ImmediateReplicator: Replicator {
    private let next = Mutex<UInt64>(0)
    let store: StoreHandle
    let failure: ProposeError?

    init(store: StoreHandle, failure: ProposeError? = nil) {
        self.store = store
        self.failure = failure
    }

    func propose(_ command: Command, completion: @escaping @Sendable (Result<CommandResult, ProposeError>) -> Void) {
        if let failure { completion(.failure(failure)); return }
        let index = next.withLock { $0 += 1; return $0 }
        completion(.success(store.apply(command, index: index)))
    }
}

/// The master's router in-process, with a fake clock and predictable job ids.
struct APIHarness {
    let router: Router
    let store: StoreHandle

    init(failure: ProposeError? = nil, principal: @escaping @Sendable (HTTPRequest) -> Principal? = { _ in nil }) {
        let store = StoreHandle(JobStore())
        self.store = store
        let ids = Mutex(0)
        var router = Router()
        JobsAPI(store: store, replicator: ImmediateReplicator(store: store, failure: failure), nowMs: { 1_700_000_000_000 },
                newJobID: { ids.withLock { $0 += 1; return "job-\($0)" } }, principal: principal).register(on: &router)
        SystemAPI(leadership: Leadership(cluster: nil, selfName: "m1"), store: store, metrics: MasterMetrics(store: store))
            .register(on: &router)
        self.router = router
    }

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var json: JSONValue? { try? JSONParser.parse(body) }
        var errorField: String? {
            if case .string(let f)? = json?["error"]?["field"] { return f }
            return nil
        }
        var errorCode: String? {
            if case .string(let c)? = json?["error"]?["code"] { return c }
            return nil
        }
    }

    func call(_ method: HTTPMethod, _ target: String, body: String? = nil, headers: HTTPHeaders = HTTPHeaders()) -> Reply {
        let request = HTTPRequest(method: method, target: target, headers: headers, body: body.map { Array($0.utf8) } ?? [])
        let box = Mutex<HTTPResponse?>(nil)
        router.handle(request) { response in box.withLock { $0 = response } }
        let response = box.withLock { $0 }!
        return Reply(status: response.status, headers: response.headers, body: response.bodyBytes)
    }
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var intValue: Int? { if case .int(let i) = self { return Int(i) } else { return nil } }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
}

enum Samples {
    static let batch = #"""
    {"name":"hello","owner":"team@example.com","type":"batch","labels":{"team":"a"},
     "container":{"image":"fuller/test:1","command":["echo","hi"],"resources":{"cpu":0.5,"memoryMB":128}},
     "batch":{"size":2}}
    """#
    static let service = #"""
    {"name":"web","owner":"o","type":"service","container":{"image":"i","resources":{"cpu":1,"memoryMB":64}},
     "service":{"capacity":{"min":1,"desired":2,"max":4}}}
    """#
}
