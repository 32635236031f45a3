# syntax=docker/dockerfile:1
# The operator image: TypeScript compiled in a full Node.js image, run from distroless with
# production dependencies only, as a non-root user.
# hack/docker-build-steps.sh reads this file and runs its steps without Docker (CI has no engine),
# so it understands only the instructions used here; teach it any new one.

ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# Compile with the dev dependencies (typescript and the type packages).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first: the dependency layer stays cached while only the sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, resolved from the same lockfile. No package among them has an
# install script, so --ignore-scripts costs nothing and runs no third-party code at build time.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# No shell, no package manager: only Node.js and what the operator needs.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
# Two glibc malloc arenas instead of up to eight per core: the threads that allocate natively (V8's
# collector and compiler, libuv's pool) otherwise each keep an arena of their own, about 12 MiB after
# a burst of 1,000 creates that stays resident (docs/performance.md).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
# package.json travels along: its "type": "module" is what makes Node.js load dist/ as ES modules.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# 65532 is distroless' "nonroot"; the chart's securityContext runs as the same uid.
USER 65532:65532
EXPOSE 8080 8081
# A young generation of 2 MiB semi-spaces instead of V8's 16: the operator's allocations are small and
# short-lived, and a large young generation is memory held after every burst (about 30 MiB at rest).
# --expose-gc lets the operator run one last-resort collection once its controllers are idle after a
# burst (src/runtime/memory.ts): V8 otherwise keeps the heap the burst grew to, about 30 MiB more
# after 1,000 creates, for as long as the operator stays idle (docs/performance.md).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "--expose-gc", "dist/main.js"]
