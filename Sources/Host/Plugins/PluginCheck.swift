import Foundation
import HostSupport
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// What the plugin check tells the host, plugin by plugin.
enum PluginCheckEvent: Codable, CarriesNoHeap {
    /// About to call the entry of the plugin at `path`: if the process dies now, that entry killed it.
    case entering(path: String)
    case described(path: String, PluginDescription)
    case refused(path: String, reason: String)
}

/// Plugins are checked at start-up in a short-lived worker-role child, never in the server: a
/// plugin whose entry crashes is refused with a message instead of taking the server down.
enum PluginCheck {
    /// Server side: loads `paths` with `settings` in a child started from `executable` and returns
    /// what each plugin is, or throws the first refusal (a crashing entry among them).
    static func describe(_ paths: [String], settings: [String: [String: String]], logLevel: String,
                         executable: String, timeout: Duration = .seconds(10)) throws -> [String: PluginDescription] {
        let child = try WorkerRole.spawn(executable: executable, arguments: ["--worker"])
        let watchdog = CheckWatchdog(pid: child.pid, timeout: timeout)
        var set = CapabilityConfiguration()
        set.pluginPaths = paths
        set.pluginSettings = settings
        var configuration = WorkerCapabilities(sets: [WorkerCapabilities.serverSet: set])
        configuration.logLevel = logLevel
        FrameWriter(fd: child.requestFD).send(WorkerRequest.checkPlugins(configuration))
        close(child.requestFD)

        let events = FrameReader(fd: child.eventFD)
        var described: [String: PluginDescription] = [:]
        var refusal: String?
        var entered: String?
        while let event = events.receive(PluginCheckEvent.self) {
            switch event {
            case .entering(let path): entered = path
            case .described(let path, let description):
                described[path] = description
                entered = nil
            case .refused(_, let reason):
                refusal = reason
                entered = nil
            }
        }
        close(child.eventFD)
        let timedOut = watchdog.finish()
        _ = kill(child.pid, SIGKILL)  // not reaped yet, so still the child: it must not outlive a frame it garbled
        let exit = WorkerRole.waitForExit(child.pid)
        if let refusal { throw PluginError(refusal) }
        if let entered, timedOut {
            throw PluginError("plugin \(entered) refused: its entry did not return within \(timeout) (a plugin's "
                              + "entry must only set itself up)")
        }
        if let entered {
            if let signal = exit.signal {
                throw PluginError("plugin \(entered) refused: its entry crashed (signal \(signal))")
            }
            throw PluginError("plugin \(entered) refused: its entry ended the process (it \(exit))")
        }
        if let unchecked = paths.first(where: { described[$0] == nil }) {
            throw PluginError("plugin \(unchecked) could not be checked: the check process \(exit)")
        }
        return described
    }

    /// Child side: loads each plugin of `configuration`'s one set in turn, saying which before calling
    /// its entry (and its `open_set`, which checks the settings of a plugin that reads them per set),
    /// and exits; it stops at the first refusal.
    static func serve(_ configuration: WorkerCapabilities, events: FrameWriter) -> Never {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "mcp-v8.plugin-check")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let set = configuration.sets[WorkerCapabilities.serverSet] ?? CapabilityConfiguration()
        PluginHostAPI.configure(settings: set.pluginSettings, logger: logger)
        for path in set.pluginPaths {
            events.send(PluginCheckEvent.entering(path: path))
            do {
                let plugin = try LoadedPlugin(path: path)
                if plugin.opensSets {
                    _ = try plugin.openSet(named: WorkerCapabilities.serverSet, settings: set.pluginSettings[plugin.name] ?? [:])
                }
                events.send(PluginCheckEvent.described(path: path, plugin.summary))
            } catch {
                events.send(PluginCheckEvent.refused(path: path, reason: "\(error)"))
                break
            }
        }
        // Without running exit handlers: the plugins' threads may still be going.
        _exit(0)
    }
}

/// Kills the check child when it has not finished within its time, so a plugin entry that never
/// returns refuses that plugin instead of hanging the server's start. Kills only before `finish`,
/// while the child is not yet reaped and its pid still its own.
private final class CheckWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var finished = false
    private var fired = false
    private let done = DispatchSemaphore(value: 0)

    init(pid: pid_t, timeout: Duration) {
        Thread.detachNewThread { [self] in
            guard done.wait(timeout: .now() + .milliseconds(timeout.milliseconds)) == .timedOut else { return }
            lock.withLock {
                guard !finished else { return }
                fired = true
                _ = kill(pid, SIGKILL)
            }
        }
    }

    /// Ends the watch; true when the child was killed for taking too long.
    func finish() -> Bool {
        lock.withLock {
            finished = true
            done.signal()
            return fired
        }
    }
}
