import Foundation
import Testing
import TestSupport
@testable import Master
import Model
@testable import Shared

/// `--advertise-api`: the address a master gives out for itself (redirects, `GET /v1/cluster`),
/// e.g. its TLS tunnel's or its VM's address when it listens on `0.0.0.0`.
@Suite struct AdvertisedAPITests {
    @Test func theAdvertisedAPIAddressIsTheOneShown() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var config = MasterNode.Configuration(dataDirectory: dir.path)
        config.apiHost = "0.0.0.0"
        config.apiPort = 0
        config.advertisedAPI = "10.9.8.7:4700"
        let node = try MasterNode.start(config)
        let body = String(decoding: MasterAccessTests.call(node, .GET, "/v1/cluster", token: nil).bodyBytes, as: UTF8.self)
        await node.shutdown()
        #expect(body.contains(#""apiAddress":"10.9.8.7:4700""#), "\(body)")
    }
}
