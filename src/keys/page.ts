// The small human page: who to write to, the fingerprint to check, and how to encrypt.
import { formatFingerprint } from '../mail/messages.js'
import type { PublishedKey } from './published.js'
import { wkdHash } from './wkd.js'
import { keyserverUrl } from './hkp.js'

export interface PageInput {
  key: PublishedKey
  others: PublishedKey[]
  securityEmail: string
  publicUrl: string
}

export function humanPage ({ key, others, securityEmail, publicUrl }: PageInput): string {
  const base = publicUrl.replace(/\/+$/, '')
  const e = escapeHtml
  const dev = key.development
    ? '<p class="dev"><strong>DEVELOPMENT KEY.</strong> This gateway runs with a throw-away key generated for development. Do not send real reports to it.</p>'
    : ''
  const retiring = others.length === 0
    ? ''
    : `<p>Also still valid (being retired, do not use for new mail): ${others.map((k) => `<code>${e(formatFingerprint(k.fingerprint))}</code>`).join(', ')}</p>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Report a vulnerability</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.6rem;overflow-x:auto}.dev{background:#fee;border:2px solid #c00;padding:.6rem}</style>
</head><body>
<h1>Report a vulnerability</h1>
${dev}
<p>E-mail <a href="mailto:${e(securityEmail)}">${e(securityEmail)}</a>. Plain mail is fine; to keep the report private in transit, encrypt it to our OpenPGP key.</p>
<h2>Our OpenPGP key</h2>
<p>Fingerprint: <code>${e(formatFingerprint(key.fingerprint))}</code><br>
${e(key.algorithm)}, created ${e(key.created.toISOString().slice(0, 10))}${key.expires === undefined ? '' : `, expires ${e(key.expires.toISOString().slice(0, 10))}`}</p>
${retiring}
<p>Get it from any of: <a href="${e(base)}/pgp-key.asc">${e(base)}/pgp-key.asc</a>,
Web Key Directory (<code>gpg --locate-keys ${e(securityEmail)}</code>),
keyserver (<code>gpg --keyserver ${e(keyserverUrl(base))} --recv-keys ${e(key.fingerprint)}</code>),
or by e-mail: write to <a href="mailto:${e(securityEmail)}?subject=public%20key">${e(securityEmail)}</a> asking for our public key.
Always compare the fingerprint above.</p>
<h2>Encrypt a report with GnuPG</h2>
<pre>curl -sS ${e(base)}/pgp-key.asc | gpg --import
gpg --armor --encrypt --recipient ${e(key.fingerprint)} report.txt   # writes report.txt.asc</pre>
<p>Then send <code>report.txt.asc</code> as the body or an attachment. Our signed
<a href="${e(base)}/.well-known/security.txt">security.txt</a> lists the same key.</p>
<p><small>WKD hash of ${e(securityEmail)}: <code>${e(wkdHash(securityEmail))}</code></small></p>
</body></html>
`
}

function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}
