// swift-tools-version: 6.2
import PackageDescription

/// ClusterFutures' benchmarks on ordo-one/benchmark, with committed thresholds: a separate package,
/// so that the library itself does not depend on the benchmark harness.
///
///     cd Benchmarks
///     swift package --disable-sandbox benchmark                  # run them, with wall clock and allocations
///     swift package --disable-sandbox benchmark thresholds check --metric mallocCountTotal
///
/// Thresholds are kept for allocation counts, which do not depend on how busy the machine is; the
/// figures to read beside the reference workloads of `../shared/anchors` come from `cf-bench`.
/// As in the library: Swift 6 language mode, and any warning fails the build.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "ClusterFuturesBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ClusterFutures", path: ".."),
        // The malloc interposer gives the allocation counts. The harness's other default trait
        // (retain and release counts, which these benchmarks do not use) needs a package that is
        // not among those this project builds with.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        benchmark("ExecutorBenchmarks", of: "ClusterFutures"),
        benchmark("WireBenchmarks", of: "ClusterFuturesWire"),
    ]
)

/// A benchmark executable in `Benchmarks/<name>`, run by the harness's plugin, over one product of
/// ClusterFutures.
func benchmark(_ name: String, of product: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            .product(name: product, package: "ClusterFutures"),
            .product(name: "Benchmark", package: "benchmark"),
        ],
        path: "Benchmarks/\(name)",
        swiftSettings: strict,
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}
