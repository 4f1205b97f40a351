// The queue dashboard (bull-board) at /admin/queues. What it can show is what BullMQ
// stores: job data (intake id, receive time, source), return values (outcome, GHSA id)
// and failure reasons written without report content (see roles/worker.ts safeError). The
// report itself is sealed under a separate key the dashboard never reads.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Queue } from 'bullmq'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import type { AdminGuard } from './admin-auth.js'

const DASHBOARD_PATH = '/admin/queues'

async function readOnlyGuard (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined
  return await reply.code(405).header('allow', 'GET, HEAD').send({ error: 'the dashboard is read-only (DASHBOARD_READ_ONLY=true)' })
}

export async function dashboardRoutes (fastify: FastifyInstance, opts: { queues: Queue[], guard: AdminGuard, readOnly: boolean }): Promise<void> {
  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(DASHBOARD_PATH)
  createBullBoard({
    queues: opts.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: opts.readOnly, allowRetries: !opts.readOnly, description: 'job data: intake id and metadata only (each report stays sealed)' })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'security intake' } }
  })
  // Encapsulated: the guard covers every page, API call and static asset of the board.
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', opts.guard)
    // Read-only is enforced here as well as by bull-board's per-queue flag: its
    // board-wide calls (pause/resume all) answer 200 in read-only mode, and any write
    // route a later bull-board adds would otherwise be open until someone noticed.
    if (opts.readOnly) scope.addHook('onRequest', readOnlyGuard)
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH })
  })
}
