import Foundation

/// A struct of the capability ABI as its maker compiled it. Every such struct begins with its
/// `size`, which is smaller than this host's when the plugin was built for an older minor version
/// and larger when built for a newer one (minor versions only append fields). Only the bytes
/// within `size` are copied; fields beyond it read as zero (NULL), and `covers` says whether a
/// field was really there, so the host reads each field against `size` as `plugin_support.c` does.
struct ABIStruct<Layout> {
    /// The maker's `size`.
    let size: Int
    /// The fields within `size`; the rest zero.
    let value: Layout

    /// Reads the struct at `pointer`, whose first field is its `size`.
    init(at pointer: UnsafeRawPointer) {
        let size = pointer.loadUnaligned(as: Int.self)
        let copy = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Layout>.size,
                                                    alignment: MemoryLayout<Layout>.alignment)
        defer { copy.deallocate() }
        copy.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Layout>.size)
        copy.copyMemory(from: pointer, byteCount: min(max(size, 0), MemoryLayout<Layout>.size))
        self.size = size
        self.value = copy.load(as: Layout.self)
    }

    /// Whether the maker's struct holds `field` (its offset plus its size lie within `size`).
    func covers<Field>(_ field: KeyPath<Layout, Field>) -> Bool {
        guard let offset = MemoryLayout<Layout>.offset(of: field) else { return false }
        return offset + MemoryLayout<Field>.size <= size
    }

    /// The bytes `size` must reach for `field` to be there.
    static func bytes<Field>(through field: KeyPath<Layout, Field>) -> Int {
        MemoryLayout<Layout>.offset(of: field)! + MemoryLayout<Field>.size
    }
}
