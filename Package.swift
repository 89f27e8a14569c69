// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "KVStore",
    products: [
        .library(name: "KVStore", targets: ["KVStore"]),
        .library(name: "KVCollections", targets: ["KVCollections"]),
        .library(name: "KVServer", targets: ["KVServer"]),
        .executable(name: "kvserver", targets: ["KVServerMain"]),
        .library(name: "KVClient", targets: ["KVClient"]),
        .executable(name: "kvctl", targets: ["kvctl"]),
        .executable(name: "kvdemo", targets: ["kvdemo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // Metrics: the engine publishes through swift-metrics (opt-in); kvserver's /metrics
        // endpoint renders them with swift-prometheus.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        // `make docs`: the DocC catalog (Sources/KVStore/KVStore.docc) built with warnings as errors.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // System libraries: a module map and a shim header each, nothing else.
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        // The few things Swift cannot say portably: SSE4.2 CRC32C chosen at run time.
        .target(name: "CKVSupport", path: "Sources/CKVSupport"),
        .target(
            name: "KVStore",
            dependencies: [
                "CZlib", "CLZ4", "CKVSupport",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Sources/KVStore",
            swiftSettings: strict),
        // Redis's data model on the engine: strings, hashes, sets, sorted sets and lists, for
        // the server and for Swift applications.
        .target(
            name: "KVCollections",
            dependencies: ["KVStore"],
            path: "Sources/KVCollections",
            swiftSettings: strict),
        // The Redis-protocol server as a library, so tests drive it in-process.
        .target(
            name: "KVServer",
            dependencies: [
                "KVStore", "KVCollections", "CKVSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/KVServer",
            swiftSettings: strict),
        // The `kvserver` executable. Its target is not named `kvserver`: beside `KVServer` that
        // name breaks a checkout (and the build directory) on a case-insensitive file system.
        .executableTarget(
            name: "KVServerMain",
            dependencies: [
                "KVServer", "KVStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/KVServerMain",
            swiftSettings: strict),
        // A blocking RESP client: kvctl --server, kvbench --server, the server's tests.
        .target(name: "KVClient", path: "Sources/KVClient", swiftSettings: strict),
        // The operator's command line.
        .executableTarget(
            name: "kvctl",
            dependencies: [
                "KVStore", "KVCollections", "KVClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/kvctl",
            swiftSettings: strict),
        .executableTarget(
            name: "kvdemo", dependencies: ["KVStore"], path: "Tools/kvdemo",
            swiftSettings: strict),
        // The benchmark (BENCHMARKS.md workloads; compare with ../shared/peerbench).
        .executableTarget(
            name: "kvbench",
            dependencies: ["KVStore", "KVClient", "KVStoreTesting", .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Tools/kvbench", swiftSettings: strict),
        // Child process for the kill -9 tests and the crash driver.
        .executableTarget(
            name: "kvcrash", dependencies: ["KVStore", "KVStoreTesting"], path: "Tools/kvcrash",
            swiftSettings: strict),
        // libFuzzer targets (make fuzz); a corpus replayer in ordinary builds.
        .executableTarget(
            name: "kvfuzz", dependencies: ["KVStore", "KVServer", "KVStoreTesting", "KVServerTesting"], path: "Tools/kvfuzz",
            swiftSettings: strict),
        // The README's embedding example, compiled verbatim (a test checks they match).
        .executableTarget(
            name: "ReadmeExample", dependencies: ["KVStore"], path: "Tests/ReadmeExample",
            swiftSettings: strict),
        // The leaderboard of KVCollections' DocC article, compiled and run by the tests.
        .executableTarget(
            name: "LeaderboardExample", dependencies: ["KVCollections", "KVStore"], path: "Tests/LeaderboardExample",
            swiftSettings: strict),
        // Helpers both test targets use (temporary directories, child processes, a clock).
        .target(name: "KVTestSupport", path: "Tests/KVTestSupport", swiftSettings: strict),
        // Test code the tools share with the tests, kept out of the products: the
        // fault-injecting file system, the seedable generator, the compaction pause switch
        // and the libFuzzer entry points (package access to the engine's decoders).
        .target(
            name: "KVStoreTesting", dependencies: ["KVStore"], path: "Tests/KVStoreTesting",
            swiftSettings: strict),
        .target(
            name: "KVServerTesting",
            dependencies: [
                "KVServer", "KVStore", "KVCollections", "KVStoreTesting",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/KVServerTesting", swiftSettings: strict),
        .testTarget(
            name: "KVStoreTests",
            dependencies: [
                "KVStore", "KVStoreTesting", "KVTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/KVStoreTests",
            swiftSettings: strict),
        .testTarget(
            name: "KVCollectionsTests",
            dependencies: ["KVCollections", "KVStore", "KVStoreTesting", "KVTestSupport"],
            path: "Tests/KVCollectionsTests",
            exclude: ["Fixtures"],
            swiftSettings: strict),
        .testTarget(
            name: "KVCtlTests",
            dependencies: [
                "KVServer", "KVStore", "KVStoreTesting", "KVTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/KVCtlTests",
            swiftSettings: strict),
        .testTarget(
            name: "KVServerTests",
            dependencies: [
                "KVServer", "KVStore", "KVCollections", "KVClient", "KVStoreTesting", "KVServerTesting", "KVTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/KVServerTests",
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
