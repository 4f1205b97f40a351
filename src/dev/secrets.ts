// Development-only secrets, generated on first start so `npm start` works with no
// configuration: the raw endpoint's HMAC secret and the seal key pair. Kept in
// `.data/dev-secrets` (git-ignored, mode 0600). Never used in production.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateSealKeyPair } from '../seal/hpke.js'

export interface DevSecrets {
  inboundSecret: string
  sealPublicKey: string
  sealPrivateKey: string
}

export function devSecretsPath (dataDir: string): string {
  return join(dataDir, 'dev-secrets')
}

export function loadOrCreateDevSecrets (dataDir: string): { secrets: DevSecrets, path: string, created: boolean } {
  const path = devSecretsPath(dataDir)
  try {
    return { secrets: JSON.parse(readFileSync(path, 'utf8')) as DevSecrets, path, created: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const pair = generateSealKeyPair()
  const secrets: DevSecrets = { inboundSecret: randomBytes(32).toString('hex'), sealPublicKey: pair.publicKey, sealPrivateKey: pair.privateKey }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // wx: two roles starting at once must not overwrite each other's secrets.
  try {
    writeFileSync(path, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateDevSecrets(dataDir)
    throw err
  }
  return { secrets, path, created: true }
}
