// Which attachments are shown inline in the advisory (logs, scripts, patches: text a
// maintainer reads there and then) and how: in a fence longer than any run of the
// fence character inside, so no line of the attachment can close it.

export interface AttachmentInfo {
  filename: string
  contentType: string
  size: number
  content: Buffer
}

const TEXT_TYPES = /^(?:text\/[a-z0-9.+-]+|application\/(?:json|xml|x-yaml|yaml|x-sh|x-shellscript|x-python|javascript|x-javascript|x-diff|x-patch|toml|x-httpd-php|sql|graphql|x-ndjson))$/i
const TEXT_EXTENSIONS = /\.(?:txt|log|md|json|ya?ml|toml|xml|sh|bash|zsh|py|js|mjs|cjs|ts|go|rs|rb|php|java|c|h|cc|cpp|diff|patch|sql|html?|csv|ini|conf|cfg|env|http|har|curl|ps1)$/i

/** Fence info strings we set ourselves (never the attachment's own name). */
const LANGS: Record<string, string> = { diff: 'diff', patch: 'diff', sh: 'sh', bash: 'sh', py: 'python', js: 'js', ts: 'ts', go: 'go', rs: 'rust', json: 'json', yaml: 'yaml', yml: 'yaml', http: 'http' }

/** Text an engineer can read inline: a text-like type or name, valid UTF-8, no NUL. */
export function inlineText (a: AttachmentInfo, maxBytes: number): string | undefined {
  if (a.content.length > maxBytes) return undefined
  if (!TEXT_TYPES.test(a.contentType.split(';')[0]?.trim() ?? '') && !TEXT_EXTENSIONS.test(a.filename)) return undefined
  if (a.content.includes(0)) return undefined
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
  try {
    return text.decode(a.content)
  } catch {
    return undefined
  }
}

export function fenceLanguage (filename: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase() ?? ''
  return LANGS[ext] ?? 'text'
}

/** A fence no line of `text` can close: longer than its longest run of backticks (or tildes). */
export function fenceFor (text: string): string {
  const ticks = longestRun(text, '`')
  const tildes = longestRun(text, '~')
  return ticks <= tildes ? '`'.repeat(Math.max(3, ticks + 1)) : '~'.repeat(Math.max(3, tildes + 1))
}

export function longestRun (value: string, char: '`' | '~'): number {
  let best = 0
  let run = 0
  for (let i = 0; i < value.length; i++) {
    if (value[i] === char) {
      run++
      if (run > best) best = run
    } else {
      run = 0
    }
  }
  return best
}
