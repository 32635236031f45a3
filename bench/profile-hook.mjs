// Records a CPU profile of the whole operator process and writes it when the process exits. Node
// refuses --cpu-prof in NODE_OPTIONS, and the benchmark can only reach the operator's node through
// its environment (the operator runs under the reaper), so the benchmark loads this file with
// NODE_OPTIONS=--import instead when BENCH_PROFILE names a directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import process from 'node:process';

const dir = process.env.BENCH_PROFILE_DIR || process.cwd();
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
session.post('Profiler.start');

// An in-thread inspector session answers synchronously, so the profile is written before exit.
process.on('exit', () => {
  session.post('Profiler.stop', (err, result) => {
    if (err || !result) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `operator-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
