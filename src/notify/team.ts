// The team's two channels: mail to TEAM_NOTIFY_EMAIL (PGP/MIME-encrypted to the team
// members' keys when TEAM_NOTIFY_KEYS_FILE lists them, else signed) and the chat
// webhook. Either may be absent. What goes through here is content-free by construction
// (messages.ts' team notices and chat notices built from ids and flags).
import { readFile } from 'node:fs/promises'
import { readKeys, type PublicKey } from 'openpgp'
import type { MailMessage } from '../mail/messages.js'
import type { OutgoingMail } from '../mail/outgoing.js'
import { pgpConfig } from '../pgp/openpgp-config.js'
import { ChatWebhookError, type ChatNotice, type ChatNotifier } from './chat.js'

export interface TeamChannels {
  /** Where team mail goes, when configured. */
  email?: string
  mail: (message: MailMessage) => Promise<void>
  /**
   * Best effort: resolves 'sent' or 'failed: <status>'. A chat outage must not fail (and
   * finally quarantine) a report that is filed and acknowledged; the team mail still goes.
   */
  chat?: (notice: ChatNotice) => Promise<string>
}

export function teamChannels (opts: { email?: string, memberKeys: PublicKey[], outgoing: OutgoingMail, chat?: ChatNotifier, log: { warn: (obj: object, msg?: string) => void } }): TeamChannels {
  const { chat } = opts
  return {
    ...(opts.email !== undefined ? { email: opts.email } : {}),
    async mail (message) {
      await opts.outgoing.send(message, { encryptTo: opts.memberKeys })
    },
    ...(chat !== undefined
      ? {
          chat: async (notice: ChatNotice) => {
            try {
              await chat.post(notice)
              return 'sent'
            } catch (err) {
              const status = err instanceof ChatWebhookError ? String(err.status ?? 'network error') : 'error'
              opts.log.warn({ status }, 'chat webhook failed')
              return `failed: ${status}`
            }
          }
        }
      : {})
  }
}

/** Team members' public keys; each must be able to receive encrypted mail. */
export async function loadMemberKeys (file: string | undefined): Promise<PublicKey[]> {
  if (file === undefined) return []
  const armored = await readFile(file, 'utf8')
  const keys = await readKeys({ armoredKeys: armored, config: pgpConfig() })
  const problems: string[] = []
  for (const key of keys) {
    if (key.isPrivate()) problems.push(`${key.getFingerprint().toUpperCase()} is a secret key (give public keys only)`)
    else if (!(await key.getEncryptionKey(undefined, undefined, undefined, pgpConfig()).then(() => true, () => false))) problems.push(`${key.getFingerprint().toUpperCase()} has no valid encryption key`)
  }
  if (problems.length > 0) throw new Error(`TEAM_NOTIFY_KEYS_FILE: ${problems.join('; ')}`)
  return keys as PublicKey[]
}
