/**
 * A hostile review of issue 24 (the saved plan as the unit of review and deploy, the diff that tells the truth about
 * loss, the PR comment, the workflows). Each test states a property the merged work claims or needs and shows the way
 * around it; every one of them failed when it was written (against main after the "review" merge). The product code
 * was not changed here: these tests are the findings.
 */
import * as fs from "fs";
import { fakeGitHub } from "./fake-github";
import * as path from "path";
import { marked } from "marked";
import { parse } from "yaml";
import { recordMarker } from "../deploy/markers";
import { applyPlanArtifact, ARTIFACT_FILES, ArtifactMismatchError, makePlanArtifact, planSummary, reviewerReport } from "../deploy/plan";
import { sha256 } from "../deploy/targets";
import { compareStacks, exitCodeFor, markdown, snapshotOfStack } from "../review/diff";
import { REPO_ROOT } from "../core/paths";
import { cli } from "./cli-run";
import { envDirWith, git, hasTerraform, outdirWith, repoWithCommits, sampleText, synthStacks, tempDir } from "./helpers";


/** A synthesized output (manifest + one stack) as `plan --synthesized` and `deploy-targets` read it. */
const synthesizedDir = (id: string, stack: unknown): string => outdirWith({ [id]: stack }, tempDir("attack-synth-"));

/** A stack Terraform plans and applies offline for real: terraform_data (built in) and a local state file. */
function dataStack(state: string, values: Record<string, string>, extra: Record<string, any> = {}): any {
  return { ...extra, terraform: { backend: { local: { path: state } }, ...(extra.terraform ?? {}) }, resource: { terraform_data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { input: v }])) } };
}

function stateValues(state: string): Record<string, string> {
  return Object.fromEntries(JSON.parse(fs.readFileSync(state, "utf8")).resources.map((r: any) => [r.name, r.instances[0].attributes.input.value]));
}

async function inDir<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return await f();
  } finally {
    process.chdir(cwd);
  }
}

const maybe = hasTerraform() || process.env.CI ? describe : describe.skip;

// -----------------------------------------------------------------------------------------------------------------
// (c) the auditor: is what apply applies what was approved, and do the markers say what runs?

maybe("attack: apply and the deploy markers (real Terraform, terraform_data, local state)", () => {
  test("an older commit's plan (a re-run of an old deploy run) is refused BEFORE it is applied, so the markers never claim a newer deploy than what runs", async () => {
    const { repo, commits } = repoWithCommits("attack-repo-");
    const remote = tempDir("attack-remote-");
    git(remote, "init", "-q", "--bare");
    git(repo, "remote", "add", "origin", remote);
    const state = path.join(tempDir(), "town.tfstate");
    const oldStack = synthesizedDir("town", dataStack(state, { allowlist: "zoom.us evil.example" }));
    const newStack = synthesizedDir("town", dataStack(state, { allowlist: "zoom.us" }));
    const env = tempDir("attack-env-");
    await inDir(repo, async () => {
      // the run for c2 deploys the new stack and records c2
      expect((await cli("--env-dir", env, "plan", "town", "--artifacts", "a2", "--state", "real", "--synthesized", newStack)).code).toBe(0);
      expect((await cli("apply", "town", "--plan", "a2/town", "--record-deployed", "--remote", "origin")).code).toBe(0);
      // someone re-runs the deploy run of c1: its plan is made now, against the current state, and approved
      git(repo, "checkout", "-q", commits[0]);
      expect((await cli("--env-dir", env, "plan", "town", "--artifacts", "a1", "--state", "real", "--synthesized", oldStack)).code).toBe(0);
      const applied = await cli("apply", "town", "--plan", "a1/town", "--record-deployed", "--remote", "origin");
      git(repo, "checkout", "-q", "main");
      expect(applied.code).not.toBe(0);
      // the refusal must come before Terraform runs: today the old allowlist is applied, then the marker refuses to
      // move back, and deploy-targets reports town "unchanged" from then on while the old stack runs
      expect(stateValues(state)).toEqual({ allowlist: "zoom.us" });
    });
  }, 120_000);

  test("an offline plan whose manifest was edited to say mode 'real' is still refused (the mode is read from the plan, not from a self-written manifest)", () => {
    const state = path.join(tempDir(), "town.tfstate");
    const stack = dataStack(state, { a: "v1" }, { terraform: { required_providers: { aws: { source: "aws", version: "5.100.0" } } } });
    const file = path.join(tempDir(), "cdk.tf.json");
    fs.writeFileSync(file, JSON.stringify(stack));
    const dir = path.join(tempDir(), "town");
    makePlanArtifact({ id: "town", stackFile: file, outDir: dir, mode: "offline", commit: "c0ffee" });
    const manifestFile = path.join(dir, ARTIFACT_FILES.manifest);
    fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, "utf8")), mode: "real" }));
    // today: "Apply complete! Resources: 1 added" (into the offline override's throw-away local state)
    expect(() => applyPlanArtifact({ id: "town", artifactDir: dir })).toThrow(ArtifactMismatchError);
  }, 120_000);

  test("--expect-stack-sha256 binds the plan file: a plan made from another stack, with the manifest's sums rewritten, is refused", () => {
    const state = path.join(tempDir(), "town.tfstate");
    const write = (values: Record<string, string>) => {
      const f = path.join(tempDir(), "cdk.tf.json");
      fs.writeFileSync(f, JSON.stringify(dataStack(state, values)));
      return f;
    };
    const approvedFile = write({ allowlist: "zoom.us" });
    const approved = path.join(tempDir(), "town");
    const other = path.join(tempDir(), "town");
    const m = makePlanArtifact({ id: "town", stackFile: approvedFile, outDir: approved, mode: "real", commit: "c0ffee" });
    makePlanArtifact({ id: "town", stackFile: write({ allowlist: "*" }), outDir: other, mode: "real", commit: "c0ffee" });
    // the plan file and its JSON swapped for the other ones; the manifest (in the same artifact, signed by no one)
    // says whatever matches
    for (const f of [ARTIFACT_FILES.plan, ARTIFACT_FILES.planJson]) fs.copyFileSync(path.join(other, f), path.join(approved, f));
    const manifestFile = path.join(approved, ARTIFACT_FILES.manifest);
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, planSha256: sha256(fs.readFileSync(path.join(approved, ARTIFACT_FILES.plan))), planJsonSha256: sha256(fs.readFileSync(path.join(approved, ARTIFACT_FILES.planJson))) }));
    expect(() => applyPlanArtifact({ id: "town", artifactDir: approved, expectStackSha256: m.stackSha256 })).toThrow(ArtifactMismatchError);
    expect(fs.existsSync(state) ? stateValues(state) : {}).toEqual({});
  }, 120_000);
});

describe("attack: the deploy markers are refs anyone with push access writes", () => {
  test("a destroy assumes the account of the deployed commit's env file, not the one a hand-made marker names", async () => {
    const repo = tempDir("attack-repo-");
    git(repo, "init", "-q", "-b", "main");
    fs.mkdirSync(path.join(repo, "env"));
    fs.writeFileSync(path.join(repo, "env", "oldtown.yaml"), "id: oldtown\naws:\n  accountId: \"111122223333\"\n");
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "oldtown");
    const deployed = git(repo, "rev-parse", "HEAD");
    git(repo, "rm", "-q", "env/oldtown.yaml");
    git(repo, "commit", "-q", "-m", "oldtown removed");
    // `git mktag` + `git push origin <tag>:refs/alpha-prime/deployed/oldtown` is all a contributor needs: branch
    // protection and tag rulesets do not cover refs/alpha-prime/*
    recordMarker(repo, { id: "oldtown", commit: deployed, stackSha256: "0".repeat(64), settings: { terraform: { backend: { s3: { bucket: "someone-elses-state", key: "x" } } }, provider: { aws: [{ allowed_account_ids: ["999988887777"] }] } } });
    const out = path.join(tempDir(), "out");
    const r = await inDir(repo, () => cli("--env-dir", path.join(repo, "env"), "deploy-targets", "--destroy", "oldtown", "--github-output", out));
    const outputs = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
    // today: exit 0 and account=999988887777 (and the destroy plan uses the marker's backend: someone else's state)
    expect(outputs).not.toContain("account=999988887777");
    expect(r.code !== 0 || outputs.includes("account=111122223333")).toBe(true);
  });

  test("a destroy is refused while the municipality's env file is still in the tree (the workflow's input says: its env file removed)", async () => {
    const repo = tempDir("attack-repo-");
    git(repo, "init", "-q", "-b", "main");
    fs.writeFileSync(path.join(repo, "f.txt"), "1");
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "c1");
    recordMarker(repo, { id: "kaga", commit: git(repo, "rev-parse", "HEAD"), stackSha256: "0".repeat(64), settings: { provider: { aws: [{ allowed_account_ids: ["222233334444"] }] } } });
    const env = envDirWith({ "kaga.yaml": sampleText("kaga") });
    const r = await inDir(repo, () => cli("--env-dir", env, "deploy-targets", "--destroy", "kaga"));
    // today: exit 0, "kaga: deployed at … in account 222233334444": the destroy of a live municipality proceeds,
    // and the next push redeploys it into the log archive the destroy kept (names already taken)
    expect(r.code).not.toBe(0);
  });
});

// -----------------------------------------------------------------------------------------------------------------
// (a) the contributor: the PR comment and the approver's summary

describe("attack: the PR comment and the approver's job summary", () => {
  test("a comment the contributor wrote with alpha-prime's hidden marker is not the one alpha-prime updates (nor the one a reviewer is led to)", async () => {
    const fake = "<!-- alpha-prime-diff -->\n## alpha-prime diff: main → pr\n\nNo municipality changes (4 compared).\n";
    const gh = await fakeGitHub([
      { id: 5, body: "<!-- alpha-prime-diff -->\n## alpha-prime diff (an earlier push)", user: { login: "github-actions[bot]", type: "Bot" } },
      { id: 6, body: fake, user: { login: "mallory", type: "User" } },
    ]);
    const diffJson = path.join(tempDir(), "diff.json");
    fs.writeFileSync(diffJson, JSON.stringify({ base: "main", head: "pr", municipalities: [{ id: "kaga", status: "changed", resources: [], callouts: [{ risk: "security", address: "allowlist", message: "domains ADDED to the breakout allowlist: .dropbox.com" }], domainsAdded: [".dropbox.com"] }] }));
    const saved = { ...process.env };
    Object.assign(process.env, { GITHUB_TOKEN: "t0ken", GITHUB_API_URL: gh.url });
    try {
      const r = await cli("pr-comment", "--diff-json", diffJson, "--repo", "city/infra", "--pr", "7");
      expect(r.code).toBe(0);
      // today: "updated comment 6": the report lands in mallory's comment, which mallory edits back after each run,
      // while alpha-prime's own comment keeps the earlier push's clean report
      expect(gh.comments.find((c) => c.id === 6)!.body).toBe(fake);
      expect(gh.comments.find((c) => c.id === 5)!.body).toContain(".dropbox.com");
    } finally {
      process.env = saved;
      await gh.close();
    }
  });

  test("the approver's job summary names a security change (a domain added to the allowlist), not only data loss, outages and destroys", () => {
    const rg = (targets: string[]) => ({ name: "allow", capacity: 100, type: "STATEFUL", rule_group: [{ rules_source: [{ rules_source_list: [{ generated_rules_type: "ALLOWLIST", target_types: ["TLS_SNI", "HTTP_HOST"], targets }] }] }] });
    const plan = { format_version: "1.2", resource_changes: [{ address: "aws_networkfirewall_rule_group.Breakout_Allowlist_1", mode: "managed", type: "aws_networkfirewall_rule_group", name: "Breakout_Allowlist_1", change: { actions: ["update"], before: rg([".slack.com"]), after: rg([".slack.com", ".dropbox.com"]), after_unknown: {} } }] };
    const report = reviewerReport(plan, { locals: { alpha_prime: { municipality: "kaga" } }, resource: {} });
    expect(report).toContain("domains ADDED to the breakout allowlist: .dropbox.com");
    const summary = planSummary({ id: "kaga", mode: "real", destroy: false, stackSha256: "s", planSha256: "p".repeat(64), planJsonSha256: "j", toolkitVersion: "0", counts: { create: 0, update: 1, replace: 0, delete: 0 }, createdAt: "" }, report);
    // today: "No data-loss, outage or destroy risk in this plan." and nothing about the allowlist
    expect(summary).toContain(".dropbox.com");
  });
});

// -----------------------------------------------------------------------------------------------------------------
// (a) the contributor: the diff and the comment

describe("attack: what the diff and its comment let through", () => {
  const env731 = envDirWith({ "kaga.yaml": sampleText("kaga").replace("retentionDays: 365", "retentionDays: 731") });
  const base = synthStacks({ envDir: env731, only: ["kaga"] }).stacks.kaga as any;
  const headWith = (edit: (j: any) => void) => {
    const j = JSON.parse(JSON.stringify(base));
    edit(j);
    return compareStacks("kaga", snapshotOfStack(base), snapshotOfStack(j));
  };
  const named = (j: any, type: string, prefix: string) => Object.entries<any>(j.resource[type]).find(([k]) => k.startsWith(prefix))![1];

  test("a log bucket's lifecycle that expires every object on a date (instead of after 731 days) is data loss, and fails --fail-on destructive", () => {
    const m = headWith((j) => {
      named(j, "aws_s3_bucket_lifecycle_configuration", "LogArchive_AccessLogBucketLifecycle_").rule[0].expiration = [{ date: "2026-01-01T00:00:00Z" }];
    });
    // today: only "⚠️ log retention (lifecycle) changed", exit 0 (and `check` passes it too)
    expect(m.callouts.filter((c) => c.risk === "data-loss").map((c) => c.address)).toContainEqual(expect.stringContaining("AccessLogBucketLifecycle"));
    expect(exitCodeFor({ base: "b", head: "h", municipalities: [m] }, "destructive")).toBe(1);
  });

  test("Object Lock COMPLIANCE → GOVERNANCE (the logs become deletable by privileged users) is data loss, and fails --fail-on destructive", () => {
    const m = headWith((j) => {
      named(j, "aws_s3_bucket_object_lock_configuration", "LogArchive_LogBucketObjectLock_").rule.default_retention.mode = "GOVERNANCE";
    });
    expect(m.callouts.some((c) => c.risk === "data-loss")).toBe(true);
    expect(exitCodeFor({ base: "b", head: "h", municipalities: [m] }, "destructive")).toBe(1);
  });

  test("one municipality's allowlist widening (a wildcard) is named in the risks section, not folded into 'N items of its own'", () => {
    const head = synthStacks({ envDir: envDirWith({ "kaga.yaml": sampleText("kaga").replace("retentionDays: 365", "retentionDays: 731").replace("  saas: [slack, kintone, zoom]", '  saas: [slack, kintone, zoom]\n  extraDomains: ["*.dropbox.com"]') }), only: ["kaga"] }).stacks.kaga;
    const comment = markdown({ base: "main", head: "pr", municipalities: [compareStacks("kaga", snapshotOfStack(base), snapshotOfStack(head))] });
    const risks = comment.slice(0, comment.indexOf("### Changes by kind"));
    // today: "- ⚠️ **kaga**: 4 items of its own: in its section below" (the domain, the DNS list, the PAC, the proxy)
    expect(risks).toContain(".dropbox.com");
  });

  test("a municipality name cannot put a link into the comment's risk lines", () => {
    const evil = "加賀市 [✅ reviewed by security, safe](https://evil.example/x)";
    // First the loader: the name tags every resource (IAM roles included), and IAM takes none of `[ ] ( ) ,` or emoji.
    const env = envDirWith({ "kaga.yaml": sampleText("kaga").replace("name: 加賀市", `name: "${evil}"`) });
    expect(() => synthStacks({ envDir: env, only: ["kaga"] })).toThrow(/\/name: .*characters IAM does not take in tags/);
    // Then the comment itself, for a stack that did not come through the loader (a tampered or hand-edited output):
    // every string that held the name now holds the link.
    const tampered = JSON.parse(JSON.stringify(base).split("加賀市").join(evil.replace(/"/g, '\\"')));
    const head = headWith((j) => Object.assign(j, tampered));
    const comment = markdown({ base: "main", head: "pr", municipalities: [head] });
    expect(comment).toContain("evil.example");
    const html = marked.parse(comment, { async: false }) as string;
    expect(html).not.toContain('href="https://evil.example/x"');
  });
});

// A stale cdktf.out (an output older than the env files `check` judges) is issue 24 item 4, built on the incremental
// branch with per-stack input fingerprints; its test lives there, not here.

// -----------------------------------------------------------------------------------------------------------------
// (b) the attacker against CI: the workflows as GitHub runs them

describe("attack: the workflows", () => {
  const WORKFLOWS = path.join(REPO_ROOT, ".github", "workflows");
  const wf = (name: string) => parse(fs.readFileSync(path.join(WORKFLOWS, name), "utf8"));
  const pr = wf("alpha-prime-pr.yml");
  const deploy = wf("alpha-prime-deploy.yml");
  const wave = wf("alpha-prime-deploy-wave.yml");
  const roleOf = (job: any) => (job.steps ?? []).find((s: any) => String(s.uses ?? "").startsWith("aws-actions/configure-aws-credentials"))?.with?.["role-to-assume"];

  test("the PR's verdict (diff --fail-on, check) is computed by the base branch's toolkit, not by the code under review", () => {
    const review = pr.jobs.review;
    const baseCheckouts = (review.steps as any[]).filter((s) => String(s.uses ?? "").startsWith("actions/checkout") && /pull_request\.base\.sha|base_ref/.test(String(s.with?.ref ?? "")));
    const judging = (review.steps as any[]).filter((s) => /alpha-prime (diff|check)\b/.test(String(s.run ?? "")));
    expect(judging.length).toBeGreaterThan(0);
    // today: one checkout (the PR's merge commit); `npx alpha-prime diff` runs review/*.ts as the PR wrote them, so a
    // PR that edits review/loss.ts or a policy rule decides what its own comment says and whether the job fails.
    // (The limit of this: a pull_request run uses the workflow file of the PR's merge commit — GITHUB_SHA, "Events that
    // trigger workflows" — so a PR may still rewrite this file; that edit is visible and goes to code-owner review.)
    for (const s of judging) expect(baseCheckouts.map((c) => c.with?.path).filter(Boolean)).toContain(s["working-directory"]);
  });

  test("a job that assumes an AWS role without an environment's approval does not get the role the apply uses", () => {
    const pairs: [any, any][] = [
      [wave.jobs.plan, wave.jobs.apply],
      [deploy.jobs["destroy-plan"], deploy.jobs["destroy-apply"]],
    ];
    for (const [plan, apply] of pairs) {
      expect(apply.environment).toBeDefined();
      // today: both assume ALPHA_PRIME_DEPLOY_ROLE_NAME; the README asks for a trust policy "restricted to those
      // environments", which the plan jobs (no environment) then cannot meet, or which must be widened to the ref
      if (!plan.environment) expect(roleOf(plan)).not.toBe(roleOf(apply));
    }
  });

  // Corrected from "the apply step passes --expect-plan-sha256": the plan and apply legs are matrix jobs, and a matrix
  // job's outputs are one value per output name, overwritten by each combination
  // (https://docs.github.com/en/actions/using-jobs/defining-outputs-for-jobs), so 256 plan checksums cannot reach their
  // apply legs as outputs; the only source in the apply job would be the artifact itself. What binds the approved plan
  // to the applied one is that the artifact cannot change after the plan job uploaded it (upload-artifact v4+:
  // immutable unless deleted, https://github.com/actions/upload-artifact/blob/main/docs/MIGRATION.md), that the apply
  // takes this run's artifact, and that apply checks the plan file's own configuration against the chosen stack.
  test("the plan file the approver was shown is the one applied: this run's artifact, which nothing in the run can replace or delete", () => {
    const download = (wave.jobs.apply.steps as any[]).find((s) => String(s.uses ?? "").startsWith("actions/download-artifact"));
    expect(download.with.name).toBe("plan-${{ matrix.municipality.id }}");
    expect(download.with["run-id"]).toBeUndefined();
    expect(download.with["github-token"]).toBeUndefined();
    for (const w of [pr, deploy, wave]) {
      for (const job of Object.values<any>(w.jobs)) {
        expect(job.permissions?.actions).not.toBe("write");
        for (const s of job.steps ?? []) if (String(s.uses ?? "").startsWith("actions/upload-artifact")) expect(s.with?.overwrite).not.toBe(true);
      }
    }
    const applyRun = (wave.jobs.apply.steps as any[]).map((s) => String(s.run ?? "")).find((r) => r.includes("alpha-prime apply"))!;
    expect(applyRun).toMatch(/--expect-stack-sha256 "\$STACK"/);
  });

  test("the deploy waves receive no secrets they do not use (no `secrets: inherit`)", () => {
    const inheriting = Object.entries<any>(deploy.jobs).filter(([, j]) => j.secrets === "inherit").map(([id]) => id);
    expect(inheriting).toEqual([]);
  });
});
