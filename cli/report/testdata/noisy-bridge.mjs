// A bridge whose output is what real ones print: colour codes, a bell, a stray control
// character and a byte that is not UTF-8 (cli/report/junit.test.ts). It is the reference
// bridge with a deliberate defect (so that cases fail), its every output line re-emitted
// with that noise in front. Arguments: TTY BAUD HOST:PORT.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [tty, baud, listen] = process.argv.slice(2);
const bin = fileURLToPath(new URL('../../../bin/bridgelab.js', import.meta.url));
const child = spawn(process.execPath, [bin, 'bridge', '--serial', tty, '--baud', baud, '--listen', listen, '--queue', '--defect', 'status-word-rewrite'], { stdio: ['ignore', 'pipe', 'pipe'] });
const noise = Buffer.from('\u001b[1;31mFATAL\u001b[0m modem \u0001\u0007 \u00ff (\u001b]0;title\u0007) ', 'latin1');
for (const stream of [child.stdout, child.stderr]) {
  let rest = '';
  stream.on('data', (d) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop();
    for (const l of lines) process.stderr.write(Buffer.concat([noise, Buffer.from(`${l}\n`)]));
  });
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 1));
