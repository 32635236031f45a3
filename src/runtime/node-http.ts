import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';

/**
 * node:http, loaded as CommonJS. An ES module import of node:http reads every one of its exports,
 * and three of them (WebSocket, CloseEvent, MessageEvent) load Node.js's bundled undici, which the
 * operator never uses: about 14 MiB of resident memory, 2.4 MiB of it V8 heap. require() reads none
 * of them. Every runtime use of node:http goes through here; types come from `import type`.
 */
export const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;
