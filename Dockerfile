# syntax=docker/dockerfile:1
# Security intake gateway. One image, three roles (the command picks one):
#   node dist/main.js          web + worker in one process
#   node dist/main.js web      HTTP only (no private keys)
#   node dist/main.js worker   the queue worker
# (the worker's commands carry --max-semi-space-size=4: see docs/deployment.md)
# No secret and no development key is ever part of a layer: configuration comes from
# the environment at run time (see README "Deployment"); .dockerignore keeps keys/*
# secrets, .env, .data/ and outbox/ out of the build context altogether.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript to dist/ ---------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and the compiled output only ------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to node (graceful shutdown) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    METRICS_PORT=9091 \
    KEYS_DIR=/app/keys
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The built-in message templates (dist/mail/templates.js reads ../../templates).
COPY templates ./templates
# Public keys to publish only (.dockerignore drops *.secret.asc, *.sec.asc, dev-*).
COPY keys ./keys
# The operator CLI inside the container: `intake status`, `intake replay-failed`, ...
RUN printf '#!/bin/sh\nexec node /app/dist/cli/main.js "$@"\n' > /usr/local/bin/intake \
 && chmod 0755 /usr/local/bin/intake
USER node
EXPOSE 8080 9091
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/ops/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]
