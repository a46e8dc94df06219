import Foundation
import Testing
@testable import Shared

/// Replays every fuzz seed and every crash input the fuzzer ever saved through the same invariant
/// the fuzz target checks (see `Tests/Fuzz/run.sh`).
@Suite struct HTTPParserFuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    static var inputs: [String] {
        ["seeds/HTTPParserFuzz", "regressions/HTTPParserFuzz"].flatMap { folder -> [String] in
            let dir = fuzzDirectory.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { "\(folder)/\($0)" }
        }
    }

    @Test func seedsArePresent() {
        #expect(Self.inputs.contains { $0.hasPrefix("seeds/") })
    }

    @Test(arguments: inputs)
    func replay(_ name: String) throws {
        let data = try Data(contentsOf: Self.fuzzDirectory.appendingPathComponent(name))
        #expect(HTTPParseTranscript.checkSplitInvariance(Array(data)) == nil)
    }
}
