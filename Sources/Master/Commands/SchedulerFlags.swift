import Model
import Scheduler
import Shared

/// The scheduler's flags, shared by `serve`, `dev` and `simulate`.
enum SchedulerFlags {
    static let flags: [Flag] = [
        Flag("scheduler-fitness", .string, default: .string("binpack"),
             help: "binpack or spread, optionally weighted: binpack:cpu=1,memory=1,network=0.", valueName: "FITNESS"),
        Flag("scheduler-good-enough", .double, help: "End a task's search at the first agent scoring at least this (0-1).",
             valueName: "SCORE"),
        Flag("capacity-group", .list, help: "Reserve cores and memory for a capacity group's jobs: NAME=CPU/MEMORY_MB (repeatable).",
             valueName: "LIST"),
        Flag("flex-uses-reserved", .bool, help: "Let flex-tier tasks use the idle part of other groups' reservations."),
    ]

    static func configuration(_ args: ParsedArguments) throws(UsageError) -> SchedulerConfiguration {
        var c = SchedulerConfiguration()
        let text = args.string("scheduler-fitness") ?? "binpack"
        guard let fitness = Fitness.parse(text) else {
            throw UsageError(message: "--scheduler-fitness: expected binpack or spread[:cpu=W,memory=W,network=W], got \"\(text)\"")
        }
        c.fitness = fitness
        if let score = args.double("scheduler-good-enough") {
            guard score >= 0, score <= 1 else { throw UsageError(message: "--scheduler-good-enough: must be between 0 and 1") }
            c.goodEnough = score
        }
        for item in args.list("capacity-group") {
            guard let (group, resources) = Reservation.parse(item) else {
                throw UsageError(message: "--capacity-group: expected NAME=CPU/MEMORY_MB, got \"\(item)\"")
            }
            c.reservations[group] = resources
        }
        c.flexMayUseReserved = args.bool("flex-uses-reserved")
        return c
    }
}
