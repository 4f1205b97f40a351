import t from 'tap'
import * as openpgp from 'openpgp'
import { attachedKeys, autocryptApplies, findReporterKeys, parseAutocrypt } from '../../src/pgp/reporter-keys.js'
import { generateTeamKey } from '../../src/pgp/keyring.js'

t.test('reporter keys', async (t) => {
  const made = await generateTeamKey({ email: 'Reporter@Example.net', name: 'Reporter' })
  const key = await openpgp.readKey({ armoredKey: made.armoredPublic })
  const keydata = Buffer.from(key.write()).toString('base64')
  const header = (value: string): Array<{ name: string, value: string }> => [{ name: 'autocrypt', value }]
  const input = { from: 'reporter@example.net', contentType: 'text/plain', attachments: [] }

  t.test('Autocrypt Level 1 header parsing', async (t) => {
    t.match(parseAutocrypt(`addr=a@example.net; prefer-encrypt=mutual; _ignored=1; keydata=${keydata.replace(/(.{60})/g, '$1 ')}`), { addr: 'a@example.net', preferEncrypt: 'mutual' })
    t.equal(parseAutocrypt(`addr=a@example.net; unknown=1; keydata=${keydata}`), undefined, 'unknown critical attribute')
    t.equal(parseAutocrypt(`addr=a@example.net; addr=b@example.net; keydata=${keydata}`), undefined, 'duplicate attribute')
    t.equal(parseAutocrypt('addr=a@example.net'), undefined, 'no keydata')
    t.equal(parseAutocrypt(`addr=a@example.net; keydata=${Buffer.alloc(10 * 1024 + 1).toString('base64')}`), undefined, 'over 10 KiB')
    t.equal(parseAutocrypt('addr=a@example.net; keydata=!!!'), undefined, 'not base64')
  })

  t.test('Autocrypt key found for From (case-insensitive), ignored otherwise', async (t) => {
    const found = await findReporterKeys({ ...input, headers: header(`addr=REPORTER@example.net; keydata=${keydata}`) })
    t.same(found.map((f) => [f.reporterKey.fingerprint, f.reporterKey.source]), [[made.fingerprint, 'autocrypt']])
    t.match(found[0]?.reporterKey.armored, /BEGIN PGP PUBLIC KEY BLOCK/)
    t.same(await findReporterKeys({ ...input, headers: header(`addr=other@example.net; keydata=${keydata}`) }), [])
    t.same(await findReporterKeys({ ...input, headers: [...header(`addr=reporter@example.net; keydata=${keydata}`), ...header(`addr=reporter@example.net; keydata=${keydata}`)] }), [], 'two headers: none')
    t.same(await findReporterKeys({ ...input, headers: [...header(`addr=reporter@example.net; keydata=${keydata}`), { name: 'auto-submitted', value: 'auto-replied' }] }), [])
    t.same(await findReporterKeys({ ...input, contentType: 'multipart/report', headers: header(`addr=reporter@example.net; keydata=${keydata}`) }), [])
    t.ok(autocryptApplies([{ name: 'auto-submitted', value: 'no' }], 'text/plain'))
    const secret = await openpgp.readKey({ armoredKey: made.armoredSecret })
    t.same(await findReporterKeys({ ...input, headers: header(`addr=reporter@example.net; keydata=${Buffer.from(secret.write()).toString('base64')}`) }), [], 'a secret key is not taken')
  })

  t.test('attached keys count only with a user ID matching From', async (t) => {
    const attachments = [
      { filename: 'key.asc', contentType: 'application/octet-stream', content: Buffer.from(made.armoredPublic) },
      { filename: 'other', contentType: 'application/pgp-keys', content: Buffer.from(key.write()) }
    ]
    const found = await attachedKeys(attachments, 'reporter@example.net')
    t.equal(found.length, 2)
    t.equal(found[0]?.reporterKey.source, 'attached')
    t.same(await attachedKeys(attachments, 'mallory@example.net'), [])
    t.same(await attachedKeys([{ filename: 'notes.asc', contentType: 'text/plain', content: Buffer.from('hello') }], 'reporter@example.net'), [])
    const both = await findReporterKeys({ ...input, headers: header(`addr=reporter@example.net; keydata=${keydata}`), attachments })
    t.equal(both.length, 1, 'the same key from Autocrypt and attachment is listed once')
  })
})
