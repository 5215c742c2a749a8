/**
 * The `alpha-prime` CLI: a thin face over functions the tests call directly. Exit status: 0 success,
 * 1 invalid input or failed check, 2 usage or internal error.
 */
import { disableTokenStackTraces } from "../stacks/cdktf-tuning";
disableTokenStackTraces(); // before anything loads cdktf tokens
import * as fs from "fs";
import * as path from "path";
import { Command, CommanderError } from "commander";
import { ConfigError, formatIssueIn } from "../core/errors";
import { chooseLang, render, tr } from "../core/messages";
import { escapeForTerminal } from "../core/terminal-text";
import { envFiles, loadFiles } from "../config/load";
import { defaultEnvDir } from "../core/paths";
import type { ReportFormat } from "../policy/report";
import { loadSelected, STATE_BUCKET_ENV } from "../stacks/app";
import { offlinePlan, TerraformError, terraformVersion } from "./offline-plan";
import { catalogReport, pacFor, shapeOf, tiersReport } from "./reports";
import { processAlive } from "./output-dir";
import { synthToDir } from "./synth";

type Out = { out: (s: string) => void; err: (s: string) => void };
// the one place text meets the terminal: no input can reach it as a control sequence (core/terminal-text.ts)
const stdio: Out = { out: (s) => process.stdout.write(escapeForTerminal(s)), err: (s) => process.stderr.write(escapeForTerminal(s)) };

function list(value: string, previous: string[] = []): string[] {
  return previous.concat(value.split(",").map((s) => s.trim()).filter(Boolean));
}

export function buildProgram(io: Out = stdio, setCode: (c: number) => void = () => undefined): Command {
  const program = new Command();
  program
    .name("alpha-prime")
    .description("α′-model local breakout for Japanese municipalities on AWS: validate, synthesize and plan offline")
    .option("--env-dir <dir>", "directory of env/<id>.yaml files (default: env/ or $ALPHA_PRIME_ENV_DIR)")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError();
  const envDir = (): string => (program.opts().envDir ? path.resolve(program.opts().envDir) : defaultEnvDir());
  /** A report to standard output, or written whole to a file (never half-written) with a line saying so. */
  const emit = (text: string, file?: string): void => {
    if (!file) return void io.out(text);
    writeAtomically(file, text);
    io.out(`wrote ${file}\n`);
  };

  program
    .command("validate")
    .description("validate env files (all of them when none are named); every error with file, line:column and field path")
    .argument("[files...]", "env files to validate")
    .option("--lang <lang>", "language of the messages: en or ja (default: from LC_ALL, LC_MESSAGES or LANG)")
    .action((files: string[], opts: { lang?: string }) => {
      const lang = chooseLang(opts.lang);
      const targets = files.length ? files.map((f) => path.resolve(f)) : envFiles(envDir());
      const r = loadFiles(targets);
      for (const i of r.issues) io.err(`${formatIssueIn(i, lang)}\n`);
      if (r.issues.length) {
        io.err(`${render(tr`${r.issues.length} error(s) in ${new Set(r.issues.map((i) => i.file)).size} file(s)`, lang)}\n`);
        return setCode(1);
      }
      const ids = r.configs.map((c) => c.id);
      const shown = ids.length > 10 ? tr`${ids.slice(0, 10).join(", ")} … and ${ids.length - 10} more` : ids.join(", ");
      io.out(`${render(tr`${ids.length} municipality file(s) valid: ${shown}`, lang)}\n`);
      setCode(0);
    });

  program
    .command("synth")
    .description("synthesize Terraform JSON for every municipality (or only some) into cdktf.out/stacks/<id>/; stacks whose inputs are unchanged come from the synth cache")
    .option("--only <ids>", "comma-separated municipality ids", list)
    .option("--all", "every env file (the default when --only is not given)")
    .option("--jobs <n>", "worker processes (default: one per CPU for more than a few municipalities)")
    .option("--plain", "one process and one cdktf App for all stacks, without the cache (the reference path)")
    .option("--no-cache", "build every stack: neither read nor write the synth cache (see `alpha-prime cache`)")
    .option("--changed-since <ref>", "only the municipalities whose inputs differ from those of a git ref (env file, catalog entries read, tier row, toolkit)")
    .option("--base-out <dir>", "with --changed-since: also synthesize the ref's side of the same municipalities into <dir>")
    .option("--out <dir>", "output directory", "cdktf.out")
    .action(async (opts: { only?: string[]; all?: boolean; jobs?: string; plain?: boolean; cache: boolean; changedSince?: string; baseOut?: string; out: string }) => {
      if (opts.all && opts.only) throw new Error("--all and --only exclude each other");
      if (opts.changedSince && (opts.only || opts.all || opts.plain)) throw new Error("--changed-since excludes --only, --all and --plain");
      if (opts.baseOut && !opts.changedSince) throw new Error("--base-out goes with --changed-since <ref>");
      const jobs = opts.jobs === undefined ? undefined : Number(opts.jobs);
      if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) throw new Error(`--jobs must be a whole number of at least 1, got '${opts.jobs}'`);
      if (opts.changedSince) {
        const started = Date.now();
        const rv = require("../review/revisions") as typeof import("../review/revisions");
        const r = await rv.synthChangedSince({ ref: opts.changedSince, outdir: opts.out, baseOut: opts.baseOut, envDir: envDir(), cache: opts.cache, jobs, stateBucket: process.env[STATE_BUCKET_ENV] || undefined });
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        io.out(`synthesized ${r.head.length} stack(s) changed since ${r.changes.base} into ${opts.out}/stacks${opts.baseOut ? ` and ${r.base.length} of ${opts.changedSince} into ${opts.baseOut}/stacks` : ""} in ${seconds} s${r.head.length ? `: ${summarizeIds(r.head)}` : ""}\n`);
        for (const c of r.changes.changed) io.out(`  ${c.id}: ${c.reason}\n`);
        const note = rv.skippedNote(r.changes);
        if (note) io.out(`${note}\n`);
        return setCode(0);
      }
      const { IN_PROCESS_LIMIT, openCache, synthesizeOutput } = require("./synth") as typeof import("./synth");
      const cache = opts.cache && !opts.plain ? openCache(io.err) : undefined;
      const count = opts.only?.length ?? envFiles(envDir()).length;
      const progress = opts.plain || (jobs === undefined && count <= IN_PROCESS_LIMIT) ? undefined : progressReporter(io, count);
      const base = { outdir: opts.out, envDir: envDir(), only: opts.only, stateBucket: process.env[STATE_BUCKET_ENV] || undefined, cache, jobs, plain: opts.plain };
      const r = await synthesizeOutput({ ...base, onProgress: progress?.update }).finally(() => progress?.stop());
      const seconds = r.wallMs / 1000;
      const how = [
        ...(cache ? [`${r.reused.length} from the cache, ${r.synthesized.length} built`] : []),
        ...(r.kept.length ? [`${r.kept.length} other stack(s) kept, unchanged`] : []),
        ...(r.workers ? [`${(r.ids.length / seconds).toFixed(1)} stacks/s`, r.workers.started ? `${r.workers.started} worker process(es), largest worker ${Math.round(r.workers.maxRssBytes / 1048576)} MB` : "no worker process needed"] : []),
      ];
      io.out(`synthesized ${r.ids.length} stack(s) into ${opts.out}/stacks in ${seconds.toFixed(1)} s${how.length ? ` (${how.join(", ")})` : ""}: ${summarizeIds(r.ids)}\n`);
      setCode(0);
    });

  program
    .command("cache")
    .description("the synth cache: where it is and how full (`info`, the default), or empty it (`clear`)")
    .argument("[action]", "info | clear", "info")
    .action((action: string) => {
      if (!["info", "clear"].includes(action)) throw new Error(`cache: the action must be info or clear, got '${action}'`);
      const { StackCache, CACHE_DIR_ENV, CACHE_MAX_ENV } = require("./stack-cache") as typeof import("./stack-cache");
      const cache = StackCache.open();
      if (action === "clear") {
        const n = cache.clear();
        io.out(`removed ${n} cached stack(s) from ${cache.dir}\n`);
        return setCode(0);
      }
      const i = cache.info();
      const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
      io.out(`synth cache: ${i.dir} (${CACHE_DIR_ENV} to move it)\n  ${i.entries} stack(s), ${mb(i.bytes)} of ${mb(i.limitBytes)} (${CACHE_MAX_ENV} to change the limit); least recently used stacks are removed beyond it\n`);
      setCode(0);
    });

  program
    .command("plan")
    .description("synthesize one municipality and run terraform init, validate and plan offline (mock credentials); writes the plan JSON")
    .argument("<id>", "municipality id")
    .option("--out <dir>", "synthesized output directory", "cdktf.out")
    .option("--work-dir <dir>", "where the offline work copy and plan.json go", path.join(".alpha-prime", "plan"))
    .action((id: string, opts: { out: string; workDir: string }) => {
      const version = terraformVersion();
      if (!version) {
        io.err("terraform was not found on PATH (or TERRAFORM_BINARY_NAME); install Terraform >= 1.10 to plan\n");
        return setCode(2);
      }
      synthToDir({ outdir: opts.out, envDir: envDir(), only: [id], stateBucket: process.env[STATE_BUCKET_ENV] || undefined });
      fs.mkdirSync(opts.workDir, { recursive: true });
      const s = offlinePlan(path.join(opts.out, "stacks", id), id, path.resolve(opts.workDir));
      io.out(
        `terraform ${version}: ${id}: init, validate and plan passed${s.mirror ? ` (providers from the local mirror ${s.mirror})` : ""}\n` +
          `  ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to destroy\n` +
          `  plan JSON: ${path.relative(process.cwd(), s.planJsonPath)}\n`,
      );
      setCode(0);
    });

  program
    .command("check")
    .description("check synthesized stacks against the α′ security baseline (docs/RULES.md); exit 1 on any unsuppressed error")
    .argument("[dir]", "synthesized output directory", "cdktf.out")
    .option("--plan <file>", "a `terraform show -json` plan, for rules that need planned values")
    .option("--format <format>", "text | json | sarif | junit", "text")
    .option("--output <file>", "write the report to a file instead of standard output")
    .option("--changed-since <ref>", "check only the municipalities whose inputs differ from those of a git ref")
    .option("--allow-stale", "check an output that no longer matches the files it was synthesized from (with a warning) instead of refusing it")
    .action((dir: string, opts: { plan?: string; format: string; output?: string; changedSince?: string; allowStale?: boolean }) => {
      if (!["text", "json", "sarif", "junit"].includes(opts.format)) throw new Error(`--format must be text, json, sarif or junit, got '${opts.format}'`);
      // the pack is loaded by the command that runs it: some rules load constructs, and with them cdktf
      const { checkStack, loadSynthesized } = require("../policy/engine") as typeof import("../policy/engine");
      const { exitCodeFor, renderReport } = require("../policy/report") as typeof import("../policy/report");
      const rv = require("../review/revisions") as typeof import("../review/revisions");
      const record = (require("../stacks/output-record") as typeof import("../stacks/output-record")).readInputsRecord(dir);
      if (fs.existsSync(path.join(dir, "manifest.json"))) rv.guardOutput(dir, opts.allowStale ?? false, io.err);
      let only: Set<string> | undefined;
      if (opts.changedSince) {
        const changes = rv.changesSince(opts.changedSince, dir, envDir());
        only = new Set(changes.changed.filter((c) => c.sides !== "base").map((c) => c.id));
        io.err(`check: ${only.size} municipalit${only.size === 1 ? "y" : "ies"} changed since ${changes.base}${changes.unchanged.length ? `; ${rv.skippedNote(changes)}` : ""}\n`);
      }
      // an output of `synth --changed-since` with nothing changed holds no stack, by design
      const empty = record?.selection.kind === "changed-since" && record.selection.ids.length === 0;
      const models = empty ? [] : loadSynthesized(dir, opts.plan).filter((m) => !only || only.has(m.stack));
      if (only) {
        const missing = [...only].filter((id) => !models.some((m) => m.stack === id));
        if (missing.length) throw new Error(`${dir} holds no stack for ${missing.join(", ")}, changed since ${opts.changedSince}: synthesize them first`);
      }
      const reports = models.map((m) => checkStack(m));
      emit(renderReport(opts.format as ReportFormat, reports, dir), opts.output);
      setCode(exitCodeFor(reports));
    });

  program
    .command("diff")
    .description("what a change does to each municipality, with security-relevant changes and data-loss risks called out")
    .argument("<base>", "synthesized output directory, offline plan JSON (with no head), or git ref")
    .argument("[head]", "synthesized output directory or git ref", "cdktf.out")
    .option("--format <format>", "markdown | json", "markdown")
    .option("--fail-on <what>", "exit 1 on: destructive (data-loss risks) | security (any call-out)")
    .option("--output <file>", "write the report to a file instead of standard output")
    .option("--max-chars <n>", "markdown: cut the report at a section boundary to fit (a GitHub comment holds 65536)")
    .option("--full-report-url <url>", "markdown: where the whole report is, named in a cut report")
    .option("--full", "synthesize every municipality of a git ref, not only those whose inputs differ between base and head")
    .option("--no-cache", "build every stack of a git ref: neither read nor write the synth cache")
    .option("--allow-stale", "compare an output directory that no longer matches the files it was synthesized from (with a warning) instead of refusing it")
    .action((base: string, head: string, opts: { format: string; failOn?: string; output?: string; maxChars?: string; fullReportUrl?: string; full?: boolean; cache: boolean; allowStale?: boolean }) => {
      if (!["markdown", "json"].includes(opts.format)) throw new Error(`--format must be markdown or json, got '${opts.format}'`);
      if (opts.failOn && !["destructive", "security"].includes(opts.failOn)) throw new Error(`--fail-on must be destructive or security, got '${opts.failOn}'`);
      const d = require("../review/diff") as typeof import("../review/diff");
      const rv = require("../review/revisions") as typeof import("../review/revisions");
      const sides = base.endsWith(".json") && fs.existsSync(base) ? d.readPlan(base) : rv.readSides(base, head, { full: opts.full, cache: opts.cache, allowStale: opts.allowStale, envDir: envDir(), warn: io.err });
      const skipped = "skipped" in sides ? sides.skipped : undefined;
      const report = { ...d.diffSides(sides.base, sides.head), ...(skipped ? { skipped } : {}) };
      const maxChars = opts.maxChars === undefined ? undefined : Number(opts.maxChars);
      if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars >= 1000)) throw new Error(`--max-chars must be a whole number of at least 1000, got '${opts.maxChars}'`);
      emit(opts.format === "json" ? d.json(report) : d.markdown(report, { maxChars, fullReportUrl: opts.fullReportUrl }), opts.output);
      setCode(d.exitCodeFor(report, opts.failOn as "destructive" | "security" | undefined));
    });

  program
    .command("changed")
    .description("the municipalities whose inputs differ between a git ref and the env files on disk (or another ref, or a synthesized output): the set incremental synth, check and diff work on")
    .argument("<base>", "git ref")
    .argument("[head]", "git ref or synthesized output directory (default: the env files on disk)")
    .option("--format <format>", "text | ids (one per line) | json", "text")
    .action((base: string, head: string | undefined, opts: { format: string }) => {
      if (!["text", "ids", "json"].includes(opts.format)) throw new Error(`--format must be text, ids or json, got '${opts.format}'`);
      const rv = require("../review/revisions") as typeof import("../review/revisions");
      const c = rv.changesSince(base, head, envDir());
      if (opts.format === "json") io.out(`${JSON.stringify({ base: c.base, head: c.head, changed: c.changed, unchanged: c.unchanged.length, textOnly: c.textOnly }, null, 2)}\n`);
      else if (opts.format === "ids") io.out(c.changed.map((x) => `${x.id}\n`).join(""));
      else io.out(`${c.changed.length} municipalit${c.changed.length === 1 ? "y" : "ies"} changed between ${c.base} and ${c.head}\n${c.changed.map((x) => `  ${x.id}: ${x.reason}\n`).join("")}${c.unchanged.length ? `${rv.skippedNote(c)}\n` : ""}`);
      setCode(0);
    });

  const catalog = program
    .command("catalog")
    .description("list the SaaS catalog: services, domains, vendor sources and tenant-restriction mechanisms; --stale lists sources not checked recently")
    .option("--json", "the full catalog as JSON")
    .option("--stale <days>", "list sources last checked more than <days> ago; exit 1 when there are any")
    .option("--as-of <date>", "judge staleness as of this date (YYYY-MM-DD; default today, UTC)")
    .action((opts: { json?: boolean; stale?: string; asOf?: string }) => {
      const { SaasCatalog } = require("../catalog/saas-catalog") as typeof import("../catalog/saas-catalog");
      if (opts.stale !== undefined) {
        const days = Number(opts.stale);
        if (!(Number.isInteger(days) && days >= 0)) throw new Error(`--stale must be a whole number of days, got '${opts.stale}'`);
        const { staleReport, staleSources } = require("../catalog/refresh") as typeof import("../catalog/refresh");
        const stale = staleSources(SaasCatalog.default(), days, opts.asOf);
        io.out(staleReport(stale, days));
        return setCode(stale.length ? 1 : 0);
      }
      io.out(opts.json ? `${JSON.stringify(SaasCatalog.default().entries, null, 2)}\n` : catalogReport());
      setCode(0);
    });

  catalog
    .command("refresh")
    .description("compare a vendor's endpoint list with the catalog's snapshot, set by set, and show what each municipality would open or close; --write applies it")
    .argument("<saas>", "catalog id of a service that follows a feed (microsoft-365)")
    .option("--from <file>", "the saved endpoint list (default: fetch it; needs internet access)")
    .option("--feed-version <version>", "the list's version (Microsoft: https://endpoints.office.com/version/worldwide)")
    .option("--write", "write the catalog update (domains, feed snapshot, version, date, media ranges)")
    .option("--catalog <file>", "the catalog file to read and update (default: the repository's)")
    .action(async (saas: string, opts: { from?: string; feedVersion?: string; write?: boolean; catalog?: string }) => {
      const cr = require("../catalog/refresh") as typeof import("../catalog/refresh");
      const { CATALOG_PATH, SaasCatalog } = require("../catalog/saas-catalog") as typeof import("../catalog/saas-catalog");
      const file = path.resolve(opts.catalog ?? CATALOG_PATH);
      const current = SaasCatalog.fromFile(file);
      if (!current.has(saas)) throw new cr.FeedInputError(`'${saas}' is not in the catalog (${current.ids.join(", ")})`);
      const feed = current.get(saas).feed;
      if (!feed) throw new cr.FeedInputError(`${saas} follows no vendor feed (no feed in its catalog entry)`);
      if (opts.feedVersion !== undefined && !/^[0-9]{10}$/.test(opts.feedVersion)) throw new cr.FeedInputError(`--feed-version must be the list's 10-digit version (yyyymmddnn), got '${opts.feedVersion}'`);
      let sets: import("../catalog/saas-catalog").EndpointSet[];
      let version = opts.feedVersion;
      if (opts.from) sets = cr.readFeedFile(path.resolve(opts.from), feed.kind);
      else {
        const live = await cr.fetchFeed(feed);
        sets = cr.FEED_PARSERS[feed.kind](live.text, feed.url);
        version ??= live.version;
      }
      const configs = loadSelected({ envDir: envDir() });
      const report = cr.compareFeed(current, saas, sets, configs, version);
      io.out(cr.refreshReport(report));
      if (opts.write) {
        if (!version) throw new cr.FeedInputError("--write needs the list's version: --feed-version <yyyymmddnn>");
        const text = cr.applyRefresh(fs.readFileSync(file, "utf8"), report, sets, version, new Date().toISOString().slice(0, 10));
        // the updated catalog must load, and every env file must still validate with it
        const { parse } = require("yaml") as typeof import("yaml");
        const { loadFiles } = require("../config/load") as typeof import("../config/load");
        const updated = SaasCatalog.fromEntries(parse(text), file);
        const issues = loadFiles(envFiles(envDir()), updated).issues;
        if (issues.length) throw new ConfigError(issues);
        writeAtomically(file, text);
        io.out(`wrote ${path.relative(process.cwd(), file) || file}: feed version ${version}\n`);
      }
      setCode(0);
    });

  program
    .command("pac")
    .description("write a municipality's PAC file: allowlisted SaaS DIRECT, everything else to the LGWAN proxy")
    .argument("<id>", "municipality id")
    .option("--out <file>", "write to a file instead of standard output")
    .action((id: string, opts: { out?: string }) => {
      const [config] = loadSelected({ envDir: envDir(), only: [id] });
      emit(pacFor(config), opts.out);
      setCode(0);
    });

  program
    .command("render")
    .description("write every generated file that goes onto an instance or a PC (PAC file, squid.conf, HAProxy and cloud-init configuration, firewall rules), read from the synthesized stack")
    .argument("<id>", "municipality id")
    .option("--out <dir>", "output directory (replaced only if empty or written by render before)", "rendered/<id>")
    .action((id: string, opts: { out: string }) => {
      const { renderToDir } = require("./render") as typeof import("./render");
      const r = renderToDir({ id, envDir: envDir(), outDir: opts.out === "rendered/<id>" ? undefined : opts.out });
      io.out(`wrote ${r.files.length} file(s) into ${path.relative(process.cwd(), r.outDir) || "."}:\n${r.files.map((f) => `  ${f}\n`).join("")}`);
      setCode(0);
    });

  const init = program
    .command("init")
    .description("a guided start: asks for the essentials (or takes them as flags), proposes defaults, and writes env/<id>.yaml after it validates; never overwrites a file")
    .argument("[id]", "municipality id");
  for (const q of (require("./init") as typeof import("./init")).QUESTIONS) if (q.key !== "id") init.option(`${q.flag} <value>`, render(q.prompt));
  init.option("--lang <lang>", "language of questions and messages: en or ja (default: from LC_ALL, LC_MESSAGES or LANG)");
  init.action(async (id: string | undefined, opts: Record<string, string>) => {
    const { collectAnswers, EnvDirectory, writeEnvFile, InitError, QUESTIONS } = require("./init") as typeof import("./init");
    const lang = chooseLang(opts.lang);
    const given: Record<string, string> = id === undefined ? {} : { id };
    for (const q of QUESTIONS) {
      const name = q.flag.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      if (opts[name] !== undefined) given[q.key] = opts[name];
    }
    // asked in a terminal; from flags and proposals otherwise (scripts, CI)
    let prompter: import("./init").Prompter | undefined;
    let rl: import("readline/promises").Interface | undefined;
    if (io === stdio && process.stdin.isTTY) {
      rl = (require("readline/promises") as typeof import("readline/promises")).createInterface({ input: process.stdin, output: process.stdout });
      // lines are read through the interface's iterator, which buffers them: typed-ahead or pasted answers are kept
      const lines = rl[Symbol.asyncIterator]();
      prompter = {
        ask: async (q) => {
          io.out(q);
          const next = await lines.next();
          if (next.done) throw new Error("init: input ended before every question was answered; nothing was written");
          return next.value;
        },
        say: (t) => io.out(t),
      };
    }
    try {
      const dir = new EnvDirectory(envDir());
      dir.mustExist();
      const { answers, examples } = await collectAnswers(given, dir, prompter, lang);
      const r = writeEnvFile(dir, answers, examples, lang);
      const file = path.relative(process.cwd(), r.file) || r.file;
      io.out(`${render(r.examples.length ? tr`wrote ${file} (valid); replace the EXAMPLE values: ${r.examples.join(", ")}` : tr`wrote ${file} (valid)`, lang)}\n`);
      setCode(0);
    } catch (e) {
      // in the reader's language here; main() reports everything else
      if (e instanceof InitError) io.err(`alpha-prime: ${render(e.text, lang)}\n${render(tr`nothing was written`, lang)}\n`);
      else if (e instanceof ConfigError) io.err(`${e.issues.map((i) => formatIssueIn(i, lang)).join("\n")}\n${render(tr`nothing was written`, lang)}\n`);
      else throw e;
      setCode(1);
    } finally {
      rl?.close();
    }
  });

  program
    .command("graph")
    .description("a diagram of one municipality's network (sites, tunnels, Transit Gateway, firewall, NAT and egress, proxy, relay, Client VPN, DNS, logs), drawn from its synthesized stack")
    .argument("<id>", "municipality id")
    .option("--format <format>", "mermaid | svg | dot", "mermaid")
    .option("--out <file>", "write to a file instead of standard output")
    .option("--lang <lang>", "language of the labels: en or ja (default: from LC_ALL, LC_MESSAGES or LANG)")
    .action((id: string, opts: { format: string; out?: string; lang?: string }) => {
      if (!["mermaid", "svg", "dot"].includes(opts.format)) throw new Error(`--format must be mermaid, svg or dot, got '${opts.format}'`);
      const lang = chooseLang(opts.lang);
      const g = require("./graph") as typeof import("./graph");
      const { synthesizedStack } = require("./render") as typeof import("./render");
      const topology = g.topologyOf(id, synthesizedStack(id, envDir()));
      emit(opts.format === "svg" ? g.svg(topology, lang) : opts.format === "dot" ? g.dot(topology, lang) : g.mermaid(topology, lang), opts.out);
      setCode(0);
    });

  program
    .command("learn")
    .description("which names a trial of a new cloud service needed: blocked names from the LGWAN segments in Network Firewall alert logs, Resolver query logs (gzip or plain) or a HAR export, grouped by registrable domain, with a ready extraDomains snippet")
    .argument("<id>", "municipality id")
    .requiredOption("--from <files...>", "log files or HAR exports")
    .option("--format <format>", "table | yaml | json", "table")
    .option("--write", "add the proposal to env/<id>.yaml (after it validates); nothing else is ever written")
    .action((id: string, opts: { from: string[]; format: string; write?: boolean }) => {
      if (!["table", "yaml", "json"].includes(opts.format)) throw new Error(`--format must be table, yaml or json, got '${opts.format}'`);
      const { learn, learnTable, learnYaml, writeProposal } = require("../catalog/learn") as typeof import("../catalog/learn");
      const [config] = loadSelected({ envDir: envDir(), only: [id] });
      const report = learn(config, opts.from.map((f) => path.resolve(f)));
      io.out(opts.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : opts.format === "yaml" ? learnYaml(report) : learnTable(report));
      if (opts.write) {
        const added = writeProposal(config.sourceFile, report, writeAtomically);
        io.out(added.length ? `added ${added.length} name(s) to ${path.relative(process.cwd(), config.sourceFile)}: ${added.join(" ")}\n` : "nothing to add\n");
      }
      setCode(0);
    });

  program
    .command("tiers")
    .description("print the bandwidth tiers with an estimated monthly cost (ap-northeast-1 list prices, USD and JPY)")
    .option("--jpy-rate <yen>", "JPY per USD", "150")
    .option("--for <id>", "cost the tiers for one municipality's sites, zones and options")
    .action((opts: { jpyRate: string; for?: string }) => {
      const rate = Number(opts.jpyRate);
      if (!Number.isFinite(rate) || rate <= 0) throw new Error(`--jpy-rate must be a positive number, got '${opts.jpyRate}'`);
      const config = opts.for ? loadSelected({ envDir: envDir(), only: [opts.for] })[0] : undefined;
      io.out(tiersReport(shapeOf(config), rate, config ? `${config.name} (${config.id})` : "a reference municipality"));
      setCode(0);
    });

  return program;
}

function summarizeIds(ids: string[]): string {
  return ids.length > 10 ? `${ids.slice(0, 10).join(", ")} … and ${ids.length - 10} more` : ids.join(", ");
}

/** A progress bar on a terminal; in CI (no TTY) a plain line every tenth of the way. */
function progressReporter(io: Out, total: number): { update: (done: number, total: number, id: string) => void; stop: () => void } {
  if (process.stderr.isTTY && io === stdio) {
    const { SingleBar, Presets } = require("cli-progress") as typeof import("cli-progress");
    const bar = new SingleBar({ format: "synth [{bar}] {value}/{total} municipalities | {eta}s left | {id}", stream: process.stderr, hideCursor: true }, Presets.shades_classic);
    bar.start(total, 0, { id: "" });
    return { update: (done, t, id) => bar.update(done, { id, total: t }), stop: () => bar.stop() };
  }
  let nextTenth = 1; // counted in whole tenths: adding 0.1 repeatedly drifts (0.1 * 3 > 0.3) and skips a mark
  return {
    update: (done, t, id) => {
      if (done === t || done * 10 >= nextTenth * t) {
        io.err(`synth: ${done}/${t} municipalities (${Math.round((done / t) * 100)}%), last ${id}\n`);
        while (done * 10 >= nextTenth * t) nextTenth++;
      }
    },
    stop: () => undefined,
  };
}

/** Writes through a temporary file in the same directory, so a failure never leaves a half-written file. */
export function writeAtomically(file: string, text: string): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const base = path.basename(file);
  // what a run killed mid-write left: temporary files of this name whose process is gone
  for (const name of fs.readdirSync(dir)) {
    const m = name.startsWith(`.${base}.`) ? /\.(\d+)\.tmp$/.exec(name) : null;
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
  const tmp = path.join(dir, `.${base}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[], io: Out = stdio): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      io.err(`${e.message}\nnothing was written\n`);
      return 1;
    }
    if (e instanceof Error && e.message.includes('Encountered Annotations with level "ERROR"')) {
      io.err(`the α′ security baseline failed; nothing was written:\n${e.message.replace(/^.*Encountered Annotations with level "ERROR":\s*/s, "")}\n`);
      return 1;
    }
    if (e instanceof Error && (e.name === "LearnInputError" || e.name === "FeedInputError" || e.name === "InitError")) {
      io.err(`alpha-prime: ${e.message}\nnothing was written\n`);
      return 1;
    }
    if (e instanceof Error && e.name === "StaleOutputError") {
      io.err(`alpha-prime: ${e.message}\n`);
      return 1;
    }
    if (e instanceof TerraformError) {
      io.err(`${e.message}\n`);
      return 1;
    }
    io.err(`alpha-prime: ${(e as Error).message}\n`);
    return 2;
  }
}
