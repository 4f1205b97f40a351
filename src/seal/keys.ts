// Where each role gets its seal key: configuration first, the development secrets
// otherwise. The web role only ever resolves the public half.
import type { KeyObject } from 'node:crypto'
import type { Config } from '../config.js'
import type { DevSecrets } from '../dev/secrets.js'
import { importPrivateKey, importPublicKey, publicFromPrivate } from './hpke.js'

export function sealPublicKey (config: Config, dev?: DevSecrets): KeyObject {
  if (config.seal.publicKey !== undefined) return importPublicKey(config.seal.publicKey)
  if (config.seal.privateKey !== undefined) return publicFromPrivate(importPrivateKey(config.seal.privateKey))
  if (dev !== undefined) return importPublicKey(dev.sealPublicKey)
  throw new Error('SEAL_PUBLIC_KEY is not set')
}

export function sealPrivateKey (config: Config, dev?: DevSecrets): KeyObject {
  if (config.seal.privateKey !== undefined) return importPrivateKey(config.seal.privateKey)
  if (dev !== undefined) return importPrivateKey(dev.sealPrivateKey)
  throw new Error('SEAL_PRIVATE_KEY is not set')
}
