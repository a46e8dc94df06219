/// Exit statuses of `fuller-agent` that its parent acts on (`fuller-master dev` starts one).
public enum AgentExitStatus {
    /// Another live agent holds the data directory's lock, or runs with the same id on the same
    /// engine: starting it again would only be refused again, so `dev` does not.
    public static let lockHeld: Int32 = 3
}
