// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "MeetKit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meetkit", targets: ["meetkit"]),
        .library(name: "MeetKit", targets: ["MeetKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // MARK: System libraries
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // Not through pkg-config: its -D_REENTRANT flag is refused with a warning. The header
        // is found under /usr/include by its directory name (see shim.h).
        .systemLibrary(name: "CDNSSD", providers: [.apt(["libavahi-compat-libdnssd-dev"])]),

        // MARK: Pure modules (no I/O, no clocks, no randomness of their own)
        .target(name: "MeetKitCrypto", dependencies: ["CSodium"]),
        .target(name: "MeetKitCore", dependencies: ["MeetKitCrypto"]),
        .target(name: "MeetKitProtocol", dependencies: ["MeetKitCrypto", "MeetKitCore"]),

        // MARK: I/O
        .target(
            name: "MeetKitStore",
            dependencies: ["MeetKitCore", "MeetKitCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),

        .target(
            name: "MeetKitNode",
            dependencies: [
                "MeetKitStore", "MeetKitProtocol", "CDNSSD",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: The engine: the only library product
        .target(name: "MeetKit", dependencies: ["MeetKitNode", "MeetKitStore", "MeetKitProtocol", "MeetKitCore", "MeetKitCrypto"]),

        // MARK: Executables
        .executableTarget(
            name: "meetkit",
            dependencies: ["MeetKit", "MeetKitNode", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "meetkit-bench", dependencies: ["MeetKitStore"]),
        .executableTarget(name: "meetkit-devtool", dependencies: ["MeetKitStore"]),
        .executableTarget(name: "meetkit-embedding-example", dependencies: ["MeetKit"], path: "Examples/Embedding"),

        // MARK: Fuzzing (Tests/Fuzz/README.md)
        .target(name: "MeetKitFuzzTargets", dependencies: ["MeetKitProtocol", "MeetKitCore", "MeetKitCrypto"], path: "Tests/Fuzz/Targets"),
        .executableTarget(name: "meetkit-fuzz", dependencies: ["MeetKitFuzzTargets"], path: "Tests/Fuzz/Main"),

        // MARK: Tests
        .target(name: "MeetKitTestSupport", dependencies: ["MeetKitStore", "MeetKitProtocol"], path: "Tests/MeetKitTestSupport"),
        .testTarget(name: "MeetKitCryptoTests", dependencies: ["MeetKitCrypto"]),
        .testTarget(name: "MeetKitCoreTests", dependencies: ["MeetKitCore"]),
        .testTarget(name: "MeetKitProtocolTests", dependencies: ["MeetKitProtocol", "MeetKitCrypto", "MeetKitCore"]),
        .testTarget(name: "MeetKitTests", dependencies: ["MeetKit", "MeetKitStore", "MeetKitCore", "MeetKitCrypto"]),
        .testTarget(name: "MeetKitStoreTests", dependencies: ["MeetKitTestSupport", "MeetKitStore", "meetkit-devtool"]),
        .testTarget(name: "MeetKitNodeTests", dependencies: ["MeetKitTestSupport", "meetkit", "MeetKitNode", "MeetKitProtocol", "MeetKitStore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "MeetKitInteropTests", dependencies: ["MeetKitTestSupport", "meetkit", "meetkit-devtool", "MeetKitCore", "MeetKitProtocol"]),
        .testTarget(name: "MeetKitLabTests", dependencies: ["MeetKitTestSupport", "meetkit", "MeetKitProtocol", "MeetKitCore", "MeetKitCrypto"]),
        .testTarget(name: "MeetKitFuzzTests", dependencies: ["MeetKitFuzzTargets", "MeetKitTestSupport"]),
        .testTarget(
            name: "MeetKitCLITests",
            dependencies: [
                "meetkit", "meetkit-devtool", "meetkit-embedding-example", "MeetKitTestSupport", "MeetKit", "MeetKitNode",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
