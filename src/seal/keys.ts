// Where each role gets its seal key: configuration first, the development secrets
// otherwise (never in production). The web role only ever resolves the public half.
import type { KeyObject } from 'node:crypto'
import type { Config, Role } from '../config.js'
import { readDevSealPrivateKey, readDevWebSecrets } from '../dev/secrets.js'
import { importPrivateKey, importPublicKey, publicFromPrivate } from './hpke.js'

/** `web` never derives the public key from a private one: a split web role must not touch it. */
export function sealPublicKey (config: Config, role: Role = 'all'): KeyObject {
  if (config.seal.publicKey !== undefined) return importPublicKey(config.seal.publicKey)
  if (config.seal.privateKey !== undefined && role === 'all') return publicFromPrivate(importPrivateKey(config.seal.privateKey))
  if (!config.production) return importPublicKey(readDevWebSecrets(config.dataDir).sealPublicKey)
  throw new Error('SEAL_PUBLIC_KEY is not set')
}

export function sealPrivateKey (config: Config): KeyObject {
  if (config.seal.privateKey !== undefined) return importPrivateKey(config.seal.privateKey)
  if (!config.production && config.seal.publicKey === undefined) return importPrivateKey(readDevSealPrivateKey(config.dataDir))
  throw new Error('SEAL_PRIVATE_KEY is not set')
}
