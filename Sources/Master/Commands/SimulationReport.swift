import Foundation
import Model
import Scheduler

/// What `fuller-master simulate` measured, and its printed form.
struct SimulationReport {
    var agents: Int
    var tasks: Int
    var indexSeconds = 0.0
    var iterationSeconds: [Double] = []
    /// The scheduling thread's CPU time over all iterations.
    var iterationCPUSeconds = 0.0
    var placements: [Placement] = []
    /// Explanation text → how many tasks were left pending with it.
    var pendingByReason: [String: Int] = [:]
    var total = Resources.zero
    var free = Resources.zero

    static let reasonsShownMax = 10

    func text(placements showPlacements: Bool) -> String {
        var out = ""
        if showPlacements { for p in placements { out += "placed \(p.taskId) \(p.agentId)\n" } }
        let pending = tasks - placements.count
        out += "agents: \(agents)  tasks: \(tasks)  placed: \(placements.count)  pending: \(pending)\n"
        out += "utilisation: cpu \(Self.percent(total.cpu - free.cpu, total.cpu))  memory \(Self.percent(Double(total.memoryMB - free.memoryMB), Double(total.memoryMB)))"
        out += "  network \(Self.percent(Double(total.networkMbps - free.networkMbps), Double(total.networkMbps)))\n"
        let sorted = iterationSeconds.sorted()
        let average = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
        out += "iterations: \(sorted.count)  ms per iteration: avg \(Self.ms(average))  p50 \(Self.ms(Self.quantile(sorted, 0.5)))"
        out += "  p99 \(Self.ms(Self.quantile(sorted, 0.99)))  max \(Self.ms(sorted.last ?? 0))  total \(Self.ms(sorted.reduce(0, +)))"
        out += "  cpu avg \(Self.ms(sorted.isEmpty ? 0 : iterationCPUSeconds / Double(sorted.count)))\n"
        out += "index build: \(Self.ms(indexSeconds)) ms\n"
        out += "peak resident memory: \(Self.peakResidentMiB().map { "\($0) MiB" } ?? "unknown")\n"
        let reasons = pendingByReason.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        for (reason, count) in reasons.prefix(Self.reasonsShownMax) { out += "pending \(count) task\(count == 1 ? "" : "s"): \(reason)\n" }
        if reasons.count > Self.reasonsShownMax { out += "pending: \(reasons.count - Self.reasonsShownMax) more distinct reasons\n" }
        return out
    }

    static func percent(_ used: Double, _ total: Double) -> String {
        total > 0 ? String(format: "%.2f%%", used / total * 100) : "-"
    }

    static func ms(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1_000) }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
    }

    /// VmHWM from /proc/self/status (Linux): the process's peak resident set.
    static func peakResidentMiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kB = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kB / 1_024
    }
}
