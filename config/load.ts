/**
 * Reads env/<id>.yaml files: YAML syntax, then the JSON Schema (unknown keys are errors), then the semantic
 * checks; every issue of every file is collected and located (file, line:column, field path) before anything
 * is returned, so a caller either gets all configs or writes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import type { ErrorObject, ValidateFunction } from "ajv";
import { Document, isMap, isPair, isScalar, Node, YAMLError } from "yaml";
import { SaasCatalog } from "../catalog/saas-catalog";
import { deployabilityProblems } from "../stacks/allowlist";
import { composeDocument, documentProblems, displayPath, emptyDirectoryIssue, listEnvDirectory, parseText, readEnvText, shownValue, textProblems, textShapeProblems } from "./env-input";
import { escapeForTerminal } from "../core/terminal-text";
import { closest, ConfigError, ConfigIssue, toIssue } from "../core/errors";
import { render, Text, tr } from "../core/messages";
import { defaultEnvDir, SCHEMA_PATH } from "../core/paths";
import { compileEnvValidator, prebuiltEnvValidator } from "./prebuilt";
import { recordSourceBytes } from "./source-bytes";
import { FieldProblem, normalizeHostName, normalizeHostPort, semanticProblems, crossFileProblems } from "./semantic";
import type { MunicipalityConfig, MunicipalityFile } from "./types";

let validator: ValidateFunction | undefined;

/** The env schema's validator: the one compiled at build time when it matches the schema, else compiled now. */
function compiledValidator(): ValidateFunction {
  if (!validator) {
    const text = fs.readFileSync(SCHEMA_PATH, "utf8");
    validator = prebuiltEnvValidator(text) ?? compileEnvValidator(JSON.parse(text)).validate;
  }
  return validator;
}

/**
 * The env files in a directory: every *.yaml / *.yml, sorted by name. A directory with none, a misnamed env file
 * or one id in two files is a ConfigError (config/env-input.ts).
 */
export function envFiles(dir = defaultEnvDir()): string[] {
  const listing = listEnvDirectory(dir);
  if (listing.issues.length) throw new ConfigError(listing.issues);
  if (listing.files.length === 0) throw new ConfigError([emptyDirectoryIssue(dir)]);
  return listing.files;
}

export interface LoadResult {
  readonly configs: MunicipalityConfig[];
  readonly issues: ConfigIssue[];
}

/** Loads files and reports every issue; never throws for bad input. */
export function loadFiles(files: readonly string[], catalog = SaasCatalog.default()): LoadResult {
  const configs: MunicipalityConfig[] = [];
  const issues: ConfigIssue[] = [];
  const located: { config: MunicipalityConfig; locate: Locator }[] = [];
  for (const file of files) {
    const r = loadOne(file, catalog);
    issues.push(...r.issues);
    if (r.config && r.issues.length === 0) {
      configs.push(r.config);
      located.push({ config: r.config, locate: r.locate! });
    }
  }
  for (const p of crossFileProblems(located.map((l) => l.config))) {
    const l = located[p.index];
    issues.push(l.locate(p.problem));
  }
  return { configs: issues.length ? [] : configs, issues };
}

/**
 * Validates the named files as `validate` with no arguments would judge them: each is loaded together with the
 * other env files of its directory, so the cross-file rules (one file per local government code, unique ids) apply
 * to a file named alone. Only the named files' issues are returned: a broken neighbour is its own validate's business.
 * The named files load last, so a clash is reported on them ("… is also used by <neighbour>").
 */
export function loadNamedFiles(files: readonly string[], catalog = SaasCatalog.default()): LoadResult {
  const named = new Set(files.map((f) => path.resolve(f)));
  const dirs = [...new Set([...named].map((f) => path.dirname(f)))];
  const neighbours = dirs.flatMap((d) => (fs.existsSync(d) ? listEnvDirectory(d).files : []).map((f) => path.resolve(f)).filter((f) => !named.has(f)));
  const r = loadFiles([...neighbours, ...named], catalog);
  const shown = new Set([...named].map(displayPath));
  const issues = r.issues.filter((i) => shown.has(i.file));
  // the configs come from the named files alone: a neighbour's issue empties the combined result
  return { configs: issues.length ? [] : loadFiles([...named], catalog).configs, issues };
}

/** Loads files or throws a ConfigError holding every issue. */
export function loadOrThrow(files: readonly string[], catalog?: SaasCatalog): MunicipalityConfig[] {
  const r = loadFiles(files, catalog);
  if (r.issues.length) throw new ConfigError(r.issues);
  return r.configs;
}

type Locator = (p: FieldProblem) => ConfigIssue;

/**
 * What the YAML parser's most common complaints mean for someone editing an env file, in their language (the
 * parser's own words follow in parentheses, as they name the construct exactly).
 */
const YAML_HINTS: Partial<Record<YAMLError["code"], Text>> = {
  TAB_AS_INDENT: tr`a tab is used to indent; YAML indents with spaces`,
  BAD_INDENT: tr`the indentation does not line up`,
  MISSING_CHAR: tr`a character is missing: a ':' after a key, or a closing quote or bracket`,
  MULTIPLE_DOCS: tr`an env file holds one document; remove the '---' line`,
  BLOCK_AS_IMPLICIT_KEY: tr`a list or mapping stands where a key should be; check the indentation and the ':' above`,
  // what a line missing its ':' looks like to the parser
  MULTILINE_IMPLICIT_KEY: tr`a key must be on one line; is a ':' missing?`,
  BAD_DQ_ESCAPE: tr`an unknown escape in a double-quoted string; put text with backslashes in single quotes`,
  UNEXPECTED_TOKEN: tr`an unexpected character here`,
  BAD_SCALAR_START: tr`a value cannot start with this character unless it is quoted`,
  BLOCK_IN_FLOW: tr`an indented block inside [ ] or { }`,
  MULTIPLE_ANCHORS: tr`anchors and tags are not used in env files`,
  MULTIPLE_TAGS: tr`anchors and tags are not used in env files`,
};

function loadOne(file: string, catalog: SaasCatalog): { config?: MunicipalityConfig; issues: ConfigIssue[]; locate?: Locator } {
  // worked out for a message only (path.relative is not free, and most files have none)
  let shownPath: string | undefined;
  const shown = () => (shownPath ??= displayPath(file));
  const read = readEnvText(file);
  if ("issue" in read) return { issues: [read.issue] };
  const text = read.text;
  // parsed once: the shape checks read the parser's tokens, and the document is built from the same tokens
  const parsed = parseText(text);
  const shape = textShapeProblems(text, file, parsed);
  if (shape.length) return { issues: shape };
  const lineCounter = parsed.lineCounter;
  const doc = composeDocument(parsed, { uniqueKeys: false /* checked in documentProblems: the library's check is quadratic */, prettyErrors: false });
  if (doc.errors.length) {
    return {
      issues: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const said = e.message.split("\n")[0];
        const hint = YAML_HINTS[e.code];
        return toIssue({ file: shown(), line: pos.line, column: pos.col, path: "/", message: hint ? tr`YAML syntax: ${hint} (${said})` : tr`YAML syntax: ${said}` });
      }),
    };
  }
  // tags, anchors, aliases and key floods are refused per file, before any value is built from the document
  const structural = documentProblems(doc, lineCounter, file);
  if (structural.length) return { issues: structural };
  const locate: Locator = (p) => {
    const offset = nodeOffset(doc, p.path, p.atKey ?? false);
    const pos = lineCounter.linePos(offset);
    return toIssue({ file: shown(), line: pos.line, column: pos.col, path: pointer(p.path), message: p.message, expected: p.expected, suggestion: p.suggestion });
  };
  const data = doc.toJS({ maxAliasCount: 0 }) as unknown;
  const validate = compiledValidator();
  const problems: FieldProblem[] = [...textProblems(data)];
  if (!validate(data)) problems.push(...schemaProblems(validate.errors ?? []));
  // Semantic checks read defensively, so a file with a schema error still gets every other problem reported.
  if (data && typeof data === "object" && !Array.isArray(data)) {
    problems.push(...semanticProblems(data as Partial<MunicipalityFile>, file, catalog));
  }
  if (problems.length) return { issues: dedupe(problems).map(locate) };
  const config = resolve(data as MunicipalityFile, file);
  // what synth or Terraform would refuse of a config that is valid field by field
  const refused = deployabilityProblems(config, catalog);
  if (refused.length) return { issues: refused.map(locate) };
  recordSourceBytes(config, read.bytes);
  return { config, issues: [], locate };
}

function dedupe(problems: FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${pointer(p.path)}|${render(p.message)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Defaults that depend on other fields (the schema's static defaults are already applied by ajv). */
function resolve(f: MunicipalityFile, file: string): MunicipalityConfig {
  return {
    ...f,
    network: {
      ...f.network,
      awsSideAsn: f.network.awsSideAsn ?? 64512,
      dnsServers: f.network.dnsServers ?? [...f.network.lgwanSegments],
    },
    remoteAccess: f.remoteAccess
      ? {
          ...f.remoteAccess,
          internetBreakout: f.remoteAccess.internetBreakout ?? true,
          sessionTimeoutHours: f.remoteAccess.sessionTimeoutHours ?? 8,
          loginBanner: f.remoteAccess.loginBanner!,
        }
      : undefined,
    breakout: {
      saas: f.breakout.saas,
      // names are normalised here, once, so firewall, DNS firewall, PAC and proxy all write the same name
      extraDomains: (f.breakout.extraDomains ?? []).map(normalizeHostName),
      publicHostingWaivers: (f.breakout.publicHostingWaivers ?? []).map((w) => ({ ...w, domain: normalizeHostName(w.domain) })),
      tenants: f.breakout.tenants ?? {},
      tenantWaivers: f.breakout.tenantWaivers ?? [],
      interceptionCa: f.breakout.interceptionCa,
      sanitization: f.breakout.sanitization
        ? {
            ...f.breakout.sanitization,
            maxFileSizeMb: f.breakout.sanitization.maxFileSizeMb ?? 100,
            largerFiles: f.breakout.sanitization.largerFiles ?? "block",
            signatureMaxAgeHours: f.breakout.sanitization.signatureMaxAgeHours ?? 48,
            blockedPerHourAlarm: f.breakout.sanitization.blockedPerHourAlarm ?? 20,
          }
        : undefined,
    },
    relay: (f.relay ?? []).map((r) => ({ ...r, target: normalizeHostPort(r.target) })),
    suppressions: f.suppressions ?? [],
    logging: {
      retentionDays: f.logging?.retentionDays ?? 365,
      objectLockMode: f.logging?.objectLockMode ?? "governance",
      transitionAfterDays: f.logging?.transitionAfterDays ?? 90,
    },
    sourceFile: file,
  };
}

/** A key as a message may show it: terminal-safe and short (a hostile file may use a 50 MB key). */
function shownKey(key: string): string {
  const s = escapeForTerminal(key);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function pointer(p: readonly (string | number)[]): string {
  return p.length ? "/" + p.join("/") : "/";
}

function parsePointer(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function schemaProblems(errors: ErrorObject[]): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const e of errors) {
    const at = parsePointer(e.instancePath);
    const parent = e.parentSchema as { properties?: Record<string, unknown>; description?: string; enum?: unknown[] } | undefined;
    switch (e.keyword) {
      case "additionalProperties": {
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys(parent?.properties ?? {});
        out.push({
          path: [...at, key],
          atKey: true,
          message: tr`unknown key '${shownKey(key)}'`,
          expected: tr`one of ${known.join(", ")}`,
          suggestion: key.length <= 64 ? closest(key, known) : undefined,
        });
        break;
      }
      case "required": {
        const key = (e.params as { missingProperty: string }).missingProperty;
        out.push({ path: at, message: tr`missing required key '${key}'` });
        break;
      }
      case "enum": {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
        out.push({
          path: at,
          message: tr`${shownValue(e.data)} is not allowed`,
          expected: tr`one of ${allowed.join(", ")}`,
          suggestion: typeof e.data === "string" && e.data.length <= 64 ? closest(e.data, allowed) : undefined,
        });
        break;
      }
      case "pattern": {
        const examples = (parent as { examples?: unknown[] } | undefined)?.examples;
        const pattern = (e.params as { pattern: string }).pattern;
        out.push({ path: at, message: tr`${shownValue(e.data)} has the wrong form`, expected: examples?.length ? tr`a string matching ${pattern}, such as ${JSON.stringify(examples[0])}` : tr`a string matching ${pattern}` });
        break;
      }
      case "format":
        out.push({ path: at, message: tr`${shownValue(e.data)} is not a valid ${(e.params as { format: string }).format}`, expected: tr`a valid ${(e.params as { format: string }).format}` });
        break;
      case "type":
        out.push({ path: at, message: tr`${shownValue(e.data)} has the wrong type`, expected: (e.params as { type: string }).type });
        break;
      case "minimum":
      case "maximum":
      case "minLength":
      case "maxLength":
      case "minItems":
      case "maxItems": {
        const { limit } = e.params as { limit: number };
        const got = Array.isArray(e.data) ? e.data.length : typeof e.data === "string" ? e.data.length : shownValue(e.data);
        const msg = {
          minimum: tr`must be >= ${limit} (got ${got})`,
          maximum: tr`must be <= ${limit} (got ${got})`,
          minLength: tr`must be at least ${limit} characters long (got ${got})`,
          maxLength: tr`must be at most ${limit} characters long (got ${got})`,
          minItems: tr`must have at least ${limit} items (got ${got})`,
          maxItems: tr`must have at most ${limit} items (got ${got})`,
        }[e.keyword];
        out.push({ path: at, message: msg });
        break;
      }
      case "uniqueItems": {
        const { i, j } = e.params as { i: number; j: number };
        out.push({ path: at, message: tr`items ${j} and ${i} are the same`, expected: tr`each item once` });
        break;
      }
      default:
        // a keyword the schema does not use today: ajv's own English words
        out.push({ path: at, message: tr`does not match the schema (${e.keyword}): ${e.message ?? "invalid"}${e.data !== undefined && typeof e.data !== "object" ? ` (got ${shownValue(e.data)})` : ""}` });
    }
  }
  return out;
}

/** Offset of the node at `p` (its key when atKey); falls back to the nearest existing parent. */
function nodeOffset(doc: Document, p: readonly (string | number)[], atKey: boolean): number {
  for (let n = p.length; n >= 0; n--) {
    const prefix = p.slice(0, n);
    if (atKey && n === p.length && n > 0) {
      const parentNode = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : doc.contents;
      if (isMap(parentNode)) {
        const pair = parentNode.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(prefix[prefix.length - 1]));
        const key = pair?.key as Node | undefined;
        if (key?.range) return key.range[0];
      }
      continue;
    }
    const node = (n === 0 ? doc.contents : doc.getIn(prefix, true)) as Node | null | undefined;
    if (node && node.range) return node.range[0];
  }
  return 0;
}
