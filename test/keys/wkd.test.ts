// WKD hashes: the draft's test vector, and agreement with GnuPG's own client.
import t from 'tap'
import { existsSync } from 'node:fs'
import { wkdDomain, wkdHash, zBase32 } from '../../src/keys/wkd.js'
import { exec } from '../helpers/gpg.js'

const WKS_CLIENT = ['/usr/lib/gnupg/gpg-wks-client', '/usr/libexec/gpg-wks-client'].find((p) => existsSync(p)) ?? 'gpg-wks-client'

t.test('the draft test vector', async (t) => {
  t.equal(wkdHash('Joe.Doe@Example.ORG'), 'iy9q119eutrkn8s1mk4r39qejnbu3n5q')
  t.equal(wkdDomain('Joe.Doe@Example.ORG'), 'example.org')
})

t.test('z-base-32 of short inputs (bits left over)', async (t) => {
  t.equal(zBase32(new Uint8Array([])), '')
  t.equal(zBase32(new Uint8Array([0])), 'yy')
  t.equal(zBase32(new Uint8Array([0xff])), '9h')
})

t.test('gpg-wks-client --print-wkd-hash agrees', async (t) => {
  for (const address of ['security@example.org', 'Joe.Doe@Example.ORG', 'SECURITY+key@stacklok.com', 'a@b.example', 'x.y-z_1@sub.example.net']) {
    const out = (await exec(WKS_CLIENT, ['--print-wkd-hash', address])).toString().trim()
    const [hash] = out.split(/\s+/)
    t.equal(wkdHash(address), hash, address)
  }
})
