// The house style is the Fastify ecosystem's: neostandard (standard, in flat config),
// with its TypeScript rules. test/ is not linted yet: its files are kept as they were
// when the structure moved (#16), and take the rules in a change of their own.
import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['.scratch/**', 'dist/**', 'node_modules/**', 'test/**', 'keys/**', 'docs/**'] })
]
