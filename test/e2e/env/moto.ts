import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startAwsProxy } from './aws-proxy.js';
import { freePort, startProcess, waitFor } from './processes.js';

/** moto on a free loopback port, with the paging and call-counting layer in front of it. */
export interface Moto {
  /** The endpoint to use: the layer in front of moto. */
  endpoint: string;
  /** moto itself. */
  motoEndpoint: string;
  processGroups(): number[];
  stop(): Promise<void>;
}

function motoCommand(): string {
  try {
    execFileSync('sh', ['-c', 'command -v moto_server'], { stdio: 'ignore' });
    return 'moto_server';
  } catch {
    throw new Error('moto_server is not installed: run `pip install "moto[server]"` (.ci/run does this itself)');
  }
}

export async function startMoto(dir: string): Promise<Moto> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const motoEndpoint = `http://127.0.0.1:${port}`;
  const log = path.join(dir, 'moto.log');
  const moto = startProcess('moto', motoCommand(), ['-H', '127.0.0.1', '-p', String(port)], log);
  try {
    await waitFor('moto', async () => (await fetch(`${motoEndpoint}/moto-api/data.json`)).ok, 60_000, () =>
      moto.exited() ? `exited:\n${readFileSync(log, 'utf8').slice(-3000)}` : undefined);
  } catch (err) {
    await moto.stop();
    throw err;
  }
  const proxy = await startAwsProxy(motoEndpoint);
  return {
    endpoint: proxy.url,
    motoEndpoint,
    processGroups: () => [moto.pid],
    async stop() {
      await proxy.close();
      await moto.stop();
    },
  };
}
