// Small plain RFC 5322 messages for tests that do not need PGP.
export function plainMessage (opts: { messageId?: string, from?: string, subject?: string, body?: string, headers?: Record<string, string> } = {}): Buffer {
  const lines = [
    `From: ${opts.from ?? 'Reporter <reporter@example.org>'}`,
    'To: security@stacklok.com',
    `Subject: ${opts.subject ?? 'Vulnerability in toolhive'}`,
    'Date: Sat, 28 Nov 2026 10:00:00 +0000',
    ...(opts.messageId !== undefined ? [`Message-ID: <${opts.messageId}>`] : []),
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? 'There is a path traversal in the config loader.',
    ''
  ]
  return Buffer.from(lines.join('\r\n'))
}
