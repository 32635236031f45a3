/**
 * The APIs that moto lacks, emulated in the local AWS layer (aws-proxy.ts) as AWS documents them.
 * Each emulation says which requests it answers; the layer asks each in turn before forwarding to
 * moto. Adding one is a module and a line in EMULATIONS.
 */
import { EcrPublicEmulation } from './ecr-public-emulation.js';
import { RegistrySettingsEmulation } from './registry-settings-emulation.js';
import { PullThroughCacheEmulation } from './pull-through-cache-emulation.js';
import { CreationTemplateEmulation } from './creation-template-emulation.js';
import { StsWebIdentityEmulation, type StsWebIdentityOptions } from './sts-web-identity-emulation.js';

export interface EmulatedRequest {
  /**
   * `ECR` for ECR's JSON protocol; otherwise the X-Amz-Target prefix (`SpencerFrontendService` is
   * ECR Public); `STS` for a request of the query protocol (form fields with an `Action`).
   */
  service: string;
  operation: string;
  /** The parsed JSON body; for the query protocol, its form fields (each a string). */
  input: Record<string, unknown>;
  /** The account of the signing credentials (as moto maps access keys to accounts), and the signed region. */
  registry: () => Promise<{ accountId: string; region: string } | undefined>;
  accessKeyId: string | undefined;
  now: Date;
  /**
   * Asks moto another operation of the JSON protocol (`target` as X-Amz-Target, signed for the
   * service `signingName`), as the caller: same credentials and region. For an emulation that reads
   * state moto keeps, such as the Secrets Manager secret a pull through cache rule names.
   */
  moto?: (target: string, signingName: string, input: Record<string, unknown>) => Promise<{ status: number; body: Record<string, unknown> }>;
}

export interface EmulatedAnswer {
  status: number;
  /**
   * The JSON body; for an error, `{__type, message}` as the JSON protocol answers. The layer sends
   * an error to a request of the query protocol as that protocol's XML `ErrorResponse` instead.
   */
  body: Record<string, unknown>;
  /** For an error: the x-amzn-errortype header (the error's code). */
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

export interface EmulationOptions {
  /** The account's OIDC providers and the roles' trust policies: AssumeRoleWithWebIdentity is checked only with them. */
  webIdentity?: StsWebIdentityOptions;
}

/** Every emulation the layer consults, in order. */
export function createEmulations(options: EmulationOptions = {}): Emulation[] {
  return [new EcrPublicEmulation(), new RegistrySettingsEmulation(),
    new PullThroughCacheEmulation(),
    new CreationTemplateEmulation(),
    new StsWebIdentityEmulation(options.webIdentity),
  ];
}
