// `bridgelab decode`: SGP.22 DER (hex, base64, PEM-less binary file or stdin) to
// JSON on stdout, with the message type detected from the top-level tag or given
// with --type; and `--ac` for activation codes (SGP.22 4.1). Bad input is one line
// on stderr naming what is wrong and where (offset, tag), exit 2.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { DerError } from '../sim/rsp/der.ts';
import { detectByTag, messages, resultNames, toJson } from '../sim/rsp/registry.ts';
import { ActivationCodeError, parseActivationCode } from '../sim/rsp/activation-code.ts';
import { hexToBytes, HexError } from '../sim/bytes.ts';

const HELP = `usage: bridgelab decode [--type NAME] [--lenient] [--compact] <hex | base64 | FILE | ->
       bridgelab decode --ac 'LPA:1$<SM-DP+ address>$<matching ID>[$<OID>[$1]]'
       bridgelab decode --list-types

Decodes one SGP.22 DER message to JSON. The type is detected from the top-level
tag (ES10 responses are preferred over requests that share a tag, except when the
contents are empty); --type forces one (see --list-types). Input is strict DER
unless --lenient. FILE may hold raw DER, hex or base64; '-' reads stdin.`;

const HEX = /^[0-9a-fA-F\s]+$/;
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;

/** Turn the user's argument into DER bytes; a text that is neither hex nor base64 is a usage error. */
export function inputBytes(arg: string, readStdin: () => Buffer = () => readFileSync(0)): Uint8Array {
  let raw: Buffer | undefined;
  let source = 'argument';
  if (arg === '-') {
    raw = readStdin();
    source = 'stdin';
  } else if (existsSync(arg) && statSync(arg).isFile()) {
    raw = readFileSync(arg);
    source = arg;
  }
  if (raw) {
    const text = raw.toString('latin1').trim();
    // A file or stdin holding text is read as hex or base64; anything else is binary DER.
    if (text.length > 0 && HEX.test(text) && text.replace(/\s+/g, '').length % 2 === 0) return hexToBytes(text);
    if (text.length > 0 && BASE64.test(text) && !/[\x00-\x08\x0e-\x1f\x7f-\xff]/.test(raw.toString('latin1'))) return new Uint8Array(Buffer.from(text, 'base64'));
    if (raw.byteLength === 0) throw new UsageError(`${source} is empty`);
    return new Uint8Array(raw);
  }
  const text = arg.trim();
  if (text.length === 0) throw new UsageError('empty input');
  if (HEX.test(text)) {
    try {
      return hexToBytes(text);
    } catch (err) {
      throw new UsageError(`input is not valid hex: ${(err as HexError).message}`);
    }
  }
  if (BASE64.test(text) && text.replace(/\s+/g, '').length % 4 === 0) return new Uint8Array(Buffer.from(text, 'base64'));
  throw new UsageError(`input is neither a file, hex nor base64: '${text.length > 40 ? `${text.slice(0, 40)}...` : text}'`);
}

export async function decodeCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        type: { type: 'string' },
        ac: { type: 'string' },
        lenient: { type: 'boolean' },
        compact: { type: 'boolean' },
        'list-types': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${HELP}`);
  }
  const { values, positionals } = parsed;
  const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, values.compact ? undefined : 2)}\n`);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values['list-types']) {
    for (const m of messages) process.stdout.write(`${m.name}\t${m.iface}\t${m.role}\n`);
    return 0;
  }
  if (values.ac !== undefined) {
    if (positionals.length) throw new UsageError('--ac takes the activation code as its value and no other argument');
    try {
      print({ type: 'ActivationCode', value: parseActivationCode(values.ac) });
    } catch (err) {
      if (err instanceof ActivationCodeError) throw new UsageError(`invalid activation code: ${err.message}`);
      throw err;
    }
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected exactly one input\n${HELP}`);
  const bytes = inputBytes(positionals[0]!);
  try {
    const det = detectByTag(bytes, { ...(values.type ? { type: values.type } : {}), der: !values.lenient });
    const results = resultNames(det.name, det.value);
    print({
      type: det.name,
      interface: det.info.iface,
      ...(det.candidates.length > 1 ? { alsoPossible: det.candidates.filter((c) => c !== det.name) } : {}),
      ...(Object.keys(results).length ? { results } : {}),
      value: toJson(det.value),
    });
    return 0;
  } catch (err) {
    if (err instanceof DerError) throw new UsageError(`cannot decode: ${err.describe()}`);
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}
