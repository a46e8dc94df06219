/// Sums and differences of resources, and the fit check every placement uses.
extension Resources {
    public static let zero = Resources(cpu: 0, memoryMB: 0)

    public static func + (a: Resources, b: Resources) -> Resources {
        Resources(cpu: a.cpu + b.cpu, memoryMB: a.memoryMB + b.memoryMB, diskMB: a.diskMB + b.diskMB,
                  networkMbps: a.networkMbps + b.networkMbps)
    }

    public static func - (a: Resources, b: Resources) -> Resources {
        Resources(cpu: a.cpu - b.cpu, memoryMB: a.memoryMB - b.memoryMB, diskMB: a.diskMB - b.diskMB,
                  networkMbps: a.networkMbps - b.networkMbps)
    }

    /// The first resource `self` lacks to hold `request`, or nil when it fits. A small epsilon
    /// absorbs floating-point dust in fractional cpu sums.
    public func shortfall(for request: Resources) -> String? {
        if request.cpu > cpu + 1e-9 { return "insufficient cpu" }
        if request.memoryMB > memoryMB { return "insufficient memory" }
        if request.diskMB > diskMB { return "insufficient disk" }
        if request.networkMbps > networkMbps { return "insufficient network" }
        return nil
    }
}
