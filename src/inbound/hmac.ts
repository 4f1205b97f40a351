// Authentication of the generic raw endpoint: HMAC-SHA256 over "<timestamp>." + body,
// sent as `X-Intake-Signature: v1=<hex>`, with a 300 s window against replays.
import { createHmac, timingSafeEqual } from 'node:crypto'

const MAX_SKEW_SECONDS = 300

export function signRaw (secret: string, timestamp: number | string, body: Buffer): string {
  return 'v1=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')
}

export type RawAuthResult = { ok: true } | { ok: false, reason: string }

/** The checks that need no body: run before a possibly large body is read at all. */
export function checkRawHeaders (headers: { timestamp?: string | undefined, signature?: string | undefined }, now = Date.now()): RawAuthResult {
  const { timestamp, signature } = headers
  if (timestamp === undefined || signature === undefined) return { ok: false, reason: 'missing X-Intake-Timestamp or X-Intake-Signature' }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad timestamp' }
  if (Math.abs(now / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) return { ok: false, reason: 'timestamp outside the 300 s window' }
  if (!/^v1=[0-9a-f]{64}$/i.test(signature.trim())) return { ok: false, reason: 'malformed signature' }
  return { ok: true }
}

export function verifyRaw (secret: string, headers: { timestamp?: string | undefined, signature?: string | undefined }, body: Buffer, now = Date.now()): RawAuthResult {
  const early = checkRawHeaders(headers, now)
  if (!early.ok) return early
  return safeEqual(signRaw(secret, headers.timestamp as string, body), (headers.signature as string).trim().toLowerCase()) ? { ok: true } : { ok: false, reason: 'signature mismatch' }
}

/** Constant-time comparison of two strings of possibly different lengths. */
export function safeEqual (expected: string, actual: string): boolean {
  const a = Buffer.from(expected)
  const b = Buffer.from(actual)
  // Compare against itself when lengths differ, so timing does not reveal the length.
  return timingSafeEqual(a, a.length === b.length ? b : a) && a.length === b.length
}
