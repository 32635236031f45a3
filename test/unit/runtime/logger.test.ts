import { describe, expect, it } from 'vitest';
import { captureLogger } from './helpers.js';

describe('createLogger', () => {
  it('writes JSON lines with word levels and redacts credentials', () => {
    const { logger, lines } = captureLogger('info');
    logger.info({
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI', sessionToken: 'FwoGZXIv' },
      request: { headers: { authorization: 'Bearer abc' } },
      password: 'hunter2',
      region: 'us-east-1',
    }, 'hello');
    logger.debug('not shown');
    const all = lines();
    expect(all).toHaveLength(1);
    const text = JSON.stringify(all[0]);
    for (const secret of ['AKIAEXAMPLE', 'wJalrXUtnFEMI', 'FwoGZXIv', 'Bearer abc', 'hunter2']) expect(text).not.toContain(secret);
    expect(all[0]).toMatchObject({ level: 'info', msg: 'hello', region: 'us-east-1' });
    expect(typeof all[0]?.time).toBe('string');
  });
});
