import Testing
@testable import JobStore
@testable import Master
@testable import Model
import Raft
@testable import Shared

/// Every command is bounded where it is proposed, below what the log's storage takes, and a
/// command over the bound is a 413 that names the field, never a 503 that invites a retry.
@Suite struct CommandSizeTests {
    static func job(env: [(String, String)]) throws -> JobSpec {
        var spec = try JobSpec(json: try JSONParser.parse(Samples.batch))
        spec.container.env = Dictionary(uniqueKeysWithValues: env)
        return spec
    }

    @Test func theBoundIsBelowTheLogRecordLimitWithMargin() {
        #expect(Command.encodedBytesMax * 3 / 2 <= 4 << 20)
        #expect(Command.encodedBytesMax < RaftConfig(id: 1, initialVoters: [], seed: 1).entryBytesMax)
    }

    @Test func aCommandOverTheBoundNamesWhereItsBytesAre() throws {
        let env = (0..<100).map { ("V\($0)", String(repeating: "\u{7F}", count: 1_000)) }
        let command = Command.createJob(jobId: "j1", spec: try Self.job(env: env), idempotencyKey: "k", atMs: 1)
        guard case .success(let bytes) = command.boundedEncoding() else { Issue.record("a 100 KB job is within the bound"); return }
        #expect(bytes.count < 110_000, "DEL is not escaped, so the job does not grow")
        guard case .failure(let refusal) = command.boundedEncoding(bytesMax: 50_000) else { Issue.record("not refused"); return }
        #expect(refusal.field == "container.env" && refusal.bytes == bytes.count && refusal.bytesMax == 50_000)
        let one = Command.createJob(jobId: "j1", spec: try Self.job(env: [("BIG", String(repeating: "x", count: 60_000))]),
                                    idempotencyKey: nil, atMs: 1)
        guard case .failure(let single) = one.boundedEncoding(bytesMax: 50_000) else { Issue.record("not refused"); return }
        #expect(single.field == "container.env.BIG")
        let report = Command.updateTask(TaskUpdate(taskId: "t", state: .finished, message: String(repeating: "m", count: 60_000), atMs: 1))
        guard case .failure(let message) = report.boundedEncoding(bytesMax: 50_000) else { Issue.record("not refused"); return }
        #expect(message.field == "message")
    }

    @Test func tooLargeIsA413NamingTheField() {
        let api = APIHarness(failure: .tooLarge(CommandTooLarge(field: "container.env", bytes: 3_000_000, bytesMax: 2 << 20)))
        let reply = api.call(.POST, "/v1/jobs", body: Samples.batch)
        #expect(reply.status == 413 && reply.errorCode == "payload_too_large" && reply.errorField == "container.env")
    }

    @Test func reportMessagesAreCutToTheirLimit() {
        let long = String(repeating: "é", count: ReportProcessor.messageBytesMax)   // two bytes each
        let cut = ReportProcessor.truncated(long + "x")
        #expect(cut.utf8.count == ReportProcessor.messageBytesMax && cut.allSatisfy { $0 == "é" })
        let odd = ReportProcessor.truncated("a" + long)
        #expect(odd.utf8.count == ReportProcessor.messageBytesMax - 1, "a character is never cut in half")
        #expect(ReportProcessor.truncated("short") == "short")
    }

    @Test func aReportFieldPastItsLimitIsRefusedByName() {
        let long = String(repeating: "c", count: TaskReport.fieldBytesMax + 1)
        let body = #"{"sequence":1,"reports":[{"taskId":"t","state":"Started"},{"taskId":"t2","state":"Started","containerId":"\#(long)"}]}"#
        #expect(throws: FieldError(field: "reports[1].containerId", message: "at most \(TaskReport.fieldBytesMax) bytes")) {
            try HeartbeatRequest(json: try JSONParser.parse(body))
        }
    }
}
