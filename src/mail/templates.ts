// Message templates the team can edit: plain-text files with {{placeholders}}, in the
// built-in `templates/` folder, each overridable by a file of the same name in
// TEMPLATES_DIR. Values are ours only (ids, URLs, fingerprints), never a sender's text.
//
// File format: optional header lines (`Subject: ...`), a blank line, then the body.
// The body is reflowed on output so the team need not count columns:
//   - a paragraph (lines separated by a blank line) is re-wrapped at 72 columns;
//   - lines starting with "- " are bullets, wrapped with a hanging indent;
//   - lines starting with blanks, and the "-- " signature block, are kept as written
//     (indented data, URLs).
// Every placeholder is checked when the templates are loaded, so a typo fails at start.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BUILTIN_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url))

const WIDTH = 72
/** A template file larger than this is a mistake, not a message. */
const maxTemplateBytes = 32 * 1024

/** Each template and the placeholders it may use. */
export const templatePlaceholders = {
  acknowledgement: ['intakeId', 'ghsaId', 'fingerprint', 'keyUrl', 'publicUrl'],
  'could-not-decrypt': ['intakeId', 'fingerprint', 'keyUrl', 'publicUrl'],
  'key-reply': ['intakeId', 'fingerprint', 'fingerprintHex', 'keyUrl', 'securityTxtUrl', 'securityEmail', 'keyserver', 'publicUrl', 'warning'],
  published: ['intakeId', 'ghsaId', 'cveId', 'advisoryUrl', 'publicUrl'],
  reminder: ['intakeId', 'ghsaId', 'advisoryUrl', 'repository', 'step', 'due', 'state', 'releaseDay'],
  retrospective: ['intakeId', 'ghsaId', 'advisoryUrl', 'repository', 'publishedAt'],
  'distributor-notice': ['distributorName', 'ghsaId', 'cveId', 'repository', 'summary', 'severity', 'affected', 'releaseDay', 'advisoryUrl', 'securityEmail']
} as const

/**
 * Templates whose body is encrypted but whose Subject travels in clear: the only
 * placeholders their Subject may use (an embargoed notice must not name the flaw outside).
 */
const clearSubjectPlaceholders: Partial<Record<TemplateName, readonly string[]>> = {
  'distributor-notice': ['ghsaId']
}

export type TemplateName = keyof typeof templatePlaceholders
export type TemplateValues<N extends TemplateName> = Record<(typeof templatePlaceholders)[N][number], string>

export interface Rendered {
  subject?: string
  text: string
}

export interface Templates {
  render: <N extends TemplateName>(name: N, values: TemplateValues<N>) => Rendered
}

interface Parsed {
  subject?: string
  body: string
}

export class TemplateError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TemplateError'
  }
}

/** Reads and checks every template once; throws TemplateError naming the file and the problem. */
export function loadTemplates (dir?: string): Templates {
  const parsed = new Map<TemplateName, Parsed>()
  for (const name of Object.keys(templatePlaceholders) as TemplateName[]) {
    const override = dir === undefined ? undefined : join(dir, `${name}.txt`)
    const file = override !== undefined && existsSync(override) ? override : join(BUILTIN_TEMPLATES_DIR, `${name}.txt`)
    parsed.set(name, parseTemplate(name, readTemplate(file), file))
  }
  return {
    render (name, values) {
      const template = parsed.get(name) as Parsed
      const fill = (text: string) => text.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (_m, key: string) => oneLine((values as Record<string, string>)[key] ?? ''))
      const subject = template.subject === undefined ? undefined : fill(template.subject)
      return { ...(subject === undefined ? {} : { subject }), text: reflow(fill(template.body)) }
    }
  }
}

let builtin: Templates | undefined
/** The built-in templates (for callers that were not given a loaded set). */
export function builtinTemplates (): Templates {
  builtin ??= loadTemplates()
  return builtin
}

function readTemplate (file: string): string {
  const bytes = readFileSync(file)
  if (bytes.length > maxTemplateBytes) throw new TemplateError(`${file}: larger than ${maxTemplateBytes} bytes`)
  const text = bytes.toString('utf8')
  if (text.includes('\uFFFD')) throw new TemplateError(`${file}: not UTF-8`)
  return text.replace(/\r\n?/g, '\n')
}

function parseTemplate (name: TemplateName, text: string, file: string): Parsed {
  let subject: string | undefined
  let body = text
  const head = /^((?:[A-Za-z-]+:[^\n]*\n)+)\n/.exec(text)
  if (head !== null) {
    for (const line of (head[1] as string).split('\n').filter(Boolean)) {
      const colon = line.indexOf(':')
      const field = line.slice(0, colon).toLowerCase()
      if (field !== 'subject') throw new TemplateError(`${file}: unknown header "${line.slice(0, colon)}" (only Subject is allowed)`)
      subject = line.slice(colon + 1).trim()
    }
    body = text.slice(head[0].length)
  }
  const allowed: readonly string[] = templatePlaceholders[name]
  for (const match of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!allowed.includes(match[1] ?? '')) throw new TemplateError(`${file}: unknown placeholder {{${match[1]}}} (allowed: ${allowed.join(', ')})`)
  }
  const clear: readonly string[] | undefined = clearSubjectPlaceholders[name]
  if (clear !== undefined) {
    for (const match of (subject ?? '').matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
      if (!clear.includes(match[1] ?? '')) throw new TemplateError(`${file}: {{${match[1]}}} may not be in the Subject, which is not encrypted (allowed there: ${clear.join(', ')})`)
    }
  }
  if (body.trim() === '') throw new TemplateError(`${file}: empty body`)
  return { ...(subject === undefined ? {} : { subject }), body }
}

/** One line without control characters: a value can never add lines or headers. */
function oneLine (value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g, ' ').trim()
}

/** Re-wraps paragraphs and bullets at 72 columns; keeps indented lines and the signature. */
export function reflow (body: string): string {
  const out: string[] = []
  const blocks = body.replace(/\s+$/, '').split(/\n[ \t]*\n/)
  let signature = false
  for (const block of blocks) {
    // A placeholder that filled a paragraph of its own with nothing (an optional warning) leaves no gap.
    if (block.trim() === '') continue
    if (out.length > 0) out.push('')
    const lines = block.split('\n')
    if (signature || lines[0] === '-- ') {
      signature = true
      out.push(...lines.map((line) => line.replace(/(?<!^--)\s+$/, '')))
      continue
    }
    let paragraph: string[] = []
    let bullet: string[] | undefined
    const flush = () => {
      if (bullet !== undefined) out.push(...wrapText(bullet.join(' '), WIDTH - 2).map((line, i) => (i === 0 ? '- ' : '  ') + line))
      else if (paragraph.length > 0) out.push(...wrapText(paragraph.join(' '), WIDTH))
      paragraph = []
      bullet = undefined
    }
    for (const line of lines) {
      if (line.startsWith('- ')) {
        flush()
        bullet = [line.slice(2)]
      } else if (/^\s/.test(line) && bullet === undefined) {
        flush()
        out.push(line.replace(/\s+$/, ''))
      } else if (bullet !== undefined) {
        bullet.push(line.trim())
      } else {
        paragraph.push(line.trim())
      }
    }
    flush()
  }
  return out.join('\n') + '\n'
}

/** Greedy word wrap; a single word longer than the width (a URL) stays whole on its own line. */
export function wrapText (paragraph: string, width = WIDTH): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of paragraph.split(/\s+/).filter(Boolean)) {
    if (line !== '' && [...line].length + 1 + [...word].length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(line)
  return lines
}
