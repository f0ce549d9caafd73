import Hummingbird
import NIOCore

/// Hummingbird's basic context plus the connection, so that an event stream notices at once when
/// its client goes away (the guide's `request.is_disconnected()`), not at the next write.
struct LabRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
