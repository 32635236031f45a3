import type { Lister } from '../../reconcilers/dependencies.js';
import type { Logger } from '../../observability/logger.js';
import type { SecondaryWatch } from '../../runtime/controller.js';
import type { InformerEvent } from '../../runtime/informer.js';
import { resourcePath } from '../../runtime/kube.js';
import type { KubeObject, ObjectKey } from '../../runtime/types.js';
import type { ECRPullThroughCacheRule } from './types.js';

/**
 * The Kubernetes Secrets behind spec.credentialsSecretRef, looked at every poll period: the operator
 * may get Secrets, never list or watch them (config/rbac/role.yaml), so a change is found by reading
 * each Secret that a rule names, as the AWSProvider does with its own Secrets. A Secret whose
 * resourceVersion changed (or that appeared or went away) is reported as a MODIFIED event that
 * carries only its namespace, name and resourceVersion, never its data; the rules that name it are
 * then reconciled, and the reconcile reads the Secret itself. It polls only while a controller
 * listens, that is while this replica leads.
 */
export class CredentialsSecretPoll {
  private readonly handlers = new Set<(e: InformerEvent<KubeObject>) => void>();
  /** The last resourceVersion seen of each Secret a rule names (`absent` when there was none). */
  private readonly seen = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private polling = false;

  constructor(
    private readonly opts: {
      kube: { getOrUndefined<R>(path: string): Promise<R | undefined> };
      rules: Lister<ECRPullThroughCacheRule>;
      periodMs: number;
      logger: Logger;
    },
  ) {}

  onEvent(handler: (e: InformerEvent<KubeObject>) => void): () => void {
    this.handlers.add(handler);
    if (this.timer === undefined) this.schedule();
    return () => {
      this.handlers.delete(handler);
      if (this.handlers.size === 0) this.stop();
    };
  }

  /** No Secret is cached: the controller's full pass at start comes from the rules themselves. */
  list(): KubeObject[] {
    return [];
  }

  /** One pass over the Secrets the rules name; exposed for tests. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const named = new Map<string, { namespace: string; name: string }>();
      for (const rule of this.opts.rules.list()) {
        const ref = rule.spec.credentialsSecretRef;
        if (!ref || rule.metadata.deletionTimestamp) continue;
        const namespace = rule.spec.providerRef.namespace;
        named.set(`${namespace}/${ref.name}`, { namespace, name: ref.name });
      }
      for (const key of [...this.seen.keys()]) if (!named.has(key)) this.seen.delete(key);
      for (const [key, { namespace, name }] of named) {
        let version: string;
        try {
          const secret = await this.opts.kube.getOrUndefined<KubeObject>(resourcePath({ group: '', version: 'v1', plural: 'secrets' }, namespace, name));
          version = secret ? secret.metadata?.resourceVersion ?? '' : 'absent';
        } catch (err) {
          this.opts.logger.warn({ err, namespace, name }, 'reading a Secret named by spec.credentialsSecretRef failed; trying again on the next poll');
          continue;
        }
        const before = this.seen.get(key);
        this.seen.set(key, version);
        if (before === undefined || before === version) continue;
        const object: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name, resourceVersion: version } };
        for (const handler of this.handlers) handler({ type: 'MODIFIED', object });
      }
    } finally {
      this.polling = false;
    }
  }

  private schedule(): void {
    const timer = setTimeout(() => {
      void this.poll().finally(() => {
        if (this.timer === timer) this.timer = undefined;
        if (this.handlers.size > 0 && this.timer === undefined) this.schedule();
      });
    }, this.opts.periodMs);
    timer.unref();
    this.timer = timer;
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The rules that name a Secret, as keys of the rule controller. */
export function rulesNaming(rules: Lister<ECRPullThroughCacheRule>, secret: KubeObject): ObjectKey[] {
  const namespace = secret.metadata?.namespace;
  const name = secret.metadata?.name;
  return rules.list()
    .filter((r) => r.spec.credentialsSecretRef?.name === name && r.spec.providerRef.namespace === namespace)
    .map((r) => ({ namespace: '', name: r.metadata.name }));
}

/** The secondary watch that brings a rule back when the Secret behind its credentials changes. */
export function credentialsSecretWatch(poll: CredentialsSecretPoll, rules: Lister<ECRPullThroughCacheRule>): SecondaryWatch {
  return { informer: poll, map: (secret) => rulesNaming(rules, secret) };
}
