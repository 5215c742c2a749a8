/** Errors in env files: where (file, line:column, field path), what is wrong, what was expected. */
import { Lang, render, Text, tr } from "./messages";
import { oneLine } from "./terminal-text";

/** A message as it is written: plain English, or translatable (core/messages.ts). */
export type Msg = string | Text;

export interface ConfigIssue {
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
  /** JSON-pointer-like field path, e.g. /sites/1/bgpAsn ("/" for the whole file) */
  readonly path: string;
  readonly message: string;
  readonly expected?: string;
  /** the likely intended value or key */
  readonly suggestion?: string;
  /** message and expected as written, for showing them in another language (`message`/`expected` are English) */
  readonly text?: { readonly message: Msg; readonly expected?: Msg };
}

/** An issue from a translatable message: English in `message`/`expected`, the original kept in `text`. */
export function toIssue(d: { file: string; line: number; column: number; path: string; message: Msg; expected?: Msg; suggestion?: string }): ConfigIssue {
  return {
    file: d.file,
    line: d.line,
    column: d.column,
    path: d.path,
    message: render(d.message),
    expected: d.expected === undefined ? undefined : render(d.expected),
    suggestion: d.suggestion,
    text: { message: d.message, expected: d.expected },
  };
}

/** One issue on one line, safe to print: whatever a file's keys or values hold is escaped (core/terminal-text.ts). */
export function formatIssue(i: ConfigIssue): string {
  return formatIssueIn(i, "en");
}

/** The same line in another language: file, line:column and field path are the same in every language. */
export function formatIssueIn(i: ConfigIssue, lang: Lang): string {
  const message = lang === "en" || !i.text ? i.message : render(i.text.message, lang);
  const expected = lang === "en" || !i.text ? i.expected : i.text.expected === undefined ? undefined : render(i.text.expected, lang);
  let text = `${i.file}:${i.line}:${i.column}: ${cut(i.path, 200)}: ${cut(message, 600)}`;
  if (expected) text += render(tr`; expected ${cut(expected, 600)}`, lang);
  if (i.suggestion) text += render(tr`; did you mean '${cut(i.suggestion, 100)}'?`, lang);
  return oneLine(text);
}

/** A message may quote what the file holds: a 50 MB value is shown by its start and length, not echoed whole. */
function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…(${s.length} characters)` : s;
}

/** Thrown when any env file is invalid; carries every issue of every file. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`${issues.length} error(s) in municipality config:\n` + issues.map((i) => `  ${formatIssue(i)}`).join("\n"));
    this.name = "ConfigError";
  }
}

/** The closest candidate to `word` by edit distance, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // Loaded lazily: only error paths need it.
  const { distance } = require("fastest-levenshtein") as typeof import("fastest-levenshtein");
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
