/**
 * The `alpha-prime` CLI: a thin face over functions the tests call directly. Exit status: 0 success,
 * 1 invalid input or failed check, 2 usage or internal error.
 */
import * as fs from "fs";
import * as path from "path";
import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/errors";
import { envFiles, loadFiles } from "../config/load";
import { defaultEnvDir } from "../config/paths";
import { formatIssue } from "../config/errors";
import { STATE_BUCKET_ENV } from "../stacks/app";
import { loadSelected } from "../stacks/app";
import { offlinePlan, TerraformError, terraformVersion } from "./offline-plan";
import { catalogReport, pacFor, shapeOf, tiersReport } from "./reports";
import { checkStack, loadSynthesized } from "../policy/engine";
import { exitCodeFor, renderReport, ReportFormat } from "../policy/report";
import { synthToDir } from "./synth";

type Out = { out: (s: string) => void; err: (s: string) => void };
const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

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

  program
    .command("validate")
    .description("validate env files (all of them when none are named); every error with file, line:column and field path")
    .argument("[files...]", "env files to validate")
    .action((files: string[]) => {
      const targets = files.length ? files.map((f) => path.resolve(f)) : envFiles(envDir());
      const r = loadFiles(targets);
      for (const i of r.issues) io.err(`${formatIssue(i)}\n`);
      if (r.issues.length) {
        io.err(`${r.issues.length} error(s) in ${new Set(r.issues.map((i) => i.file)).size} file(s)\n`);
        return setCode(1);
      }
      io.out(`${r.configs.length} municipality file(s) valid: ${r.configs.map((c) => c.id).join(", ")}\n`);
      setCode(0);
    });

  program
    .command("synth")
    .description("synthesize Terraform JSON for every municipality (or only some) into cdktf.out/stacks/<id>/")
    .option("--only <ids>", "comma-separated municipality ids", list)
    .option("--out <dir>", "output directory", "cdktf.out")
    .action((opts: { only?: string[]; out: string }) => {
      const ids = synthToDir({ outdir: opts.out, envDir: envDir(), only: opts.only, stateBucket: process.env[STATE_BUCKET_ENV] || undefined });
      io.out(`synthesized ${ids.length} stack(s) into ${opts.out}/stacks: ${ids.join(", ")}\n`);
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
    .action((dir: string, opts: { plan?: string; format: string; output?: string }) => {
      if (!["text", "json", "sarif", "junit"].includes(opts.format)) throw new Error(`--format must be text, json, sarif or junit, got '${opts.format}'`);
      const reports = loadSynthesized(dir, opts.plan).map((m) => checkStack(m));
      const text = renderReport(opts.format as ReportFormat, reports, dir);
      if (opts.output) {
        writeAtomically(opts.output, text);
        io.out(`wrote ${opts.output}\n`);
      } else io.out(text);
      setCode(exitCodeFor(reports));
    });

  program
    .command("catalog")
    .description("list the SaaS catalog: services, domains, vendor sources and tenant-restriction mechanisms")
    .option("--json", "the full catalog as JSON")
    .action((opts: { json?: boolean }) => {
      const { SaasCatalog } = require("../constructs/saas-catalog") as typeof import("../constructs/saas-catalog");
      io.out(opts.json ? `${JSON.stringify(SaasCatalog.default().entries, null, 2)}\n` : catalogReport());
      setCode(0);
    });

  program
    .command("pac")
    .description("write a municipality's PAC file: allowlisted SaaS DIRECT, everything else to the LGWAN proxy")
    .argument("<id>", "municipality id")
    .option("--out <file>", "write to a file instead of standard output")
    .action((id: string, opts: { out?: string }) => {
      const [config] = loadSelected({ envDir: envDir(), only: [id] });
      const text = pacFor(config);
      if (!opts.out) return void (io.out(text), setCode(0));
      writeAtomically(opts.out, text);
      io.out(`wrote ${opts.out}\n`);
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

/** Writes through a temporary file in the same directory, so a failure never leaves a half-written file. */
export function writeAtomically(file: string, text: string): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
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
    if (e instanceof TerraformError) {
      io.err(`${e.message}\n`);
      return 1;
    }
    io.err(`alpha-prime: ${(e as Error).message}\n`);
    return 2;
  }
}
