// Hostile armor for the native decoder (src/pgp/armor.ts) and the encrypted-part check
// (isEncryptedMessage): shapes built to make a reader copy, loop or allocate. Each fails
// as a clear ReportError within the raw-message bound, and the decoder never allocates
// more than the armor it was given.
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { decryptMessage, isEncryptedMessage } from '../../src/pgp/decrypt.js'
import { ArmorError, dearmorMessage } from '../../src/pgp/armor.js'
import { ReportError } from '../../src/domain/errors.js'
import { limits } from '../../src/domain/limits.js'
import { teamKey } from '../helpers/team-key.js'

const BEGIN = '-----BEGIN PGP MESSAGE-----\r\n'
const END = '-----END PGP MESSAGE-----\r\n'

async function refused (t: Test, input: Buffer, what: string): Promise<void> {
  const team = await teamKey()
  const start = performance.now()
  const err = await decryptMessage(input, team.keyring).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof ReportError, `${what}: a ReportError (${(err as Error)?.message?.slice(0, 80)})`)
  t.comment(`${what}: ${(performance.now() - start).toFixed(0)} ms for ${(input.length / 2 ** 20).toFixed(1)} MiB`)
}

t.test('whitespace bomb: 20 MiB of line ends inside the armor decode to nothing and are refused', async (t) => {
  const input = Buffer.from(BEGIN + '\r\n' + '\r\n'.repeat(10 * 2 ** 20) + END)
  const decoded = dearmorMessage(input)
  t.equal(decoded?.length, 0, 'nothing decoded, and only the armor\'s own size was ever allocated')
  await refused(t, input, 'whitespace bomb')
})

t.test('header bomb: millions of armor header lines, never a blank line: refused at once (openpgp.js took ~10 s to refuse it)', async (t) => {
  const input = Buffer.from(BEGIN + 'Comment: x\r\n'.repeat(1_500_000) + END)
  const start = performance.now()
  t.throws(() => dearmorMessage(input), ArmorError, 'refused by the native reader')
  t.comment(`native reader: ${(performance.now() - start).toFixed(0)} ms`)
  t.equal(isEncryptedMessage(input), false, 'no base64 line: not an encrypted message')
  await refused(t, input, 'header bomb')
})

t.test('an end line repeated: only a lone end line at the very end is taken', async (t) => {
  const body = randomBytes(3000).toString('base64').replace(/.{64}/g, '$&\r\n')
  const input = Buffer.from(BEGIN + '\r\n' + body + '\r\n' + END + END.repeat(100_000))
  t.equal(dearmorMessage(input), undefined)
  await refused(t, input, 'repeated end lines')
})

t.test('garbage base64 of the raw-message size decodes (no packet parse blowup) and is refused', async (t) => {
  const size = Math.floor(limits.rawMessageBytes / 2)
  const body = randomBytes(Math.floor(size * 3 / 4)).toString('base64').replace(/.{76}/g, '$&\n')
  const input = Buffer.from(BEGIN + '\r\n' + body + '\r\n' + END)
  const decoded = dearmorMessage(input)
  t.ok(decoded !== undefined && decoded.length < input.length, 'decoded into less than the armor')
  await refused(t, input, 'random packets')
})

t.test('an armor over the raw-message limit is refused before it is decoded', async (t) => {
  const input = Buffer.alloc(limits.rawMessageBytes + 1, 0x41)
  Buffer.from(BEGIN + '\r\n').copy(input)
  const team = await teamKey()
  const err = await decryptMessage(input, team.keyring).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof ReportError && err.code === 'too-large', 'too-large')
})
