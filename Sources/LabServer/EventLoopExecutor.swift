import NIOCore

/// Runs a task's jobs on one NIO event loop: a connection's writer task then runs on the thread
/// that owns the connection's socket, so its writes need no hand-over between threads.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `loop` is immutable and an event loop is safe to use from any thread.
    private let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
