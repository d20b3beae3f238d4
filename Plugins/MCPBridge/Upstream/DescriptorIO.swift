import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Blocking reads and writes on file descriptors, shared by the host (its stdio transport, worker
// pipes, heap files) and the bridge's child-process transport.

/// Writes all of `buffer`, retrying short writes and EINTR; false (with errno set) when it cannot.
public func writeFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
    moveAll(buffer.count) { write(fd, buffer.baseAddress! + $0, buffer.count - $0) }
}

/// Fills all of `buffer`, retrying short reads and EINTR; false when the input ends first or a read
/// fails (then with errno set).
public func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Bool {
    moveAll(buffer.count) { read(fd, buffer.baseAddress! + $0, buffer.count - $0) }
}

/// Calls `transfer` with the offset reached until `count` bytes have moved; it returns how many
/// it moved, 0 at end of input or negative on an error.
private func moveAll(_ count: Int, _ transfer: (Int) -> Int) -> Bool {
    var offset = 0
    while offset < count {
        let moved = transfer(offset)
        if moved < 0 && errno == EINTR { continue }
        if moved <= 0 { return false }
        offset += moved
    }
    return true
}

/// How reading newline-delimited messages ended.
public enum LineReadingEnd: Equatable {
    case endOfFile
    case failed(errno: Int32)
    case lineTooLong
}

/// Reads `fd` until it ends, handing `onLine` each line that is not blank, without its newline: the
/// framing of MCP's stdio transport.
public func readLines(from fd: Int32, maximumLineBytes: Int = .max, onLine: (Data) -> Void) -> LineReadingEnd {
    var pending = Data()
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count < 0 { return .failed(errno: errno) }
        if count == 0 { return .endOfFile }
        pending.append(contentsOf: buffer[0..<count])
        var lineStart = pending.startIndex
        while let newline = pending[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[lineStart..<newline]
            if !line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") }) { onLine(Data(line)) }
            lineStart = pending.index(after: newline)
        }
        pending.removeSubrange(pending.startIndex..<lineStart)
        if pending.count > maximumLineBytes { return .lineTooLong }
    }
}
