import WireProtocol

/// A client frame built by hand, bit by bit, so that the suite can send every form the RFC allows
/// and every one it forbids. Independent of NIO's encoder and of the lab's code.
struct ClientFrame: Sendable {
    var fin = true
    /// RSV1-3 as Autobahn numbers them: 4 = RSV1, 2 = RSV2, 1 = RSV3.
    var rsv: UInt8 = 0
    var opcode: UInt8
    var payload: [UInt8]
    /// nil sends the frame unmasked, which a client must never do.
    var maskingKey: [UInt8]? = [0x37, 0xFA, 0x21, 0x3D]

    static func text(_ text: String, fin: Bool = true) -> ClientFrame { ClientFrame(fin: fin, opcode: 0x1, payload: Array(text.utf8)) }
    static func text(_ bytes: [UInt8], fin: Bool = true) -> ClientFrame { ClientFrame(fin: fin, opcode: 0x1, payload: bytes) }
    static func binary(_ bytes: [UInt8], fin: Bool = true) -> ClientFrame { ClientFrame(fin: fin, opcode: 0x2, payload: bytes) }
    static func continuation(_ bytes: [UInt8], fin: Bool) -> ClientFrame { ClientFrame(fin: fin, opcode: 0x0, payload: bytes) }
    static func continuation(_ text: String, fin: Bool) -> ClientFrame { continuation(Array(text.utf8), fin: fin) }
    static func ping(_ bytes: [UInt8] = []) -> ClientFrame { ClientFrame(opcode: 0x9, payload: bytes) }
    static func pong(_ bytes: [UInt8] = []) -> ClientFrame { ClientFrame(opcode: 0xA, payload: bytes) }
    static func close(_ payload: [UInt8]) -> ClientFrame { ClientFrame(opcode: 0x8, payload: payload) }
    static func close(code: UInt16, reason: String = "") -> ClientFrame { close([UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)) }

    /// The frame on the wire, its length in the shortest form (7-bit, 16-bit or 64-bit).
    var bytes: [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv & 0x7) << 4 | (opcode & 0xF)]
        let mask: UInt8 = maskingKey == nil ? 0 : 0x80
        switch payload.count {
        case 0...125: bytes.append(mask | UInt8(payload.count))
        case 126...0xFFFF: bytes += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: bytes += [mask | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> (UInt64($0) * 8)) }
        }
        guard let key = maskingKey else { return bytes + payload }
        bytes += key
        let headerCount = bytes.count
        bytes += payload
        Self.mask(&bytes, from: headerCount, with: key)
        return bytes
    }

    /// XORs `bytes[start...]` with the key, eight bytes at a time (16 MiB one by one is slow in a
    /// debug build).
    private static func mask(_ bytes: inout [UInt8], from start: Int, with key: [UInt8]) {
        let wide = (key + key).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        bytes.withUnsafeMutableBytes { raw in
            // Eight payload bytes take the key twice over, so each word starts at key[0].
            var index = start
            while raw.count - index >= 8 {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                raw.storeBytes(of: word ^ wide, toByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < raw.count {
                raw[index] ^= key[(index - start) % 4]
                index += 1
            }
        }
    }
}

extension [ClientFrame] {
    /// One write with every frame in it, as a client that batches would send them.
    var bytes: [UInt8] { flatMap(\.bytes) }
}

extension ClientFrame {
    /// The frames of one message cut into `pieces` fragments (the last may be longer).
    static func fragments(opcode: UInt8, of payload: [UInt8], pieces: Int) -> [ClientFrame] {
        let size = Swift.max(payload.count / pieces, 0)
        return (0..<pieces).map { piece in
            let start = piece * size
            let end = piece == pieces - 1 ? payload.count : start + size
            return ClientFrame(fin: piece == pieces - 1, opcode: piece == 0 ? opcode : 0x0, payload: Array(payload[start..<end]))
        }
    }
}
