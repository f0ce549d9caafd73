import LabServer
import Testing

/// `wirelab serve` runs one event loop per core it may use (`taskset`), read from /proc.
@Suite struct UsableCoresTests {
    @Test(arguments: [
        ("Name:\twirelab\nCpus_allowed:\t2\nCpus_allowed_list:\t1\n", 1),
        ("Cpus_allowed_list:\t0-1\n", 2),
        ("Cpus_allowed_list:\t0-3,8,10-11\n", 7),
    ])
    func theAffinityListIsCounted(status: String, cores: Int) {
        #expect(usableCoreCount(status: status) == cores)
    }

    @Test func noListOrABrokenOneGivesNothing() {
        #expect(usableCoreCount(status: "Name:\twirelab\n") == nil)
        #expect(usableCoreCount(status: "Cpus_allowed_list:\t3-1\n") == nil)
        #expect(usableCoreCount(status: nil) == nil)
    }

    @Test func thisProcessMayUseAtLeastOneCore() {
        #expect((usableCoreCount() ?? 0) >= 1)
    }
}
