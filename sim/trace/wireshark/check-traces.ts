// Reads every GSMTAP trace (cases/*/*/apdu.pcap) of a certify report with tshark, once
// without and once with the shipped ES10 dissector (es10.lua), and counts the frames,
// the "Malformed Packet"s, the frames the dissector names and its Lua errors. The traces are
// appended into one file with mergecap -a (Wireshark's own tool; order kept per case) so that
// tshark starts twice, not twice per case. CI runs it over its full certify report:
//   node --import tsx sim/trace/wireshark/check-traces.ts REPORT_DIR   (exit 1: a malformed frame)
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ES10_LUA = fileURLToPath(new URL('./es10.lua', import.meta.url));

export interface TraceCheck {
  files: number;
  frames: number;
  /** frames tshark calls malformed, without / with es10.lua */
  malformed: { plain: number; withDissector: number };
  /** frames es10.lua names an ES10 function in */
  es10Frames: number;
  luaErrors: string[];
}

function tshark(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')}: ${r.stderr || r.error}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** The apdu.pcap of every case of a report. */
export function reportTraces(reportDir: string): string[] {
  const root = join(reportDir, 'cases');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((p) => readdirSync(join(root, p)).flatMap((c) => (existsSync(join(root, p, c, 'apdu.pcap')) ? [join(root, p, c, 'apdu.pcap')] : [])));
}

export function checkTraces(pcaps: readonly string[]): TraceCheck {
  const dir = mkdtempSync(join(tmpdir(), 'bridgelab-traces-'));
  try {
    // mergecap takes many files at once; batches keep the command line short
    let inputs = [...pcaps];
    let n = 0;
    while (inputs.length > 1 || n === 0) {
      const next: string[] = [];
      for (let i = 0; i < inputs.length; i += 500) {
        const out = join(dir, `m${n++}.pcap`);
        const r = spawnSync('mergecap', ['-a', '-F', 'pcap', '-w', out, ...inputs.slice(i, i + 500)], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mergecap: ${r.stderr || r.error}`);
        next.push(out);
      }
      inputs = next;
    }
    const merged = inputs[0]!;
    const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;
    const plain = tshark(['-r', merged]).stdout;
    const lua = tshark(['-X', `lua_script:${ES10_LUA}`, '-r', merged]);
    return {
      files: pcaps.length,
      frames: count(plain, /\S/),
      malformed: { plain: count(plain, /Malformed/), withDissector: count(lua.stdout, /Malformed/) },
      es10Frames: count(lua.stdout, /\[ES10 /),
      luaErrors: lua.stderr.split('\n').filter((l) => /lua/i.test(l)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const reportDir = process.argv[2];
  if (!reportDir) {
    process.stderr.write('usage: node --import tsx sim/trace/wireshark/check-traces.ts REPORT_DIR\n');
    process.exit(2);
  }
  const r = checkTraces(reportTraces(reportDir));
  process.stdout.write(`${r.files} traces, ${r.frames} frames, ${r.es10Frames} named by es10.lua; malformed: ${r.malformed.plain} without the dissector, ${r.malformed.withDissector} with it; Lua errors: ${r.luaErrors.length}\n`);
  process.exit(r.files === 0 || r.malformed.plain || r.malformed.withDissector || r.luaErrors.length ? 1 : 0);
}
