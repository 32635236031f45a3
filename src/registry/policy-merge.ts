import type { ECRRegistryPolicyStatementSpec } from '../api/registry-types.js';
import { REGISTRY_POLICY_MAX_CHARS, REGISTRY_POLICY_VERSION, SID_PATTERN } from './limits.js';
import { byAge, canonicalJson, type MergeResult, type Member, type Registry, type Verdict } from './merge-types.js';

/**
 * ECRRegistryPolicyStatement objects of one registry + the live registry policy → the policy to
 * put. A statement's identity is its Sid. Statements without a Sid, or with a Sid that no object
 * declares and none recorded as applied, are someone else's and stay as they are. A statement of
 * ours that was edited in AWS is put back as the object says.
 */

export type PolicyStatementMember = Member<ECRRegistryPolicyStatementSpec, string>;

type Statement = Record<string, unknown>;

export interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
  [k: string]: unknown;
}

export interface PolicyMergeInput {
  registry: Registry;
  members: readonly PolicyStatementMember[];
  /** The live registry policy text; undefined when the registry has none. */
  live: string | undefined;
}

/** The policy to write: its text, or undefined to delete the registry policy. */
export interface DesiredPolicy {
  text: string | undefined;
}

/** Parses a registry policy; a policy we cannot read is an error, never overwritten blindly. */
export function parsePolicy(text: string | undefined): PolicyDocument {
  if (text === undefined || text.trim() === '') return { Statement: [] };
  const parsed = JSON.parse(text) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the registry policy is not a JSON object');
  const doc = parsed as Record<string, unknown>;
  const statements = doc.Statement === undefined ? [] : Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return { ...doc, Statement: statements as Statement[] };
}

function sidOf(statement: unknown): string | undefined {
  if (!statement || typeof statement !== 'object') return undefined;
  const sid = (statement as Statement).Sid;
  return typeof sid === 'string' && sid !== '' ? sid : undefined;
}

/** The statement object with its Sid first, or the reason it cannot be one. */
export function statementOf(spec: ECRRegistryPolicyStatementSpec): { statement: Statement } | { problem: string } {
  if (!SID_PATTERN.test(spec.sid ?? '')) return { problem: `spec.sid: ${JSON.stringify(spec.sid)} must be 1-128 letters and digits` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec.statement);
  } catch (err) {
    return { problem: `spec.statement is not valid JSON: ${(err as Error).message}` };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { problem: 'spec.statement must be one JSON object (an IAM policy statement)' };
  const raw = parsed as Statement;
  if ('Statement' in raw || 'Version' in raw) return { problem: 'spec.statement must be one statement, not a whole policy document' };
  const inner = raw.Sid;
  if (inner !== undefined && inner !== spec.sid) return { problem: `spec.statement has Sid ${JSON.stringify(inner)}, but spec.sid is ${JSON.stringify(spec.sid)}` };
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') return { problem: 'spec.statement.Effect must be "Allow" or "Deny"' };
  if (raw.Principal === undefined && raw.NotPrincipal === undefined) return { problem: 'spec.statement needs a Principal: a registry policy is a resource policy' };
  if (raw.Action === undefined && raw.NotAction === undefined) return { problem: 'spec.statement needs an Action' };
  const { Sid: _sid, ...rest } = raw;
  return { statement: { Sid: spec.sid, ...rest } };
}

export function policyText(doc: PolicyDocument): string {
  return JSON.stringify(doc);
}

export function mergeRegistryPolicy(input: PolicyMergeInput): MergeResult<DesiredPolicy, string> {
  const verdicts = new Map<string, Verdict<string>>();
  const members = byAge(input.members);
  const live = parsePolicy(input.live);

  // 1. Claims by Sid, oldest first.
  const winners: Array<{ member: PolicyStatementMember; statement: Statement; sid: string }> = [];
  const claimedBy = new Map<string, string>();
  const kept = new Set<string>();
  for (const m of members) {
    if (m.deleting) continue;
    const parsed = m.hold !== undefined ? { problem: m.hold } : statementOf(m.spec);
    if ('problem' in parsed) {
      verdicts.set(m.key, { kind: 'InvalidSpec', message: parsed.problem, applied: m.applied });
      const sid = m.applied ? sidOf(JSON.parse(m.applied)) : undefined;
      if (sid) kept.add(sid);
      continue;
    }
    const owner = claimedBy.get(m.spec.sid);
    if (owner) {
      verdicts.set(m.key, { kind: 'Stalled', reason: 'Conflict', message: `Sid ${m.spec.sid} is already declared by the older ECRRegistryPolicyStatement ${owner}` });
      continue;
    }
    claimedBy.set(m.spec.sid, m.key);
    winners.push({ member: m, statement: parsed.statement, sid: m.spec.sid });
  }

  // 2. Sids this operator applied and nobody wants any more.
  const ours = new Set<string>();
  const remove = new Set<string>();
  for (const m of members) {
    const sid = m.applied ? sidOf(JSON.parse(m.applied)) : undefined;
    if (!sid) continue;
    ours.add(sid);
    if (m.deleting) {
      if (m.deletionPolicy === 'Delete') remove.add(sid);
      else kept.add(sid);
    } else if (claimedBy.get(sid) !== m.key && verdicts.get(m.key)?.kind !== 'InvalidSpec') {
      remove.add(sid);
    }
  }
  for (const s of kept) remove.delete(s);
  for (const s of claimedBy.keys()) remove.delete(s);

  // 3. Live statements stay unless removed; ours are replaced in place by what the object says.
  const statements: Statement[] = [];
  const placed = new Set<string>();
  let foreign = 0;
  for (const st of live.Statement) {
    const sid = sidOf(st);
    if (sid && remove.has(sid)) continue;
    const winner = sid ? winners.find((w) => w.sid === sid) : undefined;
    if (winner) {
      if (placed.has(winner.sid)) continue; // a duplicate Sid in AWS: one copy is enough
      statements.push(winner.statement);
      placed.add(winner.sid);
      continue;
    }
    statements.push(st);
    if (!sid || !ours.has(sid)) foreign += 1;
  }
  const version = typeof live.Version === 'string' ? live.Version : REGISTRY_POLICY_VERSION;
  const docOf = (list: Statement[]): PolicyDocument => ({ ...live, Version: version, Statement: list });

  // 4. Winners already in place are in force; new ones go in, oldest first, while the policy fits.
  for (const w of winners) {
    if (placed.has(w.sid)) {
      if (policyText(docOf(statements)).length > REGISTRY_POLICY_MAX_CHARS) {
        // An edited statement grew past the limit: leave the live one, stall the object.
        const index = statements.indexOf(w.statement);
        const old = live.Statement.find((s) => sidOf(s) === w.sid);
        if (old) statements[index] = old;
        verdicts.set(w.member.key, { kind: 'LimitExceeded', message: sizeMessage(policyText(docOf(statements)).length, w.statement), applied: w.member.applied });
        continue;
      }
      verdicts.set(w.member.key, { kind: 'InForce', message: `statement ${w.sid} is in the registry policy`, applied: canonicalJson(w.statement) });
      continue;
    }
    const next = [...statements, w.statement];
    if (policyText(docOf(next)).length > REGISTRY_POLICY_MAX_CHARS) {
      verdicts.set(w.member.key, { kind: 'LimitExceeded', message: sizeMessage(policyText(docOf(statements)).length, w.statement), applied: undefined });
      continue;
    }
    statements.push(w.statement);
    placed.add(w.sid);
    verdicts.set(w.member.key, { kind: 'InForce', message: `statement ${w.sid} is in the registry policy`, applied: canonicalJson(w.statement) });
  }

  for (const m of members) {
    if (m.deleting) {
      verdicts.set(m.key, { kind: 'Released', message: m.deletionPolicy === 'Delete' ? 'the statement is removed from the registry policy' : `the statement is left in the registry policy (deletionPolicy ${m.deletionPolicy})` });
      continue;
    }
    const v = verdicts.get(m.key);
    if (v && v.kind === 'Stalled') {
      const sid = m.applied ? sidOf(JSON.parse(m.applied)) : undefined;
      v.applied = sid && !claimedBy.has(sid) && statements.some((s) => sidOf(s) === sid) ? m.applied : undefined;
    }
  }

  const desiredText = statements.length === 0 ? undefined : policyText(docOf(statements));
  const changed = input.live === undefined
    ? desiredText !== undefined
    : desiredText === undefined || canonicalJson(parsePolicy(input.live)) !== canonicalJson(docOf(statements));
  return { desired: { text: desiredText }, changed, verdicts, summary: { entries: statements.length, foreign } };
}

function sizeMessage(current: number, statement: Statement): string {
  return `the registry policy would exceed ${REGISTRY_POLICY_MAX_CHARS} characters (the ECR limit): it holds ${current} and this statement adds ${JSON.stringify(statement).length + 1}`;
}
