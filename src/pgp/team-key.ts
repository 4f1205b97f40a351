// The worker's team keyring: configured secret keys, or in development a throw-away
// key generated once into KEYS_DIR (git-ignored, loudly marked).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { readPrivateKey } from 'openpgp'
import { join } from 'node:path'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import { generateTeamKey, loadTeamKeyring } from './keyring.js'
import type { TeamKeyring } from './types.js'
import { DEV_PUBLIC_KEY_FILE } from '../domain/dev-key.js'

export const DEV_SECRET_KEY_FILE = 'dev-team-key.secret.asc'

export async function loadWorkerKeyring (config: Config, log: Logger): Promise<TeamKeyring> {
  const passphrase = config.pgp.passphrase
  const withPass = passphrase !== undefined ? { passphrase } : {}
  if (config.pgp.privateKey !== undefined) return await loadTeamKeyring({ armored: [config.pgp.privateKey], ...withPass })
  if (config.pgp.privateKeyFile !== undefined) return await loadTeamKeyring({ armored: [readFileSync(config.pgp.privateKeyFile, 'utf8')], ...withPass })
  if (config.production) throw new Error('no PGP key configured (production never uses a development key)')
  const armored = await devKey(config, log)
  const keyring = await loadTeamKeyring({ armored: [armored], development: true })
  log.warn({ fingerprint: keyring.fingerprint }, '*** DEVELOPMENT KEY: throw-away team key, never use it for real reports ***')
  return keyring
}

/** The armored secret keys (and passphrase) loadWorkerKeyring used, for decryption threads to load again. */
export function teamKeyArmor (config: Config): { armored: string[], passphrase?: string } {
  const withPass = config.pgp.passphrase !== undefined ? { passphrase: config.pgp.passphrase } : {}
  if (config.pgp.privateKey !== undefined) return { armored: [config.pgp.privateKey], ...withPass }
  if (config.pgp.privateKeyFile !== undefined) return { armored: [readFileSync(config.pgp.privateKeyFile, 'utf8')], ...withPass }
  return { armored: [readFileSync(join(config.keysDir, DEV_SECRET_KEY_FILE), 'utf8')] }
}

async function devKey (config: Config, log: Logger): Promise<string> {
  const path = join(config.keysDir, DEV_SECRET_KEY_FILE)
  try {
    const existing = readFileSync(path, 'utf8')
    if (!await expired(existing)) return existing
    // A throw-away key past its 90 days would no longer be published: make a new one.
    rmSync(path, { force: true })
    log.warn({ path }, 'development: the throw-away team key expired, generating a new one')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const key = await generateTeamKey({ email: config.securityEmail, name: 'DEVELOPMENT KEY - do not use', type: 'curve25519', expiresInDays: 90 })
  mkdirSync(config.keysDir, { recursive: true })
  try {
    writeFileSync(path, key.armoredSecret, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8') // another process won the race
    throw err
  }
  writeFileSync(join(config.keysDir, DEV_PUBLIC_KEY_FILE), key.armoredPublic) // replaces an expired one
  log.warn({ path, fingerprint: key.fingerprint }, 'development: generated a throw-away team key')
  return key.armoredSecret
}

async function expired (armored: string): Promise<boolean> {
  try {
    const key = await readPrivateKey({ armoredKey: armored })
    const expires = await key.getExpirationTime()
    return expires instanceof Date && expires.getTime() <= Date.now()
  } catch {
    return false // unreadable: let the keyring loader say what is wrong with it
  }
}
