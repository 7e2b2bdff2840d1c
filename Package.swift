// swift-tools-version: 6.2
import PackageDescription

/// Every target of ours is built in Swift 6 language mode with strict concurrency, and any warning
/// fails the build.
let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
]

/// Linux only: the process pool and the system shim use memfd, eventfd, `/proc` and GNU build ids,
/// and the MPI products use MPICH or Open MPI as Linux distributions package them. Building for
/// another system stops at an `#error` in CClusterFuturesSystem that says so.
let package = Package(
    name: "ClusterFutures",
    products: [
        /// Futures, functions by name, the executors that need nothing but the operating system.
        .library(name: "ClusterFutures", targets: ["ClusterFutures"]),
        /// The compact binary Codable format that carries inputs, outputs and errors.
        .library(name: "ClusterFuturesWire", targets: ["ClusterFuturesWire"]),
        /// Benchmarks printed beside the reference workloads in `../shared/anchors`.
        .executable(name: "cf-bench", targets: ["CFBench"]),
        /// The OSU micro-benchmarks' loops over the Swift MPI module (`Examples/OSU`): latency,
        /// bandwidth and bidirectional bandwidth between two ranks; `cf-bench osu` runs them beside C.
        .executable(name: "cf-osu", targets: ["CFOSU"]),
        /// The main demonstration.
        .executable(name: "cf-demo", targets: ["CFDemo"]),
        /// Swift bindings for MPI (MPICH, or Open MPI with the trait OpenMPI): communicators,
        /// point-to-point, collectives, Codable values and typed buffers. A separate product, so
        /// local-only users need no MPI headers.
        .library(name: "MPI", targets: ["MPI"]),
        /// `MPIPoolExecutor` and `Executors.automatic()`: the same program on one machine or under
        /// `mpiexec`. Re-exports ClusterFutures.
        .library(name: "ClusterFuturesMPI", targets: ["ClusterFuturesMPI"]),
        /// `ExecutorOptions` (`--executor`, `--workers`) and `ClusterCommand`, for programs written
        /// with swift-argument-parser: a separate product, so the others do not depend on it.
        /// Re-exports ClusterFuturesMPI and ArgumentParser.
        .library(name: "ClusterFuturesArguments", targets: ["ClusterFuturesArguments"]),
        /// Checks a machinefile before a run: names, ssh, MPI and the program on every host.
        .executable(name: "cf-doctor", targets: ["CFDoctor"]),
    ],
    /// The MPI the MPI products build against, picked at build time: MPICH by default, Open MPI with
    /// `swift build --traits OpenMPI`, which replaces the default (use a scratch path of its own, such
    /// as `--scratch-path .build-openmpi`; `scripts/test-openmpi` does both). Exactly one of the two.
    traits: [
        .trait(name: "MPICH", description: "Build the MPI products against MPICH (pkg-config mpich)."),
        .trait(name: "OpenMPI", description: "Build the MPI products against Open MPI (pkg-config ompi-c)."),
        .default(enabledTraits: ["MPICH"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        // Only the scrape example's local web server uses it.
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        /// `swift package generate-documentation` for the catalogs under `Sources/*/*.docc`.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "ClusterFuturesWire",
            swiftSettings: strict
        ),
        /// The few lines of C that Swift cannot express: the pre-main worker hook, posix_spawn with a
        /// fixed descriptor layout, the ELF build id, and the parent-death watchdog thread.
        .target(name: "CClusterFuturesSystem"),
        .target(
            name: "ClusterFutures",
            dependencies: [
                "CClusterFuturesSystem",
                "ClusterFuturesWire",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CFBench",
            dependencies: [
                "ClusterDoctor",
                "CFOSU",
                "ClusterFutures",
                "ClusterFuturesMPI",
                "ClusterFuturesArguments",
                "ClusterFuturesWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        /// `cf-osu`: osu_latency, osu_bw and osu_bibw over the MPI module, an example and the Swift
        /// side of `cf-bench osu`.
        .executableTarget(
            name: "CFOSU",
            dependencies: ["MPI"],
            path: "Examples/OSU",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CFDemo",
            dependencies: ["ClusterFuturesArguments", "ExampleSupport"],
            path: "Examples/Demo",
            swiftSettings: strict
        ),
        /// The checks behind `cf-doctor`: machinefile and host name rules, ELF build ids, the
        /// report each host sends back, and running them all concurrently with a time limit.
        .target(
            name: "ClusterDoctor",
            dependencies: ["CClusterFuturesSystem"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CFDoctor",
            dependencies: [
                "ClusterDoctor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "ClusterFuturesTestSupport",
            dependencies: ["ClusterFutures", "ClusterDoctor"],
            path: "Tests/ClusterFuturesTestSupport",
            swiftSettings: strict
        ),
        /// A ClusterFutures program the process-pool tests run: a pool's parent to kill, and a
        /// different build to refuse as a worker.
        .executableTarget(
            name: "cf-test-scenarios",
            dependencies: ["ClusterFutures", "ClusterFuturesTestSupport"],
            path: "Tests/TestScenarios",
            swiftSettings: strict
        ),
        /// MPICH, found with pkg-config, behind a small shim header (`apt-get install libmpich-dev
        /// mpich`). Only the MPI products need it; `ClusterFutures` builds without it. (SwiftPM drops
        /// the `-Wl,-z,relro` that Debian's mpich.pc carries, and says so on each build.)
        .systemLibrary(
            name: "CMPICH",
            path: "Sources/CMPICH",
            pkgConfig: "mpich",
            providers: [.apt(["libmpich-dev"])]
        ),
        /// Open MPI (trait `OpenMPI`), found with pkg-config as `ompi-c`, behind the same shim
        /// header: its module map names the module `CMPICH` too, so the Swift code imports one module
        /// whichever MPI it is built against (`apt-get install libopenmpi-dev openmpi-bin`).
        .systemLibrary(
            name: "COpenMPI",
            path: "Sources/COpenMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        .target(
            name: "MPI",
            dependencies: [
                .target(name: "CMPICH", condition: .when(traits: ["MPICH"])),
                .target(name: "COpenMPI", condition: .when(traits: ["OpenMPI"])),
                "ClusterFuturesWire",
            ],
            swiftSettings: strict
        ),
        .target(
            name: "ClusterFuturesMPI",
            dependencies: [
                "ClusterFutures",
                "CClusterFuturesSystem",
                "ClusterFuturesWire",
                "MPI",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "ClusterFuturesArguments",
            dependencies: [
                "ClusterFuturesMPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        /// The scenarios the MPI tests run under `mpiexec`.
        .executableTarget(
            name: "mpi-test-programs",
            dependencies: ["MPI"],
            path: "Tests/MPITestPrograms",
            swiftSettings: strict
        ),
        .testTarget(
            name: "MPITests",
            dependencies: ["MPI", "mpi-test-programs", "ClusterFuturesTestSupport", "CFBench", "CFOSU"],
            swiftSettings: strict
        ),
        /// A ClusterFutures program the MPI pool tests launch under `mpiexec` (and without it).
        .executableTarget(
            name: "mpi-pool-test-programs",
            dependencies: ["ClusterFuturesMPI", "MPI", "ClusterFuturesTestSupport"],
            path: "Tests/MPIPoolTestPrograms",
            swiftSettings: strict
        ),
        /// What the MPI pool's tests share: worker ranks in memory, for its dispatcher without
        /// `mpiexec`.
        .target(
            name: "ClusterFuturesMPITestSupport",
            dependencies: ["ClusterFuturesMPI", "ClusterFuturesWire"],
            path: "Tests/ClusterFuturesMPITestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ClusterFuturesMPITests",
            dependencies: ["ClusterFuturesMPI", "ClusterFuturesTestSupport", "ClusterFuturesMPITestSupport", "mpi-pool-test-programs",
                           "mpi-test-programs"],
            swiftSettings: strict
        ),
        /// A `ClusterCommand` the arguments tests launch under `mpiexec` (and without it).
        .executableTarget(
            name: "cluster-command-test-program",
            dependencies: ["ClusterFuturesArguments", "ClusterFuturesTestSupport"],
            path: "Tests/ClusterCommandTestProgram",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ClusterFuturesArgumentsTests",
            dependencies: ["ClusterFuturesArguments", "ClusterFuturesTestSupport", "cluster-command-test-program", "CFDemo"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ClusterFuturesWireTests",
            dependencies: ["ClusterFuturesWire", "ClusterFuturesTestSupport"],
            swiftSettings: strict
        ),
        /// `CClusterFuturesSystem` for the running test binary's own build id, to check the ELF
        /// parser against; `CFDoctor` so that `cf-doctor` is built beside the test runner.
        .testTarget(
            name: "ClusterDoctorTests",
            dependencies: ["ClusterDoctor", "CFDoctor", "CClusterFuturesSystem", "ClusterFuturesTestSupport"],
            swiftSettings: strict
        ),
        /// Every worker reports the host, and the rank or worker, it runs on.
        .executableTarget(
            name: "cf-hostname",
            dependencies: ["ClusterFuturesArguments"],
            path: "Examples/Hostname",
            swiftSettings: strict
        ),
        /// The README's example, with an `async` main.
        .executableTarget(
            name: "readme-example",
            dependencies: ["ClusterFutures"],
            path: "Examples/ReadmeExample",
            swiftSettings: strict
        ),
        /// The same code on the MPI pool, a process pool or inline, saying which it got and why.
        .executableTarget(
            name: "cf-fallback",
            dependencies: ["ClusterFuturesArguments", "ExampleSupport"],
            path: "Examples/Fallback",
            swiftSettings: strict
        ),
        /// A table computed once and shared with the workers, through the worker initializer and
        /// through a file.
        .executableTarget(
            name: "cf-precompute",
            dependencies: ["ClusterFuturesArguments", "ClusterFuturesWire", "ExampleSupport"],
            path: "Examples/Precompute",
            swiftSettings: strict
        ),
        /// Calls run in place while they are cheap and handed to the pool, state and all, once they
        /// turn out to be expensive.
        .executableTarget(
            name: "cf-background-if-slow",
            dependencies: ["ClusterFuturesArguments", "ExampleSupport"],
            path: "Examples/BackgroundIfSlow",
            swiftSettings: strict
        ),
        /// I/O-bound tasks: pages fetched from a local HTTP server (FlyingFox), many requests in
        /// flight on each worker.
        .executableTarget(
            name: "cf-scrape",
            dependencies: ["ClusterFuturesArguments", .product(name: "FlyingFox", package: "FlyingFox")],
            path: "Examples/Scrape",
            swiftSettings: strict
        ),
        /// What several examples share: pi's series and its report, the checklist the MPI
        /// examples print, the primality test the demo, `cf-fallback` and `cf-background-if-slow`
        /// count with, and the sieve `cf-precompute` and `cf-background-if-slow` use.
        .target(
            name: "ExampleSupport",
            dependencies: ["MPI"],
            path: "Examples/Support",
            swiftSettings: strict
        ),
        /// Pi by the alternating series, in slices handed out by the executor, with a table of
        /// times for 1...N workers.
        .executableTarget(
            name: "cf-pi",
            dependencies: ["ClusterFuturesArguments", "ExampleSupport"],
            path: "Examples/Pi",
            swiftSettings: strict
        ),
        /// The same pi as the articles' master/worker loop over the MPI module: `ANY_SOURCE`, two
        /// tags, `-1` to stop.
        .executableTarget(
            name: "cf-pi-master-worker",
            dependencies: ["MPI", "ExampleSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/PiMasterWorker",
            swiftSettings: strict
        ),
        /// The MPI module's point-to-point calls between rank 0 and rank 1, each checked.
        .executableTarget(
            name: "cf-point-to-point",
            dependencies: ["MPI", "ExampleSupport"],
            path: "Examples/PointToPoint",
            swiftSettings: strict
        ),
        /// The MPI module's collectives on every rank, each checked to be exact.
        .executableTarget(
            name: "cf-collectives",
            dependencies: ["MPI", "ExampleSupport"],
            path: "Examples/Collectives",
            swiftSettings: strict
        ),
        /// The examples under `Examples/`, each built and run alone, under `mpiexec` and, where it is
        /// about hosts, on a virtual cluster, with its output checked; `ExampleSupport` for the
        /// checklist the MPI examples print, tested on its own.
        .testTarget(
            name: "ExampleTests",
            dependencies: ["ClusterFuturesTestSupport", "ExampleSupport", "CFOSU", "cf-hostname", "cf-pi",
                           "cf-pi-master-worker", "cf-point-to-point", "cf-collectives", "cf-fallback",
                           "cf-precompute", "cf-background-if-slow", "cf-scrape"],
            swiftSettings: strict
        ),
        /// The README's one-line command-line shape (`ClusterCommand`) and its configured choice.
        .executableTarget(
            name: "readme-command",
            dependencies: ["ClusterFuturesArguments"],
            path: "Examples/ReadmeCommand",
            swiftSettings: strict
        ),
        /// The README's snippets: each is built by a target under `Examples/`, and its Package.swift
        /// resolves as written.
        .testTarget(
            name: "ReadmeTests",
            dependencies: ["ClusterFuturesTestSupport", "readme-example", "readme-command"],
            swiftSettings: strict
        ),
        /// The documentation's code is compiled (`Snippets/`, which `swift build` builds) and its lists
        /// match the code.
        .testTarget(
            name: "DocumentationTests",
            dependencies: ["ClusterFuturesTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ClusterFuturesTests",
            dependencies: ["ClusterFutures", "ClusterFuturesTestSupport", "cf-test-scenarios"],
            swiftSettings: strict
        ),
    ]
)
