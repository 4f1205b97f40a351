// One hardened openpgp.js configuration for every call. A full Config (not a partial
// one) so that low-level methods such as Message.decrypt, which take no defaults, see
// exactly the same settings as the top-level helpers.
import { config as defaults, enums, type Config } from 'openpgp'
import { limits } from '../domain/limits.js'

const hardened: Config = Object.freeze({
  ...defaults,
  // EFAIL: never decrypt Symmetrically Encrypted Data packets (no MDC), and never release
  // plaintext before the MDC or AEAD tag has been checked.
  allowUnauthenticatedMessages: false,
  allowUnauthenticatedStream: false,
  // We decrypt every inbound message automatically and a sender can time us: hide
  // PKCS#1 padding failures of RSA/ElGamal session keys (Bleichenbacher).
  constantTimePKCS1Decryption: true,
  // The constant-time path only decrypts these ciphers. AES is what GnuPG, openpgp.js and
  // our own key preferences pick; each extra cipher costs one more trial decryption.
  constantTimePKCS1DecryptionSupportedSymmetricAlgorithms: new Set([
    enums.symmetric.aes128,
    enums.symmetric.aes192,
    enums.symmetric.aes256
  ]),
  // openpgp.js counts decompressed bytes inside its inflate/bunzip transform and aborts as
  // soon as this is passed; decryptMessage lowers it per call.
  maxDecompressedMessageSize: limits.decryptedBytes,
  enforceGrammar: true,
  ignoreMalformedPackets: false,
  // v4 keys and SEIPDv1 by default: GnuPG cannot read v6 keys. Decryption of AEAD packets
  // (GnuPG 2.4's OCB packet 20 and RFC 9580 SEIPDv2) does not depend on these.
  v6Keys: false,
  aeadProtect: false,
  showVersion: false,
  showComment: false
})

/** The shared hardened config, optionally with a lower decompression cap. */
export function pgpConfig (overrides: { maxDecompressedBytes?: number } = {}): Config {
  if (overrides.maxDecompressedBytes === undefined) return hardened
  return { ...hardened, maxDecompressedMessageSize: overrides.maxDecompressedBytes }
}
