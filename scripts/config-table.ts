// Prints the configuration table of docs/configuration.md from the config schema
// (src/config.ts); `--write` rewrites it in place between the page's markers.
// test/readme.test.ts fails when the page and the schema disagree.
import { settings } from '../src/config.js'

/** The page that carries the table (relative to the repository root). */
export const CONFIG_PAGE = 'docs/configuration.md'

export function configTable (): string {
  const rows = settings.map((s) => {
    const def = 'default' in s && s.default !== undefined ? `\`${s.default}\`` : '—'
    return `| \`${s.env}\` | ${def} | ${s.doc.replace(/\|/g, '\\|')} |`
  })
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

/** Replaces the table between the page's markers. */
export function withTable (page: string): string {
  return page.replace(/(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/, `$1${configTable()}\n$2`)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--write') {
    const { readFileSync, writeFileSync } = await import('node:fs')
    writeFileSync(CONFIG_PAGE, withTable(readFileSync(CONFIG_PAGE, 'utf8')))
  } else {
    process.stdout.write(configTable() + '\n')
  }
}
