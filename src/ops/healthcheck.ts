// The container's HEALTHCHECK: `node dist/ops/healthcheck.js`. Asks this machine's own
// /healthz, on METRICS_PORT when set (the only listener a worker-only process has),
// else on PORT. Exit 0 healthy, 1 not (Docker's convention).
const port = process.env.METRICS_PORT ?? process.env.PORT ?? '8080'
const timeout = AbortSignal.timeout(4000)
fetch(`http://127.0.0.1:${port}/healthz`, { signal: timeout }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1)
)
