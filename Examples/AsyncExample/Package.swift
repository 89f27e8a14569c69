// swift-tools-version: 6.2
// An app outside this package that uses KVStore's async API, built by `make example` (and
// so by `make test`): proof that the library product works for a dependent package. The
// dependency is the project itself, through the link `make example` places in .build/ (a
// path dependency is named after its directory, and a checkout's directory name varies).
import PackageDescription

let package = Package(
    name: "AsyncExample",
    dependencies: [
        .package(path: "../../.build/KVStore"),
    ],
    targets: [
        .executableTarget(
            name: "AsyncExample",
            dependencies: [.product(name: "KVStore", package: "KVStore")],
            path: "Sources",
            swiftSettings: [.treatAllWarnings(as: .error)]),
    ],
    swiftLanguageModes: [.v6]
)
