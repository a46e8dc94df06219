@testable import Agent
import Model
import Testing

/// The Engine API's encodings without a daemon: create bodies, replies, log frames, queries.
@Suite struct DockerWireTests {
    @Test func createBodyHasDockersFieldNames() throws {
        var config = ContainerCreateConfig(image: "app:1", command: ["run", "--fast"])
        config.entrypoint = ["/bin/sh", "-c"]
        config.env = ["B": "2", "A": "1=x"]
        config.labels = ["fuller.task": "t"]
        config.hostname = "h"
        config.nanoCPUs = 1_500_000_000
        config.memoryBytes = 1 << 30
        config.memorySwapBytes = 1 << 30
        config.healthcheck = ContainerHealthcheck(test: ["CMD-SHELL", "true"], intervalNanoseconds: 5,
                                                  timeoutNanoseconds: 6, retries: 3, startPeriodNanoseconds: 7)
        let text = String(decoding: DockerWire.createBody(config), as: UTF8.self)
        #expect(text == #"{"Image":"app:1","Cmd":["run","--fast"],"Entrypoint":["/bin/sh","-c"],"Env":["A=1=x","B=2"],"#
            + #""Labels":{"fuller.task":"t"},"Hostname":"h","Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5,"#
            + #""Timeout":6,"Retries":3,"StartPeriod":7},"HostConfig":{"NanoCpus":1500000000,"Memory":1073741824,"#
            + #""MemorySwap":1073741824}}"#)
    }

    @Test func createBodyLeavesOutWhatIsUnset() {
        let text = String(decoding: DockerWire.createBody(ContainerCreateConfig(image: "app")), as: UTF8.self)
        #expect(text == #"{"Image":"app","Env":[],"Labels":{},"HostConfig":{"NanoCpus":0,"Memory":0,"MemorySwap":0}}"#)
    }

    @Test func inspectMapsNeverToNil() throws {
        let json = try JSONParser.parse(#"""
            {"Id":"abc","Name":"/web","State":{"Status":"exited","Running":false,"ExitCode":137,"OOMKilled":true,
             "Error":"","StartedAt":"2026-11-25T16:30:00.123456789Z","FinishedAt":"0001-01-01T00:00:00Z",
             "Health":{"Status":"unhealthy","FailingStreak":3}},
             "Config":{"Image":"app:1","Env":["A=1","B=x=y","C"],"Labels":{"k":"v"},"Hostname":"0123456789ab"},
             "HostConfig":{"NanoCpus":1000000000,"Memory":1048576,"MemorySwap":-1},
             "NetworkSettings":{"IPAddress":""}}
            """#)
        let details = DockerWire.containerDetails(json)
        #expect(details == ContainerDetails(
            id: "abc", name: "web", labels: ["k": "v"], status: "exited", running: false, exitCode: 137,
            oomKilled: true, error: "", startedAt: "2026-11-25T16:30:00.123456789Z", finishedAt: nil,
            ipAddress: nil, health: "unhealthy", image: "app:1", env: ["A": "1", "B": "x=y", "C": ""],
            nanoCPUs: 1_000_000_000, memoryBytes: 1_048_576, memorySwapBytes: -1, hostname: "0123456789ab"))
    }

    @Test func theMACIsTheOneOfTheNetworkHoldingTheIP() throws {
        let json = try JSONParser.parse(#"""
            {"Id":"abc","NetworkSettings":{"IPAddress":"172.17.0.5","MacAddress":"",
             "Networks":{"a-other":{"IPAddress":"10.9.0.2","MacAddress":"02:42:0a:09:00:02"},
                         "bridge":{"IPAddress":"172.17.0.5","MacAddress":"02:42:AC:11:00:05"}}}}
            """#)
        #expect(DockerWire.containerDetails(json).macAddress == "02:42:ac:11:00:05")
        let legacy = try JSONParser.parse(#"{"NetworkSettings":{"IPAddress":"172.17.0.5","MacAddress":"02:42:ac:11:00:05","Networks":{}}}"#)
        #expect(DockerWire.containerDetails(legacy).macAddress == "02:42:ac:11:00:05")
        let none = try JSONParser.parse(#"{"NetworkSettings":{"IPAddress":"","MacAddress":""}}"#)
        #expect(DockerWire.containerDetails(none).macAddress == nil)
    }

    @Test func eventLine() throws {
        let json = try JSONParser.parse(#"""
            {"status":"die","id":"abc","from":"img","Type":"container","Action":"die",
             "Actor":{"ID":"abc","Attributes":{"exitCode":"3","name":"web"}},"scope":"local",
             "time":1700000000,"timeNano":1700000000123456789}
            """#)
        #expect(DockerWire.event(json) == DockerEvent(type: "container", action: "die", id: "abc",
                                                      attributes: ["exitCode": "3", "name": "web"],
                                                      timeNanoseconds: 1_700_000_000_123_456_789))
    }

    @Test(arguments: [
        (#"{"status":"Pulling fs layer","progressDetail":{},"id":"a1"}"#, nil),
        (#"{"status":"Downloading","progressDetail":{"current":10,"total":20},"id":"a1"}"#, nil),
        (#"{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}"#, "manifest unknown"),
        (#"{"error":"toomanyrequests"}"#, "toomanyrequests"),
        ("not json", "unreadable pull progress: not json"),
    ] as [(String, String?)])
    func pullProgressErrors(line: String, error: String?) {
        #expect(DockerWire.pullProgressError(Array(line.utf8)[...]) == error)
    }

    @Test func logFramesAreDemultiplexed() {
        let body = DockerLogFrames.frame(stream: 1, Array("out\n".utf8)) + DockerLogFrames.frame(stream: 2, Array("err\n".utf8))
            + DockerLogFrames.frame(stream: 1, [])
        #expect(DockerLogFrames.demultiplex(body) == Array("out\nerr\n".utf8))
        #expect(DockerLogFrames.demultiplex([]) == [])
        // TTY output (raw text) and a truncated frame are not frames.
        #expect(DockerLogFrames.demultiplex(Array("hello world\n".utf8)) == nil)
        #expect(DockerLogFrames.demultiplex(Array(body.dropLast(2))) == nil)
        // A header announcing 256 bytes followed by 200.
        #expect(DockerLogFrames.demultiplex([1, 0, 0, 0, 0, 0, 1, 0] + [UInt8](repeating: 65, count: 200)) == nil)
    }

    @Test(arguments: [
        ("busybox", "busybox", "latest"),
        ("busybox:1.36", "busybox", "1.36"),
        ("registry:5000/team/app", "registry:5000/team/app", "latest"),
        ("registry:5000/team/app:2", "registry:5000/team/app", "2"),
        ("app@sha256:abcd", "app@sha256:abcd", nil),
    ] as [(String, String, String?)])
    func imageReferences(reference: String, name: String, tag: String?) {
        let split = DockerWire.splitReference(reference)
        #expect(split.name == name && split.tag == tag)
    }

    @Test func queriesAreEscaped() {
        #expect(DockerWire.query([]) == "")
        #expect(DockerWire.query([("filters", DockerWire.labelFilter(["b": "2", "a": "x y"])), ("t", "1")])
                == "?filters=%7B%22label%22%3A%5B%22a%3Dx%20y%22%2C%22b%3D2%22%5D%7D&t=1")
        #expect(DockerWire.escape("reg:5000/app:1", keeping: DockerClient.referenceBytes) == "reg:5000/app:1")
    }

    @Test func errorMessages() {
        #expect(DockerWire.errorMessage(Array(#"{"message":"No such container: x"}"#.utf8)) == "No such container: x")
        #expect(DockerWire.errorMessage(Array("page not found\n".utf8)) == "page not found")
        #expect(DockerWire.errorMessage([]) == nil)
        #expect(throws: DockerError.conflict("in use")) { try DockerClient.check(status: 409, body: Array(#"{"message":"in use"}"#.utf8)) }
        #expect(throws: DockerError.serverError(status: 502, message: "HTTP 502")) { try DockerClient.check(status: 502, body: []) }
        #expect(throws: DockerError.notModified) { try DockerClient.check(status: 304, body: []) }
        #expect(throws: DockerError.badRequest("bad")) { try DockerClient.check(status: 400, body: Array(#"{"message":"bad"}"#.utf8)) }
    }

    @Test func versionNegotiation() throws {
        let (low, high) = (DockerClient.minimumAPIVersion, DockerClient.maximumAPIVersion)
        func daemon(_ api: String, min: String = "1.12") -> DockerVersion {
            DockerVersion(version: "x", apiVersion: api, minAPIVersion: min)
        }
        #expect(try DockerAPIVersion.negotiate(daemon: daemon("1.41"), minimum: low, maximum: high).description == "1.41")
        #expect(try DockerAPIVersion.negotiate(daemon: daemon("1.47", min: "1.24"), minimum: low, maximum: high) == high)
        #expect(throws: DockerError.self) { try DockerAPIVersion.negotiate(daemon: daemon("1.40"), minimum: low, maximum: high) }
        #expect(throws: DockerError.self) { try DockerAPIVersion.negotiate(daemon: daemon("1.50", min: "1.44"), minimum: low, maximum: high) }
        #expect(throws: DockerError.self) { try DockerAPIVersion.negotiate(daemon: daemon("banana"), minimum: low, maximum: high) }
        #expect(DockerAPIVersion("1.9")! < DockerAPIVersion("1.41")!)
    }
}

extension DockerLogFrames {
    /// One frame as a daemon writes it.
    static func frame(stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload
    }
}
