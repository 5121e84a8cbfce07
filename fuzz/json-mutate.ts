// Mutators for JSON messages (the ES9+/ES11/ES2+ binding, SGP.22 6.5) and for text
// fields: structure-aware changes of a parsed value (drop, retype, enlarge, nest, add
// fields, corrupt strings: base64 alphabet/padding, hex case, Unicode, separators) and
// text-level corruption of the serialised JSON (truncation, byte havoc).
import type { Rng } from './prng.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const WEIRD_STRINGS: readonly string[] = [
  '',
  ' ',
  '=',
  '==',
  'AA',
  'AAA=',
  'AA==',
  'A===',
  '====',
  '****',
  'AAAA\n',
  'AAAA AAAA',
  '-_-_',
  '%00',
  '\u0000',
  '\uffff',
  '\ud800',
  '😀',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '0',
  '-1',
  '1e309',
  'Executed-Success',
  'Failed',
  '8.10.1',
  '3.9',
  '89049032123451234512345678901235',
  '8900012345678901234F',
  '1$testsmdpplus1.example.com$ABC',
];

const BASE64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

/** A JSON value of a random type (sometimes big or deep). */
export function randomJson(rng: Rng, depth = 0): Json {
  const kind = rng.int(depth > 3 ? 5 : 8);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1, 1.5, 2 ** 53, -(2 ** 53) - 2, 1e308, Number.MIN_VALUE, 16, 255, 256]);
    case 3:
      return rng.pick(WEIRD_STRINGS);
    case 4:
      return randomString(rng, rng.size(2000));
    case 5:
      return Array.from({ length: rng.size(8) }, () => randomJson(rng, depth + 1));
    case 6: {
      const o: { [key: string]: Json } = {};
      for (let i = rng.size(6); i > 0; i--) o[rng.pick(['a', 'header', 'status', 'transactionId', '__proto__', 'x'.repeat(rng.size(100) + 1)])] = randomJson(rng, depth + 1);
      return o;
    }
    default:
      return deep(rng.pick([10, 100, 1000]), rng.chance(0.5));
  }
}

function deep(n: number, arrays: boolean): Json {
  let v: Json = 1;
  for (let i = 0; i < n; i++) v = arrays ? [v] : { a: v };
  return v;
}

export function randomString(rng: Rng, n: number): string {
  const alphabet = rng.pick([BASE64_CHARS, '0123456789ABCDEF', '0123456789abcdef', '0123456789', 'ABC$.:/-_ ', '\u0000\u0001\u007f\u0080\u00ff\u2028\ud83d']);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
  return s;
}

/** One change to a string (meant for base64, hex, ICCID/EID, status strings). */
export function mutateString(rng: Rng, s: string): string {
  const op = rng.int(11);
  const i = s.length ? rng.int(s.length) : 0;
  switch (op) {
    case 0:
      return s.slice(0, rng.int(s.length + 1));
    case 1:
      return s.slice(0, i) + rng.pick([...BASE64_CHARS, '-', '_', ' ', '\n', '.', '$', '\u00e9']) + s.slice(i + 1);
    case 2:
      return s + rng.pick(['=', '==', 'A', 'AA', 'AAA', '\n', ' ']);
    case 3:
      return s.replace(/=+$/, '');
    case 4:
      return s.toLowerCase();
    case 5:
      return s.toUpperCase();
    case 6:
      return s + s;
    case 7:
      return s.slice(0, i) + randomString(rng, rng.size(64)) + s.slice(i);
    case 8:
      return rng.pick(WEIRD_STRINGS);
    case 9:
      return s.repeat(rng.pick([10, 100, 1000])).slice(0, 200_000);
    default:
      return s.slice(0, i) + s.slice(i + 1);
  }
}

type Container = Json[] | { [key: string]: Json };

/** Every (container, key) pair in a value, parents first. */
function slots(v: Json, out: [Container, string | number][] = [], depth = 0): [Container, string | number][] {
  if (depth > 20) return out;
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), slots(x, out, depth + 1)));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) out.push([v, k]), slots(v[k]!, out, depth + 1);
  return out;
}

/** A mutated deep copy of a JSON message. `base64Pool` holds base64 values to swap in. */
export function mutateJson(rng: Rng, msg: Json, base64Pool: readonly string[] = []): Json {
  const root: Json = structuredClone(msg);
  if (rng.chance(0.03)) return randomJson(rng);
  const n = 1 + rng.size(3);
  for (let step = 0; step < n; step++) {
    const all = slots(root);
    if (all.length === 0) return randomJson(rng);
    const [container, key] = rng.pick(all);
    const get = (): Json => (Array.isArray(container) ? container[key as number]! : container[key as string]!);
    const set = (v: Json): void => {
      if (Array.isArray(container)) container[key as number] = v;
      else container[key as string] = v;
    };
    const op = rng.int(10);
    const cur = get();
    if (op === 0) {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
    } else if (op === 1) set(randomJson(rng));
    else if (op <= 4 && typeof cur === 'string') set(mutateString(rng, cur));
    else if (op === 5 && base64Pool.length) set(rng.pick(base64Pool));
    else if (op === 6 && !Array.isArray(container)) container[rng.pick(['extra', 'header', 'statusCodeData', 'eid', 'iccid', 'smdsAddress', 'unknownField'])] = randomJson(rng);
    else if (op === 7) set(rng.pick<Json>([null, true, 0, '', [], {}, [cur], { value: cur }]));
    else if (op === 8 && typeof cur === 'string') set(Number(cur.length));
    else set(rng.pick(WEIRD_STRINGS));
  }
  return root;
}

/** Text-level damage of serialised JSON (what a broken client or proxy sends). */
export function mutateJsonText(rng: Rng, text: string): string {
  const op = rng.int(8);
  const i = text.length ? rng.int(text.length) : 0;
  switch (op) {
    case 0:
      return text.slice(0, i);
    case 1:
      return text.slice(0, i) + rng.pick(['"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', 'NaN', 'Infinity', "'"]) + text.slice(i);
    case 2:
      return text.slice(0, i) + text.slice(i + 1);
    case 3:
      return rng.pick(['', ' ', 'null', 'true', '0', '"string"', '[]', '{}', '{"header":null}', '\ufeff{}', '[' .repeat(100_000), '{"a":'.repeat(50_000)]);
    case 4:
      return text + rng.pick(['}', ']', ',', ' x', '\n{}']);
    case 5:
      return text.replace(/"/g, "'");
    case 6:
      return Buffer.from(text, 'utf8').toString('latin1');
    default:
      return text.slice(0, i) + randomString(rng, rng.size(32)) + text.slice(i);
  }
}
