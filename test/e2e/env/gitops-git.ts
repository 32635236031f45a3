import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/**
 * Git repositories served over HTTP on loopback, as a Git host serves them: git's own
 * `http-backend` (smart HTTP, clone and fetch) behind a small Node server that speaks CGI to it.
 * A work tree per repository commits and pushes into the served bare repository, the way a user's
 * commit reaches the host.
 */

export interface GitServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The clone URL of a repository under the server's root. */
  repoUrl(name: string): string;
  /** Requests served, by the path after the repository (info/refs, git-upload-pack, ...). */
  requests(): number;
  stop(): Promise<void>;
}

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'infra-operator e2e',
      GIT_AUTHOR_EMAIL: 'e2e@infra-operator.invalid',
      GIT_COMMITTER_NAME: 'infra-operator e2e',
      GIT_COMMITTER_EMAIL: 'e2e@infra-operator.invalid',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: cwd,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

function httpBackend(): string {
  const exec = execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim();
  return path.join(exec, 'git-http-backend');
}

/** Serves every bare repository under `root` (read-only: upload-pack only). */
export async function startGitServer(root: string): Promise<GitServer> {
  mkdirSync(root, { recursive: true });
  const backend = httpBackend();
  let served = 0;
  const server = http.createServer((req, res) => {
    served += 1;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: '',
      SERVER_PROTOCOL: 'HTTP/1.1',
      GATEWAY_INTERFACE: 'CGI/1.1',
    };
    // Every request header reaches the backend as HTTP_*, as a web server's CGI does
    // (Content-Encoding: gzip bodies and Git-Protocol: version=2 among them).
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(value) ? value.join(', ') : value;
    }
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let head = Buffer.alloc(0);
    let headersDone = false;
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      let end = head.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) {
        end = head.indexOf('\n\n');
        sep = 2;
      }
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + sep));
    });
    child.on('close', (code) => {
      if (!headersDone) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`git http-backend exited ${code}: ${stderr}`);
        return;
      }
      res.end();
    });
    child.stdin.on('error', () => undefined);
    req.pipe(child.stdin);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('git server: no address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    repoUrl: (name) => `${url}/${name}.git`,
    requests: () => served,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A repository on the server with a work tree beside it: write and remove files, commit, and the
 * commit is pushed to the served bare repository on branch main.
 */
export class GitRepository {
  readonly bare: string;
  readonly work: string;

  constructor(readonly root: string, readonly name: string, scratch: string) {
    this.bare = path.join(root, `${name}.git`);
    this.work = path.join(scratch, `${name}-work`);
    rmSync(this.work, { recursive: true, force: true });
    mkdirSync(this.work, { recursive: true });
    git(['init', '--bare', '--initial-branch=main', this.bare], root);
    git(['init', '--initial-branch=main', this.work], this.work);
    git(['remote', 'add', 'origin', this.bare], this.work);
  }

  write(file: string, content: string): this {
    const full = path.join(this.work, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
    return this;
  }

  /** Copies a folder of this project into the work tree (the chart, for helm's path source). */
  copy(from: string, to: string): this {
    cpSync(from, path.join(this.work, to), { recursive: true });
    return this;
  }

  remove(file: string): this {
    rmSync(path.join(this.work, file), { recursive: true, force: true });
    return this;
  }

  /** Commits everything in the work tree, pushes it, and returns the commit's hash. */
  commit(message: string): string {
    git(['add', '-A'], this.work);
    git(['commit', '--quiet', '--allow-empty', '-m', message], this.work);
    git(['push', '--quiet', 'origin', 'main'], this.work);
    return git(['rev-parse', 'HEAD'], this.work);
  }

  head(): string {
    return git(['rev-parse', 'HEAD'], this.work);
  }
}
