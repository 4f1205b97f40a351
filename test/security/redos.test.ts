// Denial of service through attacker-controlled mail: regexes that backtrack
// super-linearly and key checks that are quadratic in the number of user IDs. No timings
// are asserted (machines are noisy). The inputs are sized so that the code before the
// fix takes tens of seconds or more on each of them, and the per-test timeout fails it;
// the fixed code takes milliseconds.
import t from 'tap'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { mayAutoReply } from '../../src/mail/auto-reply-policy.js'
import { attachedKeys, findReporterKeys } from '../../src/pgp/reporter-keys.js'
import { attachmentPart, message, multipart, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

const crlf = '\r\n'
const slow = { timeout: 10000 }
const controlPart = `Content-Type: application/pgp-encrypted${crlf}${crlf}Version: 1${crlf}`

t.test('hostile MIME bodies', async (t) => {
  const deps = { keyring: (await teamKey()).keyring }

  // mime-split.ts decodeQuotedPrintable: `[ \t]+(?=\r?\n)` was 24 s at 80 KB.
  t.test('quoted-printable part of 200 KB of spaces, no line break', slow, async (t) => {
    const qp = `Content-Type: text/plain${crlf}Content-Transfer-Encoding: quoted-printable${crlf}${crlf}${' '.repeat(200_000)}x`
    const report = await openReport(message({}, multipart('mixed', [controlPart, qp])), deps)
    t.equal(report.encrypted, false)
  })

  t.test('quoted-printable decoding still drops blanks before line breaks only', async (t) => {
    const qp = `Content-Type: text/plain${crlf}Content-Transfer-Encoding: quoted-printable${crlf}${crlf}a \t ${crlf}b  \nc=${crlf}d =3D  `
    const { splitMime, decodeBody } = await import('../../src/mail/mime-split.js')
    t.equal(decodeBody(splitMime(Buffer.from(qp))).toString('latin1'), `a${crlf}b\ncd =  `)
  })

  // open-report.ts isControlPart: `/^\s*Version:\s*1\s*$/im` was 15 s at 80K newlines.
  t.test('application/pgp-encrypted control part of 200K blank lines', slow, async (t) => {
    const control = `Content-Type: application/pgp-encrypted${crlf}${crlf}${'\n'.repeat(200_000)}x`
    const report = await openReport(message({}, multipart('mixed', [control, textPart('report')])), deps)
    t.equal(report.text.trim(), 'report')
  })

  // open-report.ts armorFromHtml: `<!--[\s\S]*?-->` was 32 s at 400 KB.
  for (const [name, html] of [
    ['unclosed comments', '<!--'.repeat(150_000)],
    ['unclosed heads', '<head>'.repeat(100_000)],
    ['unclosed tags inside <pre>', `<pre>${'<'.repeat(600_000)}</pre>`]
  ] as const) {
    t.test(`HTML-only body of ${name}`, slow, async (t) => {
      const report = await openReport(message({}, textPart(html, 'text/html; charset=utf-8')), deps)
      t.equal(report.encrypted, false)
    })
  }
})

t.test('hostile headers for the auto-reply policy', async (t) => {
  const from = { address: 'reporter@example.net' }
  const decide = (headers: Array<[string, string]>, sender = from): ReturnType<typeof mayAutoReply> =>
    mayAutoReply({ headers: new Map(headers), from: sender })

  // auto-reply-policy.ts addressesIn: 12 s for an 80 KB token without '@'.
  for (const name of ['return-path', 'reply-to', 'sender']) {
    t.test(`${name}: 300 KB token without '@'`, slow, async (t) => {
      t.same(decide([[name, `<${'a'.repeat(300_000)}>`]]), { ok: true })
    })
  }

  // isNullPath: `^\s*(<\s*>)?\s*$` backtracks quadratically over a run of blanks.
  t.test('return-path: 300 KB of blanks before a character', slow, async (t) => {
    t.same(decide([['return-path', `${' '.repeat(300_000)}x`]]), { ok: true })
  })

  // robotReason: `"+$` rescanned a run of quotes from each of its positions.
  t.test('From local part with a 100K run of quotes', slow, async (t) => {
    t.same(decide([], { address: `x${'"'.repeat(100_000)}y@example.net` }), { ok: true })
  })

  t.test('robot mailboxes are still found in the capped headers', async (t) => {
    t.same(decide([['return-path', '<>']]), { ok: false, reason: 'empty-return-path' })
    t.same(decide([['return-path', ' <  > ']]), { ok: false, reason: 'empty-return-path' })
    t.same(decide([['reply-to', 'Lists <owner-dev@lists.example.org>']]), { ok: false, reason: 'list-owner' })
    t.same(decide([['sender', '"x" <MAILER-DAEMON@example.org>, other@example.org']]), { ok: false, reason: 'mailer-daemon' })
    t.same(decide([['reply-to', `a@example.org, ${'x'.repeat(10_000)} dev-request@example.org`]]), { ok: true }, 'past the cap')
    t.same(decide([], { address: '"owner-x"@example.org' }), { ok: false, reason: 'list-owner' })
  })
})

/** A key whose user IDs are all `email`, each certified by the key itself. */
async function keyWithUserIds (count: number, email: string): Promise<openpgp.PublicKey> {
  const userIDs = Array.from({ length: count }, (_, i) => ({ name: `Reporter ${i}`, email }))
  const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs, format: 'object' })
  return publicKey
}

/** Each user ID given the next one's self-certification: every check fails, none is cached. */
function withMismatchedCertifications (key: openpgp.PublicKey): openpgp.PublicKey {
  const certifications = key.users.map((user) => user.selfCertifications)
  key.users.forEach((user, i) => { user.selfCertifications = certifications[(i + 1) % certifications.length] ?? [] })
  return key
}

const keyAttachment = (key: openpgp.PublicKey, filename = 'key.gpg'): { filename: string, contentType: string, content: Buffer } =>
  ({ filename, contentType: 'application/pgp-keys', content: Buffer.from(key.write()) })

t.test('attached reporter keys', async (t) => {
  const from = 'reporter@example.net'

  // reporter-keys.ts hasUserId called getPrimaryUser once per matching user ID, and each
  // call re-verified every one that failed: 400 user IDs took 6.8 s, 800 take about 30.
  t.test('800 user IDs with failing certifications (under the old 256 KiB cap)', slow, async (t) => {
    const attachment = keyAttachment(withMismatchedCertifications(await keyWithUserIds(800, from)))
    t.ok(attachment.content.length < 256 * 1024)
    t.same(await attachedKeys([attachment], from), [])
  })

  t.test('a key with 300 user IDs is ignored, not checked', slow, async (t) => {
    const key = await keyWithUserIds(300, from)
    t.same(await attachedKeys([keyAttachment(key)], from), [])
    const raw = message({}, multipart('mixed', [textPart('report'), attachmentPart({ filename: 'key.asc', contentType: 'application/pgp-keys', content: key.armor() })]))
    const report = await openReport(raw, { keyring: (await teamKey()).keyring })
    t.equal(report.reporterKey, undefined)
  })

  t.test('an ordinary key is still taken, from the first three key attachments only', async (t) => {
    const key = await keyWithUserIds(2, from)
    const other = await keyWithUserIds(1, 'someone@example.org')
    const found = await attachedKeys([keyAttachment(key)], from)
    t.same(found.map((f) => f.reporterKey.source), ['attached'])
    const late = [keyAttachment(other, 'a.gpg'), keyAttachment(other, 'b.gpg'), keyAttachment(other, 'c.gpg'), keyAttachment(key, 'd.gpg')]
    t.same(await attachedKeys(late, from), [], 'a fourth key attachment is not read')
  })

  t.test('a key block above 64 KiB is skipped', async (t) => {
    const key = await keyWithUserIds(2, from)
    const padded = Buffer.concat([Buffer.from(key.armor()), Buffer.alloc(64 * 1024, 0x0a)])
    t.same(await attachedKeys([{ filename: 'key.asc', contentType: 'application/pgp-keys', content: padded }], from), [])
  })

  t.test('Autocrypt keydata under the same caps', async (t) => {
    const key = await keyWithUserIds(40, from)
    const keydata = Buffer.from(key.write()).toString('base64')
    t.ok(keydata.length < 10 * 1024 * 4 / 3, 'fits Autocrypt\'s 10 KiB')
    const found = await findReporterKeys({ from, contentType: 'text/plain', attachments: [], headers: [{ name: 'autocrypt', value: `addr=${from}; keydata=${keydata}` }] })
    t.same(found, [])
  })
})
