import Testing
import WireProtocol

/// Autobahn 4: opcodes 0x3-0x7 (data) and 0xB-0xF (control) are reserved; a frame carrying one
/// fails the connection.
@Suite("4 Reserved opcodes") struct OpcodeTests {
    static let reserved: [UInt8] = [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF]

    @Test("a frame with a reserved opcode fails the connection with 1002", arguments: Target.allCases, reserved)
    func reservedOpcode(_ target: Target, opcode: UInt8) async throws {
        try await withSession(target) { session in
            try await expectFailure(of: session, by: ClientFrame(opcode: opcode, payload: Array("reserved".utf8)), afterGoodMessage: false, code: 1002)
        }
    }

    @Test("after a good message, a reserved opcode still fails the connection, after the answer", arguments: Target.allCases, [UInt8(0x5), 0xD])
    func reservedOpcodeAfterMessage(_ target: Target, opcode: UInt8) async throws {
        try await withSession(target) { session in
            try await expectFailure(of: session, by: ClientFrame(opcode: opcode, payload: []), afterGoodMessage: true, code: 1002)
        }
    }
}
