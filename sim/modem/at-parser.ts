// AT command-line parser (ITU-T V.250 5.2-5.4, 3GPP TS 27.007 4.1): a line starts
// with "AT" in any case, spaces outside quoted strings are ignored, basic commands
// (E0, I, Z, &F...) may follow each other directly, extended commands (+NAME, also
// vendor prefixes ! $ % # ^ *) take the forms NAME, NAME?, NAME=? and NAME=<args>
// and are separated by ';'. Quoted strings keep their case and accept \HH escapes.

export type AtCommandKind = 'exec' | 'read' | 'test' | 'set';

export interface AtArg {
  /** 'string': was quoted; 'token': unquoted number or word (upper-cased); 'empty': omitted */
  kind: 'string' | 'token' | 'empty';
  text: string;
}

export interface AtCommand {
  /** upper case: 'E', 'I', '&F', 'S0', '+CGLA', '!ICCID' */
  name: string;
  kind: AtCommandKind;
  /** basic commands: the number after the letter (E1 -> 1), undefined when absent */
  value?: number;
  args: AtArg[];
}

export type ParseResult = { ok: true; commands: AtCommand[] } | { ok: false; error: string; position: number };

/** Index just after the first "AT" (any case) in the line, or -1. */
export function findAtPrefix(line: string): number {
  const i = line.search(/at/i);
  return i < 0 ? -1 : i + 2;
}

const EXT_PREFIX = /[+!$%#^*]/;
const EXT_NAME_CHAR = /[A-Z0-9!%\-./:_]/;

/** Remove spaces outside quotes and upper-case outside quotes; null on an unterminated string. */
function normalize(body: string): { text: string; quoteError: number } {
  let out = '';
  let inQuote = false;
  let quoteStart = -1;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c === '"') {
      inQuote = !inQuote;
      if (inQuote) quoteStart = i;
      out += c;
    } else if (inQuote) out += c;
    else if (c !== ' ' && c !== '\t') out += c.toUpperCase();
  }
  return { text: out, quoteError: inQuote ? quoteStart : -1 };
}

/** Parse what follows "AT" on a command line. */
export function parseCommandLine(body: string): ParseResult {
  const { text, quoteError } = normalize(body);
  if (quoteError >= 0) return { ok: false, error: 'unterminated quoted string', position: quoteError };
  const commands: AtCommand[] = [];
  let i = 0;
  const fail = (error: string): ParseResult => ({ ok: false, error, position: i });
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ';') {
      i++;
      continue;
    }
    if (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) > 0x7e) return fail(`control or non-ASCII character 0x${c.charCodeAt(0).toString(16)}`);
    if (EXT_PREFIX.test(c)) {
      let j = i + 1;
      while (j < text.length && EXT_NAME_CHAR.test(text[j] as string)) j++;
      if (j === i + 1) return fail(`empty extended command name after '${c}'`);
      const name = text.slice(i, j);
      i = j;
      if (text.startsWith('=?', i)) {
        i += 2;
        commands.push({ name, kind: 'test', args: [] });
      } else if (text[i] === '?') {
        i++;
        commands.push({ name, kind: 'read', args: [] });
      } else if (text[i] === '=') {
        i++;
        const start = i;
        let inQuote = false;
        while (i < text.length && (inQuote || text[i] !== ';')) {
          if (text[i] === '"') inQuote = !inQuote;
          i++;
        }
        const args = parseArgs(text.slice(start, i));
        if (typeof args === 'string') {
          i = start;
          return fail(args);
        }
        commands.push({ name, kind: 'set', args });
      } else {
        commands.push({ name, kind: 'exec', args: [] });
      }
      if (i < text.length && text[i] !== ';') return fail(`unexpected '${text[i]}' after ${name}`);
      continue;
    }
    if (c === '&' || /[A-Z]/.test(c)) {
      let name = c;
      i++;
      if (c === '&') {
        if (!/[A-Z]/.test(text[i] ?? '')) return fail("'&' must be followed by a letter");
        name += text[i];
        i++;
      } else if (c === 'D') {
        // dial: the rest of the line is the dial string
        commands.push({ name: 'D', kind: 'exec', args: [{ kind: 'token', text: text.slice(i) }] });
        i = text.length;
        continue;
      } else if (c === 'S') {
        let j = i;
        while (j < text.length && /[0-9]/.test(text[j] as string)) j++;
        if (j === i) return fail('S must be followed by a register number');
        name += text.slice(i, j);
        i = j;
        if (text[i] === '?') {
          i++;
          commands.push({ name, kind: 'read', args: [] });
        } else if (text[i] === '=') {
          i++;
          let k = i;
          while (k < text.length && /[0-9]/.test(text[k] as string)) k++;
          commands.push({ name, kind: 'set', args: [{ kind: k > i ? 'token' : 'empty', text: text.slice(i, k) }] });
          i = k;
        } else return fail(`S-register ${name} needs '?' or '='`);
        continue;
      }
      let j = i;
      while (j < text.length && /[0-9]/.test(text[j] as string)) j++;
      const cmd: AtCommand = { name, kind: 'exec', args: [] };
      if (j > i) cmd.value = Number(text.slice(i, j));
      commands.push(cmd);
      i = j;
      continue;
    }
    return fail(`unexpected '${c}'`);
  }
  return { ok: true, commands };
}

/** Split `a,"b,c",,d` into arguments; returns an error message on bad syntax. */
function parseArgs(s: string): AtArg[] | string {
  const args: AtArg[] = [];
  let i = 0;
  for (;;) {
    if (s[i] === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) return 'unterminated quoted string';
      const unescaped = unescape(s.slice(i + 1, end));
      if (unescaped === null) return 'bad \\HH escape in quoted string';
      args.push({ kind: 'string', text: unescaped });
      i = end + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== ',') j++;
      const tok = s.slice(i, j);
      if (tok.includes('"')) return 'quote inside an unquoted parameter';
      if (tok && !/^[A-Z0-9_.+\-]+$/.test(tok)) return `bad parameter '${tok}'`;
      args.push(tok ? { kind: 'token', text: tok } : { kind: 'empty', text: '' });
      i = j;
    }
    if (i >= s.length) break;
    if (s[i] !== ',') return `expected ',' after parameter ${args.length}`;
    i++;
    if (i >= s.length) {
      args.push({ kind: 'empty', text: '' });
      break;
    }
  }
  return args;
}

function unescape(s: string): string | null {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out += s[i];
      continue;
    }
    const hh = s.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hh)) return null;
    out += String.fromCharCode(parseInt(hh, 16));
    i += 2;
  }
  return out;
}

/** Integer value of a token argument (decimal), or undefined when absent/not a number. */
export function argInt(arg: AtArg | undefined): number | undefined {
  if (!arg || arg.kind !== 'token' || !/^\d{1,9}$/.test(arg.text)) return undefined;
  return Number(arg.text);
}
