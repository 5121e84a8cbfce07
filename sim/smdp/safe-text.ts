// Untrusted text on its way into a log line or a response message (SGP.22 6.5.1.4
// statusCodeData.message): control characters are escaped, so a request field cannot
// forge log lines or terminal escapes, and long text is cut, so a megabyte-long field is
// not echoed back whole.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g;

function escape(c: string): string {
  if (c === '\\') return '\\\\';
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with control characters escaped and cut to `max` characters ("...(N chars)" marks a cut). */
export function safeText(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}...(${text.length} chars)` : text;
  return cut.replace(UNSAFE, escape);
}

/** Longest log line the SM-DP+ writes (characters, before escaping). */
export const MAX_LOG_LINE = 1000;
/** Longest statusCodeData.message the SM-DP+ answers with. */
export const MAX_RESPONSE_MESSAGE = 256;
