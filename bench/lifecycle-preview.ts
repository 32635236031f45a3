/**
 * The lifecycle preview's cost: what one ECRRepository's status.lifecyclePreview costs the
 * operator's event loop for a large repository, and what it costs when nothing changed.
 *
 *   npx tsx bench/lifecycle-preview.ts [--images 100000] [--entries 500] [--runs 3]
 *
 * It runs the code the reconciler runs (LifecyclePreviews over images made by toLifecycleImage
 * from DescribeImages entries), in this process, with no AWS and no cluster, and prints each figure
 * beside its target. It asserts nothing; the unit tests hold the properties.
 *
 * The repository: `--images` entries, of which 5% are multi-platform pushes (an image index with
 * two platform manifests, and for every other index a signature referring to it), 10% untagged
 * leftovers, 5% archived, the rest tagged single-platform images of 125 services with four tags
 * each. The policy: `--entries` tag-list entries over tagged rules of four entries each
 * (tagPrefixList and tagPatternList in turn, some patterns with a '*' at both ends), then one
 * untagged rule and one `any` rule; as text it stays within ECR's 30,720 characters.
 *
 * Figures: the first preview (CPU of the event-loop thread, the most CPU one slice between two
 * turns of the event loop took; beside them the wall-clock figures, which on a busy machine include
 * waiting for a CPU); a second preview of the same policy and listing
 * (evaluations run, CPU); and the case of issue 21 (a 7,000-entry tagPrefixList against 100 images
 * of 1,000 tags), evaluated directly since such a policy is longer than ECR allows.
 */
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ImageDetail } from '@aws-sdk/client-ecr';
import { toLifecycleImage } from '../src/aws/images.js';
import { evaluateLifecyclePolicyInSlices, type LifecycleImage } from '../src/lifecycle/evaluator.js';
import { LifecyclePreviews } from '../src/lifecycle/previews.js';
import { parseLifecyclePolicy, type LifecycleRule } from '../src/lifecycle/policy.js';
import { LIFECYCLE_POLICY_MAX_CHARS } from '../src/api/bounded-json.js';

const TARGET_CPU_MS = 2_000;
const TARGET_SLICE_MS = 20;

interface Args {
  images: number;
  entries: number;
  runs: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { images: 100_000, entries: 500, runs: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag ?? ''} needs a positive integer`);
    if (flag === '--images') args.images = value;
    else if (flag === '--entries') args.entries = value;
    else if (flag === '--runs') args.runs = value;
    else throw new Error(`unknown flag ${flag ?? ''}; flags: --images N --entries N --runs N`);
  }
  return args;
}

const SERVICES = 125;
const NOW = new Date('2026-11-23T10:00:00Z');
const HOUR = 3_600_000;

function digest(kind: string, n: number): string {
  return `sha256:${kind}${n.toString(16).padStart(64 - kind.length, '0')}`;
}

/** DescribeImages entries of the repository described above, newest last. */
function repository(size: number): ImageDetail[] {
  const details: ImageDetail[] = [];
  const at = (n: number): Date => new Date(NOW.getTime() - (size - n) * HOUR / 10);
  let n = 0;
  while (details.length < size) {
    const kind = n % 20;
    if (kind === 0) {
      // A multi-platform push: two platform manifests, then their index; every other one signed.
      const pushed = at(details.length);
      details.push({ imageDigest: digest('c', 2 * n), imagePushedAt: pushed, imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json' });
      details.push({ imageDigest: digest('c', 2 * n + 1), imagePushedAt: pushed, imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json' });
      details.push({ imageDigest: digest('i', n), imageTags: [`svc-${n % SERVICES}-${n}`, `multi-${n}`], imagePushedAt: pushed, imageManifestMediaType: 'application/vnd.oci.image.index.v1+json' });
      if (n % 40 === 0) {
        details.push({
          imageDigest: digest('s', n), imagePushedAt: new Date(pushed.getTime() + 60_000), subjectManifestDigest: digest('i', n),
          imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json', artifactMediaType: 'application/vnd.cncf.notary.signature',
        });
      }
    } else if (kind === 1 || kind === 2) {
      details.push({ imageDigest: digest('u', n), imagePushedAt: at(details.length) });
    } else if (kind === 3) {
      details.push({ imageDigest: digest('a', n), imageTags: [`svc-${n % SERVICES}-${n}`, 'env-prod-old'], imagePushedAt: at(details.length), imageStatus: 'ARCHIVED', lastArchivedAt: new Date(NOW.getTime() - 100 * 24 * HOUR) });
    } else {
      const s = n % SERVICES;
      details.push({
        imageDigest: digest('t', n),
        imageTags: [`svc-${s}-${n}`, `env-${n % 3 === 0 ? 'prod' : 'dev'}-${n}`, `build-${n}`, `team-${s % 10}`],
        imagePushedAt: at(details.length),
        lastRecordedPullTime: n % 7 === 0 ? new Date(NOW.getTime() - (n % 90) * 24 * HOUR) : undefined,
      });
    }
    n += 1;
  }
  return details.slice(0, size);
}

/** Tagged rules of four entries each until `entries` are used, then an untagged and an any rule. */
function policy(entries: number): string {
  const rules: LifecycleRule[] = [];
  for (let used = 0, r = 0; used < entries; r += 1) {
    const count = Math.min(4, entries - used);
    const s = r % SERVICES;
    const prefixes = [`svc-${s}-`, 'env-', 'build-', `team-${s % 10}`].slice(0, count);
    const patterns = [`svc-${s}-*`, r % 10 === 0 ? '*-prod-*' : 'env-*', 'build-*', `*${s % 10}`].slice(0, count);
    rules.push({
      rulePriority: r + 1,
      selection: {
        tagStatus: 'tagged',
        ...(r % 2 === 0 ? { tagPrefixList: prefixes } : { tagPatternList: patterns }),
        ...(r % 3 === 0 ? { countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 } : { countType: 'imageCountMoreThan', countNumber: 20 }),
      },
      action: { type: 'expire' },
    });
    used += count;
  }
  rules.push({ rulePriority: rules.length + 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }, action: { type: 'expire' } });
  rules.push({ rulePriority: rules.length + 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50_000 }, action: { type: 'transition', targetStorageClass: 'archive' } });
  return JSON.stringify({ rules });
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function line(name: string, figure: string, target: string, met: boolean | undefined): void {
  const verdict = met === undefined ? '' : met ? 'met' : 'MISSED';
  console.log(`${name.padEnd(60)} ${figure.padStart(14)}   target ${target.padEnd(12)} ${verdict}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const text = policy(args.entries);
  if (text.length > LIFECYCLE_POLICY_MAX_CHARS) throw new Error(`the policy is ${text.length} characters, more than ECR's ${LIFECYCLE_POLICY_MAX_CHARS}; ask for fewer --entries`);
  parseLifecyclePolicy(text);

  const details = repository(args.images);
  let started = process.cpuUsage();
  const images = details.map((d) => toLifecycleImage(d) as LifecycleImage);
  const listingMs = cpuMs(started);
  console.log(`lifecycle preview: ${images.length} images, a policy of ${args.entries} entries (${text.length} characters), ${args.runs} run${args.runs === 1 ? "" : "s"}; figures of the worst run`);

  let first = { cpu: 0, processCpu: 0, slice: 0, wallSlice: 0, delay: 0, slices: 0, expire: 0, archive: 0 };
  let again = { cpu: 0, slice: 0, evaluations: 0 };
  for (let run = 0; run < args.runs; run += 1) {
    const previews = new LifecyclePreviews();
    const subject = { namespace: 'bench', name: 'large', uid: `uid-${run}` };
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    started = process.cpuUsage();
    const cold = await previews.preview(subject, text, images, NOW);
    const processCpu = cpuMs(started);
    loop.disable();
    first = {
      cpu: Math.max(first.cpu, cold.stats.cpuMs),
      processCpu: Math.max(first.processCpu, processCpu),
      slice: Math.max(first.slice, cold.stats.longestSliceCpuMs),
      wallSlice: Math.max(first.wallSlice, cold.stats.longestSliceMs),
      delay: Math.max(first.delay, loop.max / 1e6),
      slices: cold.stats.slices,
      expire: cold.preview.imagesToExpire,
      archive: cold.preview.imagesToArchive,
    };
    const warm = await previews.preview(subject, text, images, new Date(NOW.getTime() + 60_000));
    again = { cpu: Math.max(again.cpu, warm.stats.cpuMs), slice: Math.max(again.slice, warm.stats.longestSliceCpuMs), evaluations: Math.max(again.evaluations, previews.computed - 1) };
  }
  line('first preview: CPU of the event-loop thread', `${first.cpu.toFixed(0)} ms`, `<= ${TARGET_CPU_MS} ms`, first.cpu <= TARGET_CPU_MS);
  line('first preview: CPU of the process (GC threads too)', `${first.processCpu.toFixed(0)} ms`, '-', undefined);
  line('first preview: longest slice (CPU)', `${first.slice.toFixed(1)} ms`, `<= ${TARGET_SLICE_MS} ms`, first.slice <= TARGET_SLICE_MS);
  line('first preview: longest slice (wall clock)', `${first.wallSlice.toFixed(1)} ms`, '-', undefined);
  line('first preview: longest event-loop delay a timer saw', `${first.delay.toFixed(1)} ms`, '-', undefined);
  line('first preview: slices', String(first.slices), '-', undefined);
  line('first preview: images to expire / archive', `${first.expire} / ${first.archive}`, '-', undefined);
  line('nothing changed: evaluations', String(again.evaluations), '0', again.evaluations === 0);
  line('nothing changed: CPU (the digest check)', `${again.cpu.toFixed(1)} ms`, '-', undefined);
  line('nothing changed: longest slice (CPU)', `${again.slice.toFixed(1)} ms`, `<= ${TARGET_SLICE_MS} ms`, again.slice <= TARGET_SLICE_MS);
  line('the listing: DescribeImages entries read, with fingerprints', `${listingMs.toFixed(0)} ms`, '-', undefined);

  // Issue 21's case: before, one synchronous evaluation of 4.2 s.
  const prefixes = Array.from({ length: 7_000 }, (_, i) => `p${i}-`);
  const heavy: LifecycleImage[] = Array.from({ length: 100 }, (_, i) => ({
    digest: digest('h', i),
    tags: Array.from({ length: 1_000 }, (_, t) => `p${(i * 1_000 + t) % 7_000}-${t}`),
    pushedAt: new Date(NOW.getTime() - i * HOUR),
    storageClass: 'STANDARD',
    sizeBytes: 1,
  }));
  const rules: LifecycleRule[] = [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: prefixes, countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }];
  const { stats } = await evaluateLifecyclePolicyInSlices({ rules }, heavy, NOW);
  line('7,000 prefixes x 100 images of 1,000 tags: CPU', `${stats.cpuMs.toFixed(0)} ms`, '-', undefined);
  line('7,000 prefixes x 100 images of 1,000 tags: longest slice (CPU)', `${stats.longestSliceCpuMs.toFixed(1)} ms`, `<= ${TARGET_SLICE_MS} ms`, stats.longestSliceCpuMs <= TARGET_SLICE_MS);
  console.log(`(wall-clock figures include waiting for a CPU: load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} CPUs)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
