import Foundation

/// The CPUs this process may run on: its affinity mask, as `taskset` sets it (read from
/// `/proc/self/status`, `Cpus_allowed_list: 0-1` or `1`). NIO sizes its event loop group by the
/// machine's cores; a server pinned to one core with two event loops only has them take turns
/// on it, a context switch each time (BENCHMARKS.md, one-core runs).
public func usableCoreCount(status: String? = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) -> Int? {
    guard let line = status?.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return nil }
    var count = 0
    for range in line.dropFirst("Cpus_allowed_list:".count).split(separator: ",") {
        let bounds = range.trimmingCharacters(in: .whitespaces).split(separator: "-").compactMap { Int($0) }
        guard let first = bounds.first, let last = bounds.last, last >= first else { return nil }
        count += last - first + 1
    }
    return count > 0 ? count : nil
}
