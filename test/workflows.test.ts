import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { REPO_ROOT } from "../core/paths";
import { tempDir } from "./helpers";

const WORKFLOWS = path.join(REPO_ROOT, ".github", "workflows");

/** GitHub's own workflow parser, run in a child process (it is ESM-only). */
function parseWorkflows(files: string[]): { file: string; errors: string[]; jobs: { id: string; needs: string[] }[] }[] {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "test", "validate-workflows.mjs"), ...files], { cwd: REPO_ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe("the integrator CI template", () => {
  const files = fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml")).map((f) => path.join(WORKFLOWS, f));

  test("every workflow file validates with GitHub's workflow parser", () => {
    expect(files.length).toBe(2);
    for (const r of parseWorkflows(files)) expect([r.file, r.errors]).toEqual([r.file, []]);
  });

  test("the parser rejects a broken workflow (the check can fail)", () => {
    const bad = path.join(tempDir(), "bad.yml");
    fs.writeFileSync(bad, "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        whith: {}\n");
    expect(parseWorkflows([bad])[0].errors).toEqual([expect.stringContaining("Unexpected value 'whith'")]);
  });

  test("pull requests: validate, synth, check with SARIF upload, and the diff posted as a comment", () => {
    const pr = parse(fs.readFileSync(path.join(WORKFLOWS, "alpha-prime-pr.yml"), "utf8"));
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
    const steps: any[] = pr.jobs.verify.steps;
    const runs = steps.map((s) => s.run ?? "").join("\n");
    for (const command of ["npm ci", "npx alpha-prime validate", "npx alpha-prime synth", "npx alpha-prime check --format sarif", "npx alpha-prime diff", "gh pr comment"]) expect(runs).toContain(command);
    expect(steps.some((s) => String(s.uses).startsWith("github/codeql-action/upload-sarif"))).toBe(true);
    expect(pr.jobs.verify.permissions["security-events"]).toBe("write");
  });

  test("main: one deploy job per changed municipality, concurrency-limited, approved, with OIDC and no stored keys", () => {
    const text = fs.readFileSync(path.join(WORKFLOWS, "alpha-prime-deploy.yml"), "utf8");
    const deploy = parse(text).jobs.deploy;
    expect(deploy.needs).toBe("changes");
    expect(deploy.strategy.matrix.municipality).toBe("${{ fromJSON(needs.changes.outputs.matrix) }}");
    expect(deploy.strategy["max-parallel"]).toBeGreaterThan(0);
    expect(deploy.environment).toBe("production");
    expect(deploy.permissions["id-token"]).toBe("write");
    const creds = deploy.steps.find((s: any) => String(s.uses).startsWith("aws-actions/configure-aws-credentials"));
    expect(creds.with["role-to-assume"]).toMatch(/^arn:aws:iam::\$\{\{ matrix\.municipality\.account \}\}:role\//);
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
    expect(deploy.steps.map((s: any) => s.run ?? "").join("\n")).toMatch(/npx cdktf deploy "\$\{\{ matrix\.municipality\.id \}\}" --auto-approve/);
  });
});
