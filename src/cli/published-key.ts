// The team key an operator command uses: the primary key the gateway publishes (issue
// 3's rule, src/keys/published.ts: the newest valid public key in KEYS_DIR), else the
// configured secret key's public half. Only public material is returned or printed.
import { readFileSync } from 'node:fs'
import type { PublicKey } from 'openpgp'
import type { Config } from '../config.js'
import { loadTeamKeyring } from '../pgp/keyring.js'
import { expiryOf, loadPublication } from '../keys/published.js'

export async function publishedKey (config: Config): Promise<PublicKey | undefined> {
  const publication = await loadPublication(config.keysDir, { production: config.production })
  if (publication.primary !== undefined) return publication.primary.key
  const armoredSecret = config.pgp.privateKey ?? (config.pgp.privateKeyFile !== undefined ? readFileSync(config.pgp.privateKeyFile, 'utf8') : undefined)
  if (armoredSecret === undefined) return undefined
  const keyring = await loadTeamKeyring({ armored: [armoredSecret], ...(config.pgp.passphrase !== undefined ? { passphrase: config.pgp.passphrase } : {}) })
  return keyring.published
}

export async function keyExpiry (key: PublicKey): Promise<Date | 'never'> {
  return await expiryOf(key) ?? 'never'
}
