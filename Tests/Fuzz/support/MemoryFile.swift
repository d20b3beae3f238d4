// For the Swift fuzz targets whose parsers read a file descriptor: the input as a readable descriptor.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A descriptor reading `bytes` from the start; with `chunk`, `chunk` bytes per read (a
/// SOCK_SEQPACKET socket keeps each write a read of its own; at most 256 of them), so a parser sees
/// its input split where the fuzzer picks. Close it when done.
func descriptor(reading bytes: UnsafeRawBufferPointer, chunk: Int? = nil) -> Int32 {
    guard let chunk else {
        let fd = temporaryFile()
        precondition(bytes.isEmpty || write(fd, bytes.baseAddress!, bytes.count) == bytes.count)
        lseek(fd, 0, SEEK_SET)
        return fd
    }
    var pair: [Int32] = [0, 0]
    precondition(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &pair) == 0)
    var buffer = Int32(4 << 20)
    setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
    let size = max(chunk, 1, (bytes.count + 255) / 256)
    var offset = 0
    while offset < bytes.count {
        let count = min(size, bytes.count - offset)
        precondition(write(pair[1], bytes.baseAddress! + offset, count) == count)
        offset += count
    }
    close(pair[1])
    return pair[0]
}

/// An empty file open for reading and writing, already unlinked. Close it when done.
func temporaryFile() -> Int32 {
    var template = Array("/tmp/mcp-v8-fuzz-XXXXXX".utf8CString)
    let fd = mkstemp(&template)
    precondition(fd >= 0)
    unlink(template)
    return fd
}
