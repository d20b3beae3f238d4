// libFuzzer target for the line reader of the stdio transport (readLines in
// Sources/HostSupport/DescriptorIO.swift), built with that file alone. The first byte sets the line
// limit, the second whether oversized lines are skipped (the transport's way) or end the reading,
// and how many bytes each read returns; the rest is the stream. What readLines hands out must be
// what a plain split on newlines says it should, whatever the reads' boundaries. A difference aborts.
import Foundation
import HostSupport
#if canImport(Glibc)
import Glibc
#endif

private enum Event: Equatable {
    case line(Data), oversized(Data)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStdioLines(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let limit = data[0] == 0xFF ? Int.max : 1 + Int(data[0] % 64)
    let skipsOversized = data[1] & 1 == 1
    let chunk = Int(data[1] >> 1)
    let stream = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    let fd = descriptor(reading: stream, chunk: chunk == 0 ? nil : chunk)
    defer { close(fd) }
    var events: [Event] = []
    let end = readLines(from: fd, maximumLineBytes: limit,
                        onOversizedLine: skipsOversized ? { events.append(.oversized($0)) } : nil,
                        onLine: { events.append(.line($0)) })
    let (expectedEvents, expectedEnd) = expected(Data(stream), limit: limit, skipsOversized: skipsOversized)
    if events != expectedEvents || end != expectedEnd {
        FileHandle.standardError.write(Data("""
            stdio_lines: limit \(limit), skips oversized \(skipsOversized), reads of \(chunk)
              got      \(events.map(describe)) ending \(end)
              expected \(expectedEvents.map(describe)) ending \(expectedEnd)

            """.utf8))
        abort()
    }
    return 0
}

/// Lines end at "\n"; blank ones (only "\r" and spaces) are skipped; an unfinished last line is
/// dropped at the end of the stream unless it is already too long.
private func expected(_ stream: Data, limit: Int, skipsOversized: Bool) -> ([Event], LineReadingEnd) {
    var events: [Event] = []
    let pieces = stream.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    for (index, piece) in pieces.enumerated() {
        let finished = index < pieces.count - 1
        if piece.count > limit {
            guard skipsOversized else { return (events, .lineTooLong) }
            events.append(.oversized(Data(piece.prefix(limit))))
        } else if finished && !piece.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") }) {
            events.append(.line(Data(piece)))
        }
    }
    return (events, .endOfFile)
}

private func describe(_ event: Event) -> String {
    switch event {
    case .line(let data): "line \(String(decoding: data, as: UTF8.self).debugDescription)"
    case .oversized(let data): "oversized \(String(decoding: data, as: UTF8.self).debugDescription)"
    }
}
