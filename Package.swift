// swift-tools-version:6.0
// Fuller: a container control plane. No package dependencies: only the toolchain.
//
// The pure cores are their own targets so the compiler keeps them pure: `Model` (job and task
// types, validation) and `JobStore` (the state machine) cannot import sockets, clocks or files.
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "Fuller",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fuller-master", targets: ["Master"]),
        .executable(name: "fuller-agent", targets: ["Agent"]),
    ],
    targets: [
        // Pure: the job/task model, wire types and validation.
        .target(name: "Model", path: "Sources/Shared/Model", swiftSettings: strict,
                linkerSettings: [.linkedLibrary("m")]),
        // Shell pieces shared by master and agent: HTTP/1.1, metrics, logging, arguments, checksums.
        .target(name: "Shared", dependencies: ["Model"], path: "Sources/Shared",
                exclude: ["Model"], swiftSettings: strict),
        // Pure: the job store state machine (apply, snapshot, restore).
        .target(name: "JobStore", dependencies: ["Model"], path: "Sources/Master/Store",
                swiftSettings: strict),
        // Pure: placement (the Fenzo-class scheduler, its scenario format and in-memory world).
        .target(name: "Scheduler", dependencies: ["Model"], path: "Sources/Master/Scheduler",
                swiftSettings: strict),
        // Pure: the autoscaler's rules and decisions (shortfall sizing, idle limits, scale-down choice).
        .target(name: "Autoscaler", dependencies: ["Model"], path: "Sources/Master/Autoscaler",
                swiftSettings: strict),
        // Pure: the reconciler (store vs. agent reports → commands and kills).
        .target(name: "Reconciler", dependencies: ["Model", "JobStore"], path: "Sources/Master/Reconciler",
                swiftSettings: strict),
        // Pure: the Raft consensus core (no I/O, no clock; time comes in as ticks).
        .target(name: "Raft", path: "Sources/Master/Raft", swiftSettings: strict),
        // Files: the write-ahead log and snapshot files.
        .target(name: "Storage", dependencies: ["Shared"], path: "Sources/Master/Storage",
                swiftSettings: strict),
        .executableTarget(name: "Master", dependencies: ["Shared", "Model", "JobStore", "Storage", "Scheduler", "Raft", "Autoscaler", "Reconciler"],
                          path: "Sources/Master", exclude: ["Store", "Storage", "Scheduler", "Raft", "Autoscaler", "Reconciler", "API/openapi.json"],
                          swiftSettings: strict),
        .executableTarget(name: "Agent", dependencies: ["Shared", "Model"], path: "Sources/Agent",
                          swiftSettings: strict),
        // Helpers shared by the test targets: real processes, temp dirs, a simulated agent.
        .target(name: "TestSupport", dependencies: ["Shared", "Model"], path: "Tests/Support"),
        // The start-latency benchmark's client (Tests/Benchmarks/start.sh).
        .executableTarget(name: "Bench", dependencies: ["Shared", "Model"], path: "Tests/Benchmarks/Bench",
                          swiftSettings: strict),
        // The reconciler benchmark (Tests/Benchmarks/reconcile.sh).
        .executableTarget(name: "ReconcileBench", dependencies: ["Model", "JobStore", "Reconciler"],
                          path: "Tests/Benchmarks/ReconcileBench", swiftSettings: strict),
        .testTarget(name: "SharedTests", dependencies: ["Shared", "Model"], path: "Tests/SharedTests"),
        .testTarget(name: "MasterTests", dependencies: ["Master", "JobStore", "Storage", "Scheduler", "Raft", "Autoscaler", "Reconciler", "Shared", "Model", "TestSupport"],
                    path: "Tests/MasterTests", exclude: ["Raft", "Reconciler/Scenarios", "Scheduler/Scenarios"]),
        // The Raft core's tests: rules, scenario files and the seeded cluster simulation.
        .testTarget(name: "RaftTests", dependencies: ["Raft", "TestSupport"], path: "Tests/MasterTests/Raft",
                    exclude: ["Scenarios"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Shared", "Model", "TestSupport"], path: "Tests/AgentTests"),
    ],
    swiftLanguageModes: [.v6]
)
