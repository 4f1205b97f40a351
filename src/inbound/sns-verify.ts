// Amazon SNS message signatures: SignatureVersion 1 (SHA1withRSA) and 2
// (SHA256withRSA) over "Key\nValue\n" pairs in a fixed order, checked with the
// certificate at SigningCertURL. Everything that needs no network is checked first: the
// Timestamp within its window, and the URL strictly of SNS's own shape (https, host
// sns.<topic's region>.amazonaws.com, path /SimpleNotificationService-<hex>.pem, nothing
// else), since anything looser could name a certificate the forger made or make us fetch
// once per post. Certificates are cached by that URL and fetches of new ones are
// budgeted; the fetch is injectable (tests have no network and sign with a certificate
// they generate).
import { X509Certificate, createVerify } from 'node:crypto'

export type FetchText = (url: string) => Promise<string>

export interface SnsMessage {
  Type: string
  MessageId: string
  TopicArn: string
  Message: string
  Timestamp: string
  SignatureVersion: string
  Signature: string
  SigningCertURL: string
  Subject?: string
  SubscribeURL?: string
  Token?: string
  UnsubscribeURL?: string
}

const SNS_HOST = /^sns\.([a-z0-9-]{3,})\.amazonaws\.com(\.cn)?$/
const CERT_PATH = /^\/SimpleNotificationService-[0-9a-f]{16,64}\.pem$/i
const MAX_CERT_BYTES = 16 * 1024
const CACHE_MAX = 32

/**
 * How far a Timestamp may be from now. SNS signs a message once and keeps that Timestamp
 * through its retries, which span at most 3,600 s (a hard limit of HTTP/S delivery
 * policies); 2 h leaves room for throttled topics. Ahead: clock skew only.
 */
export const SNS_MAX_AGE_MS = 2 * 3600 * 1000
export const SNS_MAX_AHEAD_MS = 15 * 60 * 1000

/** New certificates fetched per window (Amazon rotates them rarely; each one is a GET we make). */
export const CERT_FETCH_BUDGET = { fetches: 10, windowMs: 10 * 60 * 1000 }

const FIELDS: Record<string, string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
}

export function asSnsMessage (body: unknown): SnsMessage | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const b = body as Record<string, unknown>
  for (const k of ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL']) {
    if (typeof b[k] !== 'string') return undefined
  }
  for (const k of ['Subject', 'SubscribeURL', 'Token', 'UnsubscribeURL']) {
    if (b[k] !== undefined && b[k] !== null && typeof b[k] !== 'string') return undefined
  }
  return b as unknown as SnsMessage
}

function stringToSign (m: SnsMessage): string | undefined {
  const fields = FIELDS[m.Type]
  if (fields === undefined) return undefined
  let out = ''
  for (const f of fields) {
    const value = (m as unknown as Record<string, string | undefined | null>)[f]
    if (value === undefined || value === null) {
      if (f === 'Subject') continue // optional in notifications only
      return undefined
    }
    out += `${f}\n${value}\n`
  }
  return out
}

/**
 * The one form of a SigningCertURL we fetch, or undefined: https, an SNS host, the
 * certificate path SNS uses, and no userinfo, port, query or fragment (a query string
 * would make every post a new URL, so a new fetch).
 */
export function snsCertUrl (url: string): { url: string, region: string } | undefined {
  let u: URL
  try { u = new URL(url) } catch { return undefined }
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '' || u.port !== '') return undefined
  if (u.search !== '' || u.hash !== '' || url.includes('?') || url.includes('#')) return undefined
  if (!CERT_PATH.test(u.pathname)) return undefined
  const region = SNS_HOST.exec(u.hostname)?.[1]
  return region === undefined ? undefined : { url: `https://${u.hostname}${u.pathname}`, region }
}

/** An ISO 8601 UTC time (SNS's form) within the window around now. */
function snsTimestampFresh (timestamp: string, now = Date.now()): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(timestamp)) return false
  const t = Date.parse(timestamp)
  return Number.isFinite(t) && t >= now - SNS_MAX_AGE_MS && t <= now + SNS_MAX_AHEAD_MS
}

/** The region an SNS URL's host is in, or undefined when it is not an SNS https URL. */
export function snsUrlRegion (url: string): string | undefined {
  let u: URL
  try { u = new URL(url) } catch { return undefined }
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '' || u.port !== '' || u.hash !== '') return undefined
  return SNS_HOST.exec(u.hostname)?.[1]
}

export function topicRegion (arn: string): string | undefined {
  return /^arn:aws[a-z-]*:sns:([a-z0-9-]+):/.exec(arn)?.[1]
}

export function defaultFetchText (timeoutMs = 5000): FetchText {
  return async (url) => {
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) throw new Error(`GET ${new URL(url).host} answered ${res.status}`)
    // Read at most MAX_CERT_BYTES: res.text() would buffer whatever the server sends.
    const chunks: Uint8Array[] = []
    let size = 0
    for await (const chunk of res.body ?? []) {
      size += chunk.length
      if (size > MAX_CERT_BYTES) throw new Error('certificate too large') // leaving the loop cancels the body
      chunks.push(chunk)
    }
    return Buffer.concat(chunks).toString('utf8')
  }
}

export function snsVerifier (fetchText: FetchText) {
  // Promises, so concurrent posts naming the same new certificate share one GET.
  const cache = new Map<string, Promise<X509Certificate>>()
  const fetchedAt: number[] = []
  function certificate (url: string, now: number): Promise<X509Certificate> {
    const cached = cache.get(url)
    if (cached !== undefined) return cached
    // Each unknown (well-formed) URL costs a GET: at most so many per window, then 503s
    // (SNS retries) until the window moves on. Cached certificates are not affected.
    while (fetchedAt.length > 0 && (fetchedAt[0] as number) <= now - CERT_FETCH_BUDGET.windowMs) fetchedAt.shift()
    if (fetchedAt.length >= CERT_FETCH_BUDGET.fetches) return Promise.reject(new Error('too many new certificate URLs; try later'))
    fetchedAt.push(now)
    const loading = fetchText(url).then((pem) => {
      if (pem.length > MAX_CERT_BYTES) throw new Error('certificate too large')
      return new X509Certificate(pem)
    })
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
    cache.set(url, loading)
    loading.catch(() => { cache.delete(url) }) // a failed fetch is tried again (within the budget)
    return loading
  }

  /** True only for a fresh, well-formed message signed by the certificate of its topic's region. */
  return async function verify (m: SnsMessage, now = Date.now()): Promise<boolean> {
    const algorithm = m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : undefined
    const data = stringToSign(m)
    const cert = snsCertUrl(m.SigningCertURL)
    if (algorithm === undefined || data === undefined || cert === undefined || cert.region !== topicRegion(m.TopicArn)) return false
    if (!snsTimestampFresh(m.Timestamp, now)) return false
    if (!/^[A-Za-z0-9+/=]{1,2048}$/.test(m.Signature)) return false
    return verifyWith(await fetched(cert.url, now), algorithm, data, m.Signature, now)
  }

  async function fetched (url: string, now: number): Promise<X509Certificate> {
    try {
      return await certificate(url, now)
    } catch (err) {
      // Not the sender's fault: answer 5xx so SNS delivers again later.
      throw new SnsCertificateUnavailable((err as Error).message)
    }
  }
}

function verifyWith (cert: X509Certificate, algorithm: string, data: string, signature: string, now: number): boolean {
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return false
  return createVerify(algorithm).update(data, 'utf8').verify(cert.publicKey, signature, 'base64')
}

export class SnsCertificateUnavailable extends Error {
  constructor (reason: string) {
    super(`SNS signing certificate unavailable: ${reason}`)
    this.name = 'SnsCertificateUnavailable'
  }
}

export type SnsVerify = ReturnType<typeof snsVerifier>
