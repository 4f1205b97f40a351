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
  encrypted: boolean
  /** Fingerprint of the gateway key that decrypted the message. */
  decryptedWith?: string
  signature: SignatureState
  reporterKey?: ReporterKey
  text: string
  attachments: ReportAttachment[]
}
