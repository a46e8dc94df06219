import Shared

extension CLI {
    /// `--server` and `--json`, declared on each top-level verb so every subcommand inherits them.
    static let clientFlags: [Flag] = [
        Flag("server", .string, default: .string(defaultServer), help: "The master's API address.", valueName: "URL"),
        Flag("json", .bool, help: "Print the server's JSON instead of a table."),
        Flag("token", .string, help: "Bearer token for a master started with --token-file (better: FULLER_TOKEN, which ps does not show).", valueName: "TOKEN"),
    ]

    static let defaultServer = "http://127.0.0.1:4700"

    private static let listFlags: [Flag] = [
        Flag("state", .string, help: "Only items in this state.", valueName: "STATE"),
        Flag("limit", .int, help: "At most N items (1 to 1000), or the page size with --all."),
        Flag("all", .bool, help: "Follow nextCursor and list every item."),
    ]

    static let job = CommandSpec("job", summary: "Submit, inspect, scale and kill jobs.", flags: clientFlags, subcommands: [
        CommandSpec("submit", summary: "Submit a job from a JSON file (or - for standard input); print its id.", flags: [
            Flag("wait", .bool, help: "Wait until the job is Finished."),
            Flag("timeout", .duration, default: .duration(.seconds(600)), help: "How long --wait waits."),
        ], positionals: [Positional("FILE", help: "The job spec as JSON, or - to read standard input.")]),
        CommandSpec("list", summary: "List jobs.", flags: [
            Flag("type", .string, help: "Only batch or service jobs.", valueName: "TYPE"),
            Flag("label", .list, help: "Only jobs with label K=V; repeat or comma-separate for several (all must match).", valueName: "K=V"),
        ] + listFlags),
        CommandSpec("status", summary: "Show a job and its tasks; --json prints {\"job\": …, \"tasks\": […]}.",
                    positionals: [Positional("ID", help: "The job id.")]),
        CommandSpec("kill", summary: "Kill a job and all of its tasks.", positionals: [Positional("ID", help: "The job id.")]),
        CommandSpec("scale", summary: "Set a service job's capacity.", flags: [
            Flag("min", .int, required: true, help: "Fewest tasks."),
            Flag("desired", .int, required: true, help: "Tasks to run."),
            Flag("max", .int, required: true, help: "Most tasks."),
        ], positionals: [Positional("ID", help: "The job id.")]),
    ])

    static let task = CommandSpec("task", summary: "List and kill tasks.", flags: clientFlags, subcommands: [
        CommandSpec("list", summary: "List tasks.", flags: [
            Flag("job", .string, help: "Only this job's tasks.", valueName: "ID"),
        ] + listFlags),
        CommandSpec("kill", summary: "Kill a task.", flags: [
            Flag("shrink", .bool, help: "Also lower the job's desired capacity so the task is not replaced."),
        ], positionals: [Positional("ID", help: "The task id.")]),
    ])

    static let autoscaler = CommandSpec("autoscaler", summary: "Show the autoscaler: rules, group sizes, idle counts, decisions and the last actions.",
                                        flags: clientFlags)
    static let agents = CommandSpec("agents", summary: "List the agents known to the master.", flags: clientFlags)
    static let cluster = CommandSpec("cluster", summary: "Show the masters, the leader, term and log indexes; add or remove a master.",
                                     flags: clientFlags, subcommands: [
        CommandSpec("add", summary: "Add a master (started with serve --join) to the group; it votes once caught up.", positionals: [
            Positional("ID", help: "The new master's --id."),
            Positional("PEER-ADDRESS", help: "Where it listens for its peers, HOST:PORT."),
        ]),
        CommandSpec("remove", summary: "Remove a master from the group (the leader hands over first).",
                    positionals: [Positional("ID", help: "The master's id.")]),
    ], runsWithoutSubcommand: true)
}
