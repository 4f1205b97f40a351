// Team chat notices through an incoming webhook (NOTIFY_WEBHOOK_URL). One JSON body that
// Slack (`text`) and Discord (`content`) both accept; each ignores the other's field.
// Like every team notice it is content-free: ids, repository, severity, flags, a link.
// Chat archives and their search are outside the private advisory's access control.
// The release announcement (DISCORD_WEBHOOK_URL) goes through the same poster, after
// publication only (timeline/announce.ts).

export interface ChatNotice {
  title: string
  lines: string[]
  url?: string
}

export interface ChatNotifier {
  post: (notice: ChatNotice) => Promise<void>
}

/** A message Discord would cut (2000 characters) is shortened before sending. */
const maxChars = 1900

export class ChatWebhookError extends Error {
  constructor (readonly status: number | undefined, readonly retryable: boolean) {
    super(`chat webhook failed: ${status ?? 'network error'}`)
    this.name = 'ChatWebhookError'
  }
}

export function chatNotifier (url: string, opts: WebhookOptions = {}): ChatNotifier {
  return {
    async post (notice) {
      const text = chatText(notice)
      const outcome = await postWebhook(url, { text, content: text, allowed_mentions: { parse: [] } }, opts)
      if (!outcome.posted) throw new ChatWebhookError(outcome.status, outcome.status === undefined || outcome.status >= 500 || outcome.status === 429)
    }
  }
}

export interface WebhookOptions { fetch?: typeof fetch, timeoutMs?: number }

/**
 * What became of one POST. `delivered: 'no'` is certain (refused before sending, or an
 * HTTP error answer); `'unknown'` may have been posted (the connection broke or timed out
 * after the request went out, or a proxy gave up waiting for the origin): a caller that
 * must post at most once does not repeat it blindly.
 */
export type WebhookOutcome = { posted: true } | { posted: false, delivered: 'no' | 'unknown', status?: number }

/** Errors before any byte of the request could have reached the server. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'SELF_SIGNED_CERT_IN_CHAIN'])
/** Gateway timeouts (504, Cloudflare's 524): the origin may have taken the message. */
const MAYBE_POSTED = new Set([504, 524])

/** POSTs JSON to an incoming webhook. Never throws: the URL is a credential and fetch's errors may name it. */
export async function postWebhook (url: string, body: object, opts: WebhookOptions = {}): Promise<WebhookOutcome> {
  let res: Response
  try {
    res = await (opts.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      redirect: 'error'
    })
  } catch (err) {
    const code = (err as { cause?: { code?: unknown } }).cause?.code
    return { posted: false, delivered: typeof code === 'string' && NOT_SENT.has(code) ? 'no' : 'unknown' }
  }
  await res.body?.cancel().catch(() => {})
  if (res.ok) return { posted: true }
  return { posted: false, delivered: MAYBE_POSTED.has(res.status) ? 'unknown' : 'no', status: res.status }
}

/**
 * At most `max` UTF-16 units (the stricter way to count Discord's limit), never splitting
 * a surrogate pair; a cut text ends with an ellipsis.
 */
export function cutText (text: string, max: number): string {
  if (text.length <= max) return text
  let out = ''
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break
    out += ch
  }
  return out + '…'
}

/** Discord's limit for `content`. */
export const DISCORD_MAX_CHARS = 2000

export interface DiscordPoster {
  post: (content: string) => Promise<WebhookOutcome>
}

/** A Discord incoming webhook (DISCORD_WEBHOOK_URL): one message, no pings, within Discord's limit. */
export function discordPoster (url: string, opts: WebhookOptions = {}): DiscordPoster {
  return {
    async post (content) {
      return await postWebhook(url, { content: cutText(content, DISCORD_MAX_CHARS), allowed_mentions: { parse: [] } }, opts)
    }
  }
}

export function chatText (notice: ChatNotice): string {
  const lines = [notice.title, ...notice.lines.map((line) => `• ${line}`)]
  if (notice.url !== undefined) lines.push(notice.url)
  const text = lines.join('\n')
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}…`
}
