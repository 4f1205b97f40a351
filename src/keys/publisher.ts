// The worker's side of publication. The web role never holds a private key, yet
// security.txt must carry the team key's signature: so the worker, which holds the key,
// writes the signed file into Redis on start and refreshes it every hour, and the web
// role serves whatever signed copy is there (503 until one exists). The text is public;
// Redis expires it at its own Expires date, so a stalled worker can never leave a stale
// file being served. Role `all` goes through the same path.
import type { Redis } from 'ioredis'
import type { PrivateKey } from 'openpgp'
import type { Logger } from '../log.js'
import type { TeamKeyring } from '../pgp/types.js'
import type { KeySource, Publication } from './published.js'
import { publicationWarnings } from './published.js'
import { securityTxtKey } from '../store/security-txt.js'
import { securityTxtBody, securityTxtExpires, signSecurityTxt } from './security-txt.js'

interface SecurityTxtSettings {
  securityEmail: string
  publicUrl: string
  policyUrl?: string
  acknowledgmentsUrl?: string
  preferredLanguages: string
  expiresDays: number
}

export interface PublisherDeps {
  redis: Redis
  prefix: string
  keyring: TeamKeyring
  keySource: KeySource
  settings: SecurityTxtSettings
  log: Logger
  now?: () => Date
  /** Refresh period; the first run happens at start. */
  everyMs?: number
}

export interface Publisher {
  /** Signs and stores security.txt now; the signed text, or undefined when nothing can be published. */
  refresh: () => Promise<string | undefined>
  /** The first publication, started at start but not awaited by it (Redis may still be connecting). */
  first: Promise<string | undefined>
  close: () => void
}

export async function startPublisher (deps: PublisherDeps): Promise<Publisher> {
  const now = deps.now ?? (() => new Date())
  const refresh = async (): Promise<string | undefined> => {
    const pub = await deps.keySource.get()
    const signer = primarySigningKey(pub, deps.keyring)
    if (pub.primary === undefined || signer === undefined) return undefined
    const at = now()
    const body = securityTxtBody({
      ...deps.settings,
      fingerprint: pub.primary.fingerprint,
      ...(pub.primary.expires === undefined ? {} : { keyExpires: pub.primary.expires }),
      now: at,
      development: pub.primary.development
    })
    const signed = await signSecurityTxt(body, signer)
    const expires = securityTxtExpires(at, deps.settings.expiresDays, pub.primary.expires)
    const ttl = Math.floor((expires.getTime() - at.getTime()) / 1000)
    if (ttl <= 0) return undefined
    await deps.redis.set(securityTxtKey(deps.prefix), signed, 'EX', ttl)
    return signed
  }

  const pub = await deps.keySource.get()
  for (const warning of publicationWarnings(pub, now())) deps.log.warn(warning)
  for (const problem of keyringMismatches(pub, deps.keyring)) deps.log.error(problem)
  const first = refresh().catch((err: Error) => {
    deps.log.error({ err: { message: err.message } }, 'could not publish security.txt')
    return undefined
  })

  const timer = setInterval(() => {
    refresh().catch((err: Error) => deps.log.error({ err: { message: err.message } }, 'could not refresh security.txt'))
  }, deps.everyMs ?? 3_600_000)
  timer.unref()
  return { refresh, first, close: () => clearInterval(timer) }
}

/** The secret key of the primary published key, if this worker holds it: what signs security.txt and the key reply. */
export function primarySigningKey (pub: Publication, keyring: TeamKeyring): PrivateKey | undefined {
  const fingerprint = pub.primary?.fingerprint
  return fingerprint === undefined ? undefined : keyring.secretKeys.find((k) => k.getFingerprint().toUpperCase() === fingerprint)
}

/**
 * A published key the worker cannot decrypt with loses every report sent to it: say so
 * loudly at start. A secret key that is not published is normal (an old key kept to
 * decrypt late mail), and so is not reported.
 */
function keyringMismatches (pub: Publication, keyring: TeamKeyring): string[] {
  const held = new Set(keyring.secretKeys.map((k) => k.getFingerprint().toUpperCase()))
  const out = pub.keys
    .filter((k) => !held.has(k.fingerprint))
    .map((k) => `published ${k.role} key ${k.fingerprint} (${k.file}) has no secret key in this worker: mail encrypted to it cannot be decrypted${k.role === 'primary' ? ', and security.txt cannot be signed' : ''}`)
  if (pub.primary !== undefined && keyring.fingerprint !== pub.primary.fingerprint && held.has(pub.primary.fingerprint)) {
    out.push(`the worker's newest secret key ${keyring.fingerprint} is not the published primary key ${pub.primary.fingerprint}: publish its public key in KEYS_DIR (npm run intake -- keys export --from-secret)`)
  }
  return out
}
