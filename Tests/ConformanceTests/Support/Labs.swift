import LabServer
import Logging
import WireProtocol

/// The labs the suite runs against, each started once per test run on a free port and shared by
/// the cases (every case has connections, names and rooms of its own).
enum LabKind: Sendable, Hashable, CustomStringConvertible {
    /// The lab as `wirelab serve` starts it (1 MiB messages), without server pings, which would
    /// come at random moments.
    case standard
    /// Room for the largest framing cases: 16 MiB messages.
    case large
    /// A lab started with a limit of its own, as `--max-message-size` sets one.
    case limited(Int)

    var maxMessageSize: Int {
        switch self {
        case .standard: LabLimits().maxMessageSize
        case .large: 16 << 20
        case .limited(let size): size
        }
    }

    var description: String {
        switch self {
        case .standard: "standard lab"
        case .large: "16 MiB lab"
        case .limited(let size): "lab limited to \(size) bytes"
        }
    }
}

/// A lab that is listening: in this process, or a `wirelab serve` the suite started.
struct RunningLab: Sendable {
    let kind: LabKind
    let port: Int
}

actor Labs {
    static let shared = Labs()

    /// Each lab is kept (and so keeps running) until the test process ends.
    private var labs: [LabKind: Task<(Lab, RunningLab), any Error>] = [:]
    private var tokens: [Int: Task<String, any Error>] = [:]
    private var jobs: [Int: (started: ContinuousClock.Instant, id: Task<Int, any Error>)] = [:]

    func lab(_ kind: LabKind) async throws -> RunningLab {
        if let starting = labs[kind] { return try await starting.value.1 }
        let starting = Task {
            var configuration = LabConfiguration()
            configuration.port = 0
            configuration.limits.maxMessageSize = kind.maxMessageSize
            configuration.limits.pingInterval = nil
            configuration.logger = Logger(label: "conformance")
            configuration.logger.logLevel = .critical
            let lab = try Lab(configuration: configuration)
            return (lab, RunningLab(kind: kind, port: try await lab.start()))
        }
        labs[kind] = starting
        return try await starting.value.1
    }

    /// alice's token on that lab, got once with `POST /auth/token`.
    func token(on lab: RunningLab) async throws -> String {
        if let getting = tokens[lab.port] { return try await getting.value }
        let getting = Task {
            let (status, json) = try await RawHTTP.postJSON("/auth/token", #"{"username":"alice","password":"wonderland"}"#, port: lab.port)
            guard status == 200, let token = json["access_token"]?.stringValue else {
                throw ConformanceFailure(description: "POST /auth/token answered \(status) \(json.text)")
            }
            return token
        }
        tokens[lab.port] = getting
        return try await getting.value
    }

    /// A training job that will run for a while yet (a finished job's WebSocket closes at once).
    /// Jobs of 300 epochs run about 30 s; a new one starts when the last is 10 s old.
    func runningJob(on lab: RunningLab) async throws -> Int {
        if let job = jobs[lab.port], ContinuousClock.now - job.started < .seconds(10) { return try await job.id.value }
        let starting = Task {
            let (status, json) = try await RawHTTP.postJSON("/jobs/train", #"{"epochs":300}"#, port: lab.port)
            guard status == 202, let id = json["job_id"]?.numberValue else {
                throw ConformanceFailure(description: "POST /jobs/train answered \(status) \(json.text)")
            }
            return Int(id)
        }
        jobs[lab.port] = (ContinuousClock.now, starting)
        return try await starting.value
    }
}
