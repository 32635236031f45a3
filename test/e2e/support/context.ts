import { inject } from 'vitest';
import type { EnvironmentInfo } from '../env/environment.js';

declare module 'vitest' {
  export interface ProvidedContext {
    env: EnvironmentInfo;
  }
}

/** The shared local environment that the e2e global setup started. */
export function sharedEnv(): EnvironmentInfo {
  return inject('env');
}
