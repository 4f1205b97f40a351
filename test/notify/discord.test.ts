// The Discord poster behind the release announcement: Discord's JSON body, its limit, and
// the one thing an at-most-once caller needs to know: "certainly not posted" (a refusal,
// no connection) versus "maybe posted" (the connection broke after the request went out,
// a gateway timeout). Never throws, so the webhook URL (a credential) is in no error.
import t from 'tap'
import { discordPoster, postWebhook } from '../../src/notify/chat.js'
import { startChatSink } from '../helpers/chat-sink.js'
import { freePort } from '../helpers/redis-server.js'

t.test('posts {content, allowed_mentions: {parse: []}}, cut to 2000 characters', async (t) => {
  const sink = await startChatSink()
  t.teardown(sink.close)
  const poster = discordPoster(sink.url)
  t.same(await poster.post('hello @everyone'), { posted: true })
  t.same(sink.posts[0], { content: 'hello @everyone', allowed_mentions: { parse: [] } })
  t.same(await poster.post('😀'.repeat(1500)), { posted: true })
  const long = sink.posts[1]!.content as string
  t.ok(long.length <= 2000, `${long.length} UTF-16 units`)
  t.match(long, /😀…$/, 'no surrogate pair split')
})

t.test('refused (HTTP error answer, no connection) or unknown (hung up after sending, gateway timeout)', async (t) => {
  const sink = await startChatSink()
  t.teardown(sink.close)
  sink.failNext(429)
  t.same(await postWebhook(sink.url, { content: 'x' }), { posted: false, delivered: 'no', status: 429 })
  sink.failNext(504)
  t.same(await postWebhook(sink.url, { content: 'x' }), { posted: false, delivered: 'unknown', status: 504 })
  sink.failNext('hang-up')
  t.same(await postWebhook(sink.url, { content: 'x' }), { posted: false, delivered: 'unknown' })
  t.same(await postWebhook(`http://127.0.0.1:${await freePort()}/hook`, { content: 'x' }), { posted: false, delivered: 'no' }, 'connection refused: nothing sent')
  const thrown = await postWebhook('https://hooks.example/secret-token', {}, { fetch: async () => { throw new Error('https://hooks.example/secret-token failed') } })
  t.same(thrown, { posted: false, delivered: 'unknown' }, 'an unexplained error is an unknown outcome, and carries no URL')
})
