// The documentation's links hold: every relative link and image in README.md,
// BENCHMARKS.md, keys/README.md and docs/*.md points to a file that exists, and an
// #anchor to a heading the target has (GitHub's slugs). http(s) links are only parsed,
// never fetched. Paths the pages name in code spans (src/..., templates/...) and the
// files of the README's Layout must exist too, and every room of src/ must be in that
// Layout, so a moved or new file cannot leave the docs pointing at its old place.
import t from 'tap'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'

const root = process.cwd()
const pages = ['README.md', 'BENCHMARKS.md', 'keys/README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)]

interface Link {
  target: string
  line: number
}

/** The text with fenced code blocks blanked out (line count kept, so line numbers hold). */
function withoutFences (text: string): string {
  let fence: { char: string, length: number } | undefined
  return text.split('\n').map((line) => {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line)
    if (fence === undefined) {
      if (open?.[1] !== undefined) {
        fence = { char: open[1][0] as string, length: open[1].length }
        return ''
      }
      return line
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line)
    if (close?.[1] !== undefined && close[1][0] === fence.char && close[1].length >= fence.length) fence = undefined
    return ''
  }).join('\n')
}

/** Code spans replaced by spaces of the same length: a link inside one is not a link. */
function withoutCodeSpans (text: string): string {
  return text.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (m) => m.replace(/[^\n]/g, ' '))
}

const lineAt = (text: string, index: number): number => text.slice(0, index).split('\n').length

/** Inline links and images, reference definitions and autolinks, outside code. */
function linksIn (markdown: string): Link[] {
  const text = withoutCodeSpans(withoutFences(markdown))
  const links: Link[] = []
  const inline = /!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g
  for (const m of text.matchAll(inline)) links.push({ target: (m[1] as string).replace(/^<|>$/g, ''), line: lineAt(text, m.index) })
  for (const m of text.matchAll(/^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)/gm)) links.push({ target: (m[1] as string).replace(/^<|>$/g, ''), line: lineAt(text, m.index) })
  for (const m of text.matchAll(/<(https?:\/\/[^>\s]+)>/g)) links.push({ target: m[1] as string, line: lineAt(text, m.index) })
  return links
}

/** GitHub's heading slug: lower case, only letters, digits, spaces, hyphens and underscores, spaces to hyphens. */
function slug (heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text only
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '')
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}_ -]/gu, '').replace(/ /g, '-')
}

/** Every anchor a page offers: heading slugs (duplicates get -1, -2, ...) and HTML ids. */
function anchorsOf (markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  const text = withoutFences(markdown)
  for (const m of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const base = slug(m[1] as string)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  for (const m of text.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(m[1] as string)
  return anchors
}

/** What is wrong with one link of `page`, or undefined when it holds. */
function problemWith (page: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    if (!/^https?:/i.test(target)) return undefined // mailto: and the like
    try {
      const url = new URL(target)
      return url.hostname === '' ? 'no host' : undefined
    } catch {
      return 'not a URL'
    }
  }
  if (target.startsWith('//')) return 'protocol-relative URL'
  const hash = target.indexOf('#')
  const pathPart = hash === -1 ? target : target.slice(0, hash)
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1))
  const file = pathPart === '' ? page : normalize(join(dirname(page), decodeURIComponent(pathPart.replace(/\?.*$/, ''))))
  if (relative(root, join(root, file)).startsWith('..')) return 'points outside the repository'
  if (!existsSync(file)) return `no such file ${file}`
  if (anchor === undefined) return undefined
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `#${anchor} on ${file}, which is not a Markdown page`
  return anchorsOf(readFileSync(file, 'utf8')).has(anchor) ? undefined : `${file} has no heading #${anchor}`
}

/** Repository paths named in code spans outside fences (src/..., templates/..., ...). */
function namedPaths (markdown: string): Array<{ path: string, line: number }> {
  const text = withoutFences(markdown)
  const paths: Array<{ path: string, line: number }> = []
  for (const m of text.matchAll(/`((?:src|templates|test|scripts|bench|docs)\/[^`\s]*)`/g)) {
    const path = m[1] as string
    if (/[<>*{}…]|\.\.\./.test(path)) continue // a pattern, not a path
    paths.push({ path, line: lineAt(text, m.index) })
  }
  return paths
}

for (const page of pages) {
  t.test(`${page}: relative links resolve, anchors exist, URLs parse`, async (t) => {
    const markdown = readFileSync(page, 'utf8')
    const links = linksIn(markdown)
    const broken = links.flatMap(({ target, line }) => {
      const problem = problemWith(page, target)
      return problem === undefined ? [] : [`${page}:${line} (${target}): ${problem}`]
    })
    t.same(broken, [], `no broken link (${links.length} checked)`)
    const named = namedPaths(markdown)
    const missing = named.filter(({ path }) => !existsSync(path)).map(({ path, line }) => `${page}:${line}: ${path}`)
    t.same(missing, [], `every src/, templates/, test/ ... path it names exists (${named.length} checked)`)
  })
}

t.test('README.md is the front door: under 250 lines, and it links every docs page', async (t) => {
  const readme = readFileSync('README.md', 'utf8')
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0)
  t.ok(lines < 250, `README.md has ${lines} lines`)
  const linked = new Set(linksIn(readme).map(({ target }) => normalize(target.replace(/#.*$/, ''))))
  for (const page of pages.filter((p) => p.startsWith('docs/'))) t.ok(linked.has(page), `README.md links ${page}`)
})

/**
 * The files the README's Layout block names, resolved: a line "  inbound/  ..." opens a
 * room of src/, "  main.ts ..." the top of src/, an unindented "templates/ ..." a folder
 * of the repository; deeper-indented lines continue the room above.
 */
function layoutEntries (readme: string): { rooms: Set<string>, files: Array<{ path: string, line: string }> } {
  const block = /## Layout\n[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
  const rooms = new Set<string>()
  const files: Array<{ path: string, line: string }> = []
  let base = ''
  for (const line of block.split('\n')) {
    const top = /^(\S+)/.exec(line)?.[1]
    const room = /^ {2}(\S+)/.exec(line)?.[1]
    if (top !== undefined) base = top.endsWith('/') ? top : ''
    else if (room !== undefined && base.startsWith('src/')) {
      base = room.endsWith('/') ? `src/${room}` : room.includes('/') ? `src/${dirname(room)}/` : 'src/'
      rooms.add(room.includes('/') ? `${room.split('/')[0] as string}/` : room)
    }
    if (top === 'src/') base = 'src/'
    const names = base === 'templates/' ? /(?:^|[\s(])([\w-]+\.txt)\b/g : /(?:^|[\s(])((?:[\w-]+\/)?[\w.-]+\.ts)\b/g
    for (const m of line.matchAll(names)) {
      const name = m[1] as string
      files.push({ path: name.includes('/') ? `src/${name}` : `${base}${name}`, line: line.trim() })
    }
  }
  return { rooms, files }
}

t.test('README.md Layout: every file it names exists, every room of src/ is in it', async (t) => {
  const { rooms, files } = layoutEntries(readFileSync('README.md', 'utf8'))
  t.ok(files.length > 40, `the Layout names files (${files.length})`)
  t.same(files.filter(({ path }) => !existsSync(path)).map(({ path, line }) => `${path} (${line})`), [], 'no file named in the Layout is missing')
  const named = new Set(files.map(({ path }) => path))
  const missing = readdirSync('src', { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return rooms.has(`${e.name}/`) ? [] : [`src/${e.name}/`]
    return !e.name.endsWith('.ts') || named.has(`src/${e.name}`) ? [] : [`src/${e.name}`]
  })
  t.same(missing, [], '`ls src`: every folder and top-level file is in the Layout')
})

// The proof: from `ls src` and the Layout, a newcomer names the file for each of
// these, and the file named is the one that does it (a word of its code is checked).
const wayfinding = [
  { what: 'the Mailgun signature', file: 'src/inbound/mailgun.ts', code: /createHmac/ },
  { what: 'the HPKE seal', file: 'src/seal/hpke.ts', code: /export function seal \(/ },
  { what: 'the PKESK-based key choice', file: 'src/pgp/keyring.ts', code: /export function findDecryptionKeys/ },
  { what: 'the CVSS scoring', file: 'src/triage/cvss.ts', code: /export function scoreVector/ },
  { what: 'the acknowledgement text', file: 'templates/acknowledgement.txt', code: /\S/ },
  { what: 'the SLA reminders', file: 'src/timeline/timeline.ts', code: /reminderNotice/ },
  { what: 'the security.txt signature', file: 'src/keys/security-txt.ts', code: /createCleartextMessage/ }
]

t.test('README.md Layout: a newcomer finds the file for each of the issue\'s seven', async (t) => {
  const { files } = layoutEntries(readFileSync('README.md', 'utf8'))
  for (const { what, file, code } of wayfinding) {
    const entry = files.find(({ path }) => path === file)
    t.ok(entry, `${what}: the Layout names ${file}`)
    t.match(readFileSync(file, 'utf8'), code, `${what}: ${file} holds it`)
  }
})

t.test('every docs page says what it is and links back to README.md', async (t) => {
  for (const page of pages.filter((p) => p.startsWith('docs/'))) {
    const [title, blank, first] = readFileSync(page, 'utf8').split('\n')
    t.match(title, /^# \S/, `${page} starts with its title`)
    t.equal(blank, '', `${page}: a blank line after the title`)
    t.match(first, /\]\(\.\.\/README\.md\)/, `${page}: its first line links back to README.md`)
  }
})

t.test('the checker itself', async (t) => {
  t.equal(slug('SECURITY.md, step by step'), 'securitymd-step-by-step')
  t.equal(slug('Step → feature → command → file'), 'step--feature--command--file')
  t.equal(slug('Proving it: faults, fuzzing, benchmarks'), 'proving-it-faults-fuzzing-benchmarks')
  t.equal(slug('The `fly_secrets` [set](x.md) block'), 'the-fly_secrets-set-block')
  t.same([...anchorsOf('# A\n## A\n### A\n```\n# B\n```\n')], ['a', 'a-1', 'a-2'], 'duplicates numbered, fenced lines skipped')
  t.same(linksIn('[a](b.md) `[c](d.md)`\n```\n[e](f.md)\n```\n![g](h.png "t") [i]: j.md\n[k]: l.md\n').map((l) => l.target), ['b.md', 'h.png', 'l.md'], 'links in code are not links')
  t.equal(problemWith('README.md', 'docs/configuration.md'), undefined)
  t.match(problemWith('README.md', 'docs/no-such-page.md'), /no such file/)
  t.match(problemWith('README.md', 'docs/configuration.md#no-such-heading'), /no heading/)
  t.match(problemWith('docs/operations.md', '#no-such-heading'), /no heading/)
  t.equal(problemWith('docs/operations.md', '#roles'), undefined)
  t.match(problemWith('README.md', 'https://exa mple.org/'), /not a URL/)
  t.equal(problemWith('README.md', 'mailto:security@example.org'), undefined)
  t.match(problemWith('README.md', '../outside.md'), /outside the repository/)
})
