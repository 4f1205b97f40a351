// SendGrid Inbound Parse with "POST the raw, full MIME message": always
// multipart/form-data, the message in the `email` field (read as raw bytes), the SMTP
// envelope as JSON in `envelope`, verdicts in `SPF`, `dkim` ("{@example.com : pass}",
// not JSON) and `spam_score`. No signature: basic auth in the webhook URL.
import type { FastifyInstance } from 'fastify'
import { basicAuthHook } from './basic-auth.js'
import { deliver, type DeliverDeps } from './deliver.js'
import { readMultipart, text } from './forms.js'
import type { Verdicts } from '../domain/inbound.js'

export async function sendgridRoute (app: FastifyInstance, deps: DeliverDeps & { basicAuth: string, maxBytes: number }): Promise<void> {
  app.post('/inbound/sendgrid', { bodyLimit: deps.maxBytes, preParsing: basicAuthHook(deps.basicAuth, 'sendgrid') }, async (req, reply) => {
    if (!req.isMultipart()) return await reply.code(415).send({ error: 'send multipart/form-data (Inbound Parse)' })
    const fields = await readMultipart(req, reply, ['email'], deps.maxBytes)
    const raw = fields.get('email')
    if (raw === undefined || raw.length === 0) return await reply.code(400).send({ error: 'no email field (enable "POST the raw, full MIME message")' })
    const envelope = parseEnvelope(text(fields, 'envelope'))
    return await deliver(req, reply, deps, {
      raw,
      source: 'sendgrid',
      ...(envelope !== undefined ? { envelope } : {}),
      verdicts: sendgridVerdicts(text(fields, 'SPF'), text(fields, 'dkim'), text(fields, 'spam_score'))
    })
  })
}

function parseEnvelope (json: string | undefined): { from?: string, to: string[] } | undefined {
  if (json === undefined) return undefined
  try {
    const e = JSON.parse(json) as { to?: unknown, from?: unknown }
    const to = Array.isArray(e.to) ? e.to.filter((a): a is string => typeof a === 'string').slice(0, 100) : []
    return { to, ...(typeof e.from === 'string' && e.from !== '' ? { from: e.from } : {}) }
  } catch {
    return undefined
  }
}

export function sendgridVerdicts (spf: string | undefined, dkim: string | undefined, spamScore: string | undefined): Verdicts {
  const v: Verdicts = {}
  if (spf !== undefined && spf.trim() !== '') v.spf = spf.trim().toLowerCase()
  if (dkim !== undefined) {
    // "{@a.example : pass, @b.example : fail}": one failing signature is not a failed
    // message (lists add their own); a pass on any is a pass.
    const results = [...dkim.toLowerCase().matchAll(/:\s*([a-z]+)/g)].map((m) => m[1])
    if (results.includes('pass')) v.dkim = 'pass'
    else if (results.length > 0) v.dkim = results[0] as string
  }
  if (spamScore !== undefined && spamScore.trim() !== '') {
    const n = Number(spamScore.trim())
    if (Number.isFinite(n)) v.spamScore = n
  }
  return v
}
