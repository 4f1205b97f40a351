// Size bounds applied everywhere a hostile sender controls the input. Providers accept
// messages up to 25-40 MB, so the raw limit sits just above the largest of them.

export const limits = {
  /** Raw RFC 5322 message as posted to an inbound endpoint. */
  rawMessageBytes: 40 * 1024 * 1024,
  /** Plaintext produced by one decryption, after decompression (openpgp.js has no cap). */
  decryptedBytes: 64 * 1024 * 1024,
  /** MIME parts in one message, counted over every re-parse of decrypted entities. */
  mimeParts: 200,
  /**
   * Session key packets one message may address to the team (its key IDs or hidden
   * recipients): each is unwrapped and its keys tried on the encrypted data.
   */
  sessionKeyPackets: 16,
  /** Nesting depth of encrypted/signed/multipart entities inside each other. */
  nesting: 8,
  /**
   * Report text kept once a message is opened: the triage reads the first 256 Ki chars
   * and the advisory shows 64 Ki, so more would only be held (and copied between threads)
   * for nothing. The whole message stays sealed for `intake export`.
   */
  reportTextChars: 1024 * 1024,
  /** Report text placed into an advisory description (GitHub allows 65535 chars in all). */
  descriptionChars: 65_535,
  /**
   * Distinct signatures checked on one signed object (copies of one signature count
   * once). openpgp.js hashes the whole signed data again for every signature packet.
   */
  checkedSignatures: 4,
  /** One header value (Autocrypt keydata is capped at 10 KiB by Level 1 anyway). */
  headerBytes: 64 * 1024
} as const
