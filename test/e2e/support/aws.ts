import { environmentVariables, type EnvironmentInfo } from '../env/environment.js';
import { run } from './kubectl.js';

/** awscli against the environment's AWS endpoint, as a user checks AWS by hand. */
export class AwsCli {
  constructor(private readonly env: EnvironmentInfo) {}

  async json<T = Record<string, unknown>>(args: string[]): Promise<T> {
    const result = await run('aws', [...args, '--output', 'json'], { env: { ...process.env, ...environmentVariables(this.env) } });
    if (result.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return (result.stdout.trim() ? JSON.parse(result.stdout) : {}) as T;
  }

  /** Runs and returns the exit code and stderr, for calls expected to fail. */
  async attempt(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
    return run('aws', [...args, '--output', 'json'], { env: { ...process.env, ...environmentVariables(this.env) } });
  }

  /** Calls made through the paging layer, by "Service:Operation". */
  async calls(): Promise<Record<string, number>> {
    return (await (await fetch(`${this.env.awsEndpoint}/__aws/calls`)).json()) as Record<string, number>;
  }

  /** Every CreateRepository the layer served: the name, and the app id of the client that sent it. */
  async creates(): Promise<Array<{ repositoryName: string; app: string; invocation: string; status: number }>> {
    return (await (await fetch(`${this.env.awsEndpoint}/__aws/creates`)).json()) as Array<{ repositoryName: string; app: string; invocation: string; status: number }>;
  }

  /** The same calls by "Service:Operation@accessKeyId", "@unsigned" for calls that carry no signature. */
  async callsBySigner(): Promise<Record<string, number>> {
    return (await (await fetch(`${this.env.awsEndpoint}/__aws/calls/by-signer`)).json()) as Record<string, number>;
  }
}
