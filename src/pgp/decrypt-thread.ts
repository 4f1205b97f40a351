// One decryption thread (see decrypt-pool.ts): loads the team keys once from workerData,
// then decrypts what it is given. Our own errors travel back as code and message; any
// other error as its class name only (library messages can quote input).
import { workerData } from 'node:worker_threads'
import { loadTeamKeyring } from './keyring.js'
import { decryptToParts } from './decrypt.js'
import { ReportError } from '../domain/errors.js'
import type { DecryptedParts, TeamKeyring } from './types.js'

export type ThreadAnswer = { ok: true, parts: DecryptedParts } | { ok: false, code?: ReportError['code'], message: string }

const { armored, passphrase } = workerData as { armored: string[], passphrase?: string }
let keyring: Promise<TeamKeyring> | undefined

export default async function decrypt ({ input, maxBytes }: { input: Uint8Array | string, maxBytes: number }): Promise<ThreadAnswer> {
  keyring ??= loadTeamKeyring({ armored, ...(passphrase === undefined ? {} : { passphrase }) })
  try {
    return { ok: true, parts: await decryptToParts(input, await keyring, { maxBytes }) }
  } catch (err) {
    if (err instanceof ReportError) return { ok: false, code: err.code, message: err.message }
    return { ok: false, message: `${(err as Error)?.name ?? 'Error'} in a decryption thread (message withheld: it may quote report content)` }
  }
}
