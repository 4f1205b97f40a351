// The team key the gateway publishes, as an operator command sees it: the configured
// secret key's public half, else the public key file(s) in KEYS_DIR (the development
// key's, on a fresh clone). Only public material is returned or printed.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { readKey, type PublicKey } from 'openpgp'
import type { Config } from '../config.js'
import { loadTeamKeyring } from '../pgp/keyring.js'
import { DEV_PUBLIC_KEY_FILE } from '../pgp/team-key.js'

export async function publishedKey (config: Config): Promise<PublicKey | undefined> {
  const armoredSecret = config.pgp.privateKey ?? (config.pgp.privateKeyFile !== undefined ? readFileSync(config.pgp.privateKeyFile, 'utf8') : undefined)
  if (armoredSecret !== undefined) {
    const keyring = await loadTeamKeyring({ armored: [armoredSecret], ...(config.pgp.passphrase !== undefined ? { passphrase: config.pgp.passphrase } : {}) })
    return keyring.published
  }
  const file = publicKeyFile(config.keysDir)
  return file === undefined ? undefined : await readKey({ armoredKey: readFileSync(file, 'utf8') })
}

/** The development public key when present, else the first public .asc file (never a secret one). */
export function publicKeyFile (keysDir: string): string | undefined {
  let names: string[]
  try { names = readdirSync(keysDir) } catch { return undefined }
  const publics = names.filter((n) => n.endsWith('.asc') && !/\.(secret|sec)\.asc$/.test(n)).sort()
  const chosen = publics.includes(DEV_PUBLIC_KEY_FILE) ? DEV_PUBLIC_KEY_FILE : publics[0]
  return chosen === undefined ? undefined : join(keysDir, chosen)
}

export async function keyExpiry (key: PublicKey): Promise<Date | 'never'> {
  const at = await key.getExpirationTime()
  if (at === Infinity || at === null) return 'never'
  return at instanceof Date ? at : new Date(Number(at))
}
