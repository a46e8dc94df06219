import Model

/// Bounds on the store's size. Defaults from DESIGN.md.
public struct StoreLimits: Sendable, Equatable {
    /// Jobs that are not yet finished.
    public var activeJobsMax = 100_000
    /// Finished jobs kept for reads; the oldest are forgotten beyond this.
    public var finishedJobsRetained = 10_000
    /// Finished tasks kept per job (retries of a crash-looping service would grow without bound).
    public var finishedTasksRetainedPerJob = 100
    public var job = JobLimits()
    public init() {}
}
