// The shipped Wireshark ES10 dissector (es10.lua): its names come from the SGP.22 ASN.1
// module, and tshark running it over the trace of a real profile download names the ES10
// functions of commands and responses, with no Lua error and no malformed frame.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Trace, tapTransport, writeTrace } from '../trace.ts';
import { hexToBytes } from '../../bytes.ts';
import { checkTraces } from './check-traces.ts';
import { Lpa } from '../../lpa/flows.ts';
import { lpaHttp, newEuicc, startBenchSmdp } from '../../../bench/lib/rig.ts';

const LUA = fileURLToPath(new URL('./es10.lua', import.meta.url));
// SGP.22 v2.5 Annex H, RSPDefinitions (copied from the GSMA module)
const ASN1 = readFileSync(fileURLToPath(new URL('./testdata/RSPDefinitions.asn', import.meta.url)), 'utf8');
const lua = readFileSync(LUA, 'utf8');

/** top-level `Name ::= [n] ...` definitions of the module: name -> BER tag 'BFxx' */
function moduleTags(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of ASN1.matchAll(/^([A-Za-z][\w-]*) ::= \[(\d+)\]/gm)) out.set(m[1]!, `BF${Number(m[2]).toString(16).toUpperCase().padStart(2, '0')}`);
  return out;
}

function luaFunctions(): { tag: string; fn: string; request: string; response: string }[] {
  return [...lua.matchAll(/^\s*(BF[0-9A-F]{2}) = \{ "(\w+)", "([\w-]+)", "([\w-]+)" \},$/gm)].map((m) => ({ tag: m[1]!, fn: m[2]!, request: m[3]!, response: m[4]! }));
}

describe('es10.lua names', () => {
  it('names every ES10 tag of the SGP.22 module with the ASN.1 types defined for that tag', () => {
    const tags = moduleTags();
    const fns = luaFunctions();
    expect(fns.length).toBeGreaterThanOrEqual(30);
    for (const f of fns) {
      expect(tags.get(f.request), `${f.tag} ${f.request}`).toBe(f.tag);
      expect(tags.get(f.response), `${f.tag} ${f.response}`).toBe(f.tag);
    }
    // the tags the dissector leaves out are those of ES9+/ES11 messages, which never go in STORE DATA
    const named = new Set(fns.map((f) => f.tag));
    const left = [...new Set([...tags.values()].filter((t) => t >= 'BF20' && !named.has(t)))].sort();
    expect(left).toEqual(['BF39', 'BF3A', 'BF3B', 'BF3D', 'BF40']);
    expect(fns.find((f) => f.tag === 'BF2D')!.fn).toBe('GetProfilesInfo');
    expect(fns.find((f) => f.tag === 'BF38')!.fn).toBe('AuthenticateServer');
  });

  it('decodes the result codes with the named numbers of the module', () => {
    const tags = moduleTags();
    const results = [...lua.matchAll(/^\s*(BF[0-9A-F]{2}) = \{ "(\w+)", \{ (.*) \} \},$/gm)];
    expect(results.length).toBe(7);
    for (const [, tag, field, values] of results) {
      const type = luaFunctions().find((f) => f.tag === tag)!.response;
      expect(tags.get(type)).toBe(tag);
      const def = ASN1.slice(ASN1.indexOf(`${type} ::=`));
      const body = new RegExp(`${field} INTEGER \\{([^}]*)\\}`).exec(def.slice(0, def.indexOf('\n}')))![1]!;
      const fromModule = Object.fromEntries([...body.matchAll(/(\w+)\s*\((\d+)\)/g)].map((m) => [m[2], m[1]]));
      const fromLua = Object.fromEntries([...values!.matchAll(/\[(\d+)\] = "(\w+)"/g)].map((m) => [m[1], m[2]]));
      expect(fromLua, `${tag} ${field}`).toEqual(fromModule);
    }
  });
});

describe('es10.lua in tshark, over a real profile download', () => {
  let dir: string;
  let pcap: string;
  let haveTshark = true;
  beforeAll(async () => {
    haveTshark = spawnSync('tshark', ['--version']).status === 0;
    if (!haveTshark && process.env.CI) throw new Error('tshark is required in CI (.ci/run installs it)');
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-es10lua-'));
    const smdp = await startBenchSmdp(join(dir, 'smdp'), { count: 2 });
    const euicc = await newEuicc(join(dir, 'euicc.json'), smdp);
    const trace = new Trace();
    trace.add({ kind: 'atr', hop: 'lpa-card', atr: hexToBytes('3b9f9680b1fe451fc78031e073fe211b633a204a830090009d') });
    try {
      const lpa = await Lpa.open(tapTransport(euicc, trace, 'lpa-card'), { http: lpaHttp(smdp), es10: { blockSize: 120 } });
      await lpa.downloadProfile(smdp.es2.order({}).activationCode);
      await lpa.listProfiles();
      await lpa.close();
    } finally {
      await smdp.close();
      await euicc.close();
    }
    pcap = writeTrace(trace, join(dir, 'case')).pcap;
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function tshark(args: string[]): string {
    const r = spawnSync('tshark', ['-X', `lua_script:${LUA}`, '-r', pcap, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Lua/i);
    return r.stdout;
  }

  it('names the ES10 functions of commands and responses (-V) and filters on them', (ctx) => {
    if (!haveTshark) ctx.skip();
    const text = tshark(['-V']);
    for (const fn of ['GetEUICCChallenge', 'GetEUICCInfo1', 'AuthenticateServer', 'PrepareDownload', 'LoadBoundProfilePackage', 'GetProfilesInfo']) {
      expect(text, fn).toContain(`SGP.22 ES10: ${fn}\n`);
      expect(text, fn).toContain(`SGP.22 ES10: ${fn} response\n`);
    }
    expect(text).toContain('ASN.1 type: AuthenticateServerResponse');
    expect(text).toContain('BF2D ProfileInfoListResponse, length');
    expect(text).toContain('BF37 ProfileInstallationResult, length');
    expect(text).toMatch(/Bound Profile Package part: sequenceOf86 \(profile elements\)/);
    expect(text).not.toMatch(/Malformed/);
    const responses = tshark(['-Y', 'es10.direction == "response" && es10.function == "GetProfilesInfo"', '-T', 'fields', '-e', 'frame.number']);
    expect(responses.trim().split('\n').length).toBeGreaterThanOrEqual(1);
  });

  it('check-traces reads traces appended into one file: no malformed frame, no Lua error, each trace named afresh', (ctx) => {
    if (!haveTshark) ctx.skip();
    const one = checkTraces([pcap]);
    const two = checkTraces([pcap, pcap]);
    expect(one.malformed).toEqual({ plain: 0, withDissector: 0 });
    expect(one.luaErrors).toEqual([]);
    expect(one.es10Frames).toBeGreaterThan(50);
    expect(two).toEqual({ files: 2, frames: 2 * one.frames, malformed: { plain: 0, withDissector: 0 }, es10Frames: 2 * one.es10Frames, luaErrors: [] });
  });

  it("decodes the ATR record with Wireshark's ISO 7816 ATR dissector, not as an APDU", (ctx) => {
    if (!haveTshark) ctx.skip();
    const atr = tshark(['-Y', 'iso7816.atr.init_char', '-T', 'fields', '-e', 'frame.number', '-e', 'iso7816.atr.init_char', '-e', 'gsm_sim.apdu.ins']);
    expect(atr.split('\n')[0]).toBe('2\t0x3b\t');
  });
});
