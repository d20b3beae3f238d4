/// A policy could not be loaded or configured.
struct PolicyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
