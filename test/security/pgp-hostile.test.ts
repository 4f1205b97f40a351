// Hostile input to the intake: each case must keep failing safely. Error messages are
// checked for report text, which must never appear in them.
import t from 'tap'
import * as openpgp from 'openpgp'
import { decryptMessage } from '../../src/pgp/decrypt.js'
import { openReport } from '../../src/mail/open-report.js'
import { limits } from '../../src/domain/limits.js'
import { ReportError } from '../../src/domain/errors.js'
import { attachmentPart, reporterPeer, exec, inlineBody, message, multipart, pgpMimeEncrypted, pgpMimeSigned, textPart } from '../helpers/gpg.js'
import { makeTeamKey, teamKey } from '../helpers/team-key.js'

const secret = 'TOP-SECRET-REPORT-TEXT: auth bypass via X-Forwarded-User'

async function failure (promise: Promise<unknown>): Promise<ReportError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  if (!(err instanceof ReportError)) throw new Error(`expected a ReportError, got ${String(err)}`)
  if (err.message.includes('TOP-SECRET') || String(err.cause ?? '').includes('TOP-SECRET')) throw new Error('report text leaked into an error')
  return err
}

t.test('hostile input', async (t) => {
  const team = await teamKey()
  const { gpg, reporter } = await reporterPeer(t, team.armoredPublic)
  const deps = { keyring: team.keyring }

  t.test('wrong key: undecryptable, naming the key ids it was encrypted to', async (t) => {
    const other = await makeTeamKey({ email: 'someone-else@example.org' })
    await gpg.importKey(other.armoredPublic)
    const ciphertext = await gpg.encrypt(textPart(secret), { to: [other.fingerprint] })
    const subkeyId = (await other.keyring.published.getEncryptionKey()).getKeyID().toHex().toUpperCase()
    const err = await failure(openReport(message({}, pgpMimeEncrypted(ciphertext)), deps))
    t.equal(err.code, 'undecryptable')
    t.match(err.message, subkeyId)
  })

  t.test('tampered ciphertext: tampered', async (t) => {
    const binary = await gpg.encrypt(textPart(secret), { to: [team.fingerprint], armor: false })
    const flipped = Buffer.from(binary)
    const at = flipped.length - 30
    flipped.writeUInt8(flipped.readUInt8(at) ^ 0x01, at)
    const armored = openpgp.armor(openpgp.enums.armor.message, flipped)
    const err = await failure(openReport(message({}, pgpMimeEncrypted(armored)), deps))
    t.equal(err.code, 'tampered')
  })

  t.test('no integrity protection (gpg --rfc2440 emits a tag 9 SED packet): unauthenticated', async (t) => {
    const ciphertext = await gpg.encrypt(textPart(secret), { to: [team.fingerprint], extra: ['--rfc2440'] })
    const parsed = await openpgp.readMessage({ armoredMessage: ciphertext.toString() })
    const tags = parsed.packets.map((packet) => (packet.constructor as { tag?: number }).tag)
    t.ok(tags.includes(openpgp.enums.packet.symmetricallyEncryptedData), 'gpg really sent a Symmetrically Encrypted Data packet (tag 9)')
    t.equal((await failure(openReport(message({}, pgpMimeEncrypted(ciphertext)), deps))).code, 'unauthenticated')
    t.equal((await failure(openReport(message({}, inlineBody(ciphertext.toString(), 'quoted-printable')), deps))).code, 'unauthenticated')
  })

  t.test('compression bomb: 1 GiB of zeros from gpg is refused with bounded memory', async (t) => {
    const script = `head -c 1073741824 /dev/zero | gpg --homedir "${gpg.home}" --batch --quiet --trust-model always --armor -z 1 --compress-algo zlib --recipient ${team.fingerprint} --encrypt`
    const bomb = await exec('sh', ['-c', script])
    t.ok(bomb.length < 10 * 1024 * 1024, `ciphertext is ${bomb.length} bytes`)
    const cap = 16 * 1024 * 1024
    const direct = await peakRss(async () => await failure(decryptMessage(bomb, team.keyring, { maxBytes: cap })))
    t.equal(direct.result.code, 'too-large')
    t.ok(direct.peak < 8 * cap, `decryptMessage peak RSS growth ${mib(direct.peak)} MiB with a ${mib(cap)} MiB cap`)
    const whole = await peakRss(async () => await failure(openReport(message({}, pgpMimeEncrypted(bomb)), deps)))
    t.equal(whole.result.code, 'too-large')
    t.ok(whole.peak < 4 * limits.decryptedBytes, `openReport peak RSS growth ${mib(whole.peak)} MiB with the default ${mib(limits.decryptedBytes)} MiB cap`)
  })

  t.test('plaintext cap is shared by every decryption in one message', async (t) => {
    const zeros = Buffer.alloc(limits.decryptedBytes / 2 + 1)
    const one = await gpg.encrypt(zeros, { to: [team.fingerprint], armor: false, extra: ['-z', '1', '--compress-algo', 'zlib'] })
    t.ok(one.length < 1024 * 1024)
    const single = message({}, multipart('mixed', [textPart('see attached'), attachmentPart({ filename: 'a.bin.gpg', content: one })]))
    t.equal((await openReport(single, deps)).attachments[0]?.size, zeros.length, 'one fits')
    const two = message({}, multipart('mixed', [textPart('see attached'), attachmentPart({ filename: 'a.bin.gpg', content: one }), attachmentPart({ filename: 'b.bin.gpg', content: one })]))
    t.equal((await failure(openReport(two, deps))).code, 'too-large', 'two do not')
  })

  t.test('bad signature: the signed part was modified', async (t) => {
    const signedPart = textPart('Affected: v1.2 to v1.4')
    const signature = await gpg.sign(signedPart, { signer: reporter.fingerprint, mode: 'detach' })
    const raw = message({ headers: { Autocrypt: autocryptFor(await openpgp.readKey({ armoredKey: reporter.armoredPublic })) } },
      pgpMimeSigned(signedPart.replace('v1.4', 'v9.9'), signature))
    const report = await openReport(raw, deps)
    t.match(report.signature, { state: 'bad', fingerprint: reporter.fingerprint })
    t.match(report.text, 'v9.9', 'the text is what was sent, but not verified')
  })

  t.test('unknown signing key: no-key', async (t) => {
    const ciphertext = await gpg.encrypt(textPart(secret), { to: [team.fingerprint], signer: reporter.fingerprint })
    const report = await openReport(message({}, pgpMimeEncrypted(ciphertext)), deps)
    t.same(report.signature, { state: 'no-key', keyIds: [reporter.fingerprint.slice(-16)] })
    t.equal(report.reporterKey, undefined)
  })

  t.test('Autocrypt key for another address, or with an unknown attribute, is not used', async (t) => {
    const key = await openpgp.readKey({ armoredKey: reporter.armoredPublic })
    const ciphertext = await gpg.encrypt(textPart(secret), { to: [team.fingerprint], signer: reporter.fingerprint })
    for (const header of [autocryptFor(key, 'someone@example.net'), autocryptFor(key).replace('keydata=', 'critical=yes; keydata=')]) {
      const report = await openReport(message({ headers: { Autocrypt: header } }, pgpMimeEncrypted(ciphertext)), deps)
      t.match(report.signature, { state: 'no-key' })
    }
  })

  t.test('armor not at the start of the body: not decrypted, not verified, text as-is', async (t) => {
    const armored = (await gpg.encrypt(secret, { to: [team.fingerprint], signer: reporter.fingerprint })).toString()
    const spoof = `I found this, please confirm:\n\n${armored}`
    const report = await openReport(message({}, inlineBody(spoof, 'quoted-printable')), deps)
    t.equal(report.encrypted, false)
    t.equal(report.decryptedWith, undefined)
    t.same(report.signature, { state: 'unsigned' })
    t.equal(report.text.trim(), spoof.trim())
    const cleartext = (await gpg.sign('Signed by the reporter\n', { signer: reporter.fingerprint, mode: 'clear' })).toString()
    const prefixed = await openReport(message({}, inlineBody(`Attacker text\n${cleartext}`, '8bit')), deps)
    t.same(prefixed.signature, { state: 'unsigned' })
  })

  t.test('text after inline armor is dropped, not passed off as decrypted', async (t) => {
    const armored = (await gpg.encrypt('the real report', { to: [team.fingerprint] })).toString()
    const report = await openReport(message({}, inlineBody(`${armored}\nForged addendum: ignore the above\n`, '8bit')), deps)
    t.equal(report.encrypted, true)
    t.equal(report.text.trim(), 'the real report')
  })

  t.test('a signed (not encrypted) message under encrypted-looking armor is only verified', async (t) => {
    const signed = (await gpg.sign(secret, { signer: reporter.fingerprint, mode: 'inline' })).toString()
    const report = await openReport(message({}, inlineBody(signed, '8bit')), deps)
    t.equal(report.encrypted, false)
    t.match(report.signature, { state: 'no-key' })
  })

  t.test('too many MIME parts, too deep, too large', async (t) => {
    const many = message({}, multipart('mixed', Array.from({ length: limits.mimeParts + 1 }, (_, i) => textPart(`part ${i}`))))
    t.equal((await failure(openReport(many, deps))).code, 'too-large')
    let deep = textPart('bottom')
    for (let i = 0; i < limits.nesting + 2; i++) deep = multipart('mixed', [deep])
    t.equal((await failure(openReport(message({}, deep), deps))).code, 'too-large')
    const huge = Buffer.alloc(limits.rawMessageBytes + 1, 0x61)
    t.equal((await failure(openReport(huge, deps))).code, 'too-large')
  })

  t.test('parts are counted across the decrypted re-parse', async (t) => {
    // The outer PGP/MIME entity takes 3 parts of the budget, so a payload of exactly
    // limits.mimeParts - 3 parts fits and one more does not.
    const payload = (n: number): string => multipart('mixed', Array.from({ length: n - 1 }, (_, i) => textPart(`inner ${i}`)))
    const fits = message({}, pgpMimeEncrypted(await gpg.encrypt(payload(limits.mimeParts - 3), { to: [team.fingerprint] })))
    t.equal((await openReport(fits, deps)).encrypted, true)
    const over = message({}, pgpMimeEncrypted(await gpg.encrypt(payload(limits.mimeParts - 2), { to: [team.fingerprint] })))
    t.equal((await failure(openReport(over, deps))).code, 'too-large')
  })

  t.test('not MIME / not OpenPGP inside PGP/MIME: unparsable', async (t) => {
    const raw = message({}, multipart('encrypted', ['Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n', 'Content-Type: application/octet-stream\r\n\r\nnot pgp at all\r\n'], 'protocol="application/pgp-encrypted"'))
    t.equal((await failure(openReport(raw, deps))).code, 'unparsable')
  })
})

function autocryptFor (key: openpgp.Key, addr = 'reporter@example.net'): string {
  return `addr=${addr}; keydata=${Buffer.from(key.write()).toString('base64')}`
}

function mib (bytes: number): number {
  return Math.round(bytes / 1024 / 1024)
}

async function peakRss<T> (run: () => Promise<T>): Promise<{ result: T, peak: number }> {
  const base = process.memoryUsage().rss
  let peak = 0
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss - base) }, 2)
  try {
    const result = await run()
    peak = Math.max(peak, process.memoryUsage().rss - base)
    return { result, peak }
  } finally {
    clearInterval(timer)
  }
}

t.test('session key packet flood: more than the limit addressed to the team or hidden recipients is refused before any is unwrapped', async (t) => {
  const team = await teamKey()
  const others = await Promise.all(Array.from({ length: limits.sessionKeyPackets }, async (_, n) =>
    (await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: `hidden${n}@example.net` }], format: 'object' })).publicKey))
  const encryptTo = async (count: number) => await openpgp.encrypt({
    message: await openpgp.createMessage({ text: secret }), encryptionKeys: [...others.slice(0, count - 1), team.keyring.published], wildcard: true, format: 'binary'
  }) as Uint8Array
  const atLimit = await decryptMessage(await encryptTo(limits.sessionKeyPackets), team.keyring)
  t.equal(Buffer.from(atLimit.data).toString(), secret, `${limits.sessionKeyPackets} hidden recipients: decrypted`)
  const err = await failure(decryptMessage(await encryptTo(limits.sessionKeyPackets + 1), team.keyring))
  t.equal(err.code, 'too-large')
  t.match(err.message, `${limits.sessionKeyPackets + 1} session key packets`)
})
