// The team keyring as the worker holds it. The web role never constructs one.
import type { PrivateKey, PublicKey } from 'openpgp'
import type { KeySource, SignatureState } from '../domain/report.js'

/** A public key that may have made a signature, with where it was found. A bare PublicKey counts as 'known'. */
export interface CandidateKey {
  key: PublicKey
  source: KeySource
}

export interface TeamKeyring {
  /** Decrypted secret keys, newest first; all of them decrypt (rotation). */
  secretKeys: PrivateKey[]
  /** The public key reporters should encrypt to: the newest valid secret key's public half. */
  published: PublicKey
  /** Upper-case hex fingerprint of `published`. */
  fingerprint: string
  /** True when this is the throw-away key generated for development. */
  development: boolean
}

/** What a decryption yields, as plain data (it crosses to and from decryption threads). */
export interface DecryptedParts {
  data: Uint8Array
  decryptedWith: string
  signatureKeyIds: string[]
  /** the inner signature packets, checked later as detached signatures over `data` */
  signatureBytes: Uint8Array
}

export interface DecryptResult {
  data: Uint8Array
  /** Fingerprint (primary key, upper-case hex) of the team key that decrypted it. */
  decryptedWith: string
  /** Signatures found inside the encrypted message (signed-then-encrypted inline), unverified key ids. */
  signatureKeyIds: string[]
  /** Verify those inner signatures against candidate keys once the sender's key is known. */
  verify: (candidates: Array<PublicKey | CandidateKey>) => Promise<SignatureState>
}
