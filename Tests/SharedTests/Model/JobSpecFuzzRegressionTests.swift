import Foundation
import Testing
@testable import Model

/// Replays every job spec fuzz seed and saved crash input through the fuzz invariant.
@Suite struct JobSpecFuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static var inputs: [String] {
        ["seeds/JobSpecFuzz", "regressions/JobSpecFuzz"].flatMap { folder -> [String] in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: fuzzDirectory.appendingPathComponent(folder).path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
        }
    }

    @Test func seedsArePresent() {
        #expect(Self.inputs.filter { $0.hasPrefix("seeds/") }.count >= 3)
    }

    @Test(arguments: inputs)
    func replay(_ name: String) throws {
        let data = try Data(contentsOf: Self.fuzzDirectory.appendingPathComponent(name))
        #expect(jobSpecRoundTripFailure(Array(data)) == nil)
    }
}
