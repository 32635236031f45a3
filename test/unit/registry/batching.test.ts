import { describe, expect, it } from 'vitest';
import { BatchedEvents } from '../../../src/registry/batching.js';
import type { InformerEvent } from '../../../src/runtime/informer.js';
import type { KubeObject } from '../../../src/runtime/types.js';
import { FakeClock } from '../runtime/helpers.js';

function source() {
  let handler: ((e: InformerEvent<KubeObject>) => void) | undefined;
  return {
    emit: (name: string) => handler?.({ type: 'ADDED', object: { metadata: { namespace: 'ns', name } } }),
    onEvent: (h: (e: InformerEvent<KubeObject>) => void) => {
      handler = h;
      return () => (handler = undefined);
    },
    list: () => [],
  };
}

describe('BatchedEvents', () => {
  it('delivers a burst once it goes quiet, in order', async () => {
    const clock = new FakeClock();
    const src = source();
    const batched = new BatchedEvents(src, { quietMs: 400, maxWaitMs: 3_000, clock });
    const seen: string[] = [];
    batched.onEvent((e) => seen.push(e.object.metadata!.name!));
    for (let i = 0; i < 5; i++) {
      src.emit(`o${i}`);
      await clock.advance(100);
    }
    expect(seen).toEqual([]);
    await clock.advance(400);
    expect(seen).toEqual(['o0', 'o1', 'o2', 'o3', 'o4']);
  });

  it('never holds an event longer than maxWaitMs, however busy', async () => {
    const clock = new FakeClock();
    const src = source();
    const batched = new BatchedEvents(src, { quietMs: 400, maxWaitMs: 1_000, clock });
    const seen: string[] = [];
    batched.onEvent((e) => seen.push(e.object.metadata!.name!));
    for (let i = 0; i < 12; i++) {
      src.emit(`o${i}`);
      await clock.advance(100);
    }
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen[0]).toBe('o0');
  });
});
