// Shared shapes of a report as it moves through the worker. Nothing here is ever
// written to Redis or logs: these objects hold decrypted report content.

export interface Address {
  address: string
  name?: string
}

export interface ReportAttachment {
  filename: string
  contentType: string
  size: number
  /** hex SHA-256 of the (decrypted) content */
  sha256: string
  content: Buffer
}

/** What the signature check concluded. Fingerprints are upper-case hex. */
export type SignatureState =
  | { state: 'unsigned' }
  | { state: 'verified'; fingerprint: string; keySource: KeySource }
  | { state: 'no-key'; keyIds: string[] }
  | { state: 'bad'; fingerprint?: string; keyIds: string[]; reason: string }

/**
 * A signature over only part of the body: an RFC 3156 multipart/signed nested in the
 * message (a multipart/mixed whose first part is signed and whose attachment is not, say)
 * rather than making up the whole body or the whole decrypted payload.
 */
export interface PartSignature {
  /** What the check of the signed part concluded (the weakest result if there are several). */
  signature: SignatureState
  /** 'text': all of the report text comes from the signed part; 'part': only some of it. */
  covers: 'text' | 'part'
  /** Indexes into OpenedReport.attachments of the attachments outside the signed part. */
  unsignedAttachments: number[]
}

export type KeySource = 'autocrypt' | 'attached' | 'known'

/** A reporter's public key found in the message, with where it came from. */
export interface ReporterKey {
  armored: string
  fingerprint: string
  source: KeySource
}

export interface OpenedReport {
  messageId?: string
  /** Message-IDs for threading a reply (References + Message-ID of the report). */
  references: string[]
  subject: string
  from?: Address
  replyTo?: Address
  date?: Date
  /** Lower-cased header name -> raw (unfolded) value; first occurrence wins. Used for RFC 3834 checks. */
  headers: Map<string, string>
  /** Anything in the message was encrypted (the body, an attachment or both); see the next two. */
  encrypted: boolean
  /**
   * The report text came out of a decryption (PGP/MIME or inline armor). Set by
   * openReport; absent on reports built elsewhere, which only know `encrypted`.
   */
  bodyEncrypted?: boolean
  /** How many attachments came out of a decryption (inside a PGP/MIME payload or encrypted themselves). */
  decryptedAttachments?: number
  /** Fingerprint of the gateway key that decrypted the message. */
  decryptedWith?: string
  /**
   * The signature over the report text. With `partSignature` set it is that signature's
   * state when it covers all of the text, and never 'verified' when it covers only some.
   */
  signature: SignatureState
  /** Present when the signature found covers only part of the body; absent: the whole body (or unsigned). */
  partSignature?: PartSignature
  reporterKey?: ReporterKey
  text: string
  attachments: ReportAttachment[]
}
