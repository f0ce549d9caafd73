// swift-tools-version: 6.1
import PackageDescription

// One set of compiler settings for every target: Swift 6 language mode, strict concurrency.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "wirelab",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "wirelab", targets: ["wirelab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        // permessage-deflate (RFC 7692): zlib through NIO's ByteBuffer, as HummingbirdWSCompression uses it.
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // TLS for wss:// and https://: NIOSSL's handlers and a certificate generated at start.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // Pure protocol knowledge: frames, handshake, HTTP heads, byte accounting. No I/O.
        .target(
            name: "WireProtocol",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // NIO handlers that the lab and its clients both put in their pipelines.
        .target(
            name: "WireTransport",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // The lab server: one file per endpoint of the guide.
        .target(
            name: "LabServer",
            dependencies: [
                "WireProtocol",
                "WireTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSCompression", package: "hummingbird-websocket"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            exclude: ["Resources/README.md"],
            resources: [.copy("Resources/iris.csv"), .copy("Resources/playground.html")],
            swiftSettings: swiftSettings
        ),
        // Clients whose first pipeline handler taps every byte.
        .target(
            name: "WireClient",
            dependencies: [
                "WireProtocol",
                "WireTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CLibEdit",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        // The REPL's signal handlers: they put the terminal's settings back on every way out.
        .target(name: "CTerminalGuard"),
        // The same work over every transport, measured from the clients' taps.
        .target(
            name: "Comparison",
            dependencies: [
                "WireProtocol", "WireClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Load on a WebSocket server, measured: `wirelab bench`.
        .target(
            name: "Bench",
            dependencies: [
                "WireProtocol", "WireClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Lessons: their files, checks and saved progress.
        .target(name: "Lessons", dependencies: ["WireProtocol"], swiftSettings: swiftSettings),
        // The REPL, its commands, rendering and transcript replay.
        .target(
            name: "WirelabREPL",
            dependencies: [
                "WireProtocol", "WireClient", "LabServer", "Comparison", "Lessons", "CLibEdit", "CTerminalGuard",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "wirelab",
            dependencies: [
                "WirelabREPL", "LabServer", "Comparison", "Bench", "Lessons", "WireClient", "WireProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WireProtocolTests",
            dependencies: ["WireProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WireClientTests",
            dependencies: [
                "WireClient", "WireProtocol", "WireTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LessonsTests",
            dependencies: ["Lessons", "WireProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ComparisonTests",
            dependencies: ["Comparison", "WireProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BenchTests",
            dependencies: ["Bench", "LabServer", "WireClient", "WireProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "WireProtocol", "WireClient", "LabServer", "Comparison", "Lessons", "WirelabREPL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["peers", "corpus"],
            swiftSettings: swiftSettings
        ),
        // RFC 6455 conformance, in Autobahn|Testsuite's categories: hand-built bytes over real
        // sockets against every WebSocket endpoint of an in-process lab.
        .testTarget(
            name: "ConformanceTests",
            dependencies: [
                "WireProtocol", "LabServer", "WireClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
