import Synchronization
import Testing
@testable import Agent

/// The teardown every Docker test uses (`DockerTestEnvironment.removeContainers`) against the
/// two ways tests left `fuller-*` containers behind: a container that lands in the engine after
/// the teardown's first list (a just-killed agent's last create), and a test cancelled by its
/// time limit, whose engine calls were cancelled with it.
@Suite struct DockerTeardownTests {
    static func labelled() -> (labels: [String: String], config: ContainerCreateConfig, name: String) {
        let tag = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let labels = ["fuller.test.teardown": tag]
        return (labels, ContainerCreateConfig(image: DockerTestEnvironment.image, command: ["sleep", "60"], labels: labels),
                "fuller-test-teardown-\(tag)")
    }

    @Test(.timeLimit(.minutes(1)))
    func aContainerThatLandsAfterTheFirstListIsRemovedToo() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let (labels, config, name) = Self.labelled()
        let created = Mutex<Result<String, DockerError>?>(nil)
        let problem = await DockerTestEnvironment.removeContainers(labelled: labels, docker: docker, settle: .milliseconds(100)) { pass in
            guard pass == 1 else { return }
            // The first list found nothing; now the late create lands.
            let result: Result<String, DockerError>
            do throws(DockerError) { result = .success(try await docker.createContainer(name: name, config)) } catch { result = .failure(error) }
            created.withLock { $0 = result }
        }
        let left = try await docker.listContainers(labels: labels, all: true)
        for container in left { try? await docker.removeContainer(container.id, force: true) }
        #expect(try created.withLock({ $0 })?.get() != nil)
        #expect(problem == nil)
        #expect(left.isEmpty, "left behind: \(left.map(\.id))")
    }

    @Test(.timeLimit(.minutes(1)))
    func aCancelledTestStillRemovesItsContainers() async throws {
        guard let docker = await DockerTestEnvironment.client() else { return }
        let (labels, config, name) = Self.labelled()
        _ = try await docker.createContainer(name: name, config)
        let problem = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await DockerTestEnvironment.removeContainers(labelled: labels, docker: docker, settle: .milliseconds(100))
        }.value
        let left = try await docker.listContainers(labels: labels, all: true)
        for container in left { try? await docker.removeContainer(container.id, force: true) }
        #expect(problem == nil)
        #expect(left.isEmpty, "left behind: \(left.map(\.id))")
    }
}
