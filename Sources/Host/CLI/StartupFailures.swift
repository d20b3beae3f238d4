import ArgumentParser
import Foundation
import NIOCore

// Start-up failures worded by the flag that caused them, like the flags' own checks, instead of
// the library errors beneath them; as usage errors they exit with 64.
extension MCPV8Command {
    /// Why the HTTP server could not listen on `port`; nil when the failure is not about the address.
    func listeningFailure(_ error: Error, port: Int) -> ValidationError? {
        let portFlag = "\(httpPort != nil ? "--http-port" : "--sse-port") \(port)"
        switch error {
        case let error as IOError where error.errnoCode == EADDRINUSE:
            return ValidationError("\(portFlag): the address is in use (something already listens on \(bindHost):\(port)).")
        case let error as IOError where error.errnoCode == EACCES:
            return ValidationError("\(portFlag): permission denied (ports below 1024 need privileges).")
        case let error as IOError where error.errnoCode == EADDRNOTAVAIL:
            return ValidationError("--bind-host \(bindHost): no network interface of this machine has this address.")
        case let error as IOError:
            return ValidationError("\(portFlag) on --bind-host \(bindHost): cannot listen (\(String(cString: strerror(error.errnoCode)))).")
        case is SocketAddressError.UnknownHost, is SocketAddressError:
            return ValidationError("--bind-host \(bindHost): the host name does not resolve to an address.")
        default:
            return nil
        }
    }

    /// Creates `directory` if it is missing and checks this process can create files in it, so a
    /// store that cannot keep anything stops the server now rather than failing its first run.
    static func prepareWritableDirectory(_ directory: String, flag: String) throws {
        var path = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            path += "/\(component)"
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
                throw ValidationError("\(flag) \(directory): the directory cannot be created "
                                      + "(\(path): \(String(cString: strerror(errno)))).")
            }
        }
        let probe = (directory as NSString).appendingPathComponent(".mcp-v8-write-check-\(getpid())")
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw ValidationError("\(flag) \(directory): files cannot be created in this directory "
                                  + "(\(String(cString: strerror(errno)))).")
        }
        close(descriptor)
        unlink(probe)
    }

    /// A store kept in the directory `flag` names: the directory prepared first, and an error
    /// opening the store named by the flag and the path.
    static func openStore<Store>(in directory: String, flag: String, _ open: (URL) throws -> Store) throws -> Store {
        try prepareWritableDirectory(directory, flag: flag)
        do {
            return try open(URL(fileURLWithPath: directory))
        } catch {
            throw ValidationError("\(flag) \(directory): \(error)")
        }
    }
}
