// Finding 2 of issue 15: a 60 MB compressible plaintext in a few hundred KB of ciphertext
// inflated under the 64 MiB cap and took ~685 MB to open; four at once OOM-killed a 512 MB
// worker. Now the plaintext a message may have comes from the worker's memory budget
// (admission by bytes) and the expansion ratio is bounded while inflating.
import t from 'tap'
import * as openpgp from 'openpgp'
import { admission, openCostFactor } from '../../src/report/admission.js'
import { byteGate } from '../../src/ops/memory.js'
import { openReport } from '../../src/mail/open-report.js'
import { maxExpansion } from '../../src/pgp/decrypt.js'
import { ReportError } from '../../src/domain/errors.js'
import { limits } from '../../src/domain/limits.js'
import { compressionBomb } from '../helpers/bombs.js'
import { message, openpgpEncrypt, pgpMimeEncrypted, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

const MiB = 1024 * 1024

async function failure (p: Promise<unknown>): Promise<ReportError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  if (!(err instanceof ReportError)) throw new Error(`expected a ReportError, got ${String(err)}`)
  return err
}

t.test('a bomb larger than the budget allows one message is too-large, with its sizes', async (t) => {
  const team = await teamKey()
  const bomb = await compressionBomb(team.keyring.published, 60 * MiB)
  t.ok(bomb.length < 1024 * 1024, `the bomb is ${bomb.length} bytes`)
  const budget = 360 * MiB // 512 MB less a worker's baseline
  const admit = admission(byteGate(budget))
  const most = admit.maxPlaintext(bomb.length)
  t.ok(most < 60 * MiB && most < limits.decryptedBytes, `one message may decrypt to ${most} bytes under ${budget / MiB} MiB`)
  const opened: number[] = []
  const tickets = Array.from({ length: 4 }, () => admit.ticket())
  const errors = await Promise.all(tickets.map(async (ticket) => {
    try {
      return await failure(ticket.open(bomb, async (plaintextBytes) => { opened.push(plaintextBytes); return await openReport(bomb, { keyring: team.keyring, plaintextBytes }) }))
    } finally { ticket.release() }
  }))
  for (const err of errors) {
    t.equal(err.code, 'too-large')
    t.match(err.message, new RegExp(`larger than ${most} bytes.*${bomb.length} bytes.*budget of 360\\.0 MiB`), 'the reason names the sizes')
  }
  t.ok(opened.every((cap) => cap <= most), 'no open ran with a cap over what the budget allows')
  t.ok(opened.filter((cap) => cap === most).length <= 4, 'each retried once at most, alone with the whole budget')
})

t.test('a bomb that fits the budget is opened; its text is kept to what the report can use', async (t) => {
  const team = await teamKey()
  const bomb = await compressionBomb(team.keyring.published, 60 * MiB)
  const admit = admission(byteGate(openCostFactor * 70 * MiB))
  const ticket = admit.ticket()
  t.teardown(ticket.release)
  const report = await ticket.open(bomb, async (plaintextBytes) => await openReport(bomb, { keyring: team.keyring, plaintextBytes }))
  t.equal(report.text.length, limits.reportTextChars, 'not 60 MB of text held (and copied) for an advisory that shows 64 Ki')
})

t.test('a message over the whole budget is refused before it is opened', async (t) => {
  const team = await teamKey()
  const raw = message({}, textPart('x'.repeat(2 * MiB)))
  const ticket = admission(byteGate(8 * MiB)).ticket()
  let ran = false
  const err = await failure(ticket.open(raw, async () => { ran = true; return await openReport(raw, { keyring: team.keyring }) }))
  t.equal(err.code, 'too-large')
  t.match(err.message, /the message is \d+ bytes; opening it takes about .* MiB, more than the worker's memory budget of 8\.0 MiB/)
  t.notOk(ran)
})

t.test('the expansion ratio is bounded while inflating', async (t) => {
  const team = await teamKey()
  // 16 MiB of zeros deflate ~1000:1; under the 64 MiB size cap, but not under the ratio.
  const zeros = new Uint8Array(16 * MiB)
  const config = { preferredCompressionAlgorithm: openpgp.enums.compression.zlib }
  const ciphertext = await openpgpEncrypt(zeros, { to: [team.keyring.published], config })
  t.ok(ciphertext.length * maxExpansion < zeros.length, `ciphertext ${ciphertext.length} bytes`)
  const err = await failure(openReport(message({}, pgpMimeEncrypted(ciphertext)), { keyring: team.keyring }))
  t.equal(err.code, 'too-large')
  t.match(err.message, `expands more than ${maxExpansion} times`)
  // Ordinary text (3-5:1) is untouched.
  const text = Array.from({ length: 20000 }, (_, i) => `line ${i}: GET /api/v1/items?id=${(i * 7919) % 10007} 200\n`).join('')
  const ok = await openReport(message({}, pgpMimeEncrypted(await openpgpEncrypt(textPart(text), { to: [team.keyring.published], config }))), { keyring: team.keyring })
  t.equal(ok.text.length, text.length)
})
