// Signature and key bombs, built by the tests with openpgp.js: one valid signature
// repeated many times (cheap to send, one full hash of the signed data per copy to
// check), and keys with far more packets than a reporter's key has.
import type { Test } from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as openpgp from 'openpgp'
import { runUnderMemoryLimit, type LimitedRun } from './memory-cgroup.js'
import { message, multipart, pgpMimeEncrypted, pgpMimeSigned, textPart } from './gpg.js'

export interface Signer {
  privateKey: openpgp.PrivateKey
  publicKey: openpgp.PublicKey
}

/** Made an hour ago, so tests can sign with distinct earlier dates. */
export async function reporterSigner (email = 'reporter@example.net'): Promise<Signer> {
  const date = new Date(Date.now() - 3600_000)
  const { privateKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Reporter', email }], format: 'object', date })
  return { privateKey, publicKey: privateKey.toPublic() }
}

/** The Autocrypt header that offers the signer's key for From. */
export function autocryptHeader (key: openpgp.PublicKey, addr = 'reporter@example.net'): string {
  return `addr=${addr}; keydata=${Buffer.from(key.write()).toString('base64')}`
}

/** `text` of about `bytes` bytes, line by line (what a large pasted log looks like). */
export function bigText (bytes: number): string {
  const line = 'GET /api/v1/items?id=1 HTTP/1.1 200 - padding to make a long log line.....\n'
  return `Crash log follows.\n${line.repeat(Math.ceil(bytes / line.length))}`
}

/** One detached signature packet over `data`, written `copies` times into one armored block. */
export async function repeatedDetached (data: Uint8Array, signer: Signer, copies: number): Promise<string> {
  const signature = await openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: signer.privateKey, detached: true, format: 'binary' }) as Uint8Array
  return openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(Array.from({ length: copies }, () => signature)))
}

/** multipart/signed over a large text part, its signature repeated `copies` times. */
export async function detachedBomb (signer: Signer, textBytes: number, copies: number): Promise<string> {
  const signedPart = textPart(bigText(textBytes))
  return pgpMimeSigned(signedPart, await repeatedDetached(Buffer.from(signedPart), signer, copies))
}

/** The multipart/signed bomb inside PGP/MIME encryption to the team (the 27 KB e-mail). */
export async function encryptedDetachedBomb (signer: Signer, team: openpgp.PublicKey, textBytes: number, copies: number): Promise<Buffer> {
  const entity = await detachedBomb(signer, textBytes, copies)
  const armored = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: Buffer.from(entity) }), encryptionKeys: team, config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } })
  return message({ headers: { Autocrypt: autocryptHeader(signer.publicKey) } }, pgpMimeEncrypted(armored))
}

/** Cleartext-signed text (`-----BEGIN PGP SIGNED MESSAGE-----`) whose signature block repeats one signature. */
export async function cleartextBomb (signer: Signer, textBytes: number, copies: number): Promise<string> {
  const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: bigText(textBytes) }), signingKeys: signer.privateKey })
  const parsed = await openpgp.readCleartextMessage({ cleartextMessage: signed })
  const packet = (parsed as unknown as { signature: openpgp.Signature }).signature.write() as Uint8Array
  const block = openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(Array.from({ length: copies }, () => packet)))
  return signed.slice(0, signed.indexOf('-----BEGIN PGP SIGNATURE-----')) + block
}

/** Signed-then-encrypted text whose encrypted message carries the signature packet `copies` times. */
export async function encryptedSignedBomb (signer: Signer, team: openpgp.PublicKey, textBytes: number, copies: number): Promise<string> {
  const text = bigText(textBytes)
  const signed = await openpgp.sign({ message: await openpgp.createMessage({ binary: Buffer.from(text) }), signingKeys: signer.privateKey, format: 'object' })
  const literal = signed.packets.filterByTag(openpgp.enums.packet.literalData)
  const signature = signed.packets.filterByTag(openpgp.enums.packet.signature)[0] as openpgp.SignaturePacket
  const list = new openpgp.PacketList<openpgp.AnyPacket>()
  list.push(...Array.from({ length: copies }, () => signature), ...literal)
  const encrypted = await openpgp.encrypt({ message: new openpgp.Message(list) as openpgp.Message<Uint8Array>, encryptionKeys: team, config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } })
  return encrypted as string
}

/**
 * `packet` (one whole v4 signature packet) with `extra` appended to its unhashed
 * subpacket area: the same signature, different bytes.
 */
export function withUnhashedExtra (packet: Uint8Array, extra: Uint8Array): Uint8Array {
  const body = packetBody(packet)
  const hashedEnd = 6 + body.readUInt16BE(4)
  const unhashedLength = body.readUInt16BE(hashedEnd)
  const unhashedEnd = hashedEnd + 2 + unhashedLength
  const length = Buffer.alloc(2)
  length.writeUInt16BE(unhashedLength + extra.length)
  const newBody = Buffer.concat([body.subarray(0, hashedEnd), length, body.subarray(hashedEnd + 2, unhashedEnd), extra, body.subarray(unhashedEnd)])
  const header = Buffer.alloc(6)
  header.writeUInt8(0xc0 | 2, 0)
  header.writeUInt8(255, 1)
  header.writeUInt32BE(newBody.length, 2)
  return Buffer.concat([header, newBody])
}

function packetBody (packet: Uint8Array): Buffer {
  const bytes = Buffer.from(packet)
  const first = bytes.readUInt8(0)
  if ((first & 0x40) === 0) return bytes.subarray(1 + [1, 2, 4][first & 3]!)
  const l1 = bytes.readUInt8(1)
  return bytes.subarray(l1 < 192 ? 2 : l1 < 224 ? 3 : 6)
}

export { message, multipart, textPart }

export interface ChildOutcome {
  run: LimitedRun
  /** The child's JSON line: signature states, ms, maxRssMiB; or its error code. */
  result?: { signature?: { state: string, reason?: string }, error?: string, ms: number, maxRssMiB: number }
}

/**
 * Opens `raw` under 512 MiB (see openUnderLimit) and checks the outcome: not killed for
 * memory, a clean exit, and the signature state expected.
 */
export async function assertOpensUnderLimit (t: Test, teamArmoredSecret: string, raw: Buffer, signature: Record<string, unknown>): Promise<void> {
  const { run, result } = await openUnderLimit(teamArmoredSecret, raw)
  t.comment(`opened in ${result?.ms} ms, child max RSS ${result?.maxRssMiB} MiB, cgroup peak ${Math.round(run.maxUsageBytes / 2 ** 20)} MiB`)
  t.equal(run.oomKills, 0, 'not killed for memory')
  t.equal(run.code, 0, run.stderr.slice(-500))
  t.match(result?.signature, signature)
}

/** Opens `raw` in a child process held to `limitBytes`, as the worker would on a 512 MiB machine. */
export async function openUnderLimit (teamArmoredSecret: string, raw: Buffer, limitBytes = 512 * 1024 * 1024): Promise<ChildOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'sigbomb-'))
  try {
    await writeFile(join(dir, 'team.asc'), teamArmoredSecret)
    await writeFile(join(dir, 'message.eml'), raw)
    const child = fileURLToPath(new URL('./open-report-child.ts', import.meta.url))
    const run = await runUnderMemoryLimit(['--import', 'tsx', child, join(dir, 'team.asc'), join(dir, 'message.eml')], limitBytes, { timeoutMs: 60_000 })
    const line = run.stdout.trim().split('\n').pop() ?? ''
    return line.startsWith('{') ? { run, result: JSON.parse(line) as ChildOutcome['result'] } : { run }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
