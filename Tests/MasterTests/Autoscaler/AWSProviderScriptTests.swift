import Foundation
import Glibc
import Testing
import TestSupport
@testable import Autoscaler
@testable import Master
import Model
import Shared

/// `deploy/providers/aws-asg.sh` against a stand-in `aws` command that logs its arguments:
/// the calls it makes and the replies it prints (never against AWS itself). The stand-in runs
/// through `FULLER_AWS_CLI="/bin/bash FILE"`: executing a file just written can fail with
/// ETXTBSY while another test's child still holds it open between fork and exec.
@Suite struct AWSProviderScriptTests {
    static let script: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)  // Autoscaler/AWSProviderScriptTests.swift under Tests/MasterTests
        return (parts + ["deploy", "providers", "aws-asg.sh"]).joined(separator: "/")
    }()

    static let fakeAWS = #"""
    #!/bin/bash
    echo "$*" >> "$DIR/aws.log"
    case "$*" in
      *describe-auto-scaling-groups*) printf '3\t6\n' ;;
      *describe-auto-scaling-instances*i-gone*) echo None ;;
      *describe-auto-scaling-instances*) echo fuller-web ;;
    esac
    """#

    static func provider(_ dir: TemporaryDirectory) throws -> ExecutableProvider {
        try Data(fakeAWS.utf8).write(to: URL(fileURLWithPath: dir.path + "/aws"))
        let configuration = ProviderConfiguration(command: ["/bin/bash", script],
                                                  environment: ["DIR": dir.path, "FULLER_AWS_CLI": "/bin/bash \(dir.path)/aws"],
                                                  retries: 0)
        return ExecutableProvider(configuration: configuration, logger: Logger(component: "test", minimumLevel: .error), stopping: { false })
    }

    static let group = GroupRule(name: "web", maxSize: 10, shape: AgentShape(resources: Resources(cpu: 2, memoryMB: 4_096)))
    static let context = ProviderContext(masterURL: "http://m:4700", currentSize: 3)

    func log(_ dir: TemporaryDirectory) -> [String] {
        ((try? String(contentsOfFile: dir.path + "/aws.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func scaleUpSetsAnAbsoluteCapacityCappedByTheGroupsMax() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let up = AutoscalerAction(id: 1, group: "web", kind: .scaleUp, count: 5, desiredSize: 8, reason: "r", atMs: 0)
        let outcome = try Self.provider(dir).perform(up, group: Self.group, context: Self.context)
        #expect(outcome == .succeeded(agentIds: [], message: "fuller-web desired capacity 3 -> 6", attempts: 1))
        #expect(log(dir).last == "autoscaling set-desired-capacity --auto-scaling-group-name fuller-web --desired-capacity 6")
        // Already there (a retry): nothing set.
        let small = AutoscalerAction(id: 2, group: "web", kind: .scaleUp, count: 1, desiredSize: 3, reason: "r", atMs: 0)
        let again = try Self.provider(dir).perform(small, group: Self.group, context: Self.context)
        #expect(again == .succeeded(agentIds: [], message: "fuller-web already has desired capacity 3 (asked for 3)", attempts: 1))
        #expect(log(dir).filter { $0.contains("set-desired-capacity") }.count == 1)
    }

    @Test func scaleDownTerminatesTheInstancesStillInTheGroup() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let down = AutoscalerAction(id: 1, group: "web", kind: .scaleDown, count: 2, agentIds: ["i-1", "i-gone"], desiredSize: 1,
                                    reason: "r", atMs: 0)
        let outcome = try Self.provider(dir).perform(down, group: Self.group, context: Self.context)
        #expect(outcome == .succeeded(agentIds: ["i-1"], message: "terminating 1 of 2 instance(s) in fuller-web", attempts: 1))
        #expect(log(dir).filter { $0.contains("terminate-instance") }
                == ["autoscaling terminate-instance-in-auto-scaling-group --instance-id i-1 --should-decrement-desired-capacity"])
    }
}
