// The sealing choice of issue 2: how the web role encrypts raw messages before Redis.
// Seals per second on one core, candidates interleaved so machine noise hits them alike.
import { randomBytes } from 'node:crypto'
import * as openpgp from 'openpgp'
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core'
import { generateSealKeyPair, importPublicKey, seal } from '../src/seal/hpke.js'
import { fmt, spread, type Spread } from './lib.js'

async function opsPerSecond (fn: () => Promise<unknown> | unknown, rounds: number, roundMs: number): Promise<Spread> {
  const rates: number[] = []
  for (let r = 0; r < rounds; r++) {
    let n = 0
    const start = performance.now()
    while (performance.now() - start < roundMs) { await fn(); n++ }
    rates.push(n / ((performance.now() - start) / 1000))
  }
  return spread(rates)
}

async function candidates (size: number, rounds: number, roundMs: number) {
  const body = randomBytes(size)
  const pair = generateSealKeyPair()
  const pub = importPublicKey(pair.publicKey)
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() })
  const hpkePub = await suite.kem.importKey('jwk', { kty: 'OKP', crv: 'X25519', x: pair.publicKey }, true)
  const pgp = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email: 'bench@example.org' }], format: 'object' })
  return {
    native: await opsPerSecond(() => seal(pub, body, 'intake-id'), rounds, roundMs),
    hpkeCore: await opsPerSecond(() => suite.seal({ recipientPublicKey: hpkePub }, body), rounds, roundMs),
    openpgp: await opsPerSecond(async () => await openpgp.encrypt({ message: await openpgp.createMessage({ binary: body }), encryptionKeys: pgp.publicKey, format: 'binary' }), rounds, roundMs)
  }
}

export async function sealing (rounds: number, roundMs: number): Promise<string> {
  const rows: string[] = []
  for (const size of [20 * 1024, 2 * 1024 * 1024]) {
    const r = await candidates(size, rounds, roundMs)
    const label = size >= 1024 * 1024 ? `${size / 1024 / 1024} MB` : `${size / 1024} KB`
    rows.push(`| ${label} | ${fmt(r.native)} | ${fmt(r.hpkeCore)} | ${fmt(r.openpgp)} | ${(r.native.median / r.hpkeCore.median).toFixed(1)}x / ${(r.native.median / r.openpgp.median).toFixed(1)}x |`)
    process.stdout.write(`  sealing ${rows.at(-1)!}\n`)
  }
  return [
    '| message | ours (native HPKE) | @hpke/core | openpgp.js | ours vs @hpke/core / openpgp.js |',
    '|---|---|---|---|---|',
    ...rows
  ].join('\n')
}
