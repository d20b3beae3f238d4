@testable import Host
import Foundation
import MCP
import XCTest

/// What the JSON-RPC transports read of each message, and the tool-call arguments they set aside.
final class JSONRPCTransportTests: XCTestCase {
    func testHeadsNameTheIdsRequestsAndErrorAnswersOfAMessageOrABatch() {
        let request = JSONRPCHead.heads(in: Data(#"""
            {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"run_js","arguments":{"code":"1"}}}
            """#.utf8))
        XCTAssertEqual(request.map(\.id), [.int(7)])
        XCTAssertEqual(request.map(\.hasMethod), [true])
        XCTAssertEqual(request.map(\.hasError), [false])

        let batch = JSONRPCHead.heads(in: Data(#"""
            [{"jsonrpc":"2.0","id":"a","error":{"code":-32600,"message":"x"}}, 3,
             {"jsonrpc":"2.0","method":"notifications/initialized"}, {"jsonrpc":"2.0","id":null,"result":{}}]
            """#.utf8))
        XCTAssertEqual(batch.map(\.id), [.string("a"), nil, .null], "a member that is no object has no head")
        XCTAssertEqual(batch.map(\.hasMethod), [false, true, false])
        XCTAssertEqual(batch.map(\.hasError), [true, false, false])

        XCTAssertEqual(JSONRPCHead.heads(in: Data("not json".utf8)).count, 0)
        XCTAssertEqual(JSONRPCHead.heads(in: Data("42".utf8)).count, 0)
    }

    /// swift-sdk's `Value` decoding builds a regular expression anew for every string it meets (about
    /// 0.1 ms each, twice per call): the placeholder it sees instead of a call's arguments holds none.
    func testSetAsideArgumentsLeaveSwiftSDKNoStringAndComeBackOnce() {
        let setAside = SetAsideArguments()
        let arguments: [String: Value] = ["code": "1+1"]
        guard case .object(let placeholder) = setAside.setAside(arguments, request: .int(1)) else { return XCTFail() }
        XCTAssertEqual(placeholder.values.filter { if case .string = $0 { true } else { false } }.count, 0)
        XCTAssertEqual(setAside.take(placeholder), arguments)
        XCTAssertEqual(setAside.take(placeholder), [:], "taken once")
        XCTAssertEqual(setAside.take(["code": "2"]), ["code": "2"], "arguments that are no placeholder pass as they are")

        guard case .object(let refused) = setAside.setAside(arguments, request: .string("r")) else { return XCTFail() }
        setAside.discard(request: .string("r"))
        XCTAssertEqual(setAside.take(refused), [:], "dropped when its request got an error answer")
    }
}
