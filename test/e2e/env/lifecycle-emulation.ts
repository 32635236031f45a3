/**
 * What moto 5.2 does not implement of ECR's image archive, emulated as AWS documents it, for the
 * local AWS layer in front of moto (aws-proxy.ts). Pure functions over an explicit state, so the
 * layer decides when to call them and unit tests can drive them directly.
 *
 * - Lifecycle policies with the archive grammar (action `transition` to `archive`, selection
 *   `storageClass`, count types `sinceImagePulled` and `sinceImageTransitioned`): moto's validator
 *   refuses them; AWS accepts them ("Lifecycle policy properties in Amazon ECR",
 *   https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html).
 *   Such a policy is kept here and answered by Get/Put/DeleteLifecyclePolicy; any other policy
 *   goes to moto as before.
 * - Archived images ("Archiving an image",
 *   https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html): UpdateImageStorageClass
 *   moves an image (by digest) to ARCHIVE or back to STANDARD; DescribeImages and ListImages answer
 *   with ACTIVE images only unless their filter asks for imageStatus ARCHIVED or ANY
 *   (API_DescribeImagesFilter), and DescribeImages reports imageStatus and lastArchivedAt.
 *
 * Hook (in aws-proxy.ts, for ECR requests): before forwarding, `emulateRequest`; when it answers,
 * reply with it instead of forwarding. For DescribeImages and ListImages, pass moto's whole answer
 * through `adjustListing` before paging it; the `filter` member must not reach moto's paging as a
 * reason to skip. DeleteRepository goes to moto and also through `emulateRequest`, which forgets
 * the repository's emulated state and returns undefined.
 */

export interface LifecycleEmulationState {
  /** Archive-grammar lifecycle policies, by repository name. */
  policies: Map<string, string>;
  /** Archived images: repository name -> digest -> when it was archived. */
  archived: Map<string, Map<string, Date>>;
}

export interface EmulatedReply {
  status: number;
  /** The JSON body; for an error, `{__type, message}` as ECR's JSON protocol answers. */
  body: Record<string, unknown>;
  /** For an error: the x-amzn-errortype header. */
  errorType?: string;
}

export function createLifecycleEmulationState(): LifecycleEmulationState {
  return { policies: new Map(), archived: new Map() };
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when the policy uses a part of the grammar that moto refuses: archive. */
export function usesArchiveGrammar(text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  if (!isObject(parsed) || !Array.isArray(parsed.rules)) return false;
  return parsed.rules.some((rule: unknown) => {
    if (!isObject(rule)) return false;
    const selection = isObject(rule.selection) ? rule.selection : {};
    const action = isObject(rule.action) ? rule.action : {};
    return action.type === 'transition' || 'targetStorageClass' in action || 'storageClass' in selection ||
      selection.countType === 'sinceImagePulled' || selection.countType === 'sinceImageTransitioned';
  });
}

function error(type: string, message: string, status = 400): EmulatedReply {
  return { status, body: { __type: type, message }, errorType: type };
}

const REGISTRY = '123456789012';

/**
 * The emulated answer to an ECR request, or undefined when moto should answer it. `now` stamps
 * archiving.
 */
export function emulateRequest(state: LifecycleEmulationState, operation: string, input: Json, now: Date): EmulatedReply | undefined {
  const repositoryName = typeof input.repositoryName === 'string' ? input.repositoryName : undefined;
  if (repositoryName === undefined) return undefined;
  const registryId = typeof input.registryId === 'string' ? input.registryId : REGISTRY;
  switch (operation) {
    case 'PutLifecyclePolicy': {
      const text = typeof input.lifecyclePolicyText === 'string' ? input.lifecyclePolicyText : '';
      if (!usesArchiveGrammar(text)) {
        // A plain policy replaces an emulated one: moto holds it from now on.
        state.policies.delete(repositoryName);
        return undefined;
      }
      state.policies.set(repositoryName, text);
      return { status: 200, body: { registryId, repositoryName, lifecyclePolicyText: text } };
    }
    case 'GetLifecyclePolicy': {
      const text = state.policies.get(repositoryName);
      if (text === undefined) return undefined;
      return { status: 200, body: { registryId, repositoryName, lifecyclePolicyText: text, lastEvaluatedAt: now.getTime() / 1000 } };
    }
    case 'DeleteLifecyclePolicy': {
      const text = state.policies.get(repositoryName);
      if (text === undefined) return undefined;
      state.policies.delete(repositoryName);
      return { status: 200, body: { registryId, repositoryName, lifecyclePolicyText: text, lastEvaluatedAt: now.getTime() / 1000 } };
    }
    case 'UpdateImageStorageClass': {
      const imageId = isObject(input.imageId) ? input.imageId : {};
      const digest = typeof imageId.imageDigest === 'string' ? imageId.imageDigest : undefined;
      if (digest === undefined) return error('InvalidParameterException', 'the local emulation of UpdateImageStorageClass needs imageId.imageDigest');
      const target = input.targetStorageClass;
      if (target !== 'ARCHIVE' && target !== 'STANDARD') {
        return error('InvalidParameterException', "Invalid parameter at 'targetStorageClass' failed to satisfy constraint: 'Member must satisfy enum value set: [STANDARD, ARCHIVE]'");
      }
      const archived = state.archived.get(repositoryName) ?? new Map<string, Date>();
      if (target === 'ARCHIVE') archived.set(digest, now);
      else archived.delete(digest);
      state.archived.set(repositoryName, archived);
      return { status: 200, body: { registryId, repositoryName, imageId: { imageDigest: digest }, imageStatus: target === 'ARCHIVE' ? 'ARCHIVED' : 'ACTIVE' } };
    }
    case 'DeleteRepository':
      state.policies.delete(repositoryName);
      state.archived.delete(repositoryName);
      return undefined;
    default:
      return undefined;
  }
}

function wantedStatus(input: Json): string {
  const filter = isObject(input.filter) ? input.filter : {};
  return typeof filter.imageStatus === 'string' ? filter.imageStatus : 'ACTIVE';
}

function keep(status: string, wanted: string): boolean {
  return wanted === 'ANY' || status === wanted;
}

/**
 * moto's whole DescribeImages or ListImages answer as ECR would give it: each image with its
 * status, filtered by the requested imageStatus (ACTIVE when not asked).
 */
export function adjustListing(state: LifecycleEmulationState, operation: string, input: Json, answer: Json): Json {
  const repositoryName = typeof input.repositoryName === 'string' ? input.repositoryName : '';
  const archived = state.archived.get(repositoryName) ?? new Map<string, Date>();
  const wanted = wantedStatus(input);
  const statusOf = (digest: unknown) => (typeof digest === 'string' && archived.has(digest) ? 'ARCHIVED' : 'ACTIVE');
  if (operation === 'DescribeImages' && Array.isArray(answer.imageDetails)) {
    const imageDetails = (answer.imageDetails as Json[])
      .map((detail) => {
        const status = statusOf(detail.imageDigest);
        const at = archived.get(detail.imageDigest as string);
        return { ...detail, imageStatus: status, ...(at ? { lastArchivedAt: at.getTime() / 1000 } : {}) };
      })
      .filter((detail) => keep(detail.imageStatus, wanted));
    return { ...answer, imageDetails };
  }
  if (operation === 'ListImages' && Array.isArray(answer.imageIds)) {
    return { ...answer, imageIds: (answer.imageIds as Json[]).filter((id) => keep(statusOf(id.imageDigest), wanted)) };
  }
  return answer;
}
