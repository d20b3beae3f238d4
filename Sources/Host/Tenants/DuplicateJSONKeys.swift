import Foundation

/// Finds a key given twice in one JSON object. JSON parsers keep one of the two silently, so an
/// operator's second `"acme"` entry would quietly replace the first.
enum DuplicateJSONKeys {
    /// The keys leading to the first duplicate, the duplicate last; nil when there is none.
    /// `data` must already be known to be valid JSON.
    static func first(in data: Data) -> [String]? {
        struct Frame {
            let isObject: Bool
            /// The keys leading to this object or array.
            let path: [String]
            var keys: Set<String> = []
            var expectingKey: Bool
            var lastKey = ""
        }
        let bytes = [UInt8](data)
        var stack: [Frame] = []
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    index += 1
                }
                guard var top = stack.last, top.isObject, top.expectingKey, index < bytes.count else { break }
                // Decoded, so "a" and "\u0061" are the same key.
                let text = Data(bytes[start...index])
                let key = (try? JSONSerialization.jsonObject(with: text, options: .fragmentsAllowed)) as? String ?? ""
                if top.keys.contains(key) { return top.path + [key] }
                top.keys.insert(key)
                top.expectingKey = false
                top.lastKey = key
                stack[stack.count - 1] = top
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let path = stack.last.map { $0.isObject ? $0.path + [$0.lastKey] : $0.path } ?? []
                let isObject = bytes[index] == UInt8(ascii: "{")
                stack.append(Frame(isObject: isObject, path: path, expectingKey: isObject))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
            case UInt8(ascii: ","):
                if stack.last?.isObject == true { stack[stack.count - 1].expectingKey = true }
            default:
                break
            }
            index += 1
        }
        return nil
    }
}
