// What goes inside a seal. Version 0 (everything sealed before provider adapters
// existed, and /inbound/raw still) is the raw message alone. Version 1 frames a small
// JSON of provider metadata (envelope, verdicts, provider id: sender data, hence
// sealed too) before the raw bytes. A raw RFC 5322 message never starts with NUL, so
// the magic cannot be mistaken for mail and old envelopes open unchanged.
import type { InboundMeta } from '../domain/inbound.js'

const MAGIC = Buffer.from('\0intake-sealed-payload\0')
const V1 = 1
const MAX_META_BYTES = 64 * 1024

export function packPayload (raw: Buffer, meta: InboundMeta | undefined): Buffer {
  return meta === undefined ? raw : Buffer.concat(payloadParts(raw, meta))
}

/** packPayload's pieces, in order, for sealing without first copying the raw message. */
export function payloadParts (raw: Buffer, meta: InboundMeta | undefined): Buffer[] {
  if (meta === undefined) return [raw]
  const json = Buffer.from(JSON.stringify(meta))
  if (json.length > MAX_META_BYTES) throw new Error('inbound metadata too large to seal')
  const len = Buffer.alloc(4)
  len.writeUInt32BE(json.length)
  return [MAGIC, Buffer.from([V1]), len, json, raw]
}

export function unpackPayload (plaintext: Buffer): { raw: Buffer, meta?: InboundMeta } {
  if (!plaintext.subarray(0, MAGIC.length).equals(MAGIC)) return { raw: plaintext }
  const version = plaintext[MAGIC.length]
  if (version !== V1) throw new Error(`sealed payload version ${String(version)} is not known to this worker`)
  const at = MAGIC.length + 1
  const len = plaintext.readUInt32BE(at)
  if (len > MAX_META_BYTES) throw new Error('sealed payload metadata too large')
  const meta = JSON.parse(plaintext.subarray(at + 4, at + 4 + len).toString('utf8')) as InboundMeta
  return { raw: plaintext.subarray(at + 4 + len), meta }
}
