import Foundation
import Glibc
import Testing
import TestSupport
@testable import Agent
import Model
import Shared

/// The scheduler with real processes: one master, three real agents on the Docker Engine (one
/// started with `--zone a`, two with `--zone b`), and a service with uniqueHost + zoneBalance.
/// Bin-packing alone would put both first tasks in zone b; zoneBalance spreads them, uniqueHost
/// keeps them apart, and the task no agent may take says why.
@Suite(.serialized) struct ZoneSpreadEndToEndTests {
    static let script = "trap exit TERM; while true; do sleep 0.2; done"

    static func service(desired: Int) -> String {
        #"{"name":"spread","owner":"e2e@test","type":"service","container":{"image":"\#(DockerTestEnvironment.image)","#
            + #""command":["sh","-c","\#(script)"],"resources":{"cpu":0.1,"memoryMB":32}},"#
            + #""service":{"capacity":{"min":0,"desired":\#(desired),"max":10}},"#
            + #""constraints":{"hard":{"uniqueHost":"true","zoneBalance":"true"}}}"#
    }

    @Test(.timeLimit(.minutes(3)))
    func aServiceSpreadsOverZonesAndAgents() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let directory = try TemporaryDirectory()
        let master = try MasterProcess(dataDirectory: directory.path + "/master", extraArguments: ["--no-fsync"])
        let zones = ["a", "b", "b"]
        var agents: [AgentProcess] = []
        let api = try HTTPClient(url: master.url)
        defer {
            for agent in agents { agent.kill(SIGKILL) }
            api.shutdown()
            master.kill(SIGKILL)
        }
        for (n, zone) in zones.enumerated() {
            agents.append(try AgentProcess(id: AgentProcess.uniqueId("zone\(zone)\(n)"), masters: [master.url],
                                           dataDirectory: directory.path + "/agent\(n)", dockerSocket: DockerTestEnvironment.socketPath,
                                           extraArguments: ["--cpu", "4", "--memory-mb", "4096", "--zone", zone]))
        }
        let zoneOf = Dictionary(uniqueKeysWithValues: zip(agents.map(\.id), zones))
        do {
            try await Self.waitUntil("three agents ready") {
                Self.items(try await Self.get(api, "/v1/agents")).filter { $0["state"] == .string("ready") }.count == 3
            }
            let job = try await Self.submit(api, Self.service(desired: 2))
            var running = try await Self.waitForStarted(api, job, count: 2)
            #expect(Set(running.map { zoneOf[$0.agent] }) == ["a", "b"], "one task per zone: \(running)")

            try await Self.scale(api, job, desired: 3)
            running = try await Self.waitForStarted(api, job, count: 3)
            #expect(Set(running.map(\.agent)).count == 3, "uniqueHost: three agents for three tasks: \(running)")

            try await Self.scale(api, job, desired: 4)
            let reason = try await Self.wait("the fourth task explained") { () -> String? in
                let tasks = Self.items(try await Self.get(api, "/v1/tasks?jobId=\(job)"))
                return tasks.first { $0["state"] == .string("Accepted") }?["pendingReason"]?.stringValue
            }
            #expect(reason == "2 agents: zoneBalance; 1 agent: uniqueHost")
            _ = try await api.send(.DELETE, "/v1/jobs/\(job)")
            try await Self.waitUntil("the job Finished") { try await Self.get(api, "/v1/jobs/\(job)")["state"] == .string("Finished") }
        } catch {
            for agent in agents { print("--- agent \(agent.id) log (tail) ---\n\(agent.recentLog.suffix(3_000))") }
            await Self.removeContainers(docker, agents)
            throw error
        }
        await Self.removeContainers(docker, agents)
    }

    static func waitForStarted(_ api: HTTPClient, _ job: String, count: Int) async throws -> [(task: String, agent: String)] {
        try await wait("\(count) tasks Started") { () -> [(task: String, agent: String)]? in
            let tasks = items(try await get(api, "/v1/tasks?jobId=\(job)"))
            let started = tasks.filter { $0["state"] == .string("Started") }
            guard started.count == count else { return nil }
            return started.compactMap { t in t["agentId"]?.stringValue.map { (t["id"]?.stringValue ?? "", $0) } }
        }
    }

    static func items(_ list: JSONValue) -> [JSONValue] {
        if case .array(let items)? = list["items"] { return items }
        return []
    }

    static func submit(_ api: HTTPClient, _ body: String) async throws -> String {
        let r = try await api.send(.POST, "/v1/jobs", body: Array(body.utf8))
        guard r.status == 201, let id = try JSONParser.parse(r.bodyBytes)["id"]?.stringValue else {
            throw TestFailure("submit: \(r.status) \(String(decoding: r.bodyBytes, as: UTF8.self))")
        }
        return id
    }

    static func scale(_ api: HTTPClient, _ job: String, desired: Int) async throws {
        let body = #"{"min":0,"desired":\#(desired),"max":10}"#
        let r = try await api.send(.PUT, "/v1/jobs/\(job)/capacity", body: Array(body.utf8))
        guard r.status == 200 else { throw TestFailure("scale: \(r.status)") }
    }

    static func get(_ api: HTTPClient, _ path: String) async throws -> JSONValue {
        let r = try await api.send(.GET, path)
        guard r.status == 200 else { throw TestFailure("GET \(path): \(r.status)") }
        return try JSONParser.parse(r.bodyBytes)
    }

    static func wait<T>(_ what: String, timeout: Duration = .seconds(60), _ probe: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if let value = try await probe() { return value }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        throw TestFailure("timed out after \(timeout) waiting for \(what)")
    }

    static func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        try await wait(what) { try await condition() ? true : nil }
    }

    static func removeContainers(_ docker: DockerClient, _ agents: [AgentProcess]) async {
        agents.forEach { $0.kill(SIGKILL) }
        for agent in agents {
            if let problem = await DockerTestEnvironment.removeContainers(labelled: [Supervisor.agentLabel: agent.id], docker: docker) {
                Issue.record("removing the containers of agent \(agent.id): \(problem)")
            }
        }
    }
}
