// Development-only secrets, generated on first start so `npm start` works with no
// configuration: the raw endpoint's HMAC secret and the seal key pair. Two files under
// DATA_DIR (git-ignored, mode 0600) so the web role reads only the public half:
//   dev-secrets   {"inboundSecret", "sealPublicKey"}   read by the web role and the CLI
//   dev-seal.key  the seal private key                  read by the worker only
// Never used in production.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateSealKeyPair } from '../seal/hpke.js'

export interface DevWebSecrets {
  inboundSecret: string
  sealPublicKey: string
}

export const devSecretsPath = (dataDir: string) => join(dataDir, 'dev-secrets')
const sealKeyPath = (dataDir: string) => join(dataDir, 'dev-seal.key')

/** Creates the development secrets unless they exist; true when this call created them. */
export function ensureDevSecrets (dataDir: string): boolean {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const pair = generateSealKeyPair()
  try {
    // wx: when two roles start at once, exactly one generates; the other waits below.
    writeFileSync(sealKeyPath(dataDir), pair.privateKey + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    waitForFile(devSecretsPath(dataDir))
    return false
  }
  const web: DevWebSecrets = { inboundSecret: randomBytes(32).toString('hex'), sealPublicKey: pair.publicKey }
  writeFileSync(devSecretsPath(dataDir), JSON.stringify(web, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return true
}

export function readDevWebSecrets (dataDir: string): DevWebSecrets {
  return JSON.parse(readFileSync(devSecretsPath(dataDir), 'utf8')) as DevWebSecrets
}

export function readDevSealPrivateKey (dataDir: string): string {
  return readFileSync(sealKeyPath(dataDir), 'utf8').trim()
}

function waitForFile (path: string): void {
  const until = Date.now() + 5000
  for (;;) {
    try { readFileSync(path); return } catch {}
    if (Date.now() > until) throw new Error(`${path} did not appear; remove the half-written dev secrets and start again`)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50)
  }
}
