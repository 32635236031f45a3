import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Field names that may carry credentials. pino's redaction matches exact paths with one `*` per
 * level (no deep wildcard), so each name is listed at the depths where our log calls put objects.
 */
const SECRET_FIELDS = ['secretAccessKey', 'sessionToken', 'accessKeyId', 'token', 'password', 'authorization'];

export const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
];

export interface LoggerOptions {
  level: string;
  name?: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to capture lines. */
  destination?: pino.DestinationStream;
}

/** JSON lines on stdout, levels as words (`"level":"info"`) and ISO timestamps, so `kubectl logs` reads well. */
export function createLogger(opts: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: opts.name ? { name: opts.name } : {},
  };
  // pino's default destination writes stdout synchronously: no line is lost on process.exit.
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
