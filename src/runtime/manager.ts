import type { Logger } from '../observability/logger.js';
import type { Controller } from './controller.js';
import { startHttpServers, type HttpServers } from './http.js';
import type { Informer } from './informer.js';
import { errorText, type KubeClient } from './kube.js';
import { LeaderElector } from './leaderelection.js';

export interface LeaderElectionConfig {
  enabled: boolean;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ManagerOptions {
  client: Pick<KubeClient, 'getOrUndefined' | 'post' | 'put'>;
  logger: Logger;
  leaderElection: LeaderElectionConfig;
  metricsAddr: string;
  probeAddr: string;
  /** Bound on stop(): draining reconciles, flushing Events, releasing the lease, closing the servers. */
  shutdownTimeoutMs?: number;
  /**
   * The event recorder (anything with flush()): stop() waits for the Events that the last
   * reconciles recorded to be written, within the shutdown bound, instead of losing them on exit.
   */
  events?: { flush(): Promise<void> };
  /**
   * Ends the process; called with status 1 at once when leadership is lost, after the controllers
   * stopped taking work, as controller-runtime does: the process restarts clean and campaigns again.
   * Default: process.exit.
   */
  exit?: (code: number) => void;
}

/**
 * Runs informers, controllers, leader election and the HTTP endpoints as one unit, in
 * controller-runtime's order: serve probes, fill the caches, then reconcile only while leading.
 */
export class Manager {
  private readonly opts: ManagerOptions;
  // Informers and controllers of any kind live side by side.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly informers: Informer<any>[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly controllers: Controller<any>[] = [];
  private http?: HttpServers;
  private elector?: LeaderElector;
  private electorRun?: Promise<void>;
  private controllersStarted = false;
  private leading = false;
  private stopping = false;
  private stopPromise?: Promise<void>;
  /** Runtime timers are unref'd; this keeps the process up from start() until stop(). */
  private keepAlive?: NodeJS.Timeout;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addInformer(i: Informer<any>): void {
    this.informers.push(i);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addController(c: Controller<any>): void {
    this.controllers.push(c);
  }

  /** Ports the HTTP servers listen on (useful when the address asked for port 0). */
  ports(): { metricsPort?: number; probePort?: number } {
    return { metricsPort: this.http?.metricsPort, probePort: this.http?.probePort };
  }

  /** Keys queued or in process over every controller: 0 when none runs (not started, not leading). */
  pendingWork(): number {
    let pending = 0;
    for (const c of this.controllers) pending += (c.queue?.len() ?? 0) + (c.queue?.inFlight() ?? 0);
    return pending;
  }

  /** True while this replica's controllers run (always, once started, without leader election). */
  isLeader(): boolean {
    return this.leading && !this.stopping;
  }

  /** Ready when every informer has listed once and is watching (or was, within its bound). */
  ready(): { ok: boolean; detail: string } {
    if (this.stopping) return { ok: false, detail: 'shutting down' };
    const notSynced = this.informers.filter((i) => !i.synced()).map((i) => i.name);
    const unhealthy = this.informers.filter((i) => i.synced() && !i.healthy()).map((i) => i.name);
    const problems: string[] = [];
    if (notSynced.length) problems.push(`informers not synced: ${notSynced.join(', ')}`);
    if (unhealthy.length) problems.push(`informers not watching: ${unhealthy.join(', ')}`);
    return problems.length ? { ok: false, detail: problems.join('; ') } : { ok: true, detail: 'ok' };
  }

  /**
   * Starts the HTTP servers, starts the informers and waits until their caches are filled, then
   * starts the controllers (at once, or when this replica becomes leader). Resolves once that is
   * set in motion; a replica that does not lead keeps campaigning in the background.
   */
  async start(): Promise<void> {
    const log = this.opts.logger;
    this.keepAlive ??= setInterval(() => undefined, 1 << 30);
    try {
      this.http = await startHttpServers({
        metricsAddr: this.opts.metricsAddr,
        probeAddr: this.opts.probeAddr,
        ready: () => this.ready(),
        logger: log,
      });
    } catch (err) {
      clearInterval(this.keepAlive);
      throw err;
    }
    try {
      await Promise.all(this.informers.map((i) => i.start()));
    } catch (err) {
      if (this.stopping) return;
      throw err;
    }
    if (this.stopping) return;
    log.info({ informers: this.informers.map((i) => i.name) }, 'caches synced');
    const le = this.opts.leaderElection;
    if (!le.enabled) {
      this.startControllers();
      return;
    }
    this.elector = new LeaderElector({
      client: this.opts.client,
      namespace: le.namespace,
      name: le.name,
      identity: le.identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      logger: log,
      onStartedLeading: () => {
        if (!this.stopping) this.startControllers();
      },
      onStoppedLeading: () => this.leadershipLost(),
    });
    this.electorRun = this.elector.run().catch((err: unknown) => {
      log.error({ err: errorText(err) }, 'leader election failed');
    });
  }

  /**
   * Graceful shutdown: stop dequeuing, let in-flight reconciles finish (within the bound), stop the
   * informers, hand the lease back, close the HTTP servers. Idempotent.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    const log = this.opts.logger;
    const total = this.opts.shutdownTimeoutMs ?? 30_000;
    // Keep part of the budget for releasing the lease and closing the servers.
    const drainMs = Math.max(0, total - Math.min(5_000, total * 0.2));
    const started = Date.now();
    log.info({ drainMs }, 'shutting down');
    await Promise.all(this.controllers.map((c) => c.stop(drainMs)));
    // The Events of the reconciles just finished (what `kubectl describe` shows) are written before
    // exit, within what is left of the drain budget.
    if (this.opts.events) {
      const flushMs = Math.max(1_000, drainMs - (Date.now() - started));
      let timer: NodeJS.Timeout | undefined;
      const flushed = await Promise.race([
        this.opts.events.flush().then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), flushMs);
        }),
      ]);
      clearTimeout(timer);
      if (!flushed) log.warn({ flushMs }, 'events not all written before shutdown');
    }
    for (const i of this.informers) i.stop();
    // Released only now: another replica may reconcile as soon as the lease is free.
    await this.elector?.release();
    await this.electorRun;
    await this.http?.close();
    clearInterval(this.keepAlive);
    log.info('stopped');
  }

  private startControllers(): void {
    if (this.controllersStarted) return;
    this.controllersStarted = true;
    this.leading = true;
    for (const c of this.controllers) c.start();
  }

  /**
   * Another replica may already hold the lease: nothing of this one may act any more. Controllers
   * stop taking work, and the process exits at once (as controller-runtime does), without draining
   * in-flight reconciles or flushing Events: exiting ends every in-flight AWS call with it, so no
   * write of this replica can land after the successor starts. The restarted process campaigns again.
   */
  private leadershipLost(): void {
    this.leading = false;
    this.opts.logger.error('leadership lost; exiting');
    for (const c of this.controllers) void c.stop(0);
    (this.opts.exit ?? ((code: number) => process.exit(code)))(1);
  }
}
