import Testing
@testable import Shared

@Suite struct ArgumentsTests {
    static let client: [Flag] = [
        Flag("server", .string, default: .string("http://127.0.0.1:4700"), help: "Master API address.", valueName: "URL"),
        Flag("json", .bool, help: "Print JSON."),
    ]
    static let root = CommandSpec("fuller-master", summary: "Fuller's master.", subcommands: [
        CommandSpec("serve", summary: "Run a master.", flags: [
            Flag("data-dir", .string, required: true, help: "Where the log lives.", valueName: "DIR"),
            Flag("port", .int, default: .int(4700), help: "API port."),
            Flag("ratio", .double, default: .double(0.5), help: "A ratio."),
            Flag("heartbeat", .duration, default: .duration(.milliseconds(100)), help: "Heartbeat interval."),
            Flag("peers", .list, help: "Peer addresses."),
            Flag("verbose", .bool, default: .bool(true), help: "Say more."),
        ]),
        CommandSpec("job", summary: "Manage jobs.", flags: client, subcommands: [
            CommandSpec("submit", summary: "Submit a job.", flags: [Flag("wait", .bool, help: "Wait for it.")],
                    positionals: [Positional("FILE", help: "Job file, or - for stdin.")]),
            CommandSpec("kill", summary: "Kill jobs.", positionals: [Positional("ID", help: "Job ids.", variadic: true)]),
            CommandSpec("list", summary: "List jobs.", positionals: [Positional("FILTER", help: "Filter.", required: false)]),
        ]),
    ])

    private func run(_ line: String, env: [String: String] = [:]) throws(ArgumentError) -> ParsedArguments {
        let words = line.split(separator: " ").map(String.init)
        guard case .run(let parsed) = try ArgumentParser.parse(words, for: Self.root, environment: env) else {
            preconditionFailure("expected a command, got help")
        }
        return parsed
    }

    @Test func subcommandWithPositionalAndInheritedFlags() throws {
        let parsed = try run("job submit job.json --wait --server=http://m2:4700")
        #expect(parsed.commandPath == ["fuller-master", "job", "submit"])
        #expect(parsed.positionals == ["job.json"])
        #expect(parsed.bool("wait") && !parsed.bool("json"))
        #expect(parsed.string("server") == "http://m2:4700")
        #expect(try run("job --json submit -").positionals == ["-"])
    }

    @Test func everyKindParsesAndDefaultsApply() throws {
        let parsed = try run("serve --data-dir /d --port 4800 --ratio=0.25 --heartbeat 1h30m --peers a,b --peers c --no-verbose")
        #expect(parsed.string("data-dir") == "/d")
        #expect(parsed.int("port") == 4800)
        #expect(parsed.double("ratio") == 0.25)
        #expect(parsed.duration("heartbeat") == .seconds(5400))
        #expect(parsed.list("peers") == ["a", "b", "c"])
        #expect(!parsed.bool("verbose"))
        let defaults = try run("serve --data-dir /d")
        #expect(defaults.int("port") == 4700 && defaults.duration("heartbeat") == .milliseconds(100))
        #expect(defaults.list("peers") == [] && defaults.bool("verbose"))
    }

    @Test func environmentFillsFlagsAndTheCommandLineWins() throws {
        let env = ["FULLER_DATA_DIR": "/env", "FULLER_PORT": "4900", "FULLER_PEERS": "m1=a:1,m2=b:2",
                   "FULLER_VERBOSE": "no", "FULLER_HEARTBEAT": "250ms"]
        let parsed = try run("serve --port 5000", env: env)
        #expect(parsed.string("data-dir") == "/env")
        #expect(parsed.int("port") == 5000)
        #expect(parsed.list("peers") == ["m1=a:1", "m2=b:2"])
        #expect(!parsed.bool("verbose") && parsed.duration("heartbeat") == .milliseconds(250))
        #expect(try run("job list", env: ["FULLER_SERVER": "http://x"]).string("server") == "http://x")
    }

    @Test func doubleDashEndsFlags() throws {
        let parsed = try run("job kill -- --not-a-flag -h")
        #expect(parsed.positionals == ["--not-a-flag", "-h"])
        #expect(try run("job kill a b c").positionals == ["a", "b", "c"])
        #expect(try run("job list").positionals == [])
    }

    @Test(arguments: [
        ("serve --data-dir /d --foo", "unknown flag --foo"),
        ("serve --data-dir /d -x", "unknown flag -x"),
        ("serve --data-dir /d --port x", "--port: \"x\" is not an integer"),
        ("serve --data-dir /d --ratio nan", "--ratio: \"nan\" is not a number"),
        ("serve --data-dir /d --heartbeat 10", "--heartbeat: \"10\" is not a duration like 250ms, 10s, 5m or 1h"),
        ("serve --data-dir /d --verbose=maybe", "--verbose: \"maybe\" is not true or false"),
        ("serve --data-dir /d --no-port", "unknown flag --no-port"),
        ("serve --data-dir", "--data-dir needs a value"),
        ("serve", "missing required --data-dir"),
        ("job submit", "missing argument FILE"),
        ("job submit a b", "unexpected argument \"b\""),
        ("job frob", "unknown command \"frob\" (expected one of: submit, kill, list)"),
        ("job", "missing command (expected one of: submit, kill, list)"),
        ("job submit f --data-dir /d", "unknown flag --data-dir"),
    ])
    func errorsNameTheCulprit(line: String, message: String) {
        #expect(throws: ArgumentError.self) { try run(line) }
        do { _ = try run(line) } catch { #expect(error.description == message) }
    }

    @Test func environmentErrorsNameTheVariable() {
        do {
            _ = try run("serve --data-dir /d", env: ["FULLER_PORT": "many"])
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "FULLER_PORT: \"many\" is not an integer")
        }
    }

    @Test func helpIsGeneratedFromTheDeclaration() throws {
        guard case .help(let text) = try ArgumentParser.parse(["job", "submit", "--help"], for: Self.root, environment: [:])
        else { Issue.record("expected help"); return }
        #expect(text == """
            Usage: fuller-master job submit [flags] FILE

            Submit a job.

            Arguments:
              FILE  Job file, or - for stdin.

            Flags:
              --[no-]json   Print JSON. [$FULLER_JSON]
              --server URL  Master API address. (default http://127.0.0.1:4700) [$FULLER_SERVER]
              --[no-]wait   Wait for it. [$FULLER_WAIT]
              -h, --help    Show this help.

            """)
        guard case .help(let top) = try ArgumentParser.parse(["-h"], for: Self.root, environment: [:]) else { return }
        #expect(top.hasPrefix("Usage: fuller-master COMMAND [flags]\n"))
        #expect(top.contains("  serve  Run a master.\n"))
    }

    @Test func environmentNames() {
        #expect(Flag("data-dir", .string, help: "").environmentName == "FULLER_DATA_DIR")
        #expect(Flag("memory-mb", .int, help: "").environmentName == "FULLER_MEMORY_MB")
    }

    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)), ("10s", .seconds(10)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
        ("1h30m", .seconds(5400)), ("1.5s", .milliseconds(1500)), ("0", .zero),
    ])
    func parsesDurations(text: String, duration: Duration) {
        #expect(DurationText.parse(text) == duration)
    }

    @Test(arguments: ["", "10", "s", "10x", "-1s", "1.2.3s", "1s ", "99999999999999999h"])
    func rejectsBadDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test(arguments: [(Duration.milliseconds(250), "250ms"), (.seconds(90), "90s"), (.seconds(3600), "1h"),
                      (.seconds(300), "5m"), (.zero, "0"), (.milliseconds(1500), "1500ms")])
    func formatsDurations(duration: Duration, text: String) {
        #expect(DurationText.format(duration) == text)
        #expect(DurationText.parse(text) == duration)
    }
}
