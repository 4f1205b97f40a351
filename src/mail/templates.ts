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
//
// A block placeholder (a list: the retrospective's timeline) standing alone on a line
// takes several lines, each indented like the placeholder (at least two blanks, so it is
// kept as written). Chat templates (Discord Markdown) have no header and are not
// reflowed: Discord wraps lines itself, and there block values keep their own lines.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BUILTIN_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url))

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
  retrospective: ['intakeId', 'ghsaId', 'cveId', 'advisoryUrl', 'repository', 'publishedAt', 'timeline', 'durations', 'people', 'links'],
  'distributor-notice': ['distributorName', 'ghsaId', 'cveId', 'repository', 'summary', 'severity', 'affected', 'releaseDay', 'advisoryUrl', 'securityEmail']
} as const

/** Chat templates: Markdown kept as written (no header, no reflow). */
const chatTemplatePlaceholders = {
  announcement: ['ghsaId', 'cveId', 'summary', 'severity', 'repository', 'advisoryUrl', 'impact', 'fixedVersions', 'mitigations']
} as const

/** Placeholders whose value is several lines. */
const blockPlaceholders: Partial<Record<TemplateName, readonly string[]>> = {
  retrospective: ['timeline', 'durations', 'people', 'links'],
  announcement: ['impact', 'fixedVersions', 'mitigations']
}

/**
 * Templates whose body is encrypted but whose Subject travels in clear: the only
 * placeholders their Subject may use (an embargoed notice must not name the flaw outside).
 */
const clearSubjectPlaceholders: Partial<Record<TemplateName, readonly string[]>> = {
  'distributor-notice': ['ghsaId']
}

const allPlaceholders = { ...templatePlaceholders, ...chatTemplatePlaceholders }
export type TemplateName = keyof typeof allPlaceholders
type TemplateValues<N extends TemplateName> = Record<(typeof allPlaceholders)[N][number], string>

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
  for (const name of Object.keys(allPlaceholders) as TemplateName[]) {
    const override = dir === undefined ? undefined : join(dir, `${name}.txt`)
    const file = override !== undefined && existsSync(override) ? override : join(BUILTIN_TEMPLATES_DIR, `${name}.txt`)
    parsed.set(name, parseTemplate(name, readTemplate(file), file))
  }
  return {
    render (name, values) {
      const template = parsed.get(name) as Parsed
      const chat = isChatTemplate(name)
      const get = (key: string) => (values as Record<string, string>)[key] ?? ''
      const subject = template.subject === undefined ? undefined : fillLine(template.subject, get)
      const body = fill(template.body, blockPlaceholders[name] ?? [], get, chat)
      return { ...(subject === undefined ? {} : { subject }), text: chat ? tidy(body) : reflow(body) }
    }
  }
}

function isChatTemplate (name: TemplateName): boolean {
  return Object.hasOwn(chatTemplatePlaceholders, name)
}

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g
const BLOCK_LINE = /^([ \t]*)\{\{\s*([A-Za-z]+)\s*\}\}[ \t]*$/

/** One pass, line by line: a value is never searched for placeholders itself. */
function fill (body: string, blocks: readonly string[], get: (key: string) => string, chat: boolean): string {
  return body.split('\n').flatMap((line) => {
    const block = BLOCK_LINE.exec(line)
    if (block === null || !blocks.includes(block[2] as string)) return [fillLine(line, get)]
    return blockLines(get(block[2] as string), block[1] as string, chat)
  }).join('\n')
}

function fillLine (line: string, get: (key: string) => string): string {
  return line.replace(PLACEHOLDER, (_m, key: string) => oneLine(get(key)))
}

/**
 * Mail: each line indented (at least two blanks: kept as written by reflow), empty lines
 * dropped. Chat: Markdown as given (nested bullets, paragraphs), control characters out.
 */
function blockLines (value: string, indent: string, chat: boolean): string[] {
  if (chat) {
    // eslint-disable-next-line no-control-regex
    const lines = value.replace(/\r\n?/g, '\n').split('\n').map((l) => indent + l.replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029]/g, ' ').replace(/\s+$/, ''))
    return trimEmpty(lines)
  }
  const pad = indent.length >= 2 ? indent : '  '
  return value.split('\n').map(oneLine).filter((l) => l !== '').map((l) => pad + l)
}

function trimEmpty (lines: string[]): string[] {
  let start = 0
  let end = lines.length
  while (start < end && lines[start]?.trim() === '') start++
  while (end > start && lines[end - 1]?.trim() === '') end--
  return lines.slice(start, end)
}

/** Chat text: no trailing blanks, at most one empty line in a row (empty sections leave none). */
function tidy (text: string): string {
  return text.split('\n').map((l) => l.replace(/\s+$/, '')).join('\n').replace(/\n{3,}/g, '\n\n').trim() + '\n'
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
  const head = isChatTemplate(name) ? null : /^((?:[A-Za-z-]+:[^\n]*\n)+)\n/.exec(text)
  if (head !== null) {
    for (const line of (head[1] as string).split('\n').filter(Boolean)) {
      const colon = line.indexOf(':')
      const field = line.slice(0, colon).toLowerCase()
      if (field !== 'subject') throw new TemplateError(`${file}: unknown header "${line.slice(0, colon)}" (only Subject is allowed)`)
      subject = line.slice(colon + 1).trim()
    }
    body = text.slice(head[0].length)
  }
  const allowed: readonly string[] = allPlaceholders[name]
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
