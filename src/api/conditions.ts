import type { Condition } from './types.js';

/**
 * Condition helpers for the kstatus trio: Ready, Reconciling and Stalled.
 * Ready says whether the AWS resource exists and matches the spec; Reconciling is True while the
 * operator still works towards the spec; Stalled is True when nothing will change without the user.
 */

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';

export type Phase =
  /** Exists and matches the spec. */
  | { kind: 'ready'; reason: string; message: string }
  /** Working towards the spec, or retrying something that may pass by itself. */
  | { kind: 'progressing'; reason: string; message: string }
  /** Cannot progress without a change by the user. */
  | { kind: 'stalled'; reason: string; message: string };

/** Sets or replaces one condition, keeping lastTransitionTime when the status did not change. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = conditions ? [...conditions] : [];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const lastTransitionTime =
    previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const condition: Condition = { ...next, lastTransitionTime };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The conditions for a phase: Ready always; Reconciling and Stalled only while they are True. */
export function conditionsFor(
  current: readonly Condition[] | undefined,
  phase: Phase,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  const base = { observedGeneration, reason: phase.reason, message: phase.message };
  let list = setCondition(current, { type: READY, status: phase.kind === 'ready' ? 'True' : 'False', ...base }, now);
  list =
    phase.kind === 'progressing'
      ? setCondition(list, { type: RECONCILING, status: 'True', ...base }, now)
      : removeCondition(list, RECONCILING);
  list =
    phase.kind === 'stalled'
      ? setCondition(list, { type: STALLED, status: 'True', ...base }, now)
      : removeCondition(list, STALLED);
  return list;
}
