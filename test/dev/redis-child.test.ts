import t from 'tap'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hasRedisServer, redisAnswers, startRedisChild } from '../../src/dev/redis-child.js'

t.test('development Redis child: starts with append-only data under DATA_DIR, stops with us', { skip: hasRedisServer() ? false : 'redis-server not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'intake-redis-child-'))
  const port = 20000 + Math.floor(Math.random() * 20000)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  t.notOk(await redisAnswers('127.0.0.1', port), 'nothing there before')
  const child = await startRedisChild(dir, port)
  t.ok(await redisAnswers('127.0.0.1', port), 'answers PING')
  t.ok(existsSync(join(dir, 'redis')), 'data directory created')
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
  t.notOk(await redisAnswers('127.0.0.1', port), 'gone after stop')
})
