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
/// framing of MCP's stdio transport. Each byte is looked at once, so a long line costs its length.
/// A line longer than `maximumLineBytes` ends the reading with `.lineTooLong`, or, when
/// `onOversizedLine` is given, is handed to it as its first `maximumLineBytes` bytes and the rest
/// of it up to the next newline is skipped, so the lines after it are read as before.
public func readLines(from fd: Int32, maximumLineBytes: Int = .max, onOversizedLine: ((Data) -> Void)? = nil,
                      onLine: (Data) -> Void) -> LineReadingEnd {
    var line = Data()
    var skippingOversizedLine = false
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count < 0 { return .failed(errno: errno) }
        if count == 0 { return .endOfFile }
        var start = 0
        while start < count {
            let newline: Int? = buffer.withUnsafeBytes { bytes in
                memchr(bytes.baseAddress! + start, Int32(UInt8(ascii: "\n")), count - start)
                    .map { UnsafeRawPointer($0) - bytes.baseAddress! }
            }
            let end = newline ?? count
            if !skippingOversizedLine {
                // At most one byte beyond the limit is kept: enough to know the line is too long.
                let room = maximumLineBytes - line.count
                line.append(contentsOf: buffer[start..<(end - start <= room ? end : start + room + 1)])
                if line.count > maximumLineBytes {
                    guard let onOversizedLine else { return .lineTooLong }
                    onOversizedLine(line.prefix(maximumLineBytes))
                    skippingOversizedLine = true
                    line.removeAll(keepingCapacity: true)
                }
            }
            guard let newline else { break }
            if !skippingOversizedLine && !line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") }) {
                onLine(line)
            }
            skippingOversizedLine = false
            line.removeAll(keepingCapacity: true)
            start = newline + 1
        }
    }
}
