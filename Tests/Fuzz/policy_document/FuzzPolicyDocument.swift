// libFuzzer target for the JSON reader policy input documents go through
// (Sources/Host/Policy/PolicyDocument.swift), built with that file alone. Beyond not crashing, it
// holds the reader to Foundation's JSON parser on the same bytes: a document it accepts that Foundation
// refuses, or one they read as different values, aborts.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicyDocument(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    guard let text = String(data: bytes, encoding: .utf8) else { return 0 }
    let document = PolicyDocument(parsing: text)
    // A raw NUL is never JSON; Foundation reads NULs among the first bytes as UTF-16 or UTF-32.
    if bytes.contains(0) {
        if document != nil { violated("accepted a raw NUL", text) }
        return 0
    }
    let foundation = try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])
    switch (document, foundation) {
    case (let document?, let foundation?):
        if !same(document, foundation) { violated("read as \(document), Foundation reads \(foundation)", text) }
    case (_?, nil): violated("accepted a document that is not JSON", text)
    // Foundation also reads some documents that are not JSON ("[1,]"), so a refusal proves nothing.
    case (nil, _): break
    }
    return 0
}

private func violated(_ what: String, _ text: String) -> Never {
    FileHandle.standardError.write(Data("policy_document: \(what): \(text.debugDescription)\n".utf8))
    abort()
}

private func same(_ document: PolicyDocument, _ value: Any) -> Bool {
    switch document {
    case .null: return value is NSNull
    case .bool(let bool): return (value as? NSNumber)?.boolValue == bool
    case .int(let int): return (value as? NSNumber).map { $0.int64Value == int || $0.doubleValue == Double(int) } ?? false
    case .float(let float):
        guard let number = value as? NSNumber else { return false }
        // Foundation reads integers too long for 64 bits as NSDecimalNumber, whose doubleValue
        // drifts by more than a rounding step for large exponents; its decimal text does not.
        let foundation = (number as? NSDecimalNumber).flatMap { Double($0.stringValue) } ?? number.doubleValue
        return foundation == float || (float.isInfinite && foundation.isInfinite)
            || abs(foundation - float) <= abs(float) * 1e-15
    case .string(let string): return (value as? String) == string
    case .array(let items):
        guard let array = value as? [Any], array.count == items.count else { return false }
        return zip(items, array).allSatisfy { same($0, $1) }
    case .object(let fields):
        guard let object = value as? [String: Any] else { return false }
        // Foundation keeps the last of repeated keys.
        var last: [String: PolicyDocument] = [:]
        for (key, item) in fields { last[key] = item }
        return object.count == last.count && last.allSatisfy { key, item in object[key].map { same(item, $0) } ?? false }
    }
}
