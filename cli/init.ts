/**
 * `alpha-prime init [<id>]`: a guided start for a municipality's env file. It asks for the essentials (or takes
 * them as flags, for scripts and CI), derives the prefecture from the local government code and checks its check
 * digit, proposes defaults (tier by population, the region's zones, documentation-range examples marked as such),
 * writes a commented env file with the schema header only after it validates, and never overwrites a file.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { closest, ConfigError, Msg } from "../core/errors";
import { Lang, render, Text, tr } from "../core/messages";
import { displayPath, listEnvDirectory, readEnvText } from "../config/env-input";
import { loadFiles } from "../config/load";
import { availabilityZonesOf, localGovernmentCheckDigit, parseHostPort, prefectureOfCode } from "../config/semantic";
import { parseCidr } from "../core/cidr";
import { maxAvailabilityZones, SMALLEST_BREAKOUT_PREFIX, smallestPrefixFor } from "../constructs/breakout-plan";
import { SaasCatalog } from "../catalog/saas-catalog";
import { SCHEMA_PATH } from "../core/paths";

export class InitError extends Error {
  constructor(readonly text: Msg) {
    super(render(text));
    this.name = "InitError";
  }
}

export interface InitAnswers {
  id: string;
  name: string;
  localGovernmentCode: string;
  population: string;
  accountId: string;
  region: string;
  availabilityZones: string;
  bandwidthTier: string;
  breakoutCidr: string;
  lgwanSegments: string;
  lgwanProxy: string;
  siteName: string;
  sitePublicIp: string;
  siteBgpAsn: string;
  saas: string;
  notificationEmail: string;
}

/** Population bands of the tiers (the national mix of the benchmarks: 1g under 50k, 2g to 200k, 5g to 1M). */
export function tierForPopulation(population: number): string {
  return population < 50_000 ? "1g" : population < 200_000 ? "2g" : population < 1_000_000 ? "5g" : "10g";
}

/** Below this population a /24 breakout network is proposed (towns and villages; most have one or two sites). */
const SMALL_NETWORK_POPULATION = 10_000;

const zoneList = (v: string | undefined) => (v ?? "").split(",").map((z) => z.trim()).filter(Boolean);

interface Question {
  readonly key: keyof InitAnswers;
  readonly flag: string;
  readonly prompt: Text;
  /** a proposal from earlier answers; an example value says so in the prompt and in the file */
  readonly proposal?: (a: Partial<InitAnswers>) => { value: string; example?: boolean } | undefined;
  /** why the value is not acceptable, or undefined */
  readonly check: (v: string, a: Partial<InitAnswers>, dir: EnvDirectory) => Msg | undefined;
}

/** What init must not collide with in the env directory: files by id, municipalities by local government code. */
export class EnvDirectory {
  private codes?: Map<string, string>;

  constructor(readonly dir: string) {}

  /** Refuses a directory that is not there (checked before the first question, so nobody answers in vain). */
  mustExist(): void {
    if (!fs.statSync(this.dir, { throwIfNoEntry: false })?.isDirectory()) throw new InitError(tr`${this.dir} is not a directory: create it, or point --env-dir at the env directory`);
  }

  /** The env file an id would collide with (either extension), if any. */
  fileOf(id: string): string | undefined {
    return [`${id}.yaml`, `${id}.yml`].map((n) => path.join(this.dir, n)).find((f) => fs.existsSync(f));
  }

  /**
   * The env file that already holds this local government code, if any: read once and leniently (a broken file is
   * validate's business), to ask again at once; the written file goes through validate's own cross-file rule.
   */
  holderOfCode(code: string): string | undefined {
    if (!this.codes) {
      this.codes = new Map();
      for (const file of listEnvDirectory(this.dir).files) {
        const read = readEnvText(file);
        if (!("text" in read)) continue;
        try {
          const doc = parseYaml(read.text);
          const c = doc?.localGovernmentCode;
          if ((typeof c === "string" || typeof c === "number") && !this.codes.has(String(c))) this.codes.set(String(c), path.basename(file));
        } catch {
          // unreadable or not YAML: validate reports it; it holds no code init could collide with
        }
      }
    }
    return this.codes.get(code);
  }
}

const catalogIds = () => SaasCatalog.default().ids;

let schemaPatterns: { id: RegExp; siteName: RegExp } | undefined;
/**
 * The schema's own patterns (env/municipality.schema.json: `id`, `sites[].name`), so init refuses exactly what
 * validation would refuse at the end, and never refuses a value validation accepts.
 */
function schemaPattern(key: "id" | "siteName"): RegExp {
  schemaPatterns ??= (() => {
    const props = JSON.parse(fs.readFileSync(SCHEMA_PATH, "utf8")).properties;
    return { id: new RegExp(props.id.pattern as string), siteName: new RegExp(props.sites.items.properties.name.pattern as string) };
  })();
  return schemaPatterns[key];
}

export const QUESTIONS: readonly Question[] = [
  {
    key: "id",
    flag: "id",
    prompt: tr`municipality id (lowercase ASCII, e.g. mitoyo)`,
    check: (v, _a, dir) => {
      if (!schemaPattern("id").test(v)) return tr`lowercase letters, digits and '-', 2-24 characters, starting with a letter and not ending with '-'`;
      const existing = dir.fileOf(v);
      // asked first, so nobody answers every question only to be refused at the end (writeEnvFile checks again)
      return existing ? tr`${existing} exists: init never overwrites a file (edit it, or choose another id)` : undefined;
    },
  },
  { key: "name", flag: "--name", prompt: tr`name (e.g. 三豊市)`, check: (v) => (v.trim() && v.length <= 64 && !/[\u0000-\u001f]/.test(v) ? undefined : tr`1-64 printable characters`) },
  {
    key: "localGovernmentCode",
    flag: "--code",
    prompt: tr`local government code (全国地方公共団体コード, 6 digits)`,
    check: (v, _a, dir) => {
      if (!/^\d{6}$/.test(v)) return tr`6 digits`;
      const digit = localGovernmentCheckDigit(v.slice(0, 5));
      if (Number(v[5]) !== digit) return tr`the check digit should be ${digit} (${v.slice(0, 5)}${digit})`;
      if (!prefectureOfCode(v)) return tr`${v.slice(0, 2)} is not a prefecture number (01-47)`;
      // validate requires one env file per municipality; a second one would make the whole directory invalid
      const holder = dir.holderOfCode(v);
      return holder ? tr`${v} is already the municipality of ${holder}: one env file per municipality (edit that file)` : undefined;
    },
  },
  { key: "population", flag: "--population", prompt: tr`population`, check: (v) => (/^[1-9]\d{0,7}$/.test(v) ? undefined : tr`a whole number`) },
  { key: "accountId", flag: "--account", prompt: tr`AWS account id of this municipality (12 digits)`, check: (v) => (/^\d{12}$/.test(v) ? undefined : tr`12 digits`) },
  { key: "region", flag: "--region", prompt: tr`AWS region`, proposal: () => ({ value: "ap-northeast-1" }), check: (v) => (availabilityZonesOf(v).length ? undefined : tr`ap-northeast-1 (東京) or ap-northeast-3 (大阪)`) },
  {
    key: "availabilityZones",
    flag: "--zones",
    prompt: tr`availability zones (comma-separated, 2-4)`,
    proposal: (a) => ({ value: availabilityZonesOf(a.region ?? "").slice(0, 2).join(",") }),
    check: (v, a) => {
      const zones = zoneList(v);
      const known = availabilityZonesOf(a.region ?? "");
      if (zones.length < 2 || zones.length > 4 || new Set(zones).size !== zones.length) return tr`2 to 4 different zones`;
      const bad = zones.find((z) => !known.includes(z));
      return bad ? tr`${bad} is not a zone of ${a.region} (${known.join(", ")})` : undefined;
    },
  },
  { key: "bandwidthTier", flag: "--tier", prompt: tr`bandwidth tier`, proposal: (a) => ({ value: tierForPopulation(Number(a.population)) }), check: (v) => (["1g", "2g", "5g", "10g"].includes(v) ? undefined : tr`1g, 2g, 5g or 10g`) },
  {
    key: "breakoutCidr",
    flag: "--breakout-cidr",
    prompt: tr`breakout CIDR on AWS (RFC 1918, /16-/24, not used on-prem; a /24 holds two zones)`,
    // a village can seldom spare more than a /24; two zones fit in one
    proposal: (a) => ({ value: Number(a.population) < SMALL_NETWORK_POPULATION && zoneList(a.availabilityZones).length <= 2 ? "10.64.0.0/24" : "10.64.0.0/22", example: true }),
    check: (v, a) => {
      const c = parseCidr(v);
      if (typeof c === "string") return c;
      if (c.bits < 16 || c.bits > SMALLEST_BREAKOUT_PREFIX) return tr`a prefix from /16 to /${SMALLEST_BREAKOUT_PREFIX}`;
      const zones = zoneList(a.availabilityZones).length;
      return zones > maxAvailabilityZones(c.text) ? tr`/${c.bits} holds ${maxAvailabilityZones(c.text)} zones; ${zones} need a /${smallestPrefixFor(zones)} or larger` : undefined;
    },
  },
  { key: "lgwanSegments", flag: "--lgwan-segments", prompt: tr`LGWAN-side segments allowed to break out (comma-separated CIDRs)`, proposal: () => ({ value: "172.16.0.0/16", example: true }), check: (v) => v.split(",").map((c) => parseCidr(c.trim())).find((c): c is string => typeof c === "string") },
  {
    key: "lgwanProxy",
    flag: "--lgwan-proxy",
    prompt: tr`LGWAN proxy host:port (everything not allowlisted goes there)`,
    proposal: () => ({ value: "172.16.1.10:8080", example: true }),
    check: (v) => {
      const hp = parseHostPort(v);
      return typeof hp === "string" ? hp : undefined;
    },
  },
  { key: "siteName", flag: "--site", prompt: tr`first site's name (ASCII, e.g. honcho = 本庁舎)`, proposal: () => ({ value: "honcho" }), check: (v) => (schemaPattern("siteName").test(v) ? undefined : tr`lowercase letters, digits and '-', 1-31 characters, starting with a letter`) },
  { key: "sitePublicIp", flag: "--site-ip", prompt: tr`first site's public IP (its VPN router)`, proposal: () => ({ value: "203.0.113.10", example: true }), check: (v) => (typeof parseCidr(`${v}/32`) === "string" ? tr`an IPv4 address` : undefined) },
  { key: "siteBgpAsn", flag: "--site-asn", prompt: tr`first site's BGP ASN (private)`, proposal: () => ({ value: "65010" }), check: (v) => (/^\d+$/.test(v) && ((+v >= 64512 && +v <= 65534) || (+v >= 4200000000 && +v <= 4294967294)) ? undefined : tr`a private ASN (64512-65534)`) },
  {
    key: "saas",
    flag: "--saas",
    prompt: tr`cloud services to allow (comma-separated catalog ids; npx alpha-prime catalog lists them)`,
    proposal: () => ({ value: "microsoft-365" }),
    check: (v) => {
      const bad = v.split(",").map((s) => s.trim()).find((s) => !catalogIds().includes(s));
      if (bad === undefined) return undefined;
      const likely = closest(bad, catalogIds());
      return likely ? tr`'${bad}' is not in the catalog; did you mean '${likely}'?` : tr`'${bad}' is not in the catalog (${catalogIds().join(", ")})`;
    },
  },
  { key: "notificationEmail", flag: "--email", prompt: tr`operations e-mail for alarms`, check: (v) => (/^[^\s@${}%]+@[^\s@${}%]+\.[a-z]{2,}$/i.test(v) ? undefined : tr`an e-mail address`) },
];

export interface Prompter {
  ask(question: string): Promise<string>;
  say(text: string): void;
}

/** Every answer: a flag's value, else (interactive) the answer to a prompt, else the proposal; each checked. */
export async function collectAnswers(given: Partial<InitAnswers>, dir: EnvDirectory, prompter?: Prompter, lang: Lang = "en"): Promise<{ answers: InitAnswers; examples: Set<keyof InitAnswers> }> {
  const a: Partial<InitAnswers> = {};
  const examples = new Set<keyof InitAnswers>();
  for (const q of QUESTIONS) {
    const proposal = q.proposal?.(a);
    if (given[q.key] !== undefined) {
      const why = q.check(String(given[q.key]), a, dir);
      if (why) throw new InitError(tr`${q.flag} ${JSON.stringify(given[q.key])}: ${why}`);
      a[q.key] = String(given[q.key]);
      continue;
    }
    if (!prompter) {
      if (!proposal) throw new InitError(tr`${q.flag} is needed (${q.prompt}); run in a terminal to be asked`);
      a[q.key] = proposal.value;
      if (proposal.example) examples.add(q.key);
      continue;
    }
    for (;;) {
      const shown = !proposal ? "" : proposal.example ? render(tr` [${proposal.value} — an example, replace it]`, lang) : ` [${proposal.value}]`;
      const answer = (await prompter.ask(`${render(q.prompt, lang)}${shown}: `)).trim() || proposal?.value || "";
      const why = answer ? q.check(answer, a, dir) : tr`an answer is needed`;
      if (!why) {
        a[q.key] = answer;
        if (proposal?.example && answer === proposal.value) examples.add(q.key);
        if (q.key === "localGovernmentCode") prompter.say(`  → ${prefectureOfCode(answer)}\n`);
        break;
      }
      prompter.say(`  ${render(why, lang)}\n`);
    }
  }
  return { answers: a as InitAnswers, examples };
}

/**
 * The env file: schema header, a comment on every example value, a waiver (visible in check and diff) where tenant
 * values are still to come. Comments are in the language init spoke; keys and values are the same in both.
 */
export function renderEnvFile(a: InitAnswers, examples: ReadonlySet<keyof InitAnswers>, lang: Lang = "en"): string {
  const t = (text: Text) => render(text, lang);
  const ex = (k: keyof InitAnswers) =>
    !examples.has(k) ? "" : k === "sitePublicIp" ? `   # ${t(tr`EXAMPLE (RFC 5737 documentation address): your router's public IP`)}` : `   # ${t(tr`EXAMPLE: replace with your own address plan`)}`;
  const list = (v: string) => `[${v.split(",").map((s) => s.trim()).join(", ")}]`;
  const catalog = SaasCatalog.default();
  const saas = a.saas.split(",").map((s) => s.trim());
  const needTenants = saas.filter((s) => catalog.needsTenantValues(s));
  const prefecture = prefectureOfCode(a.localGovernmentCode);
  const lines = [
    "# yaml-language-server: $schema=./municipality.schema.json",
    `# ${t(tr`${a.name} (${prefecture}): written by \`alpha-prime init\`. Review every value marked EXAMPLE,`)}`,
    `# ${t(tr`then \`npx alpha-prime validate\` and \`npx alpha-prime plan <id>\` before the first deploy.`)}`,
    `id: ${a.id}                      # ${t(tr`stack id: never change it after the first deploy`)}`,
    `name: ${JSON.stringify(a.name)}`,
    `prefecture: ${prefecture}`,
    `localGovernmentCode: "${a.localGovernmentCode}"`,
    `population: ${Number(a.population)}`,
    "aws:",
    `  accountId: "${a.accountId}"   # ${t(tr`this municipality's account: a deploy anywhere else is refused`)}`,
    `  region: ${a.region}`,
    `  availabilityZones: ${list(a.availabilityZones)}`,
    `bandwidthTier: ${a.bandwidthTier}                # ${t(tr`1g | 2g | 5g | 10g (proposed from the population; see npx alpha-prime tiers)`)}`,
    "network:",
    `  breakoutCidr: ${a.breakoutCidr}${ex("breakoutCidr")}`,
    `  lgwanSegments: ${list(a.lgwanSegments)}${ex("lgwanSegments")}`,
    `  lgwanProxy: "${a.lgwanProxy}"${ex("lgwanProxy")}`,
    `sites:                                 # ${t(tr`VPN peers: add one entry per site`)}`,
    `  - name: ${a.siteName}`,
    `    publicIp: ${a.sitePublicIp}${ex("sitePublicIp")}`,
    `    bgpAsn: ${a.siteBgpAsn}`,
    "breakout:",
    `  saas: ${list(a.saas)}                 # ${t(tr`ids from the SaaS catalog (npx alpha-prime catalog)`)}`,
  ];
  if (needTenants.length) {
    lines.push(
      `  # ${t(tr`テナント制限: set breakout.tenants.<saas> (see README, Tenant restriction) and remove the waiver below before`)}`,
      `  # ${t(tr`production; until then staff could sign in to any tenant of these services. The waiver shows in check and diff.`)}`,
      "  tenantWaivers:",
      ...needTenants.map((s) => `    - saas: ${s}\n      reason: "alpha-prime init: tenant values not set yet — set breakout.tenants.${s} before production"`),
    );
  }
  lines.push("operations:", `  notificationEmails: [${a.notificationEmail}]`, "");
  return lines.join("\n");
}

export interface InitResult {
  readonly file: string;
  readonly examples: (keyof InitAnswers)[];
}

/** Writes env/<id>.yaml after it validates; refuses when the file (or the id under another extension) exists. */
export function writeEnvFile(dir: EnvDirectory, answers: InitAnswers, examples: ReadonlySet<keyof InitAnswers>, lang: Lang = "en"): InitResult {
  dir.mustExist();
  const file = path.join(dir.dir, `${answers.id}.yaml`);
  // the answers were checked as they came; the directory may have changed while a person was typing
  const existing = dir.fileOf(answers.id);
  if (existing) throw new InitError(tr`${existing} exists: init never overwrites a file (edit it, or choose another id)`);
  const text = renderEnvFile(answers, examples, lang);
  const scratch = fs.mkdtempSync(path.join(dir.dir, ".alpha-prime-init-"));
  try {
    const copy = path.join(scratch, path.basename(file));
    fs.writeFileSync(copy, text);
    // loaded with the directory's other files, so validate's cross-file rules (one file per code, unique ids) apply
    // as they will on the next validate; only the new file's issues are init's business
    const others = listEnvDirectory(dir.dir).files;
    const issues = loadFiles([...others, copy]).issues.filter((i) => i.file === displayPath(copy));
    if (issues.length) throw new ConfigError(issues.map((i) => ({ ...i, file })));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  fs.writeFileSync(file, text, { flag: "wx" }); // exclusive: a file created meanwhile is not overwritten either
  return { file, examples: [...examples] };
}
