import { canonicalJson } from '../../api/canonical-json.js';
import type { PartKind } from '../../reconcilers/registry-part.js';
import { ECR_REGISTRY_POLICY_STATEMENT, REGISTRY_POLICY_STATEMENT_REF, type ECRRegistryPolicyStatement } from './types.js';
import { parseBoundedJson } from '../../api/bounded-json.js';
import { DOCUMENT_MAX_DEPTH, REGISTRY_POLICY_MAX_CHARS, REGISTRY_POLICY_VERSION, statementOf, type Statement } from './validation.js';

/**
 * An ECRRegistryPolicyStatement's part of its registry: the statement with its Sid in the registry
 * policy. Statements of others (no Sid, or a Sid this object did not write) stay as they are.
 * A part is held as canonical JSON text, so that status can record it and equal meaning is equal text.
 */

export interface PolicyDocument {
  /** The live policy's other top-level fields (Version, Id), kept as they are. */
  rest: Record<string, unknown>;
  statements: Statement[];
}

function sidOf(statement: unknown): string | undefined {
  if (!statement || typeof statement !== 'object') return undefined;
  const sid = (statement as Statement).Sid;
  return typeof sid === 'string' && sid !== '' ? sid : undefined;
}

/** The registry policy as a document; one that cannot be read as a policy is an Error, never overwritten. */
export function parsePolicy(text: string | undefined): PolicyDocument {
  if (text === undefined || text.trim() === '') return { rest: {}, statements: [] };
  const parsed = parseBoundedJson(text, { maxChars: Number.MAX_SAFE_INTEGER, maxDepth: DOCUMENT_MAX_DEPTH, field: 'the registry policy' });
  if (!parsed.ok) throw new Error(parsed.problem);
  const doc = parsed.value;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('the registry policy is not a JSON object');
  const { Statement: raw, ...rest } = doc as Record<string, unknown>;
  const statements = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return { rest, statements: statements as Statement[] };
}

export function policyText(doc: PolicyDocument): string | undefined {
  if (doc.statements.length === 0) return undefined;
  return JSON.stringify({ Version: REGISTRY_POLICY_VERSION, ...doc.rest, Statement: doc.statements });
}

export const registryPolicyStatementPart: PartKind<ECRRegistryPolicyStatement, PolicyDocument, string> = {
  name: 'ecrregistrypolicystatement',
  kind: ECR_REGISTRY_POLICY_STATEMENT.kind,
  ref: REGISTRY_POLICY_STATEMENT_REF,
  document: 'policy',
  home: 'the registry policy',
  desired: (obj) => {
    const parsed = statementOf(obj.spec);
    return 'problem' in parsed ? parsed : { part: canonicalJson(parsed.statement) };
  },
  applied: (obj) => obj.status?.appliedStatement,
  pending: (obj) => obj.status?.pendingStatement,
  partStatus: (applied, pending) => ({ appliedStatement: applied, pendingStatement: pending }),
  documentStatus: (doc) => ({ statements: doc.statements.length }),
  identity: (part) => sidOf(JSON.parse(part)) ?? '',
  same: (a, b) => a === b,
  find: (doc, sid) => {
    const found = doc.statements.find((s) => sidOf(s) === sid);
    return found === undefined ? undefined : canonicalJson(found);
  },
  put: (doc, part, previous) => {
    const statement = JSON.parse(part) as Statement;
    const sid = sidOf(statement);
    const previousSid = previous === undefined ? undefined : sidOf(JSON.parse(previous));
    const statements: Statement[] = [];
    let placed = false;
    for (const s of doc.statements) {
      const own = sidOf(s);
      if (own !== undefined && (own === sid || own === previousSid)) {
        if (!placed) statements.push(statement);
        placed = true;
        continue;
      }
      statements.push(s);
    }
    if (!placed) statements.push(statement);
    const next = { rest: doc.rest, statements };
    const size = policyText(next)?.length ?? 0;
    if (size > REGISTRY_POLICY_MAX_CHARS) {
      return { limit: `the registry policy would hold ${size} characters with this statement; ECR allows at most ${REGISTRY_POLICY_MAX_CHARS}` };
    }
    return { doc: next };
  },
  remove: (doc, part) => {
    const sid = sidOf(JSON.parse(part));
    return { rest: doc.rest, statements: doc.statements.filter((s) => sidOf(s) !== sid) };
  },
  equal: (a, b) => canonicalJson({ ...a.rest, S: a.statements }) === canonicalJson({ ...b.rest, S: b.statements }),
  read: async (gateway) => parsePolicy(await gateway.registryPolicy()),
  write: async (gateway, doc) => {
    const text = policyText(doc);
    if (text === undefined) await gateway.deleteRegistryPolicy();
    else await gateway.putRegistryPolicy(text);
  },
  describe: (part) => `statement ${sidOf(JSON.parse(part)) ?? '(no Sid)'}`,
};
