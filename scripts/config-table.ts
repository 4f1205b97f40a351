// Prints the README's configuration table from the config schema (src/config.ts).
// test/readme.test.ts fails when the README and the schema disagree.
import { settings } from '../src/config.js'

export function configTable (): string {
  const rows = settings.map((s) => {
    const def = 'default' in s && s.default !== undefined ? `\`${s.default}\`` : '—'
    return `| \`${s.env}\` | ${def} | ${s.doc.replace(/\|/g, '\\|')} |`
  })
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

/** Replaces the table between the README's markers. */
export function withTable (readme: string): string {
  return readme.replace(/(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/, `$1${configTable()}\n$2`)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--write') {
    const { readFileSync, writeFileSync } = await import('node:fs')
    writeFileSync('README.md', withTable(readFileSync('README.md', 'utf8')))
  } else {
    process.stdout.write(configTable() + '\n')
  }
}
