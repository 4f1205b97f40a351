// Inline compression bomb (security review of issue 15): a compressed but NOT encrypted
// `-----BEGIN PGP MESSAGE-----` body was read with the fixed 64 MiB decompression cap,
// outside the plaintext budget that admission hands to openReport and outside the 256:1
// ratio, and inflated twice (text, then signature). About 60 KB of mail inflating to 60
// MiB was admitted at a few MiB and peaked at hundreds of MB. It now inflates once, under
// the message's plaintext budget and the ratio, as a decryption does.
import t from 'tap'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { admission } from '../../src/report/admission.js'
import { byteGate } from '../../src/ops/memory.js'
import { maxExpansion } from '../../src/pgp/decrypt.js'
import { ReportError } from '../../src/domain/errors.js'
import { inlineBody, message } from '../helpers/gpg.js'
import { autocryptHeader, reporterSigner, type Signer } from '../helpers/signature-bombs.js'
import { teamKey } from '../helpers/team-key.js'

const MiB = 1024 * 1024
const zlib = { preferredCompressionAlgorithm: openpgp.enums.compression.zlib }

/** An inline, zlib-compressed, not encrypted message; signed when a signer is given. */
async function compressedInline (data: Uint8Array | string, signer?: Signer): Promise<string> {
  let msg = typeof data === 'string' ? await openpgp.createMessage({ text: data }) : await openpgp.createMessage({ binary: data })
  if (signer !== undefined) msg = await msg.sign([signer.privateKey])
  // Message.compress is public in openpgp.js but missing from its typings; the compressed
  // packet writes as openpgp.js' ArrayStream, read whole here.
  const compressible = msg as unknown as { compress: (algorithm: openpgp.enums.compression, config: openpgp.Config) => Promise<openpgp.Message<Uint8Array>> }
  const compressed = await compressible.compress(openpgp.enums.compression.zlib, { ...openpgp.config, ...zlib })
  const armored = compressed.armor() as unknown as string | { readToEnd: (join: (parts: string[]) => string) => Promise<string> }
  return typeof armored === 'string' ? armored : await armored.readToEnd((parts) => parts.join(''))
}

async function failure (p: Promise<unknown>): Promise<ReportError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  if (!(err instanceof ReportError)) throw new Error(`expected a ReportError, got ${String(err)}`)
  return err
}

t.test('inline compression bomb', async (t) => {
  const team = await teamKey()
  const signer = await reporterSigner()
  const headers = { Autocrypt: autocryptHeader(signer.publicKey) }
  const zeros = new Uint8Array(60 * MiB)

  for (const signed of [false, true]) {
    t.test(`${signed ? 'signed' : 'unsigned'}: 60 MiB from a small mail is refused within the worker's budget`, async (t) => {
      const raw = message({ headers }, inlineBody(await compressedInline(zeros, signed ? signer : undefined), '8bit'))
      t.ok(raw.length < 128 * 1024, `the mail is ${raw.length} bytes`)
      const budget = 96 * MiB
      const admit = admission(byteGate(budget))
      const most = admit.maxPlaintext(raw.length)
      t.ok(most < 60 * MiB, `one message may inflate to ${most} bytes under ${budget / MiB} MiB`)
      const caps: number[] = []
      const ticket = admit.ticket()
      t.teardown(ticket.release)
      const err = await failure(ticket.open(raw, async (plaintextBytes) => { caps.push(plaintextBytes); return await openReport(raw, { keyring: team.keyring, plaintextBytes }) }))
      t.equal(err.code, 'too-large')
      t.match(err.message, `larger than ${most} bytes, the most one message of ${raw.length} bytes may decrypt to within the worker's memory budget of 96.0 MiB`)
      t.ok(caps.length === 2 && caps.every((cap) => cap <= most), `opened with caps ${caps.join(', ')}, the second after a retry`)
    })
  }

  t.test('the expansion ratio holds under the default cap', async (t) => {
    const raw = message({}, inlineBody(await compressedInline(new Uint8Array(16 * MiB)), '8bit'))
    const err = await failure(openReport(raw, { keyring: team.keyring }))
    t.equal(err.code, 'too-large')
    t.match(err.message, `expands more than ${maxExpansion} times`)
  })

  t.test('an ordinary compressed inline-signed message opens and verifies', async (t) => {
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i}: GET /api/v1/items?id=${(i * 7919) % 10007} 200`).join('\n')
    const raw = message({ headers }, inlineBody(await compressedInline(text, signer), '8bit'))
    const report = await openReport(raw, { keyring: team.keyring, plaintextBytes: 4 * MiB })
    // Text literal data is CRLF-canonical (RFC 4880 5.9).
    t.equal(report.text.replace(/\r\n/g, '\n').trim(), text)
    t.match(report.signature, { state: 'verified', keySource: 'autocrypt' })
  })
})
