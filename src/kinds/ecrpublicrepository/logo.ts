/**
 * The repository logo of an ECRPublicRepository: read from a key of a ConfigMap or Secret in the
 * object's own namespace, and checked against ECR Public's limits before any AWS call. The limits:
 * at most 512,000 bytes (Amazon ECR Public API Reference, "RepositoryCatalogDataInput",
 * logoImageBlob), 60 to 2048 pixels in height and width (Amazon ECR Public User Guide, "Repository
 * catalog data"), an image the Gallery can show: PNG or JPEG.
 */
import { createHash } from 'node:crypto';
import { resourcePath } from '../../runtime/kube.js';
import type { KeyRef, LogoSource } from './types.js';

export const LOGO_FIELD = 'spec.catalogData.logo';
export const LOGO_MAX_BYTES = 512_000;
export const LOGO_MIN_PIXELS = 60;
export const LOGO_MAX_PIXELS = 2048;

export interface LogoImage {
  bytes: Buffer;
  /** sha256:<hex> of the bytes: what status records of an uploaded logo. */
  digest: string;
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** Reads one object of the object's namespace; KubeClient fits. */
export interface LogoReader {
  getOrUndefined<T>(path: string): Promise<T | undefined>;
}

/** Why a logo cannot be used: where it is missing (the user creates it) or what is wrong with it (the user fixes it). */
export class LogoProblem extends Error {
  constructor(
    readonly reason: 'LogoNotFound' | 'InvalidSpec',
    message: string,
  ) {
    super(message);
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The format and size of a PNG (its IHDR chunk) or JPEG (its first frame header), or undefined for
 * anything else. One pass over at most the bytes given.
 */
export function imageSize(bytes: Buffer): { format: 'png' | 'jpeg'; width: number; height: number } | undefined {
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(PNG_SIGNATURE) && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return { format: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    // Start-of-frame markers C0-CF carry the size, except C4 (Huffman tables), C8 and CC.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > bytes.length) return undefined;
      return { format: 'jpeg', height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return undefined;
}

/** The logo's problem against ECR Public's limits, naming the field; undefined when it is fine. */
export function logoProblem(bytes: Buffer, where: string): string | undefined {
  if (bytes.length === 0) return `${LOGO_FIELD}: ${where} is empty`;
  if (bytes.length > LOGO_MAX_BYTES) {
    return `${LOGO_FIELD}: ${where} holds ${bytes.length} bytes, more than ECR Public's limit of ${LOGO_MAX_BYTES} bytes (500 KB)`;
  }
  const size = imageSize(bytes);
  if (!size) return `${LOGO_FIELD}: ${where} is not a PNG or JPEG image`;
  for (const [side, pixels] of [['width', size.width], ['height', size.height]] as const) {
    if (pixels < LOGO_MIN_PIXELS || pixels > LOGO_MAX_PIXELS) {
      return `${LOGO_FIELD}: ${where} is ${size.width}x${size.height} pixels; ECR Public takes a ${side} of ${LOGO_MIN_PIXELS} to ${LOGO_MAX_PIXELS} pixels`;
    }
  }
  return undefined;
}

interface DataObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps' };
const SECRETS = { group: '', version: 'v1', plural: 'secrets' };
/**
 * base64 text, as the API server answers with binaryData and Secret data; checked before decoding,
 * because Buffer.from skips what is not base64 without a word. The padding class is disjoint from
 * the text class: linear.
 */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decode(raw: string, where: string): Buffer {
  // `base64` wraps its output in lines; a text value in a ConfigMap's data may carry them.
  const text = raw.replace(/\s+/g, '');
  if (!BASE64.test(text)) throw new LogoProblem('InvalidSpec', `${LOGO_FIELD}: ${where} is not base64-encoded`);
  return Buffer.from(text, 'base64');
}

/**
 * Reads the logo a spec names and checks it. A ConfigMap holds it in binaryData (as
 * `kubectl create configmap NAME --from-file=logo.png` writes an image) or base64-encoded in data;
 * a Secret in data. Only the object's own namespace is read.
 */
export async function readLogo(reader: LogoReader, namespace: string, source: LogoSource): Promise<LogoImage> {
  let bytes: Buffer;
  let where: string;
  if (source.configMapKeyRef) {
    const ref: KeyRef = source.configMapKeyRef;
    where = `key ${JSON.stringify(ref.key)} of ConfigMap ${namespace}/${ref.name}`;
    const configMap = await reader.getOrUndefined<DataObject>(resourcePath(CONFIGMAPS, namespace, ref.name));
    if (!configMap) throw new LogoProblem('LogoNotFound', `${LOGO_FIELD}.configMapKeyRef: ConfigMap ${namespace}/${ref.name} not found`);
    const binary = configMap.binaryData?.[ref.key];
    const text = configMap.data?.[ref.key];
    if (binary === undefined && text === undefined) throw new LogoProblem('LogoNotFound', `${LOGO_FIELD}.configMapKeyRef: ConfigMap ${namespace}/${ref.name} has no key ${JSON.stringify(ref.key)}`);
    bytes = decode(binary ?? text ?? '', where);
  } else if (source.secretKeyRef) {
    const ref: KeyRef = source.secretKeyRef;
    where = `key ${JSON.stringify(ref.key)} of Secret ${namespace}/${ref.name}`;
    const secret = await reader.getOrUndefined<DataObject>(resourcePath(SECRETS, namespace, ref.name));
    if (!secret) throw new LogoProblem('LogoNotFound', `${LOGO_FIELD}.secretKeyRef: Secret ${namespace}/${ref.name} not found`);
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) throw new LogoProblem('LogoNotFound', `${LOGO_FIELD}.secretKeyRef: Secret ${namespace}/${ref.name} has no key ${JSON.stringify(ref.key)}`);
    bytes = decode(encoded, where);
  } else {
    throw new LogoProblem('InvalidSpec', `${LOGO_FIELD}: names neither configMapKeyRef nor secretKeyRef`);
  }
  const problem = logoProblem(bytes, where);
  if (problem) throw new LogoProblem('InvalidSpec', problem);
  const size = imageSize(bytes) as { format: 'png' | 'jpeg'; width: number; height: number };
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, ...size };
}
