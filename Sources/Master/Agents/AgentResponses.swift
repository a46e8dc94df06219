import JobStore
import Model

/// Builds an agent's heartbeat answer from the store: every unfinished task placed on it, split
/// into those to run and those to kill.
enum AgentResponses {
    static func build(agentId: String, version: UInt64, drain: Bool, store: JobStore, intervalMilliseconds: Int) -> HeartbeatResponse {
        var assignments: [TaskAssignment] = []
        var kills: [String] = []
        for task in store.tasks(onAgent: agentId) {
            if task.state == .killInitiated {
                kills.append(task.id)
            } else if let job = store.job(task.jobId) {
                assignments.append(TaskAssignment(taskId: task.id, jobId: task.jobId, index: task.index, attempt: task.attempt,
                                                  container: job.spec.container,
                                                  runtimeLimitSeconds: job.spec.batch?.runtimeLimitSeconds))
            }
        }
        return HeartbeatResponse(assignmentsVersion: version, assignments: assignments, kills: kills, drain: drain,
                                 intervalMilliseconds: intervalMilliseconds)
    }
}
