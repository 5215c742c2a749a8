/**
 * Text for a terminal or a line-oriented report. Input (an env file, or a hand-edited cdktf.out read by `check` and
 * `diff`) must not move the cursor, recolour the screen, reorder text or forge report lines: control characters
 * (but newline and tab), C1 controls, line separators and bidirectional overrides become visible \u escapes.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeForTerminal(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}

/** One field of a one-line-per-item report: newlines and tabs escaped too. */
export function oneLine(s: string): string {
  return escapeForTerminal(s).replace(/\n/g, "\\n").replace(/\t/g, "\\t");
}

/** A value as a message may show it: JSON-quoted, control characters escaped, long values cut (input may be 4 KB). */
export function shownValue(v: unknown, max = 60): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  s = escapeForTerminal(s);
  return s.length > max ? `${s.slice(0, max)}…(${s.length} characters)` : s;
}

/** Text as a message may quote it: one line, escaped, cut to `max` characters. */
export function shortText(s: string, max = 60): string {
  const t = oneLine(s);
  return t.length > max ? `${t.slice(0, max)}…` : t;
}
