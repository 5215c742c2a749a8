/**
 * The deploy path's CLI commands, as the workflows call them: what to deploy (from the deploy markers, never from
 * github.event.before), the saved plan as the artifact a person approves, the apply of exactly that plan (or of an
 * identical new one when the state moved), the markers themselves, and the PR comment that updates its own comment.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { fakeGitHub } from "./fake-github";
import * as path from "path";
import { readMarkers, recordMarker, fetchMarkers, removeMarker } from "../deploy/markers";
import { applyPlanArtifact, makePlanArtifact, planDifferences, PlanDriftError, ArtifactMismatchError } from "../deploy/plan";
import { computeTargets, MATRIX_LIMIT, sha256, targetsOutputs, UnknownMunicipalityError } from "../deploy/targets";
import { cli } from "./cli-run";
import { git, hasTerraform, outdirWith, repoWithCommits, synthStacks, tempDir } from "./helpers";

describe("deploy markers: what was last deployed, per municipality, as git refs", () => {
  test("recorded, read back in one pass, pushed to and fetched from a remote; never moved back; removed after a destroy", () => {
    const { repo, commits } = repoWithCommits();
    const remote = tempDir("alpha-prime-remote-");
    git(remote, "init", "-q", "--bare");
    git(repo, "remote", "add", "origin", remote);
    recordMarker(repo, { id: "kaga", commit: commits[1], stackSha256: "a".repeat(64), settings: { terraform: { backend: { s3: { bucket: "b" } } } } }, { remote: "origin" });
    recordMarker(repo, { id: "ashiya", commit: commits[0], stackSha256: "b".repeat(64) }, { remote: "origin" });
    const markers = readMarkers(repo);
    expect([...markers.keys()].sort()).toEqual(["ashiya", "kaga"]);
    expect(markers.get("kaga")).toMatchObject({ id: "kaga", commit: commits[1], stackSha256: "a".repeat(64), settings: { terraform: { backend: { s3: { bucket: "b" } } } } });
    // an older commit never overwrites a newer one
    expect(() => recordMarker(repo, { id: "kaga", commit: commits[0], stackSha256: "c".repeat(64) })).toThrow(/older than the deployed .*does not move back/);
    // another checkout (the next run) sees them after a fetch
    const clone = tempDir("alpha-prime-clone-");
    git(clone, "clone", "-q", remote, ".");
    expect(readMarkers(clone).size).toBe(0);
    fetchMarkers(clone, "origin");
    expect(readMarkers(clone).get("ashiya")?.commit).toBe(commits[0]);
    removeMarker(repo, "ashiya", { remote: "origin" });
    fetchMarkers(clone, "origin");
    expect([...readMarkers(repo).keys()]).toEqual(["kaga"]);
    expect(() => recordMarker(repo, { id: "../evil", commit: commits[0], stackSha256: "x" })).toThrow(/not a municipality id/);
  });
});

describe("deploy-targets: what this run deploys", () => {
  const { dir } = synthStacks();
  const stackSha = (id: string) => sha256(fs.readFileSync(path.join(dir, "stacks", id, "cdk.tf.json")));

  test("never deployed: everything; deployed and unchanged: nothing; one stack changed: that one (whatever github.event.before says)", () => {
    const all = computeTargets(dir, new Map());
    expect(all.waves.flat().map((t) => [t.id, t.reason])).toEqual(["aogashima", "ashiya", "kaga", "mitoyo"].map((id) => [id, "never deployed"]));
    expect(all.waves.flat().find((t) => t.id === "kaga")!.account).toBe("222233334444");
    const deployed = new Map(["aogashima", "ashiya", "kaga", "mitoyo"].map((id) => [id, { id, commit: "c0ffee", stackSha256: stackSha(id) }]));
    expect(computeTargets(dir, deployed).waves).toEqual([]);
    deployed.set("kaga", { id: "kaga", commit: "c0ffee", stackSha256: "0".repeat(64) });
    const one = computeTargets(dir, deployed);
    expect(one.waves.flat().map((t) => [t.id, t.reason, t.deployed])).toEqual([["kaga", "changed since the deployed commit", "c0ffee"]]);
    expect(one.unchanged).toBe(3);
  });

  test("a deleted municipality is reported as still running, loudly", async () => {
    const { repo, commits } = repoWithCommits();
    recordMarker(repo, { id: "oldtown", commit: commits[1], stackSha256: "d".repeat(64) });
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      const summary = path.join(tempDir(), "summary.md");
      const out = path.join(tempDir(), "out.txt");
      const r = await cli("deploy-targets", dir, "--summary", summary, "--github-output", out);
      expect(r.code).toBe(0);
      expect(fs.readFileSync(summary, "utf8")).toMatch(/### 🛑 Still running without an env file: 1\n\n- \*\*oldtown\*\*: deployed at [0-9a-f]{12} .*Destroy it with the workflow's `destroy` input/);
      expect(fs.readFileSync(out, "utf8")).toMatch(/^still_running=oldtown$/m);
    } finally {
      process.chdir(cwd);
    }
  });

  test("a mistyped dispatch id fails the run (exit 1) and names the likely one; nothing is chosen", async () => {
    expect(() => computeTargets(dir, new Map(), ["kaga", "ashyia"])).toThrow(UnknownMunicipalityError);
    const r = await cli("deploy-targets", dir, "--ids", "kaga, ashyia");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown municipality id\(s\): 'ashyia' \(did you mean 'ashiya'\?\): nothing deployed/);
    const ok = await cli("deploy-targets", dir, "--ids", "kaga mitoyo", "--format", "json");
    expect(JSON.parse(ok.stdout).waves.flat().map((t: any) => [t.id, t.reason])).toEqual([["kaga", "requested"], ["mitoyo", "requested"]]);
  });

  test("1,741 municipalities come in waves of at most 256; slots the workflow lacks are reported, not dropped silently", () => {
    // a synthesized output of 1,741 minimal stacks: the waves depend on the count, not on what the stacks hold
    const big = outdirWith(Object.fromEntries(Array.from({ length: 1741 }, (_, i) => [`m${String(i).padStart(4, "0")}`, { terraform: {}, provider: { aws: [{ allowed_account_ids: [String(100000000000 + i)] }] } }])));
    const t = computeTargets(big, new Map());
    expect(t.waves.map((w) => w.length)).toEqual([256, 256, 256, 256, 256, 256, 205]);
    expect(Math.max(...t.waves.map((w) => w.length))).toBeLessThanOrEqual(MATRIX_LIMIT);
    const outputs = targetsOutputs(t, 8);
    expect(Object.keys(outputs)).toEqual(["wave1", "wave2", "wave3", "wave4", "wave5", "wave6", "wave7", "wave8", "count", "still_running"]);
    expect(JSON.parse(outputs.wave8)).toEqual([]);
    expect(outputs.count).toBe("1741");
    expect(targetsOutputs(t, 2).count).toBe("512");
    expect(require("../deploy/targets").targetsSummary(t, 2)).toMatch(/\*\*5 wave\(s\) beyond the workflow's 2 are NOT deployed by this run\*\* \(1229 municipalities\)/);
  });
});

const maybe = hasTerraform() || process.env.CI ? describe : describe.skip;

/** A stack Terraform plans and applies offline for real: terraform_data resources (built in) and a local state. */
function dataStack(state: string, values: Record<string, string>): any {
  return { terraform: { backend: { local: { path: state } } }, resource: { terraform_data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { input: v }])) } };
}

function writeStack(json: any): string {
  const file = path.join(tempDir(), "cdk.tf.json");
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
  return file;
}

maybe("the saved plan is what is applied (real Terraform, terraform_data, local state)", () => {
  const state = path.join(tempDir(), "terraform.tfstate");
  const artifacts = tempDir();
  let n = 0;
  const plan = (values: Record<string, string>) => {
    const outDir = path.join(artifacts, `p${n++}`, "town");
    return { outDir, manifest: makePlanArtifact({ id: "town", stackFile: writeStack(dataStack(state, values)), outDir, mode: "real", commit: "c0ffee" }) };
  };
  /** Another operation touches the state (a refresh, another run): same resources, a higher serial. */
  const touchState = () => {
    const s = JSON.parse(fs.readFileSync(state, "utf8"));
    s.serial += 1;
    fs.writeFileSync(state, JSON.stringify(s));
  };

  test("the approved plan file is applied as it is, and its artifact holds plan, JSON, report, summary and checksums", () => {
    const p = plan({ a: "v1" });
    expect(fs.readdirSync(p.outDir).sort()).toEqual([".terraform.lock.hcl", "cdk.tf.json", "manifest.json", "plan.json", "plan.tfplan", "report.md", "summary.md"].filter((f) => f !== ".terraform.lock.hcl" || fs.existsSync(path.join(p.outDir, f))).sort());
    expect(p.manifest.counts).toEqual({ create: 1, update: 0, replace: 0, delete: 0 });
    expect(fs.readFileSync(path.join(p.outDir, "summary.md"), "utf8")).toMatch(/\*\*1 to create, 0 to update, 0 to replace, 0 to destroy\.\*\* Plan file sha256 `[0-9a-f]{64}`/);
    expect(applyPlanArtifact({ id: "town", artifactDir: p.outDir, expectPlanSha256: p.manifest.planSha256 }).applied).toBe("saved");
    expect(JSON.parse(fs.readFileSync(state, "utf8")).resources.map((r: any) => r.name)).toEqual(["a"]);
  }, 120_000);

  test("the state moved but the new plan does the same: it is applied ('replanned')", () => {
    const p = plan({ a: "v1", b: "v1" });
    touchState();
    expect(applyPlanArtifact({ id: "town", artifactDir: p.outDir }).applied).toBe("replanned");
    expect(JSON.parse(fs.readFileSync(state, "utf8")).resources.map((r: any) => r.name).sort()).toEqual(["a", "b"]);
  }, 120_000);

  test("the state moved and the new plan differs from the approved one: nothing is applied, exit 1 with the difference", async () => {
    const approved = plan({ a: "v2", b: "v1" }); // approved: change a
    const other = plan({ a: "v1", b: "v1", c: "v1" }); // meanwhile another approved plan adds c
    applyPlanArtifact({ id: "town", artifactDir: other.outDir });
    expect(() => applyPlanArtifact({ id: "town", artifactDir: approved.outDir })).toThrow(PlanDriftError);
    const r = await cli("apply", "town", "--plan", approved.outDir);
    expect(r.code).toBe(1);
    // the approved plan changed a; planned now, it would also destroy c, which the other run added
    expect(r.stderr).toContain("the plan made now differs from the approved one; nothing was applied:\n  + terraform_data.c: delete now, not in the approved plan\n");
    expect(JSON.parse(fs.readFileSync(state, "utf8")).resources.map((r: any) => [r.name, r.instances[0].attributes.input.value])).toEqual([["a", "v1"], ["b", "v1"], ["c", "v1"]]);
  }, 180_000);

  test("a tampered plan file, another municipality's artifact, a checksum other than the approved one, an offline plan: refused before Terraform runs", () => {
    const p = plan({ a: "v1", b: "v1", c: "v1", d: "v1" });
    expect(() => applyPlanArtifact({ id: "other", artifactDir: p.outDir })).toThrow(/the plan is for 'town', not 'other'/);
    expect(() => applyPlanArtifact({ id: "town", artifactDir: p.outDir, expectPlanSha256: "f".repeat(64) })).toThrow(ArtifactMismatchError);
    fs.appendFileSync(path.join(p.outDir, "plan.tfplan"), "x");
    expect(() => applyPlanArtifact({ id: "town", artifactDir: p.outDir })).toThrow(/plan\.tfplan: sha256 .* is not the .* of the reviewed plan: refused/);
    const offlineDir = path.join(artifacts, "offline", "town");
    // (the offline override configures the aws provider with mock credentials: the stack names its version, as ours do)
    const offlineStack = { ...dataStack(state, { a: "v9" }), terraform: { backend: { local: { path: state } }, required_providers: { aws: { source: "aws", version: "5.100.0" } } } };
    makePlanArtifact({ id: "town", stackFile: writeStack(offlineStack), outDir: offlineDir, mode: "offline" });
    expect(() => applyPlanArtifact({ id: "town", artifactDir: offlineDir })).toThrow(/an offline plan .* is never applied/);
    expect(JSON.parse(fs.readFileSync(state, "utf8")).resources.map((r: any) => r.instances[0].attributes.input.value)).not.toContain("v9");
  }, 180_000);

  test("planDifferences: identical plans differ in nothing; an added change, a changed action and a dropped change are named", () => {
    const rc = (address: string, actions: string[], after: unknown) => ({ address, change: { actions, after, after_unknown: {} } });
    const a = { resource_changes: [rc("x.a", ["update"], { v: 1 }), rc("x.b", ["create"], { v: 1 }), rc("x.n", ["no-op"], {})] };
    expect(planDifferences(a, a)).toEqual([]);
    const b = { resource_changes: [rc("x.a", ["delete", "create"], { v: 1 }), rc("x.c", ["create"], { v: 2 })] };
    expect(planDifferences(a, b)).toEqual(["+ x.c: create now, not in the approved plan", "- x.b: approved create, no longer planned", "~ x.a: approved update, now delete+create"]);
  });
});

maybe("plan --artifacts for a sample municipality, offline, with its summary for the approver", () => {
  test("kaga: plan file, JSON, reviewer report with the baseline, summary appended to the job summary", async () => {
    const artifacts = tempDir();
    const summary = path.join(tempDir(), "summary.md");
    const { dir } = synthStacks({ only: ["kaga"] });
    const stack = sha256(fs.readFileSync(path.join(dir, "stacks", "kaga", "cdk.tf.json")));
    const wrong = await cli("plan", "kaga", "--artifacts", artifacts, "--synthesized", dir, "--expect-stack-sha256", "0".repeat(64));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/other than the one the run chose to deploy/);
    const r = await cli("plan", "kaga", "--artifacts", artifacts, "--synthesized", dir, "--expect-stack-sha256", stack, "--summary", summary);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const m = JSON.parse(fs.readFileSync(path.join(artifacts, "kaga", "manifest.json"), "utf8"));
    expect(m).toMatchObject({ id: "kaga", mode: "offline", stackSha256: stack });
    expect(m.counts.create).toBeGreaterThan(100);
    expect(fs.readFileSync(path.join(artifacts, "kaga", "report.md"), "utf8")).toMatch(/### α′ baseline\n\n```text\nkaga: meets the α′ baseline/);
    expect(fs.readFileSync(summary, "utf8")).toMatch(/^### kaga: plan \(OFFLINE, mock credentials: not applicable\)\n\n\*\*\d+ to create/);
  }, 240_000);
});

describe("pr-comment: alpha-prime updates its own marked comment", () => {
  const diffJson = path.join(tempDir(), "diff.json");
  fs.writeFileSync(diffJson, JSON.stringify({ base: "main", head: "pr", municipalities: [{ id: "kaga", status: "changed", resources: [], callouts: [{ risk: "security", address: "allowlist", message: "domains ADDED to the breakout allowlist: .zoomgov.com" }], domainsAdded: [".zoomgov.com"] }] }));

  async function post(api: string, ...extra: string[]) {
    const saved = { ...process.env };
    Object.assign(process.env, { GITHUB_TOKEN: "t0ken", GITHUB_API_URL: api });
    try {
      return await cli("pr-comment", "--diff-json", diffJson, "--repo", "city/infra", "--pr", "7", "--full-report-url", "https://github.example/runs/1/artifacts/2", ...extra);
    } finally {
      process.env = saved;
    }
  }

  test("creates it once, then updates that one — not the bot's last comment, even on page 2 of a long thread", async () => {
    // 150 comments: a bot's comment from another workflow is the newest; ours will be on page 2
    const gh = await fakeGitHub(Array.from({ length: 150 }, (_, i) => ({ id: i + 1, body: i === 149 ? "deploy preview ready (another workflow)" : `comment ${i}` })));
    try {
      const first = await post(gh.url);
      expect(first.stdout).toMatch(/^created comment 1000/);
      const second = await post(gh.url);
      expect(second.stdout).toMatch(/^updated comment 1000/);
      expect(gh.comments.filter((c) => c.body.startsWith("<!-- alpha-prime-diff -->"))).toHaveLength(1);
      expect(gh.comments.find((c) => c.id === 150)!.body).toBe("deploy preview ready (another workflow)");
      expect(gh.comments.find((c) => c.id === 1000)!.body).toMatch(/\| \+1 domain `\.zoomgov\.com` \| 1 \(kaga\) \|/);
    } finally {
      await gh.close();
    }
  });

  test("a fork's read-only token: the report goes to the job summary and the step does not fail", async () => {
    const gh = await fakeGitHub([], true);
    const summary = path.join(tempDir(), "summary.md");
    try {
      const r = await post(gh.url, "--summary", summary);
      expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(/may not comment on city\/infra#7 \(HTTP 403: a fork's read-only token\): the report is in the job summary/)]);
      expect(fs.readFileSync(summary, "utf8")).toMatch(/^## alpha-prime diff: main → pr/);
      const only = await post(gh.url, "--summary-only", "--summary", summary);
      expect(only.code).toBe(0);
    } finally {
      await gh.close();
    }
  });
});

test("the diff writes its JSON, its whole report and the cut comment from one synthesis of each side", async () => {
  const base = synthStacks({ only: ["kaga"] }).dir;
  const out = tempDir();
  const r = await cli("diff", base, base, "--output", path.join(out, "comment.md"), "--max-chars", "65000", "--json-output", path.join(out, "diff.json"), "--full-output", path.join(out, "full.md"));
  expect(r.code).toBe(0);
  expect(fs.readdirSync(out).sort()).toEqual(["comment.md", "diff.json", "full.md"]);
  expect(JSON.parse(fs.readFileSync(path.join(out, "diff.json"), "utf8")).municipalities.map((m: any) => m.status)).toEqual(["unchanged"]);
  void spawnSync;
});

maybe("the deploy and destroy paths through the CLI, as the workflow runs them (real Terraform, terraform_data)", () => {
  test("plan → apply --record-deployed records the commit; a removed municipality's destroy is planned from its marker and removes it", async () => {
    const { repo } = repoWithCommits();
    const remote = tempDir("alpha-prime-remote-");
    git(remote, "init", "-q", "--bare");
    git(repo, "remote", "add", "origin", remote);
    const state = path.join(tempDir(), "terraform.tfstate");
    const synthesized = tempDir();
    fs.mkdirSync(path.join(synthesized, "stacks", "oldtown"), { recursive: true });
    // LogArchive_Bucket stands for the log archive, which a destroy keeps (forgotten by Terraform, not destroyed)
    fs.writeFileSync(path.join(synthesized, "stacks", "oldtown", "cdk.tf.json"), JSON.stringify(dataStack(state, { a: "v1", b: "v1", LogArchive_Bucket: "logs" }), null, 2));
    // the env file is in the deployed commit (a destroy checks the marker against it), and removed afterwards
    const emptyEnv = path.join(repo, "env");
    fs.mkdirSync(emptyEnv);
    fs.writeFileSync(path.join(emptyEnv, ".keep"), "");
    fs.writeFileSync(path.join(emptyEnv, "oldtown.yaml"), 'id: oldtown\naws:\n  accountId: "111122223333"\n');
    git(repo, "add", "env");
    git(repo, "commit", "-q", "-m", "oldtown");
    const deployed = git(repo, "rev-parse", "HEAD");
    const summary = path.join(tempDir(), "summary.md");
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      const planned = await cli("--env-dir", emptyEnv, "plan", "oldtown", "--artifacts", "plan-artifacts", "--state", "real", "--synthesized", synthesized, "--summary", summary);
      expect([planned.code, planned.stderr]).toEqual([0, ""]);
      const applied = await cli("apply", "oldtown", "--plan", "plan-artifacts/oldtown", "--record-deployed", "--remote", "origin", "--summary", summary);
      expect([applied.code, applied.stderr]).toEqual([0, ""]);
      expect(applied.stdout).toMatch(/^oldtown: applied the approved plan file \(sha256 [0-9a-f]{64}\); deployed commit [0-9a-f]{12} recorded in refs\/alpha-prime\/deployed\/oldtown and pushed to origin\n$/);
      expect(readMarkers(repo).get("oldtown")).toMatchObject({ commit: deployed, settings: { terraform: { backend: { local: { path: state } } } } });
      expect(fs.readFileSync(summary, "utf8")).toMatch(/### oldtown: plan \(against the real state\)[\s\S]*- ✅ oldtown: applied the approved plan file/);
      // the env file is gone (it never was in emptyEnv): deploy-targets names the account-less marker, and the
      // destroy plan comes from the marker's own terraform block
      fs.rmSync("plan-artifacts", { recursive: true });
      git(repo, "rm", "-q", "env/oldtown.yaml");
      git(repo, "commit", "-q", "-m", "oldtown removed");
      const destroyPlan = await cli("--env-dir", emptyEnv, "plan", "oldtown", "--destroy", "--artifacts", "plan-artifacts", "--state", "real");
      expect([destroyPlan.code, destroyPlan.stderr]).toEqual([0, ""]);
      expect(destroyPlan.stdout).toMatch(/oldtown: destroy plan saved \(real\) .*0 to create, 0 to update, 0 to replace, 2 to destroy/);
      const destroyPlanJson = JSON.parse(fs.readFileSync("plan-artifacts/oldtown/plan.json", "utf8"));
      expect(destroyPlanJson.resource_changes.map((rc: any) => [rc.address, rc.change.actions.join("+")]).sort()).toEqual([
        ["terraform_data.LogArchive_Bucket", "forget"],
        ["terraform_data.a", "delete"],
        ["terraform_data.b", "delete"],
      ]);
      expect(fs.readFileSync("plan-artifacts/oldtown/summary.md", "utf8")).toMatch(/The log archive is KEPT: 1 resource\(s\) leave Terraform's state without being destroyed/);
      const destroyed = await cli("apply", "oldtown", "--plan", "plan-artifacts/oldtown", "--record-deployed", "--remote", "origin");
      expect([destroyed.code, destroyed.stderr]).toEqual([0, ""]);
      expect(destroyed.stdout).toMatch(/deploy marker refs\/alpha-prime\/deployed\/oldtown removed/);
      expect(readMarkers(repo).has("oldtown")).toBe(false);
      expect(JSON.parse(fs.readFileSync(state, "utf8")).resources).toEqual([]);
      // destroying a municipality that was never deployed fails (exit 1), naming what is deployed
      const unknown = await cli("deploy-targets", "--destroy", "nowhere");
      expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringMatching(/'nowhere' has no deploy marker/)]);
    } finally {
      process.chdir(cwd);
    }
  }, 240_000);
});
