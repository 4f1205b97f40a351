// The import rules of src/, checked by `npm run lint` (and so by `npm test`).
//
// The rooms, bottom to top: domain/ (the report's words: types, error codes, bounds,
// small pure helpers) <- config.ts, log.ts, queue/, store/ (Redis state both roles share)
// <- the capability rooms (seal/, pgp/, mail/, triage/, keys/, inbound/, ops/, notify/,
// advisory/, quarantine/) <- report/ and timeline/ (the worker's orchestration) <- roles/
// (one composition root per role) <- main.ts and cli/. An import may point down or
// sideways, never up, and never in a circle.
const WEB_ROLE = [
  '^src/roles/web(-app)?\\.ts$',
  '^src/inbound/',
  '^src/keys/routes\\.ts$',
  '^src/ops/'
]
// What the web role must never reach, however indirectly: the worker's rooms and the
// code that loads, holds or uses a secret key (team keyring, decryption, seal private
// key, the development secrets, the security.txt signer).
const WORKER_ONLY = [
  '^src/(advisory|report|timeline|notify)/',
  '^src/roles/worker\\.ts$',
  '^src/pgp/(team-key|keyring|decrypt|rsa-session-key)\\.ts$',
  '^src/seal/keys\\.ts$',
  '^src/dev/secrets\\.ts$',
  '^src/keys/(publisher|key-request)\\.ts$'
]

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle, however long: a cycle makes two modules one, and the load order fragile.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true }
    },
    {
      name: 'domain-is-the-bottom',
      comment: 'domain/ holds the words every room shares; it imports no other room of src/.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' }
    },
    {
      name: 'web-role-never-reaches-the-worker',
      comment: 'The web role (routes, intake, ops, roles/web.ts), followed through every import, never reaches secret-key code, advisory/, report/, timeline/ or notify/. The GitHub webhook is an inbound route that only enqueues.',
      severity: 'error',
      from: { path: WEB_ROLE },
      to: { path: WORKER_ONLY, reachable: true }
    },
    {
      name: 'triage-is-pure',
      comment: 'triage/ is rules over text: it imports only domain/ (and itself), no I/O, no rendering.',
      severity: 'error',
      from: { path: '^src/triage/' },
      to: { path: '^src/', pathNot: '^src/(triage|domain)/' }
    },
    {
      name: 'pgp-and-mail-stay-below-orchestration',
      comment: 'pgp/ and mail/ open and write messages; queues, advisories and the report orchestration call them, not the other way round.',
      severity: 'error',
      from: { path: '^src/(pgp|mail)/' },
      to: { path: '^src/(queue|advisory|report|timeline)/' }
    },
    {
      name: 'config-imports-no-room',
      comment: 'config.ts is read by every room; it imports only domain/.',
      severity: 'error',
      from: { path: '^src/config\\.ts$' },
      to: { path: '^src/', pathNot: '^src/domain/' }
    },
    {
      name: 'store-is-shared-state-only',
      comment: 'store/ is the Redis state both roles read and write (progress, events, thread index, dedupe markers, locks): key names and small accessors, nothing else.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: '^src/(store|domain)/|^src/queue/jobs\\.ts$' }
    },
    {
      name: 'report-is-the-top-of-the-worker',
      comment: 'report/ orchestrates one report; only the worker role and the CLI call it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(report|roles|cli)/' },
      to: { path: '^src/report/' }
    },
    {
      name: 'timeline-is-called-from-above',
      comment: 'timeline/ runs the SLA jobs; only the worker role, report/ and the CLI start them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(timeline|report|roles|cli)/' },
      to: { path: '^src/timeline/' }
    },
    {
      name: 'only-main-starts-a-role',
      comment: 'roles/ are the composition roots; main.ts picks one. Nothing else imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(main\\.ts|roles/)' },
      to: { path: '^src/roles/' }
    },
    {
      name: 'entry-points-are-not-imported',
      comment: 'main.ts and cli/main.ts run on import; nothing imports them.',
      severity: 'error',
      from: {},
      to: { path: '^src/(main|cli/main)\\.ts$' }
    },
    {
      name: 'no-orphans',
      comment: 'A module nothing imports is dead code (entry points and thread files, loaded by URL, excepted).',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: '^src/(main|cli/main|ops/healthcheck|mail/open-thread)\\.ts$' },
      to: {}
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves (a typo in a path is caught here, not at run time).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type imported upward is a dependency all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'], exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'types', 'default'] }
  }
}
