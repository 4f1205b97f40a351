// src/pgp/armor.ts: the plain PGP MESSAGE armor decoded natively gives exactly the bytes
// openpgp.js's unarmor gives; every other shape is left to openpgp.js (undefined).
import t from 'tap'
import { randomBytes } from 'node:crypto'
import * as openpgp from 'openpgp'
import { ArmorError, dearmorMessage } from '../../src/pgp/armor.js'

const BEGIN_LINE = '-----BEGIN PGP MESSAGE-----\r\n'

async function reference (armored: string): Promise<Buffer> {
  const { data } = await openpgp.unarmor(armored)
  return Buffer.from(data as Uint8Array)
}

/** An armor written by hand: `width` base64 characters per line, `eol` line ends, headers, checksum or not. */
function armor (data: Buffer, opts: { width?: number, eol?: string, headers?: string[], checksum?: boolean, lead?: string, trail?: string } = {}): string {
  const eol = opts.eol ?? '\r\n'
  const b64 = data.toString('base64')
  const lines = b64.match(new RegExp(`.{1,${opts.width ?? 64}}`, 'g')) ?? []
  return `${opts.lead ?? ''}-----BEGIN PGP MESSAGE-----${eol}${(opts.headers ?? []).map((h) => h + eol).join('')}${eol}${lines.join(eol)}${eol}${opts.checksum === false ? '' : `=AbCd${eol}`}-----END PGP MESSAGE-----${opts.trail ?? eol}`
}

t.test('the same bytes as openpgp.js, for the shapes mail carries', async (t) => {
  const key = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ email: 'team@example.org' }], format: 'object' })
  for (const size of [1, 100, 4096, 200_000]) {
    const real = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: randomBytes(size) }), encryptionKeys: key.publicKey })
    const got = dearmorMessage(Buffer.from(real))
    t.ok(got?.equals(await reference(real)), `openpgp.js's own armor, ${size} bytes of plaintext`)
    t.ok(dearmorMessage(real)?.equals(await reference(real)), 'given as a string too')
  }
  for (const size of [0, 1, 2, 3, 47, 48, 49, 3 * (1 << 20) + 5]) {
    const data = randomBytes(size)
    for (const shape of [{}, { width: 76, eol: '\n' }, { width: 63 }, { checksum: false }, { headers: ['Version: GnuPG v2', 'Comment: https://example.org/key'] }, { lead: '\r\n  \n', trail: '\r\n\r\n  ' }]) {
      const text = armor(data, shape)
      const got = dearmorMessage(Buffer.from(text))
      // Padding wrapped onto a line of its own reads like a checksum line: left to openpgp.js.
      if (/\n==?\r?\n/.test(text)) t.equal(got, undefined, `${size} bytes, ${JSON.stringify(shape)}: padding alone on a line`)
      else t.ok(got?.equals(data), `${size} bytes, ${JSON.stringify(shape)}`)
      if (size < 100_000) t.ok((await reference(text)).equals(data), 'openpgp.js agrees')
    }
  }
})

t.test('any other shape is left to openpgp.js', async (t) => {
  const data = randomBytes(300)
  const good = armor(data)
  const cases: Array<[string, string]> = [
    ['not an armor', 'hello'],
    ['another armor type', good.replace(/PGP MESSAGE/g, 'PGP SIGNATURE')],
    ['text before the armor', `Hi!\n${good}`],
    ['text after the armor', `${good}Thanks!\n`],
    ['a character outside base64', good.replace(/(\r\n[A-Za-z0-9+/]{10})/, '$1!')],
    ['data after the padding', armor(randomBytes(301)).replace(/=\r\n/, '=A\r\n')],
    ['a checksum of the wrong length', good.replace('=AbCd', '=AbC')],
    ['the end line not on a line of its own', good.replace('\r\n-----END', '-----END')],
    ['a base64 length that is not a multiple of 4', good.replace(/\r\n([A-Za-z0-9+/]{64})\r\n/, '\r\n$1A\r\n')],
    ['no end line', good.replace('-----END PGP MESSAGE-----', '')]
  ]
  for (const [what, text] of cases) t.equal(dearmorMessage(Buffer.from(text)), undefined, what)
  // What openpgp.js refuses too, only after walking the whole armor: refused at once.
  t.throws(() => dearmorMessage(Buffer.from(good.replace('-----\r\n\r\n', '-----\r\nVersion: x\r\n'))), ArmorError, 'no blank line after the headers')
  t.throws(() => dearmorMessage(Buffer.from(`${BEGIN_LINE}Version: x\r\nComment: no line end`)), ArmorError, 'the armor ends inside its headers')
  await t.rejects(openpgp.readMessage({ armoredMessage: good.replace('-----\r\n\r\n', '-----\r\nVersion: x\r\n') }), 'openpgp.js refuses it as well')
})
