// OpenPGP packet framing for tests that rebuild a message around a crafted packet
// (new-format headers, as openpgp.js writes them; RFC 9580 4.2).

/** One new-format packet: tag, length (one or two octets; bodies under 8384 bytes), body. */
export function newFormatPacket (tag: number, body: Uint8Array): Buffer {
  const length = body.length < 192
    ? Buffer.from([body.length])
    : Buffer.from([((body.length - 192) >> 8) + 192, (body.length - 192) & 0xff])
  return Buffer.concat([Buffer.from([0xc0 | tag]), length, body])
}

/** The first packet of `bytes` (whole, and its body) and the bytes after it. */
export function splitFirstPacket (bytes: Buffer): { packet: Buffer, body: Buffer, rest: Buffer } {
  if ((bytes[0]! & 0xc0) !== 0xc0) throw new Error('expected a new-format packet first')
  const first = bytes[1]!
  const [header, length] = first < 192
    ? [2, first]
    : first < 224 ? [3, ((first - 192) << 8) + bytes[2]! + 192] : [6, bytes.readUInt32BE(2)]
  const end = header + length
  return { packet: bytes.subarray(0, end), body: bytes.subarray(header, end), rest: bytes.subarray(end) }
}
