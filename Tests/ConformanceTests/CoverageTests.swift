import LabServer
import Logging
import Testing

/// The suite runs against every WebSocket route: an endpoint added without a ``Target`` fails here.
@Suite("Coverage") struct CoverageTests {
    @Test("every WebSocket route of the lab has a target")
    func everyRouteIsATarget() {
        let context = LabContext(clock: .system, limits: LabLimits(), broadcastMode: .queued, logger: Logger(label: "coverage"))
        let routes = Set(Endpoint.makeAll(context).flatMap(\.webSocketRoutes).map(\.pattern.description))
        #expect(routes == Set(Target.allCases.map(\.route)))
    }
}
