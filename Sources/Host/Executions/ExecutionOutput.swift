import Foundation

/// The console output of one execution, readable while it grows, in pages by line or by byte.
/// Lines are kept with the byte offset at which each starts, so any page costs O(log n + page).
/// Bytes are of the UTF-8 text in which every line ends with "\n".
public final class ExecutionOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    /// lineStarts[i] is the byte offset of line i; the last element is the total byte count.
    private var lineStarts: [Int] = [0]

    public init() {}

    /// Output read back from storage.
    public init(lines stored: [String]) {
        for line in stored { add(line) }
    }

    /// Every line, for storage.
    public var allLines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    /// Up to `limit` lines from line `start` on (fewer at the end), for storage while it runs.
    public func lines(from start: Int, limit: Int) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let start = min(start, lines.count)
        return Array(lines[start..<min(start + limit, lines.count)])
    }

    public func append(_ newLines: [OutputLine]) {
        lock.lock()
        defer { lock.unlock() }
        for line in newLines { add(line.text) }
    }

    /// Closes the output of a finished run: if the run printed past `limit`, a last line says how
    /// much it printed and how to keep more.
    public func finish(_ outcome: RunOutcome, outputLimitBytes limit: Int) {
        guard outcome.outputTruncated else { return }
        lock.lock()
        defer { lock.unlock() }
        add("[output truncated: the run printed \(outcome.outputBytes) bytes; only the first \(limit) are kept "
            + "(raise --max-output-bytes)]")
    }

    /// All of the output, every line ending in "\n".
    public var text: String {
        lock.lock()
        defer { lock.unlock() }
        return lines.map { $0 + "\n" }.joined()
    }

    private func add(_ text: String) {
        lines.append(text)
        lineStarts.append(lineStarts[lineStarts.count - 1] + text.utf8.count + 1)
    }

    public struct Page: Sendable, Equatable {
        public var text: String
        public var lineOffset: Int
        public var nextLineOffset: Int
        public var byteOffset: Int
        public var nextByteOffset: Int
        public var totalLines: Int
        public var totalBytes: Int
        public var hasMore: Bool
    }

    /// `limit` lines from line `offset` (0-based).
    public func page(lineOffset offset: Int, lineLimit limit: Int) -> Page {
        lock.lock()
        defer { lock.unlock() }
        let start = min(offset, lines.count)
        let end = min(start + limit, lines.count)
        let text = lines[start..<end].map { $0 + "\n" }.joined()
        return Page(text: text, lineOffset: start, nextLineOffset: end, byteOffset: lineStarts[start],
                    nextByteOffset: lineStarts[end], totalLines: lines.count, totalBytes: lineStarts[lines.count],
                    hasMore: end < lines.count)
    }

    /// Up to `limit` bytes from byte `offset` (0-based), never splitting a UTF-8 character: the
    /// start moves forward and the end back to the nearest character boundary (a page holds at
    /// least one character when any remain, so paging always advances).
    public func page(byteOffset offset: Int, byteLimit limit: Int) -> Page {
        lock.lock()
        defer { lock.unlock() }
        let total = lineStarts[lines.count]
        let requestedStart = min(offset, total)
        // Three bytes past the limit are enough to finish any character the limit cuts.
        let bytes = readBytes(from: requestedStart, to: min(requestedStart + max(limit, 0) + 3, total))
        let isContinuation = { (index: Int) in bytes[index] & 0xC0 == 0x80 }
        var leading = 0
        while leading < bytes.count && isContinuation(leading) { leading += 1 }
        var trailing = min(max(limit, 0), bytes.count)
        while trailing > leading && trailing < bytes.count && isContinuation(trailing) { trailing -= 1 }
        if trailing <= leading && leading < bytes.count {
            trailing = leading + 1
            while trailing < bytes.count && isContinuation(trailing) { trailing += 1 }
        }
        trailing = max(trailing, leading)
        let start = requestedStart + leading
        let end = requestedStart + trailing
        return Page(text: String(decoding: bytes[leading..<trailing], as: UTF8.self),
                    lineOffset: lineIndex(containing: start), nextLineOffset: lineIndex(containing: end),
                    byteOffset: start, nextByteOffset: end, totalLines: lines.count, totalBytes: total,
                    hasMore: end < total)
    }

    /// The output's bytes in [from, to), touching only the lines they fall in.
    private func readBytes(from: Int, to: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var line = lineIndex(containing: from)
        while line < lines.count && lineStarts[line] < to {
            let lineBytes = Array(lines[line].utf8) + [UInt8(ascii: "\n")]
            let lower = max(from - lineStarts[line], 0)
            let upper = min(to - lineStarts[line], lineBytes.count)
            if lower < upper { bytes.append(contentsOf: lineBytes[lower..<upper]) }
            line += 1
        }
        return bytes
    }

    /// The index of the line a byte offset falls in (lines.count at the end).
    private func lineIndex(containing offset: Int) -> Int {
        var low = 0, high = lines.count
        while low < high {
            let middle = (low + high) / 2
            if lineStarts[middle + 1] <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
