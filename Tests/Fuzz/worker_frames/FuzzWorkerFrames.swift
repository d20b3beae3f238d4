// libFuzzer target for the worker frame reader (FrameReader in Sources/Host/Workers/WorkerProtocol.swift),
// built with that file and the message types it carries. The first byte picks the direction (events
// a worker sends, or requests the host sends) and how many bytes each read returns; the rest is the
// pipe's bytes. Every message read must survive being written and read again unchanged. A
// difference aborts.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkerFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let chunk = Int(data[0] >> 1)
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let fd = descriptor(reading: stream, chunk: chunk == 0 ? nil : chunk)
    defer { close(fd) }
    if data[0] & 1 == 0 {
        readAll(WorkerEvent.self, from: fd)
    } else {
        readAll(WorkerRequest.self, from: fd)
    }
    return 0
}

private func readAll<Message: Codable & CarriesHeap>(_ type: Message.Type, from fd: Int32) {
    let reader = FrameReader(fd: fd)
    while let message = reader.receive(type) {
        let again = writtenAndRead(message)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let first = try? encoder.encode(message), let second = try? encoder.encode(again), first == second else {
            FileHandle.standardError.write(Data("worker_frames: \(message) came back as \(String(describing: again))\n".utf8))
            abort()
        }
    }
}

private func writtenAndRead<Message: Codable & CarriesHeap>(_ message: Message) -> Message? {
    let fd = temporaryFile()
    defer { close(fd) }
    guard FrameWriter(fd: fd).send(message) else { return nil }
    lseek(fd, 0, SEEK_SET)
    return FrameReader(fd: fd).receive(Message.self)
}
