/**
 * The APIs that moto lacks, emulated in the local AWS layer (aws-proxy.ts) as AWS documents them.
 * Each emulation says which requests it answers; the layer asks each in turn before forwarding to
 * moto. Adding one is a module and a line in EMULATIONS.
 */
import { EcrPublicEmulation } from './ecr-public-emulation.js';
import { RegistrySettingsEmulation } from './registry-settings-emulation.js';

export interface EmulatedRequest {
  /** `ECR` for ECR's JSON protocol; otherwise the X-Amz-Target prefix (`SpencerFrontendService` is ECR Public). */
  service: string;
  operation: string;
  /** The parsed JSON body. */
  input: Record<string, unknown>;
  /** The account of the signing credentials (as moto maps access keys to accounts), and the signed region. */
  registry: () => Promise<{ accountId: string; region: string } | undefined>;
  accessKeyId: string | undefined;
  now: Date;
}

export interface EmulatedAnswer {
  status: number;
  /** The JSON body; for an error, `{__type, message}` as the JSON protocol answers. */
  body: Record<string, unknown>;
  /** For an error: the x-amzn-errortype header. */
  errorType?: string;
}

export interface Emulation {
  name: string;
  /** An answer, or undefined to let the request go on to moto. */
  handle(request: EmulatedRequest): Promise<EmulatedAnswer | undefined> | EmulatedAnswer | undefined;
}

/** An error in the JSON protocol's shape. */
export function awsJsonError(status: number, type: string, message: string): EmulatedAnswer {
  return { status, body: { __type: type, message }, errorType: type };
}

/** Every emulation the layer consults, in order. */
export function createEmulations(): Emulation[] {
  return [new EcrPublicEmulation(), new RegistrySettingsEmulation()];
}
