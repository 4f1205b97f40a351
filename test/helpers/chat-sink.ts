// A local HTTP endpoint standing in for a Slack/Discord incoming webhook: keeps every
// JSON body it receives.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ChatSink {
  url: string
  posts: Array<{ text?: string, content?: string, [key: string]: unknown }>
  raw: string[]
  close: () => Promise<void>
}

export async function startChatSink (): Promise<ChatSink> {
  const posts: ChatSink['posts'] = []
  const raw: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      raw.push(body)
      try { posts.push(JSON.parse(body)) } catch { posts.push({}) }
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/team`,
    posts,
    raw,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
