import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** Every module of the operator but main.ts (which starts the operator when imported). */
function operatorModules(): string[] {
  const src = path.join(ROOT, 'src');
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'main.ts')
    .map((f) => pathToFileURL(path.join(src, f)).href);
}

/** The internal modules Node.js has loaded once a fresh process has imported every module of the operator. */
function internalModulesLoaded(): string[] {
  const script = `for (const m of ${JSON.stringify(operatorModules())}) await import(m);\nprocess.stdout.write(JSON.stringify(process.moduleLoadList));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

describe("the operator's module graph", () => {
  // An ES module import of node:http reads its WebSocket, CloseEvent and MessageEvent exports, which
  // load undici: about 14 MiB of resident memory for code the operator never runs.
  it("leaves Node.js's bundled undici unloaded", () => {
    const loaded = internalModulesLoaded();
    expect(loaded).toContain('NativeModule http');
    expect(loaded.filter((m) => m.includes('undici'))).toEqual([]);
  }, 60_000);
});
