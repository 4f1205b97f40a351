import t from 'tap'
import { readFileSync } from 'node:fs'
import { withTable } from '../scripts/config-table.js'

t.test('README configuration table matches the config schema', async (t) => {
  const readme = readFileSync('README.md', 'utf8')
  t.equal(readme, withTable(readme), 'run `npx tsx scripts/config-table.ts --write`')
})

t.test('README names the two quick-start commands', async (t) => {
  const readme = readFileSync('README.md', 'utf8')
  t.match(readme, 'npm ci && npm start')
  t.match(readme, 'npm test')
})
