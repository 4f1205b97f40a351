// The ingest baseline: a bare Fastify route that stores the same body in the same Redis
// and answers 200, nothing else (no authentication, sealing, dedup or queue). Run as its
// own process, like the web role, and prints its URL.
import Fastify from 'fastify'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const app = Fastify({ logger: false, bodyLimit: 40 * 1024 * 1024 })
app.addContentTypeParser('message/rfc822', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
app.post('/inbound/raw', async (req) => {
  const id = randomUUID()
  await redis.set(`baseline:${id}`, req.body as Buffer)
  return { id }
})
const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`Server listening at ${url}\n`)
process.on('SIGTERM', () => { app.close().finally(() => { redis.disconnect(); process.exit(0) }) })
