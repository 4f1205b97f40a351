// Every mail the gateway writes leaves through here: it carries an Autocrypt header with
// the team key, and is PGP/MIME signed by the team key, or signed and encrypted when the
// recipient's key is known (to the recipient and to the team key, so the team can read
// what was sent). Plain unsigned mail is never sent.
import type { PrivateKey, PublicKey } from 'openpgp'
import type { TeamKeyring } from '../pgp/types.js'
import { addressOf, type MailMessage } from './messages.js'
import { autocryptHeader, encryptMime, signMime, type RawMail } from './pgp-mime.js'
import type { Mailer, SentMail } from './transport.js'

export interface OutgoingMail {
  /** Signs (and with `encryptTo`, encrypts) then sends. */
  send: (message: MailMessage, opts?: { encryptTo?: PublicKey[] }) => Promise<SentMail & { encrypted: boolean }>
  /** A message its builder signed already (the key reply, signed with the published key). */
  sendRaw: (mail: RawMail) => Promise<SentMail>
}

export function outgoingMail (mailer: Mailer, keyring: TeamKeyring): OutgoingMail {
  const signingKey = keyring.secretKeys[0] as PrivateKey
  return {
    async send (message, opts = {}) {
      const withHeader: MailMessage = {
        ...message,
        headers: { ...message.headers, Autocrypt: autocryptHeader(addressOf(message.from), keyring.published) }
      }
      const encryptTo = opts.encryptTo ?? []
      const mail = encryptTo.length > 0
        ? await encryptMime(withHeader, { signingKey, encryptionKeys: [...encryptTo, keyring.published] })
        : await signMime(withHeader, signingKey)
      const sent = await mailer.send(mail)
      return { ...sent, encrypted: encryptTo.length > 0 }
    },
    async sendRaw (mail) {
      return await mailer.send(mail)
    }
  }
}
