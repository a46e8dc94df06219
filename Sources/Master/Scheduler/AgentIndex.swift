import Model

/// The agents a scheduling run may use, indexed so that choosing one for a task does not scan
/// them all.
///
/// Agents with the same totals, zone, machine type and machine group form a class: a hard
/// constraint on those attributes accepts or refuses a whole class at once. Within a class the
/// agents sit in a grid of cells by free cpu and free memory, each in 1/32 steps of the class's
/// totals. A task needing `c` cores can only fit in cells at or above `c`'s step, and the cells
/// are visited in fitness order (fullest first for bin-packing), so the first agent that fits is
/// the best one to within one step. Agent ids are interned to `Int32` indices; per-agent data
/// lives in parallel arrays so moving an agent between cells copies nothing but indices.
struct AgentIndex: Sendable {
    /// Steps per resource in a class's grid; a cell's level is `free / total × steps`, rounded down.
    static let steps = 32
    static let side = steps + 1
    static let cellCount = side * side

    struct AgentClass: Sendable {
        var total: Resources
        var zone: String
        var machineType: String
        var machineGroup: String
        var zoneId: Int
        /// Agent indices per cell; cell `cpuLevel × side + memoryLevel`.
        var cells: [[Int32]]
        /// The cells holding agents, in the search's order (fittest first): a search visits these
        /// few instead of every cell.
        var occupied: [Int32] = []
        var count: Int
    }

    private(set) var ids: [String] = []
    private(set) var free: [Resources] = []
    private(set) var attributes: [[String: String]] = []
    private(set) var classOf: [Int32] = []
    private(set) var cellOf: [Int32] = []
    private var slot: [Int32] = []
    private(set) var taskCount: [Int32] = []
    private(set) var exclusive: [Bool] = []
    private(set) var classes: [AgentClass] = []
    /// Zone names of the schedulable agents, by zone id.
    private(set) var zones: [String] = []
    private var zoneIds: [String: Int] = [:]
    private(set) var indexById: [String: Int32] = [:]
    /// Each cell's place in the search order (see `ClusterScheduler.cellOrder`).
    private var cellRank: [Int32]

    /// Indexes the schedulable agents of `views` in the order `order` lists their positions
    /// (the caller shuffles it from a seed, so ties between equal agents are broken
    /// reproducibly); `cellOrder` lists every cell in the order searches visit them.
    init(_ views: [AgentView], order: [Int], cellOrder: [Int32]) {
        var rank = Array(repeating: Int32(0), count: Self.cellCount)
        for (position, cell) in cellOrder.enumerated() { rank[Int(cell)] = Int32(position) }
        cellRank = rank
        var classKeys: [ClassKey: Int] = [:]
        var previous: (key: ClassKey, index: Int)?
        ids.reserveCapacity(order.count)
        indexById.reserveCapacity(order.count)
        for position in order where views[position].schedulable {
            let view = views[position]
            let key = ClassKey(view)
            // Agents of one class often follow each other: comparing is cheaper than hashing.
            let classIndex: Int
            if let previous, previous.key == key {
                classIndex = previous.index
            } else if let known = classKeys[key] {
                classIndex = known
            } else {
                classIndex = addClass(key, total: view.total)
                classKeys[key] = classIndex
            }
            previous = (key, classIndex)
            let agent = Int32(ids.count)
            indexById[view.id] = agent
            ids.append(view.id)
            free.append(view.free)
            attributes.append(view.attributes)
            classOf.append(Int32(classIndex))
            taskCount.append(Int32(clamping: view.taskCount))
            exclusive.append(view.exclusive)
            cellOf.append(-1)
            slot.append(-1)
            classes[classIndex].count += 1
            insert(agent)
        }
    }

    private mutating func addClass(_ key: ClassKey, total: Resources) -> Int {
        let zoneId = zoneIds[key.zone] ?? zones.count
        if zoneId == zones.count {
            zones.append(key.zone)
            zoneIds[key.zone] = zoneId
        }
        classes.append(AgentClass(total: total, zone: key.zone, machineType: key.machineType, machineGroup: key.machineGroup,
                                  zoneId: zoneId, cells: Array(repeating: [], count: Self.cellCount), count: 0))
        return classes.count - 1
    }

    var agentCount: Int { ids.count }
    func zoneId(_ zone: String) -> Int? { zoneIds[zone] }
    func zoneId(ofAgent agent: Int32) -> Int { classes[Int(classOf[Int(agent)])].zoneId }

    /// A resource's level in a class with `total` of it: the cell row or column it falls in.
    @inline(__always)
    static func level(_ amount: Double, of total: Double) -> Int {
        guard total > 0 else { return steps }
        return min(steps, max(0, Int(amount / total * Double(steps) + 1e-9)))
    }

    /// The lowest level an agent must be at to possibly hold `amount`; `side` when none can.
    @inline(__always)
    static func requiredLevel(_ amount: Double, of total: Double) -> Int {
        guard amount > 0 else { return 0 }
        guard total > 0, amount <= total + 1e-9 else { return side }
        return min(steps, Int(amount / total * Double(steps) + 1e-9))
    }

    static func cell(total: Resources, free: Resources) -> Int {
        level(free.cpu, of: total.cpu) * side + level(Double(free.memoryMB), of: Double(total.memoryMB))
    }

    /// Takes `request` from the agent's free resources and moves it to its new cell.
    mutating func take(_ request: Resources, from agent: Int32, exclusiveJob: Bool) {
        let a = Int(agent)
        remove(agent)
        free[a] = free[a] - request
        taskCount[a] += 1
        if exclusiveJob { exclusive[a] = true }
        insert(agent)
    }

    private mutating func insert(_ agent: Int32) {
        let a = Int(agent), c = Int(classOf[a])
        let cell = Self.cell(total: classes[c].total, free: free[a])
        cellOf[a] = Int32(cell)
        slot[a] = Int32(classes[c].cells[cell].count)
        classes[c].cells[cell].append(agent)
        if classes[c].cells[cell].count == 1 {
            let rank = cellRank[cell]
            var low = 0, high = classes[c].occupied.count
            while low < high {
                let mid = (low + high) / 2
                if cellRank[Int(classes[c].occupied[mid])] < rank { low = mid + 1 } else { high = mid }
            }
            classes[c].occupied.insert(Int32(cell), at: low)
        }
    }

    private mutating func remove(_ agent: Int32) {
        let a = Int(agent), c = Int(classOf[a]), cell = Int(cellOf[a]), position = Int(slot[a])
        let last = classes[c].cells[cell].removeLast()
        if last != agent {
            classes[c].cells[cell][position] = last
            slot[Int(last)] = Int32(position)
        }
        if classes[c].cells[cell].isEmpty, let at = classes[c].occupied.firstIndex(of: Int32(cell)) {
            classes[c].occupied.remove(at: at)
        }
    }

    /// Cpu, memory, disk and network the schedulable agents have in all, and have free.
    func utilisation() -> (total: Resources, free: Resources) {
        var total = Resources.zero, available = Resources.zero
        for a in ids.indices {
            total = total + classes[Int(classOf[a])].total
            available = available + free[a]
        }
        return (total, available)
    }

    private struct ClassKey: Hashable {
        var cpu: Double, memoryMB: Int, diskMB: Int, networkMbps: Int
        var zone: String, machineType: String, machineGroup: String
        init(_ view: AgentView) {
            cpu = view.total.cpu
            memoryMB = view.total.memoryMB
            diskMB = view.total.diskMB
            networkMbps = view.total.networkMbps
            zone = view.attributes["zone"] ?? ""
            machineType = view.attributes["machineType"] ?? ""
            machineGroup = view.attributes["machineGroup"] ?? ""
        }
    }
}
