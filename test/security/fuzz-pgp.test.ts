// Property-based hostile OpenPGP (fast-check): real messages of every kind we meet
// (armored, binary, signed, compressed, AEAD as GnuPG 2.4 sends it, to a wrong key,
// without integrity protection from `gpg --rfc2440`, a compression bomb, a large
// literal, passphrase-only, hand-made literal packets claiming 4 GiB or chaining partial
// lengths), truncated, bit-flipped, spliced, doubled or prefixed with junk, and wrapped
// as PGP/MIME, inline armor or attachments. Every input must end processed or
// quarantined with a reason, in bounded time and memory; untouched messages must end
// exactly as they should.
import t from 'tap'
import fc from 'fast-check'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { limits } from '../../src/limits.js'
import { SCALE, SEED, mutate, outcome, pgpMutation, type PgpBase, type PgpMutation } from '../helpers/fuzz.js'
import { attachmentPart, createGpg, gnupgStyleOcbMessage, inlineBody, message, multipart, pgpMimeEncrypted, textPart } from '../helpers/gpg.js'
import { makeTeamKey, teamKey } from '../helpers/team-key.js'

const RUNS = 4000

async function bases (): Promise<PgpBase[]> {
  const team = await teamKey()
  const to = [team.keyring.published]
  const stranger = await makeTeamKey({ email: 'stranger@example.org' })
  const reporter = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'reporter@example.net' }], format: 'object' })
  const entity = (text: string) => textPart(`${text}\n`)
  const bin = async (opts: Omit<openpgp.EncryptOptions, 'format'>) => await openpgp.encrypt({ ...opts, format: 'binary' } as never) as unknown as Uint8Array
  const message_ = async (text: string) => await openpgp.createMessage({ text: entity(text) })
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(team.armoredPublic)
  const sed = await gpg.encrypt(entity('no MDC'), { to: [team.fingerprint], armor: false, extra: ['--rfc2440'] })
  // Literal packets made by hand (new format, tag 11): one whose length field claims
  // 4 GiB, and a chain of partial lengths that never ends.
  const claims4GiB = Buffer.concat([Buffer.from([0xcb, 0xff, 0xff, 0xff, 0xff, 0xff, 0x62, 0, 0, 0, 0, 0]), Buffer.from('tiny')])
  const partialChain = Buffer.concat([Buffer.from([0xcb, 0xea]), Buffer.alloc(1024, 0x41), Buffer.from([0xea]), Buffer.alloc(1024, 0x42)])
  const zeros = new Uint8Array(limits.decryptedBytes + 1024 * 1024)
  return [
    { name: 'armored-ish binary', binary: await bin({ message: await message_('plain encrypted'), encryptionKeys: to }), expect: 'processed', weight: 10 },
    { name: 'signed and encrypted', binary: await bin({ message: await message_('signed'), encryptionKeys: to, signingKeys: reporter.privateKey }), expect: 'processed', weight: 10 },
    { name: 'compressed', binary: await bin({ message: await message_('compressed '.repeat(50)), encryptionKeys: to, config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } }), expect: 'processed', weight: 10 },
    { name: 'AEAD (GnuPG 2.4 style OCB)', binary: await gnupgStyleOcbMessage(Buffer.from(entity('aead')), team.keyring.published), expect: 'processed', weight: 10 },
    { name: 'to a wrong key', binary: await bin({ message: await message_('wrong key'), encryptionKeys: [stranger.keyring.published] }), expect: 'undecryptable', weight: 8 },
    { name: 'no integrity protection (gpg --rfc2440)', binary: sed, expect: 'unauthenticated', weight: 8 },
    { name: 'passphrase only', binary: await bin({ message: await message_('password'), passwords: ['hunter2'] }), expect: 'undecryptable', weight: 5 },
    { name: 'literal claiming 4 GiB', binary: claims4GiB, expect: 'any', weight: 5 },
    { name: 'partial-length chain', binary: partialChain, expect: 'any', weight: 5 },
    { name: 'large literal (4 MiB)', binary: await bin({ message: await openpgp.createMessage({ binary: Buffer.from(entity(`${'a'.repeat(75)}\n`.repeat(55_000))) }), encryptionKeys: to, config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed } }), expect: 'processed', weight: 1 },
    { name: 'compression bomb', binary: await bin({ message: await openpgp.createMessage({ binary: zeros }), encryptionKeys: to, config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } }), expect: 'too-large', weight: 1 }
  ]
}

function wrap (bytes: Buffer, wrapper: string, damageArmor: boolean): Buffer {
  let armored = openpgp.armor(openpgp.enums.armor.message, bytes)
  if (damageArmor) armored = armored.replace(/\n=[A-Za-z0-9+/]{4}\n/, '\n=AAAA\n').replace('-----END PGP MESSAGE-----', '-----END PGP MESSAG-----')
  const env = { from: 'Reporter <reporter@example.net>', subject: 'Report' }
  switch (wrapper) {
    case 'pgp-mime-binary': return message(env, multipart('encrypted', [
      'Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n',
      attachmentPart({ filename: 'encrypted.asc', content: bytes })
    ], 'protocol="application/pgp-encrypted"'))
    case 'exchange': return message(env, multipart('mixed', [
      'Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n',
      attachmentPart({ filename: 'encrypted.asc', content: Buffer.from(armored) })
    ]))
    case 'inline-8bit': return message(env, inlineBody(armored, '8bit'))
    case 'inline-qp': return message(env, inlineBody(armored, 'quoted-printable'))
    case 'inline-base64': return message(env, inlineBody(armored, 'base64'))
    case 'attachment-asc': return message(env, multipart('mixed', [textPart('see attached'), attachmentPart({ filename: 'report.txt.asc', content: Buffer.from(armored) })]))
    case 'attachment-gpg': return message(env, multipart('mixed', [textPart('see attached'), attachmentPart({ filename: 'report.txt.gpg', content: bytes })]))
    default: return message(env, pgpMimeEncrypted(armored))
  }
}

t.test('mutated OpenPGP messages: processed or quarantined with a reason', async (t) => {
  const { keyring } = await teamKey()
  const pool = await bases()
  // Weighted choice of the base: the bomb and the large literal cost ~0.1-0.5 s each.
  const weighted = pool.flatMap((b, i) => Array.from({ length: b.weight }, () => i))
  const counts = new Map<string, number>()
  await fc.assert(fc.asyncProperty(pgpMutation(weighted.length), async (m: PgpMutation) => {
    const base = pool[weighted[m.base] as number] as PgpBase
    const { bytes, intact } = mutate(base.binary, m)
    const damaged = m.op === 'armor-damage'
    const result = await outcome(() => openReport(wrap(bytes, m.wrapper, damaged), { keyring }))
    const key = `${result.kind === 'processed' ? 'processed' : result.code}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
    // Untouched, each kind must come to its own end (the wrapper never changes that).
    if (intact && !damaged && base.expect !== 'any') {
      const got = result.kind === 'processed' ? 'processed' : result.code
      if (got !== base.expect) throw new Error(`${base.name} via ${m.wrapper}: expected ${base.expect}, got ${got}`)
      if (result.kind === 'processed' && !result.report.encrypted) throw new Error(`${base.name} via ${m.wrapper}: not decrypted`)
    }
  }), { numRuns: RUNS * SCALE, seed: SEED })
  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  t.equal(total, RUNS * SCALE, `every input had an outcome: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`)
  for (const code of ['processed', 'undecryptable', 'unauthenticated', 'tampered', 'too-large', 'unparsable']) t.ok(counts.has(code), `${code} occurs`)
})

t.test('the process survived with bounded memory', async (t) => {
  const rss = process.memoryUsage().rss / 2 ** 20
  t.ok(rss < 1536, `RSS after the runs: ${rss.toFixed(0)} MiB`)
})
