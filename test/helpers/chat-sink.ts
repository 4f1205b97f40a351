// A local HTTP endpoint standing in for a Slack/Discord incoming webhook: keeps every
// JSON body it receives. `failNext` makes the next requests fail: with an HTTP status
// (not posted), or by hanging up after reading the body (posted or not: unknown to the
// client; the body is kept, as if Discord had taken it).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ChatSink {
  url: string
  posts: Array<{ text?: string, content?: string, [key: string]: unknown }>
  raw: string[]
  failNext: (failure: number | 'hang-up', times?: number) => void
  close: () => Promise<void>
}

export async function startChatSink (): Promise<ChatSink> {
  const posts: ChatSink['posts'] = []
  const raw: string[] = []
  const failures: Array<number | 'hang-up'> = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const failure = failures.shift()
      if (typeof failure === 'number') {
        res.writeHead(failure, { 'content-type': 'application/json' }).end('{"message":"failed"}')
        return
      }
      raw.push(body)
      try { posts.push(JSON.parse(body)) } catch { posts.push({}) }
      if (failure === 'hang-up') req.socket.destroy()
      else res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/team`,
    posts,
    raw,
    failNext (failure, times = 1) {
      for (let i = 0; i < times; i++) failures.push(failure)
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
