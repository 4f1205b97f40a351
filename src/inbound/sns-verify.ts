// Amazon SNS message signatures: SignatureVersion 1 (SHA1withRSA) and 2
// (SHA256withRSA) over "Key\nValue\n" pairs in a fixed order, checked with the
// certificate at SigningCertURL. The URL is trusted only on an SNS host over https
// with a .pem path (anything else could be a certificate the forger made), and only
// in the topic's own region. Certificates are cached; the fetch is injectable (tests
// have no network and sign with a certificate they generate).
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
const MAX_CERT_BYTES = 16 * 1024
const CACHE_MAX = 32

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

export function stringToSign (m: SnsMessage): string | undefined {
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

/** The region an SNS URL's host is in, or undefined when it is not an SNS https URL. */
export function snsUrlRegion (url: string, opts: { pem?: boolean } = {}): string | undefined {
  let u: URL
  try { u = new URL(url) } catch { return undefined }
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '' || u.port !== '') return undefined
  if (opts.pem === true && !u.pathname.endsWith('.pem')) return undefined
  return SNS_HOST.exec(u.hostname)?.[1]
}

export function topicRegion (arn: string): string | undefined {
  return /^arn:aws[a-z-]*:sns:([a-z0-9-]+):/.exec(arn)?.[1]
}

export function defaultFetchText (timeoutMs = 5000): FetchText {
  return async (url) => {
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) throw new Error(`GET ${new URL(url).host} answered ${res.status}`)
    const body = await res.text()
    if (body.length > MAX_CERT_BYTES) throw new Error('certificate too large')
    return body
  }
}

export function snsVerifier (fetchText: FetchText) {
  const cache = new Map<string, X509Certificate>()
  async function certificate (url: string): Promise<X509Certificate> {
    const cached = cache.get(url)
    if (cached !== undefined) return cached
    const pem = await fetchText(url)
    if (pem.length > MAX_CERT_BYTES) throw new Error('certificate too large')
    const cert = new X509Certificate(pem)
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
    cache.set(url, cert)
    return cert
  }

  /** True only for a well-formed message signed by the certificate of its topic's region. */
  return async function verify (m: SnsMessage, now = Date.now()): Promise<boolean> {
    const algorithm = m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : undefined
    const data = stringToSign(m)
    const region = snsUrlRegion(m.SigningCertURL, { pem: true })
    if (algorithm === undefined || data === undefined || region === undefined || region !== topicRegion(m.TopicArn)) return false
    if (!/^[A-Za-z0-9+/=]{1,2048}$/.test(m.Signature)) return false
    let cert: X509Certificate
    try {
      cert = await certificate(m.SigningCertURL)
    } catch (err) {
      // Not the sender's fault: answer 5xx so SNS delivers again later.
      throw new SnsCertificateUnavailable((err as Error).message)
    }
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return false
    return createVerify(algorithm).update(data, 'utf8').verify(cert.publicKey, m.Signature, 'base64')
  }
}

export class SnsCertificateUnavailable extends Error {
  constructor (reason: string) {
    super(`SNS signing certificate unavailable: ${reason}`)
    this.name = 'SnsCertificateUnavailable'
  }
}

export type SnsVerify = ReturnType<typeof snsVerifier>
