/**
 * The `alpha-prime` CLI: a thin face over functions the tests call directly. Exit status: 0 success,
 * 1 invalid input or failed check, 2 usage or internal error.
 */
import { applySynthTuning } from "../stacks/cdktf-tuning";
applySynthTuning(); // before anything loads cdktf tokens
import * as fs from "fs";
import * as path from "path";
import { Command, CommanderError } from "commander";
import { ConfigError, formatIssueIn } from "../core/errors";
import { chooseLang, render, tr } from "../core/messages";
import { escapeForTerminal } from "../core/terminal-text";
import { envFiles, loadFiles, loadNamedFiles } from "../config/load";
import { TOOLKIT_VERSION } from "../core/version";
import { defaultEnvDir } from "../core/paths";
import type { ReportFormat } from "../policy/report";
import { loadSelected, STATE_BUCKET_ENV } from "../stacks/app";
import { offlinePlan, TerraformError, terraformVersion } from "./offline-plan";
import { catalogReport, pacFor, shapeOf, tiersReport } from "./reports";
import { processAlive } from "./output-dir";
import { synthToDir } from "./synth";
import { DEFAULT_MARKER_PREFIX } from "../deploy/markers";

type Out = { out: (s: string) => void; err: (s: string) => void };
// the one place text meets the terminal: no input can reach it as a control sequence (core/terminal-text.ts)
const stdio: Out = { out: (s) => process.stdout.write(escapeForTerminal(s)), err: (s) => process.stderr.write(escapeForTerminal(s)) };

function list(value: string, previous: string[] = []): string[] {
  return previous.concat(value.split(",").map((s) => s.trim()).filter(Boolean));
}

export function buildProgram(io: Out = stdio, setCode: (c: number) => void = () => undefined): Command {
  const program = new Command();
  /** check and diff: an output that the PR workflow's review job judges with the base branch's toolkit */
  const ANY_TOOLKIT_HELP =
    "the output may come from another build of alpha-prime (a pull request's, judged by the base branch's toolkit): hold its stacks to their env files and catalog entries, not to this build's code and tier table";
  program
    .name("alpha-prime")
    .description("α′-model local breakout for Japanese municipalities on AWS: validate, synthesize and plan offline")
    .option("--env-dir <dir>", "directory of env/<id>.yaml files (default: env/ or $ALPHA_PRIME_ENV_DIR)")
    .version(TOOLKIT_VERSION, "-V, --version", "print the toolkit's version")
    .addHelpText("after", EXIT_CODES_HELP)
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
      // a file named alone is still judged with its directory: one file per local government code, unique ids
      const r = files.length ? loadNamedFiles(files.map((f) => path.resolve(f))) : loadFiles(envFiles(envDir()));
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
    .description("synthesize one municipality and run terraform init, validate and plan; with --artifacts, save the plan as the unit of review and deploy (plan file, plan JSON, lock file, reviewer report, manifest)")
    .argument("<id>", "municipality id")
    .option("--out <dir>", "synthesized output directory", "cdktf.out")
    .option("--work-dir <dir>", "where the offline work copy and plan.json go (without --artifacts)", path.join(".alpha-prime", "plan"))
    .option("--artifacts <dir>", "write the plan artifact into <dir>/<id>/ (what `apply --plan` applies)")
    .option("--state <mode>", "with --artifacts: real (the stack's backend, credentials from the environment) | offline (mock credentials; never applicable) | auto (real where AWS credentials are in the environment, offline otherwise)", "offline")
    .option("--synthesized <dir>", "plan the stack of this synthesized output instead of synthesizing again")
    .option("--expect-stack-sha256 <sha>", "refuse unless the synthesized stack is this one (what the run chose to deploy)")
    .option("--destroy", "a destroy plan; for a municipality whose env file is gone, built from its deploy marker")
    .option("--marker-prefix <ref>", "where deploy markers are kept", DEFAULT_MARKER_PREFIX)
    .option("--summary <file>", "append the plan's summary to this file (in GitHub Actions: $GITHUB_STEP_SUMMARY)")
    .action((id: string, opts: { out: string; workDir: string; artifacts?: string; state: string; synthesized?: string; expectStackSha256?: string; destroy?: boolean; markerPrefix: string; summary?: string }) => {
      const version = terraformVersion();
      if (!version) {
        io.err("terraform was not found on PATH (or TERRAFORM_BINARY_NAME); install Terraform >= 1.10 to plan\n");
        return setCode(2);
      }
      if (!["real", "offline", "auto"].includes(opts.state)) throw new Error(`--state must be real, offline or auto, got '${opts.state}'`);
      // the AWS SDK's credential sources a CI job sets (configure-aws-credentials exports the first three)
      const hasCredentials = ["AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"].some((v) => process.env[v]);
      const mode = (opts.state === "auto" ? (hasCredentials ? "real" : "offline") : opts.state) as "real" | "offline";
      if (opts.artifacts) {
        const dp = require("../deploy/plan") as typeof import("../deploy/plan");
        const commit = gitHead();
        let stackFile: string;
        const markers = opts.destroy ? (require("../deploy/markers") as typeof import("../deploy/markers")).readMarkers(process.cwd(), opts.markerPrefix) : undefined;
        if (opts.destroy && markers?.has(id) && !envFileExists(envDir(), id)) {
          // the env file is gone: the stack's own terraform and provider blocks, kept in its marker, and no resources
          const m = markers.get(id)!;
          (require("../deploy/markers") as typeof import("../deploy/markers")).verifyMarkerForDestroy(process.cwd(), m, envDir(), process.env[STATE_BUCKET_ENV] || undefined);
          if (!m.settings?.terraform) throw new Error(`${id}: its deploy marker keeps no terraform block: destroy it from the deployed commit ${m.commit} (restore its env file there)`);
          stackFile = path.join(fs.mkdtempSync(path.join(require("os").tmpdir(), "alpha-prime-destroy-")), "cdk.tf.json");
          fs.writeFileSync(stackFile, JSON.stringify({ terraform: m.settings.terraform, provider: m.settings.provider, locals: { alpha_prime: { municipality: id } } }, null, 2));
        } else {
          const dir = opts.synthesized ?? opts.out;
          if (!opts.synthesized) synthToDir({ outdir: dir, envDir: envDir(), only: [id], stateBucket: process.env[STATE_BUCKET_ENV] || undefined });
          stackFile = path.join(dir, "stacks", id, "cdk.tf.json");
          if (!fs.existsSync(stackFile)) throw new Error(`${dir} holds no synthesized stack for '${id}'`);
        }
        // a destroy keeps the log archive: its logs stay for their retention, outside Terraform (deploy/plan.ts)
        const m = dp.makePlanArtifact({ id, stackFile, outDir: path.join(opts.artifacts, id), mode, destroy: opts.destroy, keepArchive: opts.destroy, commit, expectStackSha256: opts.expectStackSha256 });
        const summary = fs.readFileSync(path.join(opts.artifacts, id, dp.ARTIFACT_FILES.summary), "utf8");
        if (opts.summary) (require("../deploy/github") as typeof import("../deploy/github")).appendSummary(opts.summary, summary);
        io.out(`terraform ${version}: ${id}: ${m.destroy ? "destroy " : ""}plan saved (${m.mode}) in ${path.join(opts.artifacts, id)}: ${m.counts.create} to create, ${m.counts.update} to update, ${m.counts.replace} to replace, ${m.counts.delete} to destroy; plan sha256 ${m.planSha256}\n`);
        return setCode(0);
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
    .command("apply")
    .description("apply exactly the reviewed plan artifact; if the state moved since, plan again and apply only when the new plan does what the approved one did (else exit 1); then record the deployed commit")
    .argument("<id>", "municipality id")
    .requiredOption("--plan <dir>", "the plan artifact directory (from `plan --artifacts`, e.g. plan-artifacts/<id>)")
    .option("--expect-plan-sha256 <sha>", "refuse unless the artifact's plan file is this one (the approved checksum)")
    .option("--expect-stack-sha256 <sha>", "refuse unless the artifact's stack is this one")
    .option("--record-deployed", "after a successful apply, record the deployed commit in the deploy marker (a git ref)")
    .option("--remote <name>", "push the deploy marker to this remote")
    .option("--marker-prefix <ref>", "where deploy markers are kept", DEFAULT_MARKER_PREFIX)
    .option("--summary <file>", "append the outcome to this file ($GITHUB_STEP_SUMMARY)")
    .action((id: string, opts: { plan: string; expectPlanSha256?: string; expectStackSha256?: string; recordDeployed?: boolean; remote?: string; markerPrefix: string; summary?: string }) => {
      const dp = require("../deploy/plan") as typeof import("../deploy/plan");
      const mk = require("../deploy/markers") as typeof import("../deploy/markers");
      const { manifest } = dp.readArtifact(opts.plan, id);
      if (opts.recordDeployed && !manifest.destroy) {
        // before Terraform runs: an older commit's plan (a re-run of an old deploy run) is never applied over a newer
        // deploy, so what runs and what the marker says stay the same tree. The newest markers first.
        if (opts.remote) mk.fetchMarkers(process.cwd(), opts.remote, opts.markerPrefix);
        if (!manifest.commit) throw new Error(`${id}: the plan artifact names no commit: cannot record what was deployed; nothing applied`);
        mk.assertMarkerMayMoveTo(process.cwd(), id, manifest.commit, opts.markerPrefix);
      }
      const r = dp.applyPlanArtifact({ id, artifactDir: opts.plan, expectPlanSha256: opts.expectPlanSha256, expectStackSha256: opts.expectStackSha256 });
      let recorded = "";
      if (opts.recordDeployed) {
        // the newest markers again: another municipality's run may have pushed while Terraform ran
        if (opts.remote) mk.fetchMarkers(process.cwd(), opts.remote, opts.markerPrefix);
        const stack = JSON.parse(fs.readFileSync(path.join(opts.plan, dp.ARTIFACT_FILES.stack), "utf8"));
        if (manifest.destroy) {
          mk.removeMarker(process.cwd(), id, { remote: opts.remote, prefix: opts.markerPrefix });
          recorded = `; deploy marker ${opts.markerPrefix}/${id} removed`;
        } else {
          if (!manifest.commit) throw new Error(`${id}: the plan artifact names no commit: cannot record what was deployed`);
          const run = process.env.GITHUB_SERVER_URL && process.env.GITHUB_REPOSITORY && process.env.GITHUB_RUN_ID ? `${process.env.GITHUB_SERVER_URL}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}` : undefined;
          mk.recordMarker(process.cwd(), { id, commit: manifest.commit, stackSha256: manifest.stackSha256, planSha256: manifest.planSha256, ...(run ? { run } : {}), settings: { terraform: stack.terraform, provider: stack.provider } }, { remote: opts.remote, prefix: opts.markerPrefix });
          recorded = `; deployed commit ${manifest.commit.slice(0, 12)} recorded in ${opts.markerPrefix}/${id}${opts.remote ? ` and pushed to ${opts.remote}` : ""}`;
        }
      }
      const line = `${id}: applied ${r.applied === "saved" ? "the approved plan file" : "a new plan identical to the approved one (the state had moved)"} (sha256 ${r.planSha256})${recorded}\n`;
      if (opts.summary) (require("../deploy/github") as typeof import("../deploy/github")).appendSummary(opts.summary, `- ✅ ${line}`);
      io.out(line);
      setCode(0);
    });

  program
    .command("deploy-targets")
    .description("what a deploy run deploys: each municipality whose synthesized stack differs from its last deployed one (deploy markers), or the requested ids (an unknown id fails); in waves of at most 256; reports municipalities still running without an env file")
    .argument("[dir]", "synthesized output directory (every municipality)", "cdktf.out")
    .option("--ids <ids>", "deploy exactly these ids (comma or space separated; a workflow_dispatch input)")
    .option("--wave-size <n>", "municipalities per wave (GitHub's matrix holds 256)", "256")
    .option("--wave-slots <n>", "waves the workflow has jobs for; more are left for the next run, loudly", "8")
    .option("--fetch <remote>", "fetch the deploy markers from this remote first")
    .option("--marker-prefix <ref>", "where deploy markers are kept", DEFAULT_MARKER_PREFIX)
    .option("--github-output <file>", "write wave1…waveN, count and still_running as step outputs ($GITHUB_OUTPUT)")
    .option("--summary <file>", "append the run's deploy list to this file ($GITHUB_STEP_SUMMARY)")
    .option("--from-diff <file>", "choose the municipalities a diff JSON report shows added or changed (pull-request plans)")
    .option("--destroy <id>", "the municipality to destroy: its deploy marker's account and commit as outputs (account, commit); it must have a marker")
    .option("--format <format>", "text | json", "text")
    .action((dir: string, opts: { ids?: string; waveSize: string; waveSlots: string; fetch?: string; markerPrefix: string; githubOutput?: string; summary?: string; format: string; fromDiff?: string; destroy?: string }) => {
      const t = require("../deploy/targets") as typeof import("../deploy/targets");
      const mk = require("../deploy/markers") as typeof import("../deploy/markers");
      const size = Number(opts.waveSize);
      const slots = Number(opts.waveSlots);
      if (!(Number.isInteger(slots) && slots >= 1)) throw new Error(`--wave-slots must be a whole number of at least 1, got '${opts.waveSlots}'`);
      if (opts.fetch) mk.fetchMarkers(process.cwd(), opts.fetch, opts.markerPrefix);
      const markers = mk.readMarkers(process.cwd(), opts.markerPrefix);
      if (opts.destroy !== undefined) {
        const m = markers.get(opts.destroy);
        if (!m) throw new t.UnknownMunicipalityError(`'${opts.destroy}' has no deploy marker (${opts.markerPrefix}/${opts.destroy}): nothing deployed to destroy${markers.size ? `; deployed: ${[...markers.keys()].slice(0, 20).join(", ")}${markers.size > 20 ? " …" : ""}` : ""}`);
        // the workflow's destroy is for a municipality whose env file was removed (a merged change): a live one is not
        // destroyed from here, and the next push would redeploy it into the archive names the destroy kept
        if (envFileExists(envDir(), opts.destroy)) throw new mk.MarkerRefusedError(`${opts.destroy}: its env file is still in ${envDir()}: remove it in a reviewed change first; nothing destroyed`);
        const { account } = mk.verifyMarkerForDestroy(process.cwd(), m, envDir(), process.env[STATE_BUCKET_ENV] || undefined);
        if (opts.githubOutput) t.writeGithubOutputs(opts.githubOutput, { account, commit: m.commit });
        io.out(`${opts.destroy}: deployed at ${m.commit} in account ${account}\n`);
        return setCode(0);
      }
      let ids = t.parseIds(opts.ids);
      if (opts.fromDiff) {
        const report = JSON.parse(fs.readFileSync(opts.fromDiff, "utf8")) as import("../review/diff").DiffReport;
        ids = report.municipalities.filter((m) => m.status === "added" || m.status === "changed").map((m) => m.id);
        if (!ids.length) {
          if (opts.githubOutput) t.writeGithubOutputs(opts.githubOutput, t.targetsOutputs({ waves: [], stillRunning: [], unchanged: 0 }, slots));
          io.out("no municipality changes: nothing to plan\n");
          return setCode(0);
        }
      }
      const targets = t.computeTargets(dir, markers, ids, size);
      if (opts.githubOutput) t.writeGithubOutputs(opts.githubOutput, t.targetsOutputs(targets, slots));
      const summary = t.targetsSummary(targets, slots);
      if (opts.summary) (require("../deploy/github") as typeof import("../deploy/github")).appendSummary(opts.summary, summary);
      io.out(opts.format === "json" ? `${JSON.stringify(targets, null, 2)}\n` : summary);
      setCode(0);
    });

  program
    .command("pr-comment")
    .description("post the reviewer's diff on a pull request: update alpha-prime's own marked comment (or create it), cut to GitHub's limit with a link to the full report; a read-only token (fork) writes the job summary instead, without failing")
    .requiredOption("--diff-json <file>", "the diff's JSON report (`diff --json-output`)")
    .option("--repo <owner/name>", "the repository (default: $GITHUB_REPOSITORY)")
    .option("--pr <number>", "the pull request number")
    .option("--full-report-url <url>", "where the whole report is (the run's artifact)")
    .option("--summary <file>", "also append the comment to this file ($GITHUB_STEP_SUMMARY)")
    .option("--summary-only", "do not post (a fork's pull request): only the summary")
    .option("--comment-author <login>", "the login the token comments as; only its marked comment is updated (default: github-actions[bot], the workflow's GITHUB_TOKEN)")
    .action(async (opts: { diffJson: string; repo?: string; pr?: string; fullReportUrl?: string; summary?: string; summaryOnly?: boolean; commentAuthor?: string }) => {
      const gh = require("../deploy/github") as typeof import("../deploy/github");
      const d = require("../review/diff") as typeof import("../review/diff");
      const report = JSON.parse(fs.readFileSync(opts.diffJson, "utf8")) as import("../review/diff").DiffReport;
      if (!Array.isArray(report?.municipalities)) throw new Error(`${opts.diffJson}: not a diff JSON report (alpha-prime diff --format json)`);
      const body = d.markdown(report, { maxChars: d.GITHUB_COMMENT_LIMIT - 536, fullReportUrl: opts.fullReportUrl });
      if (opts.summary) gh.appendSummary(opts.summary, body);
      if (opts.summaryOnly) {
        io.out(`the report is in the job summary${opts.fullReportUrl ? ` and at ${opts.fullReportUrl}` : ""} (no comment posted: read-only token)\n`);
        return setCode(0);
      }
      const repo = opts.repo ?? process.env.GITHUB_REPOSITORY ?? "";
      const token = process.env.GITHUB_TOKEN ?? process.env.GH_TOKEN;
      if (!token) throw new Error("GITHUB_TOKEN (or GH_TOKEN) is not set: cannot post the comment");
      const target = { repo, pr: gh.checkTarget(repo, opts.pr ?? ""), token, apiUrl: process.env.GITHUB_API_URL || "https://api.github.com" };
      const r = await gh.upsertComment(target, body, undefined, opts.commentAuthor ?? gh.DEFAULT_COMMENT_AUTHOR);
      if (r.action === "not-permitted") {
        if (opts.summary === undefined) throw new Error(`the token may not comment on ${repo}#${target.pr} (HTTP ${r.status}); give --summary to keep the report in the job summary`);
        io.out(`the token may not comment on ${repo}#${target.pr} (HTTP ${r.status}: a fork's read-only token): the report is in the job summary\n`);
        return setCode(0);
      }
      io.out(`${r.action} comment ${r.id}${r.url ? ` ${r.url}` : ""}\n`);
      setCode(0);
    });

  program
    .command("check")
    .description("check synthesized stacks against the α′ security baseline (docs/RULES.md); exit 1 on any unsuppressed error")
    .argument("[dir]", "synthesized output directory", "cdktf.out")
    .option("--plan <file>", "a `terraform show -json` plan, for rules that need planned values")
    .option("--format <format>", "text | json | sarif | junit", "text")
    .option("--output <file>", "write the report to a file instead of standard output")
    .option("--rules-url <url>", "sarif: absolute URL of docs/RULES.md for each rule's helpUri (default in GitHub Actions: this commit's file)")
    .option("--changed-since <ref>", "check only the municipalities whose inputs differ from those of a git ref")
    .option("--allow-stale", "check an output that no longer matches the files it was synthesized from (with a warning) instead of refusing it")
    .option("--any-toolkit", ANY_TOOLKIT_HELP)
    .action((dir: string, opts: { plan?: string; format: string; output?: string; rulesUrl?: string; changedSince?: string; allowStale?: boolean; anyToolkit?: boolean }) => {
      if (!["text", "json", "sarif", "junit"].includes(opts.format)) throw new Error(`--format must be text, json, sarif or junit, got '${opts.format}'`);
      if (opts.rulesUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(opts.rulesUrl)) throw new Error(`--rules-url must be an absolute http(s) URL, got '${opts.rulesUrl}'`);
      // the pack is loaded by the command that runs it: some rules load constructs, and with them cdktf
      const { checkStack, loadSynthesized } = require("../policy/engine") as typeof import("../policy/engine");
      const { exitCodeFor, renderReport } = require("../policy/report") as typeof import("../policy/report");
      const rv = require("../review/revisions") as typeof import("../review/revisions");
      const record = (require("../stacks/output-record") as typeof import("../stacks/output-record")).readInputsRecord(dir);
      if (fs.existsSync(path.join(dir, "manifest.json"))) rv.guardOutput(dir, opts.allowStale ?? false, io.err, opts.anyToolkit ?? false);
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
      // SARIF results point at the env file's field that caused them (policy/sources.ts)
      emit(renderReport(opts.format as ReportFormat, reports, dir, { envDir: envDir(), rulesUrl: opts.rulesUrl }), opts.output);
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
    .option("--json-output <file>", "also write the JSON report (one synthesis for every output)")
    .option("--full-output <file>", "also write the whole Markdown report, uncut")
    .option("--full", "synthesize every municipality of a git ref, not only those whose inputs differ between base and head")
    .option("--no-cache", "build every stack of a git ref: neither read nor write the synth cache")
    .option("--allow-stale", "compare an output directory that no longer matches the files it was synthesized from (with a warning) instead of refusing it")
    .option("--any-toolkit", ANY_TOOLKIT_HELP)
    .action((base: string, head: string, opts: { format: string; failOn?: string; output?: string; maxChars?: string; fullReportUrl?: string; jsonOutput?: string; fullOutput?: string; full?: boolean; cache: boolean; allowStale?: boolean; anyToolkit?: boolean }) => {
      if (!["markdown", "json"].includes(opts.format)) throw new Error(`--format must be markdown or json, got '${opts.format}'`);
      if (opts.failOn && !["destructive", "security"].includes(opts.failOn)) throw new Error(`--fail-on must be destructive or security, got '${opts.failOn}'`);
      const d = require("../review/diff") as typeof import("../review/diff");
      const rv = require("../review/revisions") as typeof import("../review/revisions");
      const sides = base.endsWith(".json") && fs.existsSync(base) ? d.readPlan(base) : rv.readSides(base, head, { full: opts.full, cache: opts.cache, allowStale: opts.allowStale, anyToolkit: opts.anyToolkit, envDir: envDir(), warn: io.err });
      const skipped = "skipped" in sides ? sides.skipped : undefined;
      const report = { ...d.diffSides(sides.base, sides.head), ...(skipped ? { skipped } : {}) };
      const maxChars = opts.maxChars === undefined ? undefined : Number(opts.maxChars);
      if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars >= 1000)) throw new Error(`--max-chars must be a whole number of at least 1000, got '${opts.maxChars}'`);
      if (opts.jsonOutput) writeAtomically(opts.jsonOutput, d.json(report));
      if (opts.fullOutput) writeAtomically(opts.fullOutput, d.markdown(report));
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
        if (opts.asOf !== undefined && !(/^\d{4}-\d{2}-\d{2}$/.test(opts.asOf) && !Number.isNaN(Date.parse(opts.asOf)))) throw new Error(`--as-of must be a date YYYY-MM-DD, got '${opts.asOf}'`);
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
      const { CATALOG_PATH } = require("../catalog/saas-catalog") as typeof import("../catalog/saas-catalog");
      if (opts.feedVersion !== undefined && !/^[0-9]{10}$/.test(opts.feedVersion)) throw new cr.FeedInputError(`--feed-version must be the list's 10-digit version (yyyymmddnn), got '${opts.feedVersion}'`);
      if (opts.write && opts.from && !opts.feedVersion) throw new cr.FeedInputError("--write needs the list's version: --feed-version <yyyymmddnn>");
      const file = path.resolve(opts.catalog ?? CATALOG_PATH);
      const validateEnv = (updated: import("../catalog/saas-catalog").SaasCatalog) => {
        const issues = loadFiles(envFiles(envDir()), updated).issues;
        if (issues.length) throw new ConfigError(issues);
      };
      const r = await cr.refreshCatalog({
        saas,
        catalogFile: file,
        from: opts.from && path.resolve(opts.from),
        version: opts.feedVersion,
        configs: loadSelected({ envDir: envDir() }),
        write: opts.write ? { today: new Date().toISOString().slice(0, 10), validateEnv, writeFile: writeAtomically } : undefined,
      });
      io.out(r.text);
      if (r.wroteVersion) io.out(`wrote ${path.relative(process.cwd(), file) || file}: feed version ${r.wroteVersion}\n`);
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
    .action(async (id: string, opts: { from: string[]; format: string; write?: boolean }) => {
      if (!["table", "yaml", "json"].includes(opts.format)) throw new Error(`--format must be table, yaml or json, got '${opts.format}'`);
      const { learn, learnTable, learnYaml, writeProposal } = require("../catalog/learn") as typeof import("../catalog/learn");
      const [config] = loadSelected({ envDir: envDir(), only: [id] });
      const report = await learn(config, opts.from.map((f) => path.resolve(f)));
      io.out(opts.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : opts.format === "yaml" ? learnYaml(report) : learnTable(report));
      if (opts.write) {
        const added = writeProposal(config.sourceFile, report, { validate: validateEnvText, write: writeAtomically });
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

/** What scripts and CI branch on; each command's own meaning of 1 is in README's CLI reference. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success (valid, no unsuppressed error, no --fail-on risk, applied)
  1  the input or the result is refused: invalid env file, failed check, a --fail-on risk, terraform failed,
     an unknown id given to deploy-targets, a plan that differs from the approved one, a plan artifact that is
     not the approved one, a deploy marker refused (an older commit, or a destroy it does not back)
  2  usage error, refused output directory, unreadable artifact, or internal error
`;

/** The commit checked out in the working directory, when it is a git checkout. */
function gitHead(): string | undefined {
  const r = require("child_process").spawnSync("git", ["rev-parse", "--verify", "HEAD"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function envFileExists(dir: string, id: string): boolean {
  return [`${id}.yaml`, `${id}.yml`].some((n) => fs.existsSync(path.join(dir, n)));
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

/**
 * The checks of `validate` on an env file as it would be with `text` (a proposed edit), located in the real file:
 * the text is validated as a copy beside it, so relative checks (the id against the file name) see the same name.
 */
export function validateEnvText(file: string, text: string): void {
  const scratch = fs.mkdtempSync(path.join(path.dirname(file), ".alpha-prime-edit-"));
  try {
    const copy = path.join(scratch, path.basename(file));
    fs.writeFileSync(copy, text);
    const issues = loadFiles([copy]).issues;
    if (issues.length) throw new ConfigError(issues.map((i) => ({ ...i, file: path.relative(process.cwd(), file) || file })));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
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
    if (e instanceof Error && ["StaleOutputError", "UnknownMunicipalityError", "PlanDriftError", "ArtifactMismatchError", "MarkerRefusedError"].includes(e.name)) {
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
