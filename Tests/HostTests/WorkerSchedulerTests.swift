@testable import Host
import XCTest

/// The worker pool's decisions, without processes: events in, actions out, time as a number.
final class WorkerSchedulerTests: XCTestCase {
    typealias Action = WorkerScheduler.Action
    private let alice = Namespace(subject: "alice"), bob = Namespace(subject: "bob")

    private func scheduler(workers: Int = 1, maximumQueued: Int = 4, perSubject: Int? = nil,
                           tenants: [String: TenantQueueLimits] = [:]) -> WorkerScheduler {
        WorkerScheduler(configuration: .init(workerCount: workers, admission: ExecutionAdmission(
            maximumQueued: maximumQueued, perSubject: perSubject, tenants: tenants)))
    }

    private func member(_ tenant: String, _ subject: String = "s") -> Namespace {
        Namespace(tenant: tenant, subject: subject, sharedState: false)
    }

    private func finish(_ machine: inout WorkerScheduler, slot: Int, now: TimeInterval = 1) -> [Action] {
        guard case .busy(let id) = machine.slots[slot].state else { return [] }
        _ = machine.workerStarted(slot: slot, generation: machine.slots[slot].generation, job: id)
        return machine.workerFinished(slot: slot, generation: machine.slots[slot].generation, job: id,
                                      outcome: RunOutcome(status: .completed), now: now)
    }

    /// The tenant of each busy worker's run.
    private func runningTenants(_ machine: WorkerScheduler) -> [String] {
        machine.slots.indices.compactMap { machine.tenant(ofRunOn: $0) }.sorted()
    }

    /// Starts every worker and makes it ready.
    private func readied(_ machine: inout WorkerScheduler, now: TimeInterval = 0) -> [Action] {
        var actions: [Action] = []
        for case .spawn(let slot, let generation) in machine.tick(now: now) {
            actions += machine.workerReady(slot: slot, generation: generation, now: now)
        }
        return actions
    }

    private func submit(_ machine: inout WorkerScheduler, namespace: Namespace = .default, timeout: TimeInterval = 10,
                        now: TimeInterval = 0) -> (WorkerScheduler.JobID, [Action]) {
        let id = machine.issueJobID()
        return (id, machine.enqueue(id, namespace: namespace, timeout: timeout, reserved: false, now: now))
    }

    func testTheFirstTickStartsEveryWorkerAndAReadyWorkerTakesAQueuedJob() {
        var machine = scheduler(workers: 2)
        XCTAssertEqual(machine.tick(now: 0), [.spawn(slot: 0, generation: 1), .spawn(slot: 1, generation: 1)])
        let (id, queued) = submit(&machine)
        XCTAssertEqual(queued, [], "no worker is ready yet")
        XCTAssertEqual(machine.queue.count, 1)
        XCTAssertEqual(machine.workerReady(slot: 1, generation: 1, now: 0), [.send(.run(id), slot: 1)])
        XCTAssertEqual(machine.slots[1].state, .busy(id))
        XCTAssertEqual(machine.workerStarted(slot: 1, generation: 1, job: id), [.started(id)])
        XCTAssertEqual(machine.workerStarted(slot: 1, generation: 1, job: id), [], "announced once")
        let done = RunOutcome(status: .completed, resultJSON: "1")
        XCTAssertEqual(machine.workerFinished(slot: 1, generation: 1, job: id, outcome: done, now: 1), [.resume(id, done)])
        XCTAssertEqual(machine.slots[1].state, .idle)
        XCTAssertTrue(machine.jobs.isEmpty)
    }

    func testBeyondTheQueueBoundARunIsRefusedAsBusy() {
        var machine = scheduler(workers: 1, maximumQueued: 1)
        _ = readied(&machine)
        _ = submit(&machine) // runs
        _ = submit(&machine) // waits
        let (refused, actions) = submit(&machine)
        guard case .fail(refused, let error)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertTrue(error.description.contains("(--max-concurrent-executions, --max-queued-executions)"), error.description)
        XCTAssertEqual(machine.jobs.count, 2)
    }

    func testANamespaceOverItsShareIsRefusedWhileAnotherIsAdmitted() {
        var machine = scheduler(workers: 1, maximumQueued: 10, perSubject: 2)
        _ = readied(&machine)
        _ = submit(&machine, namespace: alice)
        _ = submit(&machine, namespace: alice)
        let (_, third) = submit(&machine, namespace: alice)
        guard case .fail(_, let error)? = third.first else { return XCTFail("\(third)") }
        XCTAssertTrue(error.description.contains("--max-executions-per-subject 2"), error.description)
        XCTAssertEqual(submit(&machine, namespace: bob).1, [])
        XCTAssertNotNil(machine.reserve(namespace: alice), "a reservation counts against the share too")
        XCTAssertNil(machine.reserve(namespace: bob))
    }

    func testAFreeWorkerTakesTheNamespaceWithFewerRunsFirst() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (first, _) = submit(&machine, namespace: alice)
        _ = submit(&machine, namespace: alice)
        let (bobs, _) = submit(&machine, namespace: bob)
        _ = machine.workerStarted(slot: 0, generation: 1, job: first)
        let actions = machine.workerFinished(slot: 0, generation: 1, job: first, outcome: RunOutcome(status: .completed), now: 1)
        XCTAssertEqual(actions.last, .send(.run(bobs), slot: 0), "bob's run, queued after alice's second, goes first")
    }

    func testAWorkerThatDiesBeforeItTookItsJobRequeuesItAtTheFront() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (first, _) = submit(&machine)
        let (second, _) = submit(&machine)
        let actions = machine.workerExited(slot: 0, generation: 1, how: "was killed by signal 9", now: 1)
        XCTAssertEqual(actions, [.replaced(slot: 0, how: "was killed by signal 9", retryIn: nil),
                                 .spawn(slot: 0, generation: 2)])
        XCTAssertNil(machine.jobs[first]?.slot, "queued again, not ended")
        XCTAssertEqual(machine.workerReady(slot: 0, generation: 2, now: 1), [.send(.run(first), slot: 0)],
                       "ahead of the run queued after it")
        XCTAssertEqual(machine.jobs[second]?.slot, nil)
        XCTAssertEqual(machine.restarts, 1)
    }

    func testAWorkerThatDiesAfterItTookItsJobFailsItAsCrashed() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (id, _) = submit(&machine)
        _ = machine.workerStarted(slot: 0, generation: 1, job: id)
        let actions = machine.workerExited(slot: 0, generation: 1, how: "was killed by signal 11", now: 1)
        guard case .resume(id, let outcome)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(outcome.status, .crashed)
        XCTAssertTrue(outcome.error?.contains("was killed by signal 11 without reporting why") ?? false, outcome.error ?? "")
        XCTAssertTrue(actions.contains(.spawn(slot: 0, generation: 2)))
    }

    func testADyingWorkersReasonIsTheOutcomeWhenItsExitIsSeen() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (id, _) = submit(&machine)
        _ = machine.workerStarted(slot: 0, generation: 1, job: id)
        let oom = RunOutcome(status: .error, error: "out of memory")
        XCTAssertEqual(machine.workerDying(slot: 0, generation: 1, job: id, outcome: oom), [])
        XCTAssertEqual(machine.workerExited(slot: 0, generation: 1, how: "was killed by signal 6", now: 1).first,
                       .resume(id, oom))
    }

    func testACancelOfAQueuedRunEndsItAtOnce() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        _ = submit(&machine)
        let (queued, _) = submit(&machine)
        XCTAssertEqual(machine.cancel(queued, now: 1), [.resume(queued, WorkerScheduler.cancelled)])
        XCTAssertEqual(machine.queue.count, 0)
        XCTAssertEqual(machine.cancel(queued, now: 1), [], "a second cancel finds nothing")
    }

    func testACancelOfARunningRunAsksTheWorkerThenKillsItAfterTheGrace() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (id, _) = submit(&machine, timeout: 60)
        _ = machine.workerStarted(slot: 0, generation: 1, job: id)
        XCTAssertEqual(machine.cancel(id, now: 5), [.send(.cancel(id), slot: 0)])
        XCTAssertEqual(machine.tick(now: 6.9), [], "the worker has the grace to stop the run")
        XCTAssertEqual(machine.tick(now: 7), [.kill(slot: 0)])
        XCTAssertEqual(machine.tick(now: 8), [], "killed once")
        XCTAssertEqual(machine.workerExited(slot: 0, generation: 1, how: "was killed by signal 9", now: 8).first,
                       .resume(id, WorkerScheduler.cancelled))
    }

    func testACancelOfARunNotTakenYetIsNotRunElsewhereWhenItsWorkerDies() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (id, _) = submit(&machine)
        _ = machine.cancel(id, now: 1)
        let actions = machine.workerExited(slot: 0, generation: 1, how: "exited with status 1", now: 1)
        guard case .resume(id, _)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertTrue(machine.jobs.isEmpty)
    }

    func testACancelCanOvertakeItsRunAndLateCancelsAreForgotten() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let id = machine.issueJobID()
        XCTAssertEqual(machine.cancel(id, now: 0), [])
        XCTAssertEqual(machine.enqueue(id, namespace: .default, timeout: 10, reserved: false, now: 0),
                       [.resume(id, WorkerScheduler.cancelled)])
        XCTAssertEqual(machine.rememberedJobIDs, 0)
        for _ in 0..<100 { _ = machine.cancel(id, now: 0) }
        XCTAssertEqual(machine.cancel(12345, now: 0), [], "an id never issued")
        XCTAssertEqual(machine.rememberedJobIDs, 0)
    }

    func testARunOverItsDeadlineGetsItsWorkerKilledAndEndsTimedOut() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (id, _) = submit(&machine, timeout: 10, now: 100)
        _ = machine.workerStarted(slot: 0, generation: 1, job: id)
        XCTAssertEqual(machine.tick(now: 111.9), [])
        XCTAssertEqual(machine.tick(now: 112), [.kill(slot: 0)], "deadline plus the overrun grace")
        XCTAssertEqual(machine.workerExited(slot: 0, generation: 1, how: "was killed by signal 9", now: 112).first,
                       .resume(id, timedOutOutcome(seconds: 10)))
    }

    func testARunWaitingLongerThanItsTimeoutEndsTimedOut() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        _ = submit(&machine, timeout: 60)
        let (waiting, _) = submit(&machine, timeout: 5)
        XCTAssertEqual(machine.tick(now: 5), [])
        let actions = machine.tick(now: 5.1)
        guard case .resume(waiting, let outcome)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertTrue(outcome.error?.contains("waiting 5s for a free worker") ?? false, outcome.error ?? "")
        XCTAssertEqual(machine.queue.count, 0)
    }

    func testAWorkerThatDiesBeforeItIsReadyIsRestartedAfterAPause() {
        var machine = scheduler(workers: 1)
        _ = machine.tick(now: 0)
        XCTAssertEqual(machine.workerExited(slot: 0, generation: 1, how: "exited with status 1", now: 3),
                       [.replaced(slot: 0, how: "exited with status 1", retryIn: 1)])
        XCTAssertEqual(machine.tick(now: 3.5), [])
        XCTAssertEqual(machine.tick(now: 4), [.spawn(slot: 0, generation: 2)])
        machine.spawnFailed(slot: 0, generation: 2, now: 4)
        XCTAssertEqual(machine.slots[0].state, .down(restartAt: 5), "a spawn that fails is retried after the pause too")
    }

    func testEventsOfAReplacedWorkerAreIgnored() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (id, _) = submit(&machine)
        _ = machine.workerExited(slot: 0, generation: 1, how: "exited", now: 1)
        XCTAssertEqual(machine.workerReady(slot: 0, generation: 1, now: 1), [])
        XCTAssertEqual(machine.workerStarted(slot: 0, generation: 1, job: id), [])
        XCTAssertEqual(machine.workerFinished(slot: 0, generation: 1, job: id, outcome: RunOutcome(status: .completed), now: 1), [])
        XCTAssertEqual(machine.workerExited(slot: 0, generation: 1, how: "exited", now: 1), [])
        XCTAssertEqual(machine.restarts, 1)
    }

    /// A reload of the capability sets: idle and starting workers are replaced at once, a busy one
    /// when its run ends (the run finishes on it); queued runs go only to workers started since.
    func testReconfigureReplacesIdleWorkersNowAndBusyOnesWhenTheirRunEnds() {
        var machine = scheduler(workers: 3)
        XCTAssertEqual(machine.tick(now: 0).count, 3)
        _ = machine.workerReady(slot: 0, generation: 1, now: 0)
        _ = machine.workerReady(slot: 1, generation: 1, now: 0)
        let (running, _) = submit(&machine)
        XCTAssertEqual(machine.slots[0].state, .busy(running))

        XCTAssertEqual(machine.reconfigure(), [.close(slot: 1), .spawn(slot: 1, generation: 2),
                                               .close(slot: 2), .spawn(slot: 2, generation: 2)],
                       "the idle worker and the one still starting are replaced; the busy one keeps its run")
        let (queued, actions) = submit(&machine)
        XCTAssertEqual(actions, [], "no worker of the new configuration is ready")
        XCTAssertEqual(machine.workerReady(slot: 2, generation: 1, now: 0), [], "the replaced worker's ready is ignored")
        XCTAssertEqual(machine.workerExited(slot: 1, generation: 1, how: "exited with status 0", now: 0), [],
                       "so is the exit of the one told to go")

        let done = RunOutcome(status: .completed, resultJSON: "1")
        XCTAssertEqual(machine.workerFinished(slot: 0, generation: 1, job: running, outcome: done, now: 1),
                       [.resume(running, done), .close(slot: 0), .spawn(slot: 0, generation: 2)],
                       "the old worker's run ends under its configuration; the worker is replaced, not reused")
        XCTAssertEqual(machine.workerReady(slot: 1, generation: 2, now: 1), [.send(.run(queued), slot: 1)])
        XCTAssertEqual(machine.restarts, 0, "replaced for a reload, not after a crash")

        let finished = machine.workerFinished(slot: 1, generation: 2, job: queued, outcome: done, now: 2)
        XCTAssertEqual(finished, [.resume(queued, done)], "a worker of the new configuration is reused")
    }

    func testDrainingRefusesNewRunsButKeepsPromisedPlacesAndRunningOnes() {
        var machine = scheduler(workers: 1)
        _ = readied(&machine)
        let (running, _) = submit(&machine)
        XCTAssertNil(machine.reserve(namespace: .default))
        machine.beginDraining()
        let (_, refused) = submit(&machine)
        guard case .fail(_, let error)? = refused.first else { return XCTFail("\(refused)") }
        XCTAssertEqual(error.description, "The server is shutting down: it takes no new executions.")
        XCTAssertNotNil(machine.reserve(namespace: .default))
        let promised = machine.issueJobID()
        XCTAssertEqual(machine.enqueue(promised, namespace: .default, timeout: 10, reserved: true, now: 0), [])
        XCTAssertEqual(machine.jobs.count, 2)
        _ = machine.workerStarted(slot: 0, generation: 1, job: running)
        XCTAssertEqual(machine.workerFinished(slot: 0, generation: 1, job: running, outcome: RunOutcome(status: .completed),
                                              now: 1).last, .send(.run(promised), slot: 0))
    }

    func testShutdownEndsEveryJobAndClosesEveryWorkerBusyOrNot() {
        var machine = scheduler(workers: 2)
        _ = readied(&machine)
        let (running, _) = submit(&machine)
        let actions = machine.shutdown()
        XCTAssertEqual(actions, [.close(slot: 0), .close(slot: 1), .resume(running, WorkerScheduler.shuttingDown)])
        XCTAssertEqual(machine.shutdown(), [])
        XCTAssertEqual(submit(&machine).1.first.map { if case .resume = $0 { true } else { false } }, true)
        XCTAssertEqual(machine.tick(now: 100), [])
        XCTAssertEqual(machine.workerExited(slot: 0, generation: 1, how: "exited with status 0", now: 100), [])
    }

    func testATenantAtItsCapLeavesFreeWorkersToTheOthers() {
        var machine = scheduler(workers: 3, maximumQueued: 100, tenants: ["guest": .init(maximumConcurrent: 1, maximumQueued: 5)])
        _ = readied(&machine)
        for _ in 0..<3 { _ = submit(&machine, namespace: member("guest")) }
        XCTAssertEqual(runningTenants(machine), ["guest"], "guest's cap is 1: two of its runs wait")
        XCTAssertEqual(machine.queuedPerTenant, ["guest": 2])
        let (acme, started) = submit(&machine, namespace: member("acme"))
        XCTAssertEqual(started.count, 1, "a free worker takes acme's run at once")
        XCTAssertEqual(started.first, .send(.run(acme), slot: 1))
        _ = submit(&machine, namespace: member("acme"))
        XCTAssertEqual(runningTenants(machine), ["acme", "acme", "guest"])
        _ = finish(&machine, slot: 1)
        XCTAssertEqual(runningTenants(machine), ["acme", "guest"],
                       "acme's worker, freed, stays idle rather than run a second guest run")
        XCTAssertEqual(machine.slots[1].state, .idle)
        _ = finish(&machine, slot: 0)
        XCTAssertEqual(runningTenants(machine), ["acme", "guest"], "guest's next run takes a worker once its first ends")
    }

    func testATenantOverItsQueueBoundIsRefusedNamingItWhileOthersGetIn() {
        var machine = scheduler(workers: 2, maximumQueued: 100, tenants: ["guest": .init(maximumConcurrent: 1, maximumQueued: 2)])
        _ = readied(&machine)
        for _ in 0..<3 { XCTAssertFalse(submit(&machine, namespace: member("guest")).1.contains { if case .fail = $0 { true } else { false } }) }
        let (_, refused) = submit(&machine, namespace: member("guest", "another subject"))
        guard case .fail(_, let error)? = refused.first else { return XCTFail("\(refused)") }
        XCTAssertEqual(error.description, "Server busy for tenant 'guest': 2 of its executions are waiting for a worker, "
            + "the most it may queue (max_queued_executions 2 in the tenants file). Retry shortly.")
        XCTAssertNotNil(machine.reserve(namespace: member("guest")), "a reservation meets the tenant's bound too")
        let (acme, admitted) = submit(&machine, namespace: member("acme"))
        XCTAssertEqual(admitted, [.send(.run(acme), slot: 1)])
        XCTAssertEqual(machine.jobs.count, 4)
    }

    func testFreeWorkersGoToTenantsInTurn() {
        var machine = scheduler(workers: 1, maximumQueued: 100)
        _ = readied(&machine)
        var tenantOf: [WorkerScheduler.JobID: String] = [:]
        for tenant in ["a", "a", "a", "b", "b", "c"] { tenantOf[submit(&machine, namespace: member(tenant)).0] = tenant }
        var served: [String] = []
        while case .busy(let id) = machine.slots[0].state {
            served.append(tenantOf[id]!)
            _ = finish(&machine, slot: 0)
        }
        XCTAssertEqual(served, ["a", "b", "c", "a", "b", "a"])
    }

    func testWithinATenantItsCallersAreServedInTurnEvenWhenItSharesItsState() {
        var machine = scheduler(workers: 1, maximumQueued: 100, perSubject: 2)
        _ = readied(&machine)
        let ann = Namespace(tenant: "acme", subject: "ann", sharedState: true)
        let bob = Namespace(tenant: "acme", subject: "bob", sharedState: true)
        var subjectOf: [WorkerScheduler.JobID: String] = [:]
        for namespace in [ann, ann] { subjectOf[submit(&machine, namespace: namespace).0] = "ann" }
        guard case .fail? = submit(&machine, namespace: ann).1.first else { return XCTFail("ann's share is 2") }
        for namespace in [bob, bob] { subjectOf[submit(&machine, namespace: namespace).0] = "bob" }
        var served: [String] = []
        while case .busy(let id) = machine.slots[0].state {
            served.append(subjectOf[id]!)
            _ = finish(&machine, slot: 0)
        }
        XCTAssertEqual(served, ["ann", "bob", "ann", "bob"])
    }

    func testNewTenantLimitsKeepAdmittedRunsAndARaisedCapStartsWaitingOnes() {
        var machine = scheduler(workers: 3, maximumQueued: 100, tenants: ["guest": .init(maximumConcurrent: 1, maximumQueued: 5)])
        _ = readied(&machine)
        for _ in 0..<5 { _ = submit(&machine, namespace: member("guest")) }
        XCTAssertEqual(machine.queuedPerTenant, ["guest": 4])
        let actions = machine.updateTenantLimits(["guest": .init(maximumConcurrent: 2, maximumQueued: 1),
                                                  "acme": .init(maximumQueued: 10)], now: 1)
        XCTAssertEqual(actions.count, 1, "the raised cap starts one more guest run")
        XCTAssertEqual(runningTenants(machine), ["guest", "guest"])
        XCTAssertEqual(machine.queuedPerTenant, ["guest": 3, "acme": 0], "over the new bound, but admitted before it")
        guard case .fail(_, let error)? = submit(&machine, namespace: member("guest")).1.first else {
            return XCTFail("guest's new bound is 1")
        }
        XCTAssertTrue(error.description.contains("max_queued_executions 1"), error.description)
        XCTAssertEqual(submit(&machine, namespace: member("acme")).1.count, 1, "acme takes the last worker")
    }

    func testWithoutTenantsTheQueueDepthIsTheImplicitTenants() {
        var machine = scheduler(workers: 1)
        XCTAssertEqual(machine.queuedPerTenant, ["": 0])
        _ = readied(&machine)
        _ = submit(&machine, namespace: alice)
        _ = submit(&machine, namespace: bob)
        XCTAssertEqual(machine.queuedPerTenant, ["": 1])
        XCTAssertEqual(machine.tenant(ofRunOn: 0), "")
    }

    /// Thousands of random events over several seeds; after each, the invariants hold. A failure names its seed and step.
    func testRandomEventsKeepTheInvariants() {
        for seed in UInt64(1)...20 {
            var world = SimulatedWorld(seed: seed)
            for step in 0..<3000 {
                world.step()
                if let broken = world.brokenInvariant() {
                    return XCTFail("seed \(seed), step \(step): \(broken)")
                }
            }
            world.stop()
            if let broken = world.brokenInvariant() ?? world.unendedJob() {
                return XCTFail("seed \(seed), at shutdown: \(broken)")
            }
        }
    }

    /// The same with three tenants (one capped with a small queue, one capped, one without limits) and
    /// subjects within them: no tenant ever runs more than its cap, a free worker never idles while a
    /// tenant below its cap waits, and every refusal names a bound that was reached.
    func testRandomEventsWithTenantsKeepTheInvariants() {
        for seed in UInt64(1)...20 {
            var world = SimulatedWorld(seed: seed, tenants: SimulatedWorld.tenantLimits)
            for step in 0..<3000 {
                world.step()
                if let broken = world.brokenInvariant() {
                    return XCTFail("seed \(seed), step \(step): \(broken)")
                }
            }
            XCTAssertGreaterThan(world.refusals, 0, "seed \(seed): the bounds were never reached")
            world.stop()
            if let broken = world.brokenInvariant() ?? world.unendedJob() {
                return XCTFail("seed \(seed), at shutdown: \(broken)")
            }
        }
    }
}

/// A deterministic random number generator (SplitMix64), so a failing seed replays.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Worker processes and callers around a scheduler, driven by random events, recording what the
/// scheduler told them and checking it against what it may do.
private struct SimulatedWorld {
    typealias JobID = WorkerScheduler.JobID

    struct Process {
        let generation: Int
        /// The scheduler's `workerConfiguration` when it was started.
        let configuration: Int
        var ready = false
        var job: JobID?
        var started = false
        /// Killed, or announced its death: only its exit comes next.
        var doomed = false
    }

    static let tenantLimits: [String: TenantQueueLimits] = [
        "guest": .init(maximumConcurrent: 1, maximumQueued: 2), "acme": .init(maximumConcurrent: 2), "labs": .init(),
    ]

    var random: SeededGenerator
    var machine: WorkerScheduler
    var now: TimeInterval = 0
    var processes: [Int: Process] = [:]
    /// Generations of processes that exited, for stale events.
    var pastGenerations: [Int: Int] = [:]
    var submitted: [JobID] = []
    var ends: [JobID: Int] = [:]
    var runs: [JobID: Int] = [:]
    /// Times a job's worker died before it took the job, each allowing one more run.
    var requeues: [JobID: Int] = [:]
    var startedJobs: Set<JobID> = []
    var cancelled: Set<JobID> = []
    var violation: String?
    /// Runs refused as busy.
    var refusals = 0
    let namespaces: [Namespace]

    init(seed: UInt64, tenants: [String: TenantQueueLimits] = [:]) {
        random = SeededGenerator(state: seed)
        machine = WorkerScheduler(configuration: .init(
            workerCount: 3, admission: ExecutionAdmission(maximumQueued: 4, perSubject: 3, tenants: tenants)))
        namespaces = tenants.isEmpty
            ? [Namespace.default, Namespace(subject: "alice"), Namespace(subject: "bob")]
            : tenants.keys.sorted().flatMap { tenant in
                [Namespace(tenant: tenant, subject: "alice", sharedState: false),
                 Namespace(tenant: tenant, subject: "bob", sharedState: tenant == "acme")]
            }
        apply(machine.tick(now: now))
    }

    mutating func step() {
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<25: submit()
        case 25..<40: withProcess({ !$0.ready && !$0.doomed }) { world, slot, process in
            world.processes[slot]?.ready = true
            world.apply(world.machine.workerReady(slot: slot, generation: process.generation, now: world.now))
        }
        case 40..<52: withProcess({ $0.job != nil && !$0.started && !$0.doomed }) { world, slot, process in
            world.processes[slot]?.started = true
            world.startedJobs.insert(process.job!)
            world.apply(world.machine.workerStarted(slot: slot, generation: process.generation, job: process.job!))
        }
        case 52..<66: withProcess({ $0.job != nil && $0.started && !$0.doomed }) { world, slot, process in
            world.processes[slot]?.job = nil
            world.processes[slot]?.started = false
            let outcome = RunOutcome(status: world.cancelled.contains(process.job!) ? .cancelled : .completed)
            world.apply(world.machine.workerFinished(slot: slot, generation: process.generation, job: process.job!,
                                                     outcome: outcome, now: world.now))
        }
        case 66..<69: withProcess({ $0.job != nil && $0.started && !$0.doomed }) { world, slot, process in
            world.processes[slot]?.doomed = true
            world.apply(world.machine.workerDying(slot: slot, generation: process.generation, job: process.job!,
                                                  outcome: RunOutcome(status: .error, error: "out of memory")))
        }
        case 69..<76:
            // A doomed worker exits; now and then one dies unannounced.
            let unannounced = Int.random(in: 0..<4, using: &random) == 0
            withProcess({ $0.doomed || unannounced }) { world, slot, process in world.exit(slot, process) }
        case 76..<84:
            guard let id = submitted.randomElement(using: &random) else { return }
            cancelled.insert(id)
            apply(machine.cancel(id, now: now))
        case 84..<95:
            now += Double(Int.random(in: 0...30, using: &random)) / 10
            apply(machine.tick(now: now))
        case 95..<97:
            apply(machine.reconfigure())
        default:
            // An event of a process already replaced changes nothing.
            guard let (slot, generation) = pastGenerations.randomElement(using: &random),
                  let id = submitted.randomElement(using: &random) else { return }
            let actions = machine.workerReady(slot: slot, generation: generation, now: now)
                + machine.workerStarted(slot: slot, generation: generation, job: id)
                + machine.workerFinished(slot: slot, generation: generation, job: id,
                                         outcome: RunOutcome(status: .completed), now: now)
                + machine.workerExited(slot: slot, generation: generation, how: "exited", now: now)
            if !actions.isEmpty { violation = "a replaced worker's events changed something: \(actions)" }
        }
    }

    mutating func stop() {
        apply(machine.shutdown())
    }

    private mutating func submit() {
        let id = machine.issueJobID()
        submitted.append(id)
        let namespace = namespaces.randomElement(using: &random)!
        if Int.random(in: 0..<8, using: &random) == 0 {
            // The cancel overtakes its run.
            cancelled.insert(id)
            apply(machine.cancel(id, now: now))
        }
        let before = Load(machine, namespace)
        var reserved = false
        if Bool.random(using: &random) {
            if let refusal = machine.reserve(namespace: namespace) {
                check(refusal, before)
                return end(id)
            }
            reserved = true
        }
        let timeout = Double(Int.random(in: 1...10, using: &random))
        let actions = machine.enqueue(id, namespace: namespace, timeout: timeout, reserved: reserved, now: now)
        for case .fail(_, let refusal) in actions { check(refusal, before) }
        apply(actions)
    }

    /// What a refusal may depend on, as the pool was before the run came.
    private struct Load {
        let waiting: Int
        let tenantWaiting: Int
        let callerPending: Int
        let namespace: Namespace

        init(_ machine: WorkerScheduler, _ namespace: Namespace) {
            waiting = machine.queue.count
            tenantWaiting = machine.jobs.values.count { $0.slot == nil && $0.namespace.tenant == namespace.tenant }
            callerPending = machine.jobs.values.count { $0.namespace == namespace.caller }
            self.namespace = namespace
        }
    }

    /// A refusal only when the bound it names was reached.
    private mutating func check(_ refusal: ServerBusyError, _ load: Load) {
        refusals += 1
        let limits = machine.configuration.admission
        let reached: Bool
        if refusal.description.hasPrefix("Server busy for tenant '\(load.namespace.tenant)'") {
            reached = load.tenantWaiting >= limits.tenants[load.namespace.tenant]?.maximumQueued ?? .max
        } else if refusal.description.hasPrefix("Server busy:") {
            reached = load.waiting >= limits.maximumQueued
        } else if refusal.description.hasPrefix("Too many executions:") {
            reached = load.callerPending >= limits.limit(for: load.namespace) ?? .max
        } else {
            reached = false
        }
        if !reached { violation = "refused with no bound reached: \(refusal.description), load \(load)" }
    }

    private mutating func exit(_ slot: Int, _ process: Process) {
        processes[slot] = nil
        pastGenerations[slot] = process.generation
        let unended = process.job.flatMap { ends[$0] == nil ? $0 : nil }
        let requeued = unended.map { !startedJobs.contains($0) && !cancelled.contains($0) } ?? false
        // A job its worker never took may run once more.
        if requeued, let id = unended { requeues[id, default: 0] += 1 }
        apply(machine.workerExited(slot: slot, generation: process.generation, how: "was killed by signal 9", now: now))
        guard let id = unended else { return }
        if startedJobs.contains(id), ends[id] != 1 { violation = "job \(id) died after it started and was not failed" }
        if requeued, ends[id] != nil || machine.jobs[id] == nil {
            violation = "job \(id) died before it started and was not requeued"
        }
    }

    private mutating func withProcess(_ matches: (Process) -> Bool,
                                      _ body: (inout SimulatedWorld, Int, Process) -> Void) {
        var candidates: [Int] = []
        for slot in processes.keys.sorted() where matches(processes[slot]!) { candidates.append(slot) }
        guard let slot = candidates.randomElement(using: &random) else { return }
        body(&self, slot, processes[slot]!)
    }

    private mutating func end(_ id: JobID) {
        ends[id, default: 0] += 1
        if ends[id]! > 1 { violation = "job \(id) ended twice" }
    }

    private mutating func apply(_ actions: [WorkerScheduler.Action]) {
        for action in actions {
            switch action {
            case .spawn(let slot, let generation):
                if processes[slot] != nil { violation = "spawned into slot \(slot), which has a live worker" }
                if Int.random(in: 0..<20, using: &random) == 0 {
                    machine.spawnFailed(slot: slot, generation: generation, now: now)
                } else {
                    processes[slot] = Process(generation: generation, configuration: machine.workerConfiguration)
                }
            case .send(.run(let id), let slot):
                guard let process = processes[slot], process.ready, process.job == nil, !process.doomed else {
                    violation = "job \(id) sent to slot \(slot), which has no free worker"
                    continue
                }
                if ends[id] != nil { violation = "job \(id) sent to a worker after it ended" }
                if process.configuration != machine.workerConfiguration {
                    violation = "job \(id) sent to a worker of a configuration replaced since"
                }
                if processes.values.contains(where: { $0.job == id }) { violation = "job \(id) on two workers" }
                runs[id, default: 0] += 1
                if runs[id]! > requeues[id, default: 0] + 1 { violation = "job \(id) run twice" }
                processes[slot]?.job = id
            case .send(.cancel(let id), let slot):
                if processes[slot]?.job != id { violation = "cancel of job \(id) sent to slot \(slot), which does not run it" }
            case .kill(let slot):
                processes[slot]?.doomed = true
            case .close(let slot):
                processes[slot] = nil
            case .started(let id):
                if !startedJobs.contains(id) { violation = "job \(id) announced started before its worker said so" }
            case .resume(let id, _), .fail(let id, _):
                end(id)
            case .replaced:
                break
            }
        }
    }

    func brokenInvariant() -> String? {
        if let violation { return violation }
        for (id, _) in machine.jobs where ends[id] != nil { return "job \(id) ended but is still kept" }
        var onWorkers: Set<JobID> = []
        for (slot, state) in machine.slots.map(\.state).enumerated() {
            guard case .busy(let id) = state else { continue }
            if !onWorkers.insert(id).inserted { return "job \(id) busy in two slots" }
            if machine.jobs[id]?.slot != slot { return "slot \(slot) runs job \(id), which does not know it" }
            if processes[slot] == nil { return "job \(id) on slot \(slot), which has no worker" }
        }
        let queued = machine.jobs.values.count { $0.slot == nil }
        if queued != machine.queue.count { return "\(queued) jobs wait but the queue holds \(machine.queue.count)" }
        if machine.queue.count > 4 + 3 { return "queue of \(machine.queue.count) over its bound" }
        let admission = machine.configuration.admission
        var running: [String: Int] = [:]
        for slot in machine.slots.indices { if let tenant = machine.tenant(ofRunOn: slot) { running[tenant, default: 0] += 1 } }
        for (tenant, count) in running where count > admission.concurrencyCap(of: tenant) ?? .max {
            return "tenant \(tenant) runs \(count), over its cap"
        }
        let idle = machine.slots.contains { $0.state == .idle }
        for job in machine.jobs.values where job.slot == nil {
            let tenant = job.namespace.tenant
            if idle, running[tenant, default: 0] < admission.concurrencyCap(of: tenant) ?? .max {
                return "a worker is idle while tenant '\(tenant)', below its cap, waits"
            }
        }
        for (tenant, limits) in admission.tenants {
            guard let cap = limits.maximumConcurrent, let bound = limits.maximumQueued else { continue }
            let pending = machine.jobs.values.count { $0.namespace.tenant == tenant }
            if pending > bound + cap { return "tenant \(tenant) has \(pending) runs, over its bound and cap" }
        }
        return nil
    }

    func unendedJob() -> String? {
        submitted.first { ends[$0] != 1 }.map { "job \($0) ended \(ends[$0, default: 0]) times" }
    }
}
