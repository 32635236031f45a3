import { describe, expect, it } from 'vitest';
import { adjustListing, createLifecycleEmulationState, emulateRequest, usesArchiveGrammar } from '../../e2e/env/lifecycle-emulation.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const archivePolicy = JSON.stringify({
  rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 }, action: { type: 'transition', targetStorageClass: 'archive' } }],
});
const plainPolicy = JSON.stringify({
  rules: [{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }],
});

describe('lifecycle emulation', () => {
  it('recognises the archive grammar and nothing else', () => {
    expect(usesArchiveGrammar(archivePolicy)).toBe(true);
    expect(usesArchiveGrammar(plainPolicy)).toBe(false);
    expect(usesArchiveGrammar('not json')).toBe(false);
  });

  it('keeps an archive policy, answers Get and Delete for it, and leaves plain policies to moto', () => {
    const state = createLifecycleEmulationState();
    expect(emulateRequest(state, 'PutLifecyclePolicy', { repositoryName: 'r', lifecyclePolicyText: archivePolicy }, NOW)?.body)
      .toEqual({ registryId: '123456789012', repositoryName: 'r', lifecyclePolicyText: archivePolicy });
    expect(emulateRequest(state, 'GetLifecyclePolicy', { repositoryName: 'r' }, NOW)?.body.lifecyclePolicyText).toBe(archivePolicy);
    expect(emulateRequest(state, 'GetLifecyclePolicy', { repositoryName: 'other' }, NOW)).toBeUndefined();
    // A plain policy replaces it and goes to moto.
    expect(emulateRequest(state, 'PutLifecyclePolicy', { repositoryName: 'r', lifecyclePolicyText: plainPolicy }, NOW)).toBeUndefined();
    expect(emulateRequest(state, 'GetLifecyclePolicy', { repositoryName: 'r' }, NOW)).toBeUndefined();
    emulateRequest(state, 'PutLifecyclePolicy', { repositoryName: 'r', lifecyclePolicyText: archivePolicy }, NOW);
    expect(emulateRequest(state, 'DeleteLifecyclePolicy', { repositoryName: 'r' }, NOW)?.status).toBe(200);
    expect(emulateRequest(state, 'DeleteLifecyclePolicy', { repositoryName: 'r' }, NOW)).toBeUndefined();
  });

  it('archives by digest and lists ACTIVE images unless asked for others', () => {
    const state = createLifecycleEmulationState();
    expect(emulateRequest(state, 'UpdateImageStorageClass', { repositoryName: 'r', imageId: { imageDigest: 'sha256:b' }, targetStorageClass: 'ARCHIVE' }, NOW)?.body.imageStatus).toBe('ARCHIVED');
    expect(emulateRequest(state, 'UpdateImageStorageClass', { repositoryName: 'r', imageId: { imageTag: 'v1' }, targetStorageClass: 'ARCHIVE' }, NOW)?.status).toBe(400);
    const moto = { imageDetails: [{ imageDigest: 'sha256:a', imageTags: ['v1'] }, { imageDigest: 'sha256:b', imageTags: ['v2'] }] };
    const active = adjustListing(state, 'DescribeImages', { repositoryName: 'r' }, moto);
    expect(active.imageDetails).toEqual([{ imageDigest: 'sha256:a', imageTags: ['v1'], imageStatus: 'ACTIVE' }]);
    const any = adjustListing(state, 'DescribeImages', { repositoryName: 'r', filter: { imageStatus: 'ANY' } }, moto);
    expect(any.imageDetails).toEqual([
      { imageDigest: 'sha256:a', imageTags: ['v1'], imageStatus: 'ACTIVE' },
      { imageDigest: 'sha256:b', imageTags: ['v2'], imageStatus: 'ARCHIVED', lastArchivedAt: NOW.getTime() / 1000 },
    ]);
    const ids = adjustListing(state, 'ListImages', { repositoryName: 'r' }, { imageIds: [{ imageDigest: 'sha256:a', imageTag: 'v1' }, { imageDigest: 'sha256:b', imageTag: 'v2' }] });
    expect(ids.imageIds).toEqual([{ imageDigest: 'sha256:a', imageTag: 'v1' }]);
    // Restored, and forgotten with the repository.
    emulateRequest(state, 'UpdateImageStorageClass', { repositoryName: 'r', imageId: { imageDigest: 'sha256:b' }, targetStorageClass: 'STANDARD' }, NOW);
    expect((adjustListing(state, 'DescribeImages', { repositoryName: 'r' }, moto).imageDetails as unknown[]).length).toBe(2);
    emulateRequest(state, 'PutLifecyclePolicy', { repositoryName: 'r', lifecyclePolicyText: archivePolicy }, NOW);
    expect(emulateRequest(state, 'DeleteRepository', { repositoryName: 'r' }, NOW)).toBeUndefined();
    expect(state.policies.size + state.archived.size).toBe(0);
  });
});
