// Team chat notices through an incoming webhook (NOTIFY_WEBHOOK_URL). One JSON body that
// Slack (`text`) and Discord (`content`) both accept; each ignores the other's field.
// Like every team notice it is content-free: ids, repository, severity, flags, a link.
// Chat archives and their search are outside the private advisory's access control.

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

export function chatNotifier (url: string, opts: { fetch?: typeof fetch, timeoutMs?: number } = {}): ChatNotifier {
  const doFetch = opts.fetch ?? fetch
  return {
    async post (notice) {
      const text = chatText(notice)
      let res: Response
      try {
        res = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text, content: text, allowed_mentions: { parse: [] } }),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
          redirect: 'error'
        })
      } catch {
        // The URL is a secret (it is the credential): never put it, or fetch's error, in a message.
        throw new ChatWebhookError(undefined, true)
      }
      await res.body?.cancel().catch(() => {})
      if (!res.ok) throw new ChatWebhookError(res.status, res.status >= 500 || res.status === 429)
    }
  }
}

export function chatText (notice: ChatNotice): string {
  const lines = [notice.title, ...notice.lines.map((line) => `• ${line}`)]
  if (notice.url !== undefined) lines.push(notice.url)
  const text = lines.join('\n')
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}…`
}
