/// Shared by every fuzz target (compiled into each): the fuzzer's bytes, pieces of them, and the
/// stop on a broken invariant.

import WireProtocol

/// The fuzzer's input, copied.
func input(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// A broken invariant stops the run like a crash, so libFuzzer keeps the input that broke it.
func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(message())") }
}

/// `bytes` cut into pieces whose sizes cycle through `sizes` (a size of 0 counts as 1), so that
/// two control bytes of the input choose how a stream arrives: a byte at a time, or in big reads.
func pieces(_ bytes: ArraySlice<UInt8>, sizes: [UInt8]) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    var start = bytes.startIndex
    var turn = 0
    while start < bytes.endIndex {
        let size = max(1, Int(sizes[turn % sizes.count]))
        let end = min(bytes.endIndex, start + size)
        out.append(bytes[start..<end])
        start = end
        turn += 1
    }
    return out
}

/// Every scalar a terminal acts on rather than shows: C0 controls (line feeds included: each
/// rendered line must be one line), DEL and the C1 controls (0x9B is CSI on 8-bit terminals).
func isTerminalControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value)
}

/// Runs once before fuzzing: the SHA-1 that stands in for swift-crypto's must give RFC 6455's
/// sample accept value, or every accept check the targets make would be wrong.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    expect(Handshake.acceptValue(forKey: Handshake.sampleKey) == Handshake.sampleAccept, "the SHA-1 stand-in is wrong")
    return 0
}
