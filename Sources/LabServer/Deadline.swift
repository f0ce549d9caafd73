import NIOConcurrencyHelpers

/// Runs `operation` and returns when it finishes or `deadline` passes, whichever is first.
///
/// Unlike a task group, it does not wait for an operation that ignores cancellation (a write to
/// a peer that has stopped reading can hang until the connection is closed): the operation is
/// left to finish on its own.
func finish(within deadline: Duration, _ operation: @escaping @Sendable () async -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumed = NIOLockedValueBox(false)
        let resumeOnce: @Sendable () -> Void = {
            let first = resumed.withLockedValue { done in
                defer { done = true }
                return !done
            }
            if first { continuation.resume() }
        }
        Task {
            await operation()
            resumeOnce()
        }
        Task {
            try? await Task.sleep(for: deadline)
            resumeOnce()
        }
    }
}
