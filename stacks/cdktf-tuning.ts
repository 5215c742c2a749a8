/**
 * Synthesis speed, in one known place (so a move to CDK Terrain stays cheap). The measures below, each proven by tests
 * to leave the output unchanged, each falling back to plain cdktf behaviour where its precondition does not hold:
 *
 * - token stack traces off (applySynthTuning): cdktf records a stack trace for every token it creates; on
 *   large apps that is a third or more of synth CPU and a large share of memory, and nothing we ship reads them
 *   (hashicorp/terraform-cdk#3892; the CDK Terrain fork added CDKTN_DISABLE_CREATION_STACK for it);
 * - the zip library cdktf loads at start-up for file assets is loaded on first use (deferArchiverLoad);
 * - cdk.tf.json and manifest.json are written by a faster writer of the same bytes (useFasterJsonWriter), a stack's
 *   cdk.tf.json as UTF-8 made in pieces rather than as one string (writeAsBytesOnce);
 * - one resolve per stack, and cdktf's resolver only where a token may be (toTerraformResolvedOnce,
 *   resolveAroundPlainValues): about half of each stack's synthesis;
 * - the policy pack visits the stack as the first step of its synthesis instead of as an aspect
 *   (visitFirstInSynthesis);
 * - cdktf's makeUniqueId and keysToSnakeCase remember their answers per process (rememberPureNaming).
 */
// cdktf is required where used, not imported: this module must run before cdktf's index loads (deferArchiverLoad).
import type { IConstruct } from "constructs";
import type * as Cdktf from "cdktf";
import { remembered } from "../core/remembered";

let loaded: typeof Cdktf | undefined;
function cdktf(): typeof Cdktf {
  return (loaded ??= require("cdktf") as typeof Cdktf);
}

let applied = false;

/**
 * ALPHA_PRIME_PLAIN_CDKTF=1 turns every synthesis tuning off (the measures above and the two MunicipalityStack overrides):
 * plain cdktf behaviour, for debugging token errors and as the benchmark's naive baseline. Output is identical.
 */
export function synthTuningEnabled(): boolean {
  return process.env.ALPHA_PRIME_PLAIN_CDKTF !== "1";
}

/**
 * The file cdktf would load for one of its own dependencies, when no one has loaded it yet (a module already loaded
 * is held by whoever loaded it, so a stand-in would change nothing); undefined otherwise.
 */
function cdktfDependencyNotYetLoaded(name: string): string | undefined {
  let id: string;
  try {
    id = require.resolve(name, { paths: [require("path").dirname(require.resolve("cdktf"))] });
  } catch {
    return undefined;
  }
  return require.cache[id] ? undefined : id;
}

/**
 * cdktf's index loads `archiver` (a zip library, 120-230 ms) at start-up for file assets, which no alpha-prime stack
 * uses; `cdktf deploy <id>` pays for it on every run. A stand-in in the require cache loads the real module on
 * first use, so assets would still work.
 */
function deferArchiverLoad(): void {
  const id = cdktfDependencyNotYetLoaded("archiver");
  if (!id) return;
  let real: any;
  const load = () => {
    if (!real) {
      delete require.cache[id];
      real = require(id);
    }
    return real;
  };
  const standIn = new Proxy(function archiver() {}, {
    apply: (_target, thisArg, args) => load().apply(thisArg, args),
    get: (_target, property) => load()[property],
  });
  require.cache[id] = { id, filename: id, loaded: true, exports: standIn, children: [], paths: [] } as unknown as NodeJS.Module;
}

/**
 * cdktf writes every stack with json-stable-stringify (`stringify(json, { space: 2 })`, synthesize/synthesizer.js),
 * a tenth of each stack's synthesis CPU. Its exports (version 1.3.0 only) are replaced, before cdktf loads it, by a
 * function that writes the same bytes for that call (stacks/stable-json.ts) and hands any other call (a replacer, a comparator, cycles,
 * collapseEmpty) to the real module. Where cdktf has loaded the module already, nothing is replaced.
 */
const JSON_WRITER_PROVEN = "1.3.0";

function useFasterJsonWriter(): void {
  const id = cdktfDependencyNotYetLoaded("json-stable-stringify");
  if (!id) return;
  // the bytes stable-json.ts writes are those of this version (cdktf 0.21.0 pins it); any other keeps the real one
  try {
    if ((require(require("path").join(require("path").dirname(id), "package.json")) as { version?: string }).version !== JSON_WRITER_PROVEN) return;
  } catch {
    return;
  }
  const real = require(id) as (value: unknown, options?: unknown) => string | undefined;
  const { stableJson, stableJsonBytes } = require("./stable-json") as typeof import("./stable-json");
  const spaceOnly = (options: unknown): options is { space: number | string } => {
    if (typeof options !== "object" || options === null) return false;
    const keys = Object.keys(options);
    const space = (options as { space?: unknown }).space;
    return keys.length === 1 && keys[0] === "space" && (typeof space === "string" || (typeof space === "number" && Number.isInteger(space) && space >= 0));
  };
  const standIn = function stableStringify(this: unknown, value: unknown, options?: unknown) {
    if (arguments.length === 2 && spaceOnly(options)) {
      const space = typeof options.space === "number" ? " ".repeat(options.space) : options.space;
      return writtenAsBytes.delete(value as object) ? stableJsonBytes(value, space) : stableJson(value, space);
    }
    return real.apply(this, arguments as unknown as [unknown, unknown]);
  };
  require.cache[id]!.exports = standIn;
  fasterWriterInstalled = true;
}

let fasterWriterInstalled = false;
const writtenAsBytes = new WeakSet<object>();
/** how many stack syntheses (visitFirstInSynthesis) are under way: only their writes are marked */
let synthesizing = 0;

/**
 * Marks a stack's resolved JSON that its synthesizer is about to write: the faster writer then hands it to
 * `fs.writeFileSync` as UTF-8 bytes made in pieces (stable-json.ts, stableJsonBytes: the same bytes, without the
 * page faults of one half-megabyte string), once, instead of as a string. Only for the object the synthesizer
 * receives from the stack's toTerraform and writes at once (cdktf 0.21's StackSynthesizer.synthesize:
 * `fs.writeFileSync(path, stringify(this.stack.toTerraform(), { space: 2 }))`); every other call of the writer,
 * Testing.synth's included, still gets a string. So an object is marked only while a synthesis that
 * visitFirstInSynthesis wraps is under way, and only where the faster writer is installed. Returns the object.
 */
export function writeAsBytesOnce<T extends object>(json: T): T {
  if (fasterWriterInstalled && synthesizing > 0) writtenAsBytes.add(json);
  return json;
}

/**
 * cdktf keeps every token it creates in a process-wide map (tokens/private/token-map.js, `global.__cdktfTokenMap`)
 * and never removes one; each token holds its construct, so every App ever built stays in memory. A synthesis
 * worker builds one App per municipality and resolves no token of an earlier one once that stack is written, so it
 * empties the map after each stack: its memory stays flat (no recycling needed) and garbage collection has less
 * to walk. The counter is kept, so no token key is ever given twice. Returns whether the map was emptied.
 */
export function releaseTokensOfWrittenStacks(): boolean {
  if (!synthTuningEnabled()) return false;
  const map = (globalThis as { __cdktfTokenMap?: { stringTokenMap?: unknown; numberTokenMap?: unknown } }).__cdktfTokenMap;
  if (!map || !(map.stringTokenMap instanceof Map) || !(map.numberTokenMap instanceof Map)) return false;
  map.stringTokenMap.clear();
  map.numberTokenMap.clear();
  return true;
}

/**
 * Two of cdktf's naming functions are pure and are asked the same questions over and over: `makeUniqueId` hashes
 * (MD5) each element's construct path into its Terraform name, and every municipality stack has the same paths; and
 * `keysToSnakeCase` runs three regular expressions over each key of every resource's meta-arguments (depends_on,
 * count, lifecycle, …), for every resource. Together about 3 % of a synthesis worker's CPU. Their module exports are
 * replaced by the same functions with the answers remembered per process (core/remembered.ts; cdktf calls both through the exports
 * object, so every caller gets them): makeUniqueId's by the list of components, keysToSnakeCase's by key, its walk
 * itself unchanged (cdktf 0.21.0's util.js, written again here with the remembered snakeCase). Anything cdktf
 * refuses, it still refuses: an empty list throws as before, and is not remembered. Only for cdktf 0.21.0, whose
 * functions these are; test/cdktf-tuning.test.ts compares both with cdktf's own on every stack's names and on the
 * corner cases.
 */
function rememberPureNaming(): void {
  if (!singleResolveProven()) return;
  const unique = require("cdktf/lib/private/unique") as { makeUniqueId: (components: string[]) => string };
  const util = require("cdktf/lib/util") as { snakeCase: (s: string) => string; keysToSnakeCase: (o: any) => any };
  const { Tokenization } = require("cdktf/lib/tokens/token") as typeof import("cdktf/lib/tokens/token");
  if (typeof unique.makeUniqueId !== "function" || typeof util.snakeCase !== "function" || typeof util.keysToSnakeCase !== "function") return;

  const realUniqueId = unique.makeUniqueId;
  // the components as one key without ambiguity (a "/" in an id would make join("/") ambiguous)
  const uniqueIdOf = remembered((key) => realUniqueId(JSON.parse(key) as string[]));
  unique.makeUniqueId = function makeUniqueId(components: string[]): string {
    if (!Array.isArray(components) || components.length === 0 || !components.every((c) => typeof c === "string")) return realUniqueId(components);
    return uniqueIdOf(JSON.stringify(components));
  };

  const snakeCase = remembered(util.snakeCase);
  const keysToSnakeCase = (object: any): any => {
    if (Tokenization.isResolvable(object)) return object;
    if (Array.isArray(object)) return object.map((e) => (typeof e === "object" ? keysToSnakeCase(e) : e));
    const keys = Object.keys(object);
    return keys.reduce((newObject: Record<string, unknown>, key) => {
      if (key === "tags" || key === "environment") {
        newObject[key] = object[key];
        return newObject;
      }
      let value = object[key];
      if (typeof value === "object") value = keysToSnakeCase(value);
      if (Array.isArray(value)) value = value.map((e) => (typeof e === "object" ? keysToSnakeCase(e) : e));
      newObject[snakeCase(key)] = value;
      return newObject;
    }, {});
  };
  util.keysToSnakeCase = keysToSnakeCase;
}

/** Turns the start-up measures above on (before cdktf creates any token); false when tuning is off or failed. */
export function applySynthTuning(): boolean {
  if (applied) return true;
  if (!synthTuningEnabled()) return false;
  deferArchiverLoad();
  useFasterJsonWriter();
  rememberPureNaming();
  try {
    const mod = require("cdktf/lib/tokens/private/stack-trace") as { captureStackTrace: () => string[] };
    if (typeof mod.captureStackTrace !== "function") return false;
    mod.captureStackTrace = () => [];
    applied = true;
  } catch {
    applied = false;
  }
  return applied;
}

/**
 * cdktf 0.21's `TerraformStack.toTerraform` resolves each element's JSON, deep-merges the resolved fragments, and
 * then resolves the merged tree a second time. The second pass walks values that no longer hold tokens, so it
 * returns what it is given, at a fifth of each stack's synthesis CPU. This is the same method without that pass:
 * same element walk (pre-order, not into nested stacks), cdktf's public resolver (through resolveAroundPlainValues),
 * cdktf's own merge. It is used only where its equality was proven — cdktf 0.21.0, and stacks without stack-level
 * overrides (whose raw values the second pass would have to resolve) — and returns undefined anywhere else, so the
 * caller takes cdktf's own path. test/cdktf-tuning.test.ts compares its result with cdktf's method on the samples
 * and on every tier and option.
 */
export function toTerraformResolvedOnce(stack: Cdktf.TerraformStack): Record<string, unknown> | undefined {
  if (!synthTuningEnabled() || !singleResolveProven()) return undefined;
  const rawOverrides = (stack as unknown as { rawOverrides?: Record<string, unknown> }).rawOverrides;
  if (!rawOverrides || Object.keys(rawOverrides).length > 0) return undefined;
  const { deepMerge } = require("cdktf/lib/util") as { deepMerge: (target: object, ...sources: object[]) => void };
  const { DefaultTokenResolver, StringConcat, TerraformOutput, Tokenization } = cdktf();
  const resolver = new DefaultTokenResolver(new StringConcat());
  const resolveToken = (value: unknown) => Tokenization.resolve(value, { scope: stack, preparing: false, resolver });
  const resolve = (value: unknown) => resolveAroundPlainValues(value, resolveToken) as Record<string, unknown>;

  const elements = terraformElements(stack);
  const metadata: Record<string, unknown> = { version: stack.node.tryGetContext("cdktfVersion"), stackName: stack.node.id, backend: "local", cloud: undefined };
  for (const e of elements) deepMerge(metadata, resolve(e.toMetadata()));
  if (metadata.cloud === undefined) delete metadata.cloud; // as the second pass drops it (key order kept)
  const outputs: Record<string, unknown> = {};
  for (const e of elements) {
    if (!TerraformOutput.isTerraformOutput(e)) continue;
    // the output's construct path as nested keys, ending in its Terraform name (as cdktf writes it)
    const parts = e.node.path.split("/");
    let nested: Record<string, unknown> | string = e.friendlyUniqueId;
    for (let i = parts.length - 1; i >= 0; i--) nested = { [parts[i]]: nested };
    deepMerge(outputs, nested as Record<string, unknown>);
  }
  const tf: Record<string, unknown> = { "//": { metadata, outputs } };
  for (const e of elements) deepMerge(tf, resolve(e.toTerraform()));
  return tf;
}

/** The stack's Terraform JSON by the method above, or by cdktf's own where that does not apply or fails. */
export function stackToTerraform(stack: Cdktf.TerraformStack, plain: () => Record<string, unknown>): Record<string, unknown> {
  let fast: Record<string, unknown> | undefined;
  try {
    fast = toTerraformResolvedOnce(stack);
  } catch {
    // cdktf's own method raises the same error with the full path of the value that caused it
  }
  return fast ?? plain();
}

/**
 * Resolves a value as cdktf's resolver does, handing it only the parts that may hold a token. cdktf's resolver
 * spends ~15 µs on every value it visits (a context object, closures and two regular-expression tests each), and
 * most values of a stack — names, CIDRs, tags, policy text — hold none. For those the result is already known:
 * strings, numbers and booleans as they are, arrays and objects copied without their undefined entries. Anything
 * that is or may be a token — an IResolvable, a string with a token marker or an encoded number, a number outside
 * the safe range (encoded tokens are ~1e289), an object with such a key, a Construct, a function, or nesting
 * deeper than cdktf allows — goes to cdktf's resolver whole, at the same place, so tokens resolve exactly as
 * before. (Only cdktf's error paths differ: they would name a shorter path, which is why a failure falls back to
 * the plain method: stackToTerraform.)
 */
export function resolveAroundPlainValues(value: unknown, resolveToken: (value: unknown) => unknown, depth = 0): unknown {
  if (value === undefined || value === null || typeof value === "boolean") return value;
  if (typeof value === "string") return mayHoldToken(value) ? resolveToken(value) : value;
  if (typeof value === "number") return isPlainNumber(value) ? value : resolveToken(value);
  if (typeof value === "function") return resolveToken(value); // for cdktf's own error
  if (typeof value !== "object" || value instanceof Date) return value;
  if (depth > MAX_DEPTH) return resolveToken(value);
  if (Array.isArray(value)) {
    // list tokens are recognised by cdktf from any element, so such an array goes to it whole
    if (value.some((x) => (typeof x === "string" && x.includes(TOKEN_MARKER)) || (typeof x === "number" && !isPlainNumber(x)))) return resolveToken(value);
    const out: unknown[] = [];
    for (const x of value) {
      const r = resolveAroundPlainValues(x, resolveToken, depth + 1);
      if (r !== undefined) out.push(r);
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  if (cdktf().Tokenization.isResolvable(value) || (record._children !== undefined && record._metadata !== undefined)) return resolveToken(value);
  const keys = Object.keys(record);
  if (keys.some(mayHoldToken)) return resolveToken(value);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const r = resolveAroundPlainValues(record[key], resolveToken, depth + 1);
    if (r !== undefined) out[key] = r;
  }
  return out;
}

/** what begins every encoded string, list and map token (`${TfToken[`, `#{TfToken[`, `&{TfToken[`) */
const TOKEN_MARKER = "TfToken[";
/** cdktf's pattern for a number token inside a string; a match only means "let cdktf look" */
const NUMBER_IN_STRING = /[-|\d|.+]+e[-|\d|.eE+]+/;
/** cdktf refuses to resolve deeper than 200 levels; such values go to it for the same error */
const MAX_DEPTH = 100;

function isPlainNumber(n: number): boolean {
  return Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER;
}

function mayHoldToken(s: string): boolean {
  return s.includes(TOKEN_MARKER) || NUMBER_IN_STRING.test(s) || s === cdktf().Token.STRING_MAP_TOKEN_VALUE || s === cdktf().Token.ANY_MAP_TOKEN_VALUE;
}

/** the one cdktf version whose toTerraform this mirrors */
function singleResolveProven(): boolean {
  try {
    return (require("cdktf/package.json") as { version: string }).version === "0.21.0";
  } catch {
    return false;
  }
}

function terraformElements(node: IConstruct, into: Cdktf.TerraformElement[] = []): Cdktf.TerraformElement[] {
  const { TerraformElement, TerraformStack } = cdktf();
  if (TerraformElement.isTerraformElement(node)) into.push(node);
  for (const child of node.node.children) {
    if (TerraformStack.isStack(child)) continue; // a nested stack writes its own file
    terraformElements(child, into);
  }
  return into;
}

/**
 * Has `aspect` visit the stack as the first step of the stack's synthesis, where cdktf invokes aspects, without
 * attaching it as one. An aspect on a stack is inherited by every construct below it, and cdktf's aspect walk works
 * out each construct's path to remember what it visited: about 5 % of a synthesis worker's CPU per national stack, for
 * an aspect that looks at the stack only. The visit comes at the same moment, once per synthesis, and its annotations stop the synth
 * as before. cdktf's own tools that invoke aspects directly (Testing.synth) do not see it; `synth` and
 * `cdktf synth` do. Returns false (attach it as an aspect) with tuning off, or where the stack's synthesizer is not
 * the plain one whose first step this is.
 *
 * `stack.synthesizer` is a public, writable property: whoever puts another synthesizer in its place (cdktf's own,
 * made anew for HCL output or to go on after errors, or one of their own) must not drop the pack with it, as they
 * would not have dropped an attached aspect. So the property keeps whatever is set and always hands out that
 * synthesizer behind the visit; one that wraps the synthesizer it found calls the visit twice, which the aspect's
 * once-per-stack check makes a no-op.
 */
export function visitFirstInSynthesis(stack: Cdktf.TerraformStack, aspect: Cdktf.IAspect): boolean {
  if (!synthTuningEnabled() || !singleResolveProven()) return false;
  const { StackSynthesizer } = require("cdktf/lib/synthesize/synthesizer") as { StackSynthesizer: new (...args: never[]) => Cdktf.IStackSynthesizer };
  if (!(stack.synthesizer instanceof StackSynthesizer)) return false;
  const visitFirst = (inner: Cdktf.IStackSynthesizer): Cdktf.IStackSynthesizer => ({
    synthesize(session: Cdktf.ISynthesisSession) {
      aspect.visit(stack);
      synthesizing++;
      try {
        inner.synthesize(session);
      } finally {
        synthesizing--;
      }
    },
  });
  let current = visitFirst(stack.synthesizer);
  Object.defineProperty(stack, "synthesizer", {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (next: Cdktf.IStackSynthesizer) => (current = visitFirst(next)),
  });
  return true;
}
