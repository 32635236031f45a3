import { describe, expect, it } from 'vitest';
import { KubeApiError, type ResourceRef } from '../../../src/runtime/kube.js';
import { ObjectWriter, deepEqual, mergePatch, normalize } from '../../../src/runtime/status.js';
import type { KubeObject } from '../../../src/runtime/types.js';
import { FakeClock } from './helpers.js';

const ref: ResourceRef = { group: 'example.com', version: 'v1', plural: 'things' };

class FakeApi {
  readonly patches: Array<{ path: string; body: Record<string, unknown>; type: string }> = [];
  readonly gets: string[] = [];
  object: KubeObject | undefined;
  conflicts = 0;
  async get<T>(path: string): Promise<T> {
    this.gets.push(path);
    if (!this.object) throw new KubeApiError(404, 'not found', 'NotFound');
    return structuredClone(this.object) as T;
  }
  async patch<T>(path: string, body: unknown, type: string): Promise<T> {
    this.patches.push({ path, body: body as Record<string, unknown>, type });
    if (!this.object) throw new KubeApiError(404, 'not found', 'NotFound');
    if (this.conflicts > 0) {
      this.conflicts--;
      this.object.metadata!.resourceVersion = String(Number(this.object.metadata!.resourceVersion) + 1);
      this.object.metadata!.finalizers = [...(this.object.metadata!.finalizers ?? []), 'someone-else'];
      throw new KubeApiError(409, 'conflict', 'Conflict');
    }
    const b = body as { metadata?: { finalizers?: string[]; resourceVersion?: string }; status?: object };
    if (b.metadata?.resourceVersion && b.metadata.resourceVersion !== this.object.metadata?.resourceVersion) {
      throw new KubeApiError(409, 'conflict', 'Conflict');
    }
    if (b.metadata?.finalizers) this.object.metadata!.finalizers = b.metadata.finalizers;
    if (b.status) this.object.status = { ...(this.object.status as object), ...b.status };
    this.object.metadata!.resourceVersion = String(Number(this.object.metadata!.resourceVersion) + 1);
    return structuredClone(this.object) as T;
  }
}

function thing(status?: unknown, finalizers?: string[]): KubeObject {
  return { metadata: { namespace: 'ns', name: 'a', resourceVersion: '10', finalizers }, ...(status === undefined ? {} : { status }) };
}

describe('status helpers', () => {
  it('compares JSON by value, ignoring key order and absent-vs-undefined/null fields', () => {
    expect(deepEqual(normalize({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }), normalize({ b: { c: [1, { e: 3, d: 2 }] }, a: 1, x: undefined }))).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqual(normalize({ a: null }), normalize({}))).toBe(true);
  });
  it('builds a merge patch that removes fields that went away', () => {
    expect(mergePatch({ a: 1, b: { c: 1, d: 2 }, gone: 'x' }, { a: 1, b: { c: 2, d: 2 }, n: [1] })).toEqual({ b: { c: 2 }, gone: null, n: [1] });
  });
});

describe('ObjectWriter', () => {
  it('writes nothing when the status is unchanged (key order does not count)', async () => {
    const api = new FakeApi();
    const w = new ObjectWriter(api);
    const obj = thing({ ready: true, conditions: [{ type: 'Ready', status: 'True', reason: 'Available' }], message: 'ok' });
    const result = await w.patchStatus(ref, obj, { message: 'ok', conditions: [{ reason: 'Available', status: 'True', type: 'Ready' }], ready: true, extra: undefined });
    expect(result).toBeUndefined();
    expect(api.patches).toHaveLength(0);
  });

  it('merge-patches the status subresource when the status changed', async () => {
    const api = new FakeApi();
    api.object = thing({ ready: false, message: 'creating', repositoryArn: 'arn:old' });
    const w = new ObjectWriter(api);
    const updated = await w.patchStatus(ref, api.object, { ready: true, message: 'creating' });
    expect(api.patches).toEqual([{ path: '/apis/example.com/v1/namespaces/ns/things/a/status', body: { metadata: { resourceVersion: '10' }, status: { ready: true, repositoryArn: null } }, type: 'merge' }]);
    expect(updated?.metadata?.resourceVersion).toBe('11');
  });

  it('on 409 re-reads the object and recomputes the status from what the server has', async () => {
    const api = new FakeApi();
    api.object = thing({ ready: false, count: 1 });
    const w = new ObjectWriter(api);
    const stale = thing({ ready: false });
    stale.metadata!.resourceVersion = '9';
    const written = await w.patchStatus(ref, stale, (current) => ({ ...(current.status as object), ready: true }));
    expect(api.patches.map((p) => p.body)).toEqual([
      { metadata: { resourceVersion: '9' }, status: { ready: true } },
      { metadata: { resourceVersion: '10' }, status: { ready: true } },
    ]);
    expect(api.gets).toHaveLength(1);
    expect(written?.status).toEqual({ ready: true, count: 1 });
  });

  it('writes a status that equals a stale cached copy when its own last write made the server differ', async () => {
    // The informer cache learns of writes only from the watch, possibly late: after a failure wrote
    // Ready=False and a quick retry succeeded, the cache still says Ready=True, but the server does not.
    const api = new FakeApi();
    api.object = thing({ ready: true, message: 'ok' });
    const w = new ObjectWriter(api);
    const cached = thing({ ready: true, message: 'ok' });
    await w.patchStatus(ref, cached, { ready: false, message: 'throttled' });
    expect(api.object.status).toMatchObject({ ready: false });
    await w.patchStatus(ref, cached, { ready: true, message: 'ok' });
    expect(api.object.status).toMatchObject({ ready: true, message: 'ok' });
    // Once the cache has caught up, it is the reference again: nothing more to write.
    const caughtUp = structuredClone(api.object);
    expect(await w.patchStatus(ref, caughtUp, { ready: true, message: 'ok' })).toBeUndefined();
    expect(api.patches).toHaveLength(2);
  });

  it('returns undefined when the object is gone', async () => {
    const api = new FakeApi();
    const w = new ObjectWriter(api);
    expect(await w.patchStatus(ref, thing({ ready: false }), { ready: true })).toBeUndefined();
  });

  it('adds a finalizer once, with the resourceVersion as a precondition, re-reading on 409', async () => {
    const api = new FakeApi();
    api.object = thing(undefined, ['other']);
    const w = new ObjectWriter(api);
    api.conflicts = 1;
    const result = await w.ensureFinalizer(ref, thing(undefined, ['other']), 'example.com/finalizer');
    expect(result.metadata?.finalizers).toEqual(['other', 'someone-else', 'example.com/finalizer']);
    expect(api.patches[0]!.body).toEqual({ metadata: { finalizers: ['other', 'example.com/finalizer'], resourceVersion: '10' } });
    expect(api.gets).toHaveLength(1);
    const again = await w.ensureFinalizer(ref, result, 'example.com/finalizer');
    expect(again).toBe(result);
    expect(api.patches).toHaveLength(2);
  });

  it('removes a finalizer and tolerates an object that is already gone', async () => {
    const api = new FakeApi();
    api.object = thing(undefined, ['a', 'mine', 'b']);
    const w = new ObjectWriter(api);
    await w.removeFinalizer(ref, api.object, 'mine');
    expect(api.object.metadata?.finalizers).toEqual(['a', 'b']);
    await w.removeFinalizer(ref, api.object, 'mine');
    expect(api.patches).toHaveLength(1);
    const gone = thing(undefined, ['mine']);
    api.object = undefined;
    await expect(w.removeFinalizer(ref, gone, 'mine')).resolves.toBeUndefined();
  });

  describe('remembering its own writes', () => {
    function served(): FakeApi {
      const api = new FakeApi();
      api.object = thing({ ready: false });
      api.object.metadata!.uid = 'uid-a';
      (api.object.metadata as Record<string, unknown>).managedFields = [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }];
      return api;
    }

    it('keeps its write, without field managers, only until an informer delivers that version', async () => {
      const api = served();
      const w = new ObjectWriter(api);
      const cached = structuredClone(api.object!);
      await w.patchStatus(ref, cached, { ready: true });
      expect(w.retained).toBe(1);
      const own = w.latest(cached);
      expect(own.status).toEqual({ ready: true });
      expect(own.metadata).not.toHaveProperty('managedFields');
      // An event of an older version, or of another kind's object with the same name, changes nothing.
      w.observed(cached);
      w.observed({ metadata: { namespace: 'ns', name: 'a', uid: 'uid-other', resourceVersion: '99' } });
      expect(w.retained).toBe(1);
      w.observed(structuredClone(api.object!));
      expect(w.retained).toBe(0);
      expect(w.latest(cached)).toBe(cached);
    });

    it('forgets a write that no informer delivered once retainMs has passed', async () => {
      const api = served();
      const clock = new FakeClock();
      const w = new ObjectWriter(api, { clock, retainMs: 60_000 });
      const cached = structuredClone(api.object!);
      await w.patchStatus(ref, cached, { ready: true });
      await clock.advance(59_000);
      expect(w.latest(cached).status).toEqual({ ready: true });
      await clock.advance(2_000);
      expect(w.latest(cached)).toBe(cached);
      expect(w.retained).toBe(0);
      // The cache still lags: the write's precondition fails, and the writer reads the server's copy.
      await w.patchStatus(ref, cached, { ready: true, message: 'ok' });
      expect(api.gets).toHaveLength(1);
      expect(api.object!.status).toEqual({ ready: true, message: 'ok' });
    });
  });
});
