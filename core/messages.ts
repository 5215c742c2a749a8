/**
 * Messages in English and Japanese. A message is written once, in English, with the `tr` tag; its key is the
 * English text with `{0}`, `{1}`… where the values go (gettext's msgid, in effect), and `messages-ja.ts` maps keys to
 * Japanese. A test reads every `tr` template in the sources with the TypeScript parser and fails on a key without a
 * translation, or a translation whose key no longer exists, so the two cannot drift.
 */
import { JA } from "./messages-ja";

export type Lang = "en" | "ja";
export const LANGS: readonly Lang[] = ["en", "ja"];

/** A message that can be shown in either language; values may be messages themselves. */
export interface Text {
  readonly key: string;
  readonly args: readonly unknown[];
}

export function isText(v: unknown): v is Text {
  return typeof v === "object" && v !== null && typeof (v as Text).key === "string" && Array.isArray((v as Text).args);
}

/** Tag for a translatable message: tr`${n} error(s) in ${m} file(s)` has the key "{0} error(s) in {1} file(s)". */
export function tr(strings: TemplateStringsArray, ...args: unknown[]): Text {
  return { key: keyOf(strings), args };
}

/** The key of a template's static parts (exported for the completeness test, which builds keys from the sources). */
export function keyOf(parts: readonly string[]): string {
  return parts.reduce((key, part, i) => (i === 0 ? part : `${key}{${i - 1}}${part}`), "");
}

/** Text in a language; English is the key with its values; a key missing from a catalog falls back to English. */
export function render(text: Text | string, lang: Lang = "en"): string {
  if (typeof text === "string") {
    const known = lang === "en" ? undefined : PHRASES.get(text);
    return known ? render(known, lang) : text;
  }
  const template = lang === "ja" && Object.hasOwn(JA, text.key) ? JA[text.key] : text.key;
  return template.replace(/\{(\d+)\}/g, (_: string, i: string) => {
    const v = text.args[Number(i)];
    return isText(v) ? render(v, lang) : typeof v === "string" && PHRASES.has(v) ? render(PHRASES.get(v)!, lang) : String(v);
  });
}

/**
 * Short reasons that helpers return as plain strings (parseCidr's "not a valid IPv4 CIDR", callers test
 * `typeof r === "string"`): `phrase` returns the English and remembers the message, so a message that quotes the
 * reason shows it in the reader's language too. Bounded, as reasons may quote file content.
 */
const PHRASES = new Map<string, Text>();
const MAX_PHRASES = 4096;

export function phrase(text: Text): string {
  const en = render(text);
  if (PHRASES.size >= MAX_PHRASES) PHRASES.clear();
  PHRASES.set(en, text);
  return en;
}

/**
 * The language to speak: an explicit choice (--lang), else the POSIX locale variables in their order of precedence
 * (LC_ALL, LC_MESSAGES, LANG; the first one set decides), else English.
 */
export function chooseLang(explicit?: string, env: NodeJS.ProcessEnv = process.env): Lang {
  if (explicit !== undefined) {
    if (!(LANGS as readonly string[]).includes(explicit)) throw new Error(`--lang ${explicit}: expected one of ${LANGS.join(", ")}`);
    return explicit as Lang;
  }
  for (const name of ["LC_ALL", "LC_MESSAGES", "LANG"]) {
    const v = env[name];
    if (v) return /^ja([_.@-]|$)/i.test(v) ? "ja" : "en";
  }
  return "en";
}
