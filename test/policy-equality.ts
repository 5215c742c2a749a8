/**
 * The pack's findings on a frozen corpus of synthesized stacks, and on named and random mutations of them, against the
 * findings the unoptimized pack gave (commit 7ee30e1, before the model's indexes, the shared views of the firewall and
 * the rules' memos): making the pack faster may change how it judges, never what it finds. policy-equality.test.ts
 * runs the comparison.
 *
 * test/fixtures/policy-equality/stacks.json.br    the corpus: the four samples and 36 bench stacks (bench/generate.ts,
 *                                                 24 of the national spread, 12 of the uniform), as synthesized at
 *                                                 7ee30e1, brotli-compressed. Frozen, so that a change of the
 *                                                 constructs does not move the reference.
 * test/fixtures/policy-equality/findings.json.br  checkStack's report of every case (each stack as synthesized, and
 *                                                 each mutation below of it), as 7ee30e1's pack wrote them.
 *
 * Regenerate (npm run build first):
 *   the corpus:   node dist/test/policy-equality.js corpus <samples' cdktf.out> <national bench's> <uniform bench's>
 *   the findings: node dist/test/policy-equality.js record
 * The findings are a reference only when recorded by the pack before the change under test: record them from a
 * checkout of that commit with this file copied in (that is how the committed ones were made, at 7ee30e1), or, after
 * a rule changes what it finds on purpose, with the new pack, saying so in the commit.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { REPO_ROOT } from "../core/paths";

export const EQUALITY_DIR = path.join(REPO_ROOT, "test", "fixtures", "policy-equality");
const STACKS_FILE = path.join(EQUALITY_DIR, "stacks.json.br");
const FINDINGS_FILE = path.join(EQUALITY_DIR, "findings.json.br");

/** The date the suppressions' expiry is judged on, fixed so the reference does not age. */
export const EQUALITY_DATE = "2026-11-23";

export interface CorpusStack {
  readonly id: string;
  /** sample, national or uniform */
  readonly source: string;
  readonly json: Record<string, any>;
}

type Tf = Record<string, any>;

/** Every resource of a stack as [type, name, body], in the stack's order. */
function resourcesOf(tf: Tf): [string, string, any][] {
  return Object.entries<Record<string, any>>(tf.resource ?? {}).flatMap(([type, byName]) => Object.entries(byName).map(([name, body]) => [type, name, body] as [string, string, any]));
}

function firstOf(tf: Tf, type: string, where: (body: any) => boolean = () => true): any {
  return Object.values<any>(tf.resource?.[type] ?? {}).find(where);
}

/**
 * Mutations that reach what the optimization touched: every string of the stack (PEM, templates, mentions of
 * addresses in JSON text), references, the firewall's names and pass rules, routes and blocks, tags, policy
 * documents, fixed addresses, the PAC file. Each applies to a deep copy; where a stack lacks what it changes, it
 * changes less.
 */
export const NAMED_MUTATIONS: Record<string, (tf: Tf) => void> = {
  "inline PEM": (tf) => {
    const tagged = resourcesOf(tf).find(([, , b]) => b.tags && typeof b.tags === "object");
    if (tagged) tagged[2].tags.Note = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";
    const lt = firstOf(tf, "aws_launch_template");
    if (lt) lt.user_data = zlib.gzipSync(Buffer.from("#cloud-config\nwrite_files:\n  - path: /etc/ca.key\n    content: |\n      -----BEGIN RSA PRIVATE KEY-----\n      MIIEow\n")).toString("base64");
    (tf.output ??= {}).leaked = { value: "-----BEGIN PRIVATE KEY-----\nMIIE" };
  },
  "template text": (tf) => {
    const sg = firstOf(tf, "aws_security_group");
    if (sg) sg.description = 'relay ${file("/etc/passwd")}';
    const tagged = resourcesOf(tf).filter(([, , b]) => b.tags && typeof b.tags === "object");
    if (tagged[0]) Object.assign(tagged[0][2].tags, { Directive: "%{if true}x%{endif}", Escaped: "$${not} %%{evaluated}", Runs: "$$${aws_vpc.x.id}" });
    if (tagged[1]) Object.assign(tagged[1][2].tags, { Missing: "${aws_subnet.Missing_0.id}", Indexed: "${aws_subnet.Missing_1[0].id}", Call: "${upper(var.x)}" });
    if (tagged[2]) tagged[2][2]["//"] = { metadata: { note: '${file("never evaluated")}' } };
    (tf.locals ??= {}).injected = '${file("/etc/shadow")}';
  },
  "depends_on as text": (tf) => {
    // PRE-008 reads what a resource waits for from its JSON text: an escaped newline before an address hides it
    resourcesOf(tf)
      .filter(([, , b]) => Array.isArray(b.depends_on))
      .forEach(([, , b], i) => {
        const on: string[] = b.depends_on;
        delete b.depends_on;
        b.tags = { ...(b.tags ?? {}) };
        on.forEach((address, j) => {
          if (i % 3 === 0) b.tags[`Waits${j}`] = `\n${address}`;
          else if (i % 3 === 1) b.tags[`Waits${j}`] = ` ${address} "quoted"`;
          else b.tags[address] = "a key";
        });
      });
  },
  "depends_on cycles": (tf) => {
    const all = resourcesOf(tf);
    for (let i = 0; i + 1 < all.length; i += 37) {
      const [ta, na, a] = all[i];
      const [tb, nb, b] = all[i + 1];
      a.depends_on = [...(a.depends_on ?? []), `${tb}.${nb}`];
      b.depends_on = [...(b.depends_on ?? []), `${ta}.${na}`];
    }
    const lb = Object.keys(tf.resource?.aws_lb ?? {})[0];
    for (const [type, name, b] of all) if (lb && (type === "aws_vpc_endpoint" || type === "aws_nat_gateway")) b.depends_on = [`aws_lb.${lb}`, `${type}.${name}`];
  },
  "every seventh resource removed": (tf) => {
    resourcesOf(tf).forEach(([type, name], i) => {
      if (i % 7 === 3) delete tf.resource[type][name];
    });
  },
  "wide firewall": (tf) => {
    const groups = Object.values<any>(tf.resource?.aws_networkfirewall_rule_group ?? {});
    const withRules = groups.find((g) => typeof g.rule_group?.rules_source?.rules_string === "string");
    if (withRules) {
      withRules.rule_group.rules_source.rules_string += [
        "",
        "pass tcp $HOME_NET any -> any any (sid:990001;)",
        'pass tls $HOME_NET any -> $EXTERNAL_NET 443 (tls.sni; content:"sharepoint.com"; endswith; sid:990002;)',
        'pass tls $HOME_NET any -> any 443 (tls.sni; content:".github.io"; dotprefix; endswith; nocase; sid:990003;)',
        "PASS tcp any any -> [0.0.0.0/1,128.0.0.0/1] 1:65535 (sid:990004;)",
        "pass tcp [10.64.0.0/16] any -> any 587 (sid:990005;)",
        "pass udp $UNDEFINED any -> !10.0.0.0/8 53 (sid:990006;)",
        'pass http $HOME_NET any -> any 80 (http.host; content:".cybozu.com"; dotprefix; endswith; sid:990007;)',
        'drop tls $HOME_NET any -> $EXTERNAL_NET any (tls.sni; content:".slack.com"; dotprefix; endswith; sid:990008;)',
        "pass tcp oops",
      ].join("\n");
    }
    const allowlist = groups.find((g) => Array.isArray(g.rule_group?.rules_source?.rules_source_list?.targets));
    if (allowlist) allowlist.rule_group.rules_source.rules_source_list.targets.push(".com", ".sharepoint.com", ".trycloudflare.com", "evil.cybozu.com", ".kintone.com", "*.github.io");
  },
  "routes AWS refuses": (tf) => {
    const routes = Object.entries<any>(tf.resource?.aws_route ?? {});
    if (routes[0]) {
      tf.resource.aws_route.Mutated_Duplicate = { ...routes[0][1] };
      tf.resource.aws_route.Mutated_Reserved = { ...routes[0][1], destination_cidr_block: "169.254.168.0/24" };
      tf.resource.aws_route.Mutated_Block = { ...routes[0][1], destination_cidr_block: "10.64.0.0/23" };
    }
    const subnet = firstOf(tf, "aws_subnet");
    if (subnet) subnet.cidr_block = "10.64.0.0/33";
    const vpc = firstOf(tf, "aws_vpc");
    if (vpc && routes[1]) tf.resource.aws_route.Mutated_VpcBlock = { ...routes[1][1], destination_cidr_block: vpc.cidr_block };
  },
  "tags AWS refuses": (tf) => {
    const provider = tf.provider?.aws?.[0];
    if (provider?.default_tags?.[0]?.tags) Object.assign(provider.default_tags[0].tags, { "aws:owner": "x", Long: "x".repeat(300), Paren: "名前（テスト）" });
    const tagged = resourcesOf(tf).find(([, , b]) => b.tags && typeof b.tags === "object");
    if (tagged) for (let i = 0; i < 52; i++) tagged[2].tags[`Extra${i}`] = i % 2 ? "${aws_vpc.x.id}" : `value ${i}`;
  },
  "policies that open up": (tf) => {
    const bucketPolicy = firstOf(tf, "aws_s3_bucket_policy");
    if (bucketPolicy) {
      const doc = JSON.parse(bucketPolicy.policy);
      doc.Statement.push({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" });
      bucketPolicy.policy = JSON.stringify(doc);
    }
    const keys = Object.values<any>(tf.resource?.aws_kms_key ?? {});
    if (keys[0]) keys[0].policy = "{ not json";
    if (keys[1]) keys[1].policy = JSON.stringify({ Statement: { Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:*" } });
    const role = firstOf(tf, "aws_iam_role");
    if (role) role.assume_role_policy = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::*:root" }, Action: "sts:AssumeRole" }] });
  },
  "fixed addresses AWS refuses": (tf) => {
    const lb = firstOf(tf, "aws_lb", (b) => Array.isArray(b.subnet_mapping) && b.subnet_mapping.length > 1);
    if (lb) {
      lb.subnet_mapping[0].private_ipv4_address = "10.64.0.1";
      lb.subnet_mapping[1].private_ipv4_address = "192.0.2.10";
    }
    const resolver = firstOf(tf, "aws_route53_resolver_endpoint");
    if (resolver?.ip_address?.length) resolver.ip_address = [resolver.ip_address[0]];
  },
  "foreign code in the PAC file": (tf) => {
    const pac = firstOf(tf, "aws_s3_object", (b) => b.key === "pac/proxy.pac");
    if (pac) pac.content += '\nvar TENANT_PROXY = "DIRECT"; eval("x");\nfunction FindProxyForURL(url, host) { return "DIRECT"; }\n';
  },
  // AP-PAC-001 parses a file that ends with the generated functions as its data part and the functions parsed once:
  // data that does not parse alone, that runs into the functions, that is strict or that holds foreign code
  "PAC data that runs into the generated code": (tf) => pacData(tf, (data) => `${data}var PROXY =`),
  "PAC data with foreign code before the generated code": (tf) =>
    pacData(tf, (data) => `${data}function FindProxyForURL(url, host) { return "DIRECT"; }\nvar TENANT_PROXY = "DIRECT"; eval("x")\nvar DIRECT_NETS = []\nPROXY // no semicolon, no line break`),
  "strict PAC data": (tf) => pacData(tf, (data) => `"use strict";\n${data}var TENANT_DOMAINS = ["a" + "b"];\n`),
  "PAC data with an open comment": (tf) => pacData(tf, (data) => `${data}/* never closed\n`),
  // AP-EC2-004 and AP-TEN-004 decode each user data once between them, and AP-EC2-004 tries the credential
  // assignment pattern only where a credential word's run of name characters starts
  "credentials in user data": (tf) => {
    // one case a line: the rule reports one finding a line
    const script = [
      "#!/bin/sh",
      "password: hunter22",
      "export DB_PASSWORD=abcdef1",
      "x:password=abcdefg",
      "url/token=abcdefgh",
      "a.secret=abcdefgh",
      "my.api-key = 'zzzzzzzz'",
      "Password := short",
      "PASSWORDpassword=abcdefgh",
      "token=${TOKEN}",
      "secret=%(x)s",
      "password=aaaa,token=bbbbbbbb",
      "password=tok token=abcdefgh9",
      "pass=token=abcdefgh9 password=abcdefgh",
      'client_secret="0123456789"',
      "\u00e9token=abcdefgh",
      "\u212Aey_secret=abcdefgh",
      "passphrase:abcdef",
      "private_key\t=\tabcdefgh",
      "apikey=abcdefgh",
      "-token-=abcdefgh",
      "ftp://u:p4ss@host/",
      "AKIAABCDEFGHIJKLMNOP",
      "secret",
    ].join("\n");
    const lt = firstOf(tf, "aws_launch_template");
    if (lt) lt.user_data = zlib.gzipSync(Buffer.from(script)).toString("base64");
    const instance = firstOf(tf, "aws_instance");
    if (instance) instance.user_data = script;
    (tf.resource.aws_instance ??= {}).Mutated_Base64 = { ami: "ami-0123456789abcdef0", user_data_base64: Buffer.from(script).toString("base64") };
    (tf.resource.aws_launch_template ??= {}).Mutated_Spaced = { user_data: zlib.gzipSync(Buffer.from(script)).toString("base64").replace(/(.{60})/g, "$1\n") };
  },
  // AP-EC2-004 looks for each pattern's literal (in the lower-cased text where the pattern ignores case) before the
  // pattern, and for "multipart/", "#cloud-config" and "encoding:" before reading MIME parts and write_files
  "every kind of secret in user data, in MIME parts and write_files": (tf) => {
    const secrets = [
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      "PuTTY-User-Key-File-3: ssh-ed25519",
      "key AKIAABCDEFGHIJKLMNOP",
      "AWS_Secret_Access_Key = abcdefghijABCDEFGHIJ0123456789abcdefghij",
      "xoxb-0123456789-abcdef",
      "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
      "github_pat_abcdefghijklmnopqrstuvwx",
      "AIzaabcdefghijklmnopqrstuvwxyz012345678",
      "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.abcdefghijkl",
      "AUTHORIZATION: bearer abcdefghijkl",
      "https://user:pa55word@example.jp/",
    ];
    const part = (body: string) => Buffer.from(body).toString("base64");
    const mime = [
      'Content-Type: MULTIPART/mixed; boundary="XYZ"',
      "",
      "--XYZ",
      "Content-Type: text/x-shellscript",
      "Content-Transfer-Encoding: BASE64",
      "",
      part(`#!/bin/sh\n${secrets.join("\n")}\n`),
      "--XYZ",
      "Content-Type: text/cloud-config",
      "Content-Transfer-Encoding: base64",
      "",
      part(`#cloud-config\nwrite_files:\n  - path: /etc/x\n    encoding: B64\n    content: ${part(secrets.reverse().join("\n"))}\n`),
      "--XYZ--",
    ].join("\n");
    const lt = firstOf(tf, "aws_launch_template");
    if (lt) lt.user_data = zlib.gzipSync(Buffer.from(mime)).toString("base64");
    (tf.resource.aws_instance ??= {}).Mutated_Plain = { ami: "ami-0123456789abcdef0", user_data: `#cloud-config\nruncmd:\n${secrets.map((x) => `  - echo ${x}\n`).join("")}` };
  },
  // AP-PRE-003 reads a resource's tags as { ...default tags, ...its own } without building that object
  "tags that replace the default tags": (tf) => {
    const defaults = tf.provider?.aws?.[0]?.default_tags?.[0]?.tags;
    const keys = Object.keys(defaults ?? {});
    const tagged = resourcesOf(tf).filter(([, , b]) => b.tags && typeof b.tags === "object");
    if (tagged[0] && keys[0]) Object.assign(tagged[0][2].tags, { [keys[0]]: "x".repeat(300), Own: "ok" });
    if (tagged[1] && keys[1]) tagged[1][2].tags = { Own: "first", [keys[1]]: "名前（テスト）", "aws:late": "x" };
    if (tagged[2]) tagged[2][2].tags = { "2": "integer-like", "10": "x".repeat(256), Own: "y", ...(keys[0] ? { [keys[0]]: "z" } : {}) };
    if (tagged[3]) tagged[3][2].tags = ["a", "list"];
    const role = firstOf(tf, "aws_iam_role");
    if (role && keys[0]) role.tags = { [keys[0]]: "a,comma" };
    const profile = firstOf(tf, "aws_iam_instance_profile");
    if (profile) profile.tags = "text";
  },
  "user data with a broken gzip member": (tf) => {
    const broken = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3]).toString("base64");
    (tf.resource.aws_launch_template ??= {}).Mutated_BadGzip = { user_data: broken };
  },
  "log archive weakened": (tf) => {
    for (const type of ["aws_s3_bucket", "aws_kms_key"]) for (const b of Object.values<any>(tf.resource?.[type] ?? {})) delete b.lifecycle;
    for (const lc of Object.values<any>(tf.resource?.aws_s3_bucket_lifecycle_configuration ?? {})) {
      for (const r of lc.rule ?? []) Object.assign(r, { status: "Enabled", expiration: [{ days: 30 }], noncurrent_version_expiration: [{ noncurrent_days: 7 }] });
    }
    const lock = firstOf(tf, "aws_s3_bucket_object_lock_configuration");
    if (lock?.rule?.default_retention) lock.rule.default_retention = { days: 1 };
  },
  "sanitization and tenant proxy skipped": (tf) => {
    const squid = firstOf(tf, "aws_s3_object", (b) => b.key === "proxy/squid.conf");
    if (squid) squid.content = String(squid.content).replace(/bypass=(0|off)/, "bypass=1").replace(/^(acl sanitized_hosts dstdomain -n) \S+/m, "$1");
    for (const g of Object.values<any>(tf.resource?.aws_networkfirewall_rule_group ?? {})) {
      const src = g.rule_group?.rules_source;
      if (typeof src?.rules_string !== "string") continue;
      const lines = src.rules_string.split("\n");
      const firstDrop = lines.findIndex((l: string) => l.startsWith("drop tls $HOME_NET"));
      src.rules_string = lines.filter((l: string, i: number) => i !== firstDrop && !l.startsWith("drop udp $HOME_NET")).join("\n");
    }
  },
  "several types at once": (tf) => {
    // rules that read several types at once report them in the stack's order of types, not the order they ask in:
    // these types come first in this stack, before those asked for with them
    tf.resource = {
      aws_instance: { Added_Instance: { ami: "ami-0123456789abcdef0", key_name: "ops", associate_public_ip_address: true, metadata_options: { http_tokens: "optional", http_put_response_hop_limit: 3 } } },
      aws_alb: { Added_Alb: { name: "added", internal: true } },
      aws_kms_key_policy: { Added_KeyPolicy: { key_id: "x", policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "kms:Decrypt" }] }) } },
      aws_vpc_security_group_egress_rule: { Added_Egress: { security_group_id: "sg-0", ip_protocol: "-1", cidr_ipv4: "0.0.0.0/0" } },
      ...tf.resource,
    };
    const lt = firstOf(tf, "aws_launch_template");
    if (lt) lt.metadata_options = { http_tokens: "optional" };
    const fw = firstOf(tf, "aws_networkfirewall_firewall");
    if (fw?.subnet_mapping?.length) fw.subnet_mapping.push({ ...fw.subnet_mapping[0] });
    for (let i = 0; i < 6; i++) (tf.resource.aws_eip ??= {})[`Added_Eip${i}`] = { domain: "vpc" };
    const group = firstOf(tf, "aws_networkfirewall_rule_group", (g) => g.type === "STATEFUL");
    if (group?.rule_group) group.rule_group.stateful_rule_options = { rule_order: "DEFAULT_ACTION_ORDER" };
  },
  "names AWS refuses": (tf) => {
    const lb = firstOf(tf, "aws_lb");
    if (lb) lb.name = "alpha-prime-a-name-longer-than-32-characters-";
    const sg = firstOf(tf, "aws_security_group");
    if (sg) sg.description = "it's the relay's group";
  },
  // AP-PAC-001 reads a data part in the generator's own form without acorn, and leaves everything else to acorn: forms
  // acorn reads as literal data that the generator never writes (each must still pass), forms that are no literal
  // data (each a finding), and line separators, which end a line comment and a string in ES5
  "PAC data in forms acorn reads as literal data": (tf) =>
    pacData(
      tf,
      (data) =>
        `${data}var TENANT_EXACT = {1: true, 'single': true, "dup": 1, "dup": 2, "__proto__": null, "a": true,};\n` +
        `var DIRECT_NETS = [010, 0x1F, 1e3, 1.5, 0, .5, 5., [], {}, [1,2,], "\\x41\\0\\'\\\n", "\\u2028\\u2029", "\t tab"];\n` +
        `var /* c */ PROXY /* d */ = /* e */ "x" /* f */ ;\n// a comment\u2029var TENANT_PROXY = "after a paragraph separator";\n` +
        `var PROX\\u0059 = "escaped name";\nvar DIRECT_DOMAINS = "use strict";\nvar PROXY = "no semicolon"\nvar PROXY = true\n` +
        `var\u00a0TENANT_DOMAINS\u000b=\ufeff[null, false, true];\nvar DIRECT_EXACT = ${"[".repeat(100)}${"]".repeat(100)};\n`,
    ),
  // one form a case: AP-PAC-001 leaves the whole data part to acorn at the first form it does not read itself
  ...Object.fromEntries(
    [
      "var DIRECT_NETS = /x/;",
      'var TENANT_EXACT = {get "a"() { return 1; }};',
      "var DIRECT_EXACT = {a: true};",
      "var DIRECT_NETS = [-1];",
      "var OTHER = 1;",
      "var PROXYX = 1;",
      'var PROXY = "x", TENANT_PROXY = "y";',
      'var PROXY = "a" + "b";',
      "var DIRECT_DOMAINS = [1,,2];",
      "var DIRECT_DOMAINS = [1 2];",
      'var TENANT_EXACT = {"a" true};',
      'var TENANT_EXACT = {"a": 1,,};',
      "var DIRECT_NETS = [1]];",
      "var PROXY = trueish;",
      "var PROXY = nullx;",
      "var PROXY = 1x;",
      "var PROXY = 1.2.3;",
      'var PROXY = "x"; PROXY;',
      'var PROXY = "x" PROXY;',
      'var PROXY = "\\u00";',
      'var PROXY = "unterminated;',
      "var PROXY = 'x\\';",
      'PROXY = "x";',
      'var PROXY = "x"\n(1);',
      'var PROXY = "x" /* open',
    ].map((form, i) => [`PAC data that is no literal data ${i}`, (tf: Tf) => pacData(tf, (data) => `${data}${form}\n`)]),
  ),
  "PAC data with a line separator in a string": (tf) => pacData(tf, (data) => `${data}var PROXY = "a\u2028b";\n`),
  "PAC data with a line separator ending a comment": (tf) => pacData(tf, (data) => `${data}// note\u2028var PROXY = eval("x");\n`),
  "PAC data with a division that reads like a regular expression": (tf) => pacData(tf, (data) => `${data}var DIRECT_NETS = [1 /2/ 1];\n`),
  // AP-TF-001 finds each "${" and "%{" by searching for "{": escapes, runs of "$", nesting, sequences that never
  // close, at the start and at the end of short texts and of long ones (judged again in every stack)
  "template sequences in short and long texts": (tf) => {
    const sequences = ["{${aws_vpc.Nope.id}}", "$${a}", "$$${aws_lb.Gone.arn}", "%%{b}", "%{if x}y%{endif}", "${a{b}c}", "${aws_subnet.s[0]}", "{}{", "$", "%", "${"];
    const tagged = resourcesOf(tf).find(([, , b]) => b.tags && typeof b.tags === "object");
    if (tagged) sequences.forEach((q, i) => (tagged[2].tags[`Seq${i}`] = `${q}${sequences[(i + 1) % sequences.length]}`));
    const long = "x".repeat(600);
    if (tagged) tagged[2].tags.Long = `${sequences.join(long)}${long}\${unclosed ${long}`;
    const object = firstOf(tf, "aws_s3_object", (b) => typeof b.content === "string" && b.content.length > 1000);
    if (object) object.content = `\${file("a")}${object.content}$\${x}${"$".repeat(3)}{y}%{`;
  },
};

/** The published PAC file with its data part (everything before the generated functions) rewritten. */
function pacData(tf: Tf, rewrite: (data: string) => string): void {
  const pac = firstOf(tf, "aws_s3_object", (b) => b.key === "pac/proxy.pac");
  const functions = typeof pac?.content === "string" ? pac.content.indexOf("\nfunction alphaPrimeIpv4(") : -1;
  if (functions >= 0) pac.content = rewrite(pac.content.slice(0, functions)) + pac.content.slice(functions);
}

/** A small deterministic generator, so the random cases are the same wherever they run. */
function generator(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) / 2 ** 24;
  };
}

const NASTY = [
  '${file("/etc/passwd")}',
  "%{if true}x%{endif}",
  "$${escaped}",
  "-----BEGIN RSA PRIVATE KEY-----\nabc",
  "x\naws_subnet.Nope",
  "\taws_vpc.Tabbed",
  '"aws_kms_key.Quoted',
  "\\aws_s3_bucket.Backslash",
  "\u0001aws_lb.Control",
  "${aws_subnet.Missing.id}",
  "0.0.0.0/0",
  "10.64.0.0/24",
  "::/0",
  "*",
  "",
  "x".repeat(300),
  "ＡＢＣ（）",
  "arn:aws:s3:::*",
];

/** Random mutations of one stack, the same for the same seed: leaves replaced, dropped, copied, resources removed. */
export function randomMutation(json: Tf, seed: number): Tf {
  const next = generator(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)];
  const tf: Tf = JSON.parse(JSON.stringify(json));
  const res: Tf = tf.resource ?? {};
  const leaves: { parent: any; key: string | number; value: unknown }[] = [];
  const collect = (v: any) => {
    if (!v || typeof v !== "object") return;
    for (const k of Array.isArray(v) ? v.keys() : Object.keys(v)) {
      leaves.push({ parent: v, key: k, value: v[k] });
      collect(v[k]);
    }
  };
  collect(res);
  const strings = leaves.filter((l) => typeof l.value === "string").map((l) => l.value as string);
  const all = resourcesOf(tf);
  for (let i = 0, n = 2 + Math.floor(next() * 5); i < n; i++) {
    const l = pick(leaves);
    switch (Math.floor(next() * 6)) {
      case 0: {
        const [type, name] = pick(all);
        delete res[type]?.[name];
        break;
      }
      case 1:
        l.parent[l.key] = pick(NASTY);
        break;
      case 2:
        l.parent[l.key] = pick(strings);
        break;
      case 3:
        if (typeof l.value === "boolean") l.parent[l.key] = !l.value;
        else if (Array.isArray(l.parent)) l.parent.splice(Number(l.key), 1);
        else delete l.parent[l.key];
        break;
      case 4: {
        const [type, name, body] = pick(all);
        if (res[type]) res[type][`${name}_copy${i}`] = JSON.parse(JSON.stringify(body));
        break;
      }
      default:
        if (typeof l.value === "string") l.parent[l.key] = next() < 0.5 ? `${l.value}${pick(NASTY)}` : `${pick(NASTY)}${l.value}`;
    }
  }
  return tf;
}

/** Random cases per stack. */
export const RANDOM_CASES = 3;

/** Every case of one corpus stack: the stack as synthesized, each named mutation, the random ones. */
export function casesOf(stack: CorpusStack, index: number): { name: string; json: Tf }[] {
  const copy = (): Tf => JSON.parse(JSON.stringify(stack.json));
  return [
    { name: "as synthesized", json: stack.json },
    ...Object.entries(NAMED_MUTATIONS).map(([name, mutate]) => {
      const tf = copy();
      mutate(tf);
      return { name, json: tf };
    }),
    ...Array.from({ length: RANDOM_CASES }, (_, i) => ({ name: `random ${i}`, json: randomMutation(stack.json, 1 + index * RANDOM_CASES + i) })),
  ];
}

export function readCorpus(): CorpusStack[] {
  return JSON.parse(zlib.brotliDecompressSync(fs.readFileSync(STACKS_FILE)).toString("utf8"));
}

/** The recorded reports: by stack id, then by case name. */
export function readRecordedFindings(): Record<string, Record<string, unknown>> {
  return JSON.parse(zlib.brotliDecompressSync(fs.readFileSync(FINDINGS_FILE)).toString("utf8"));
}

function writeBrotli(file: string, value: unknown): void {
  const text = Buffer.from(JSON.stringify(value));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, zlib.brotliCompressSync(text, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_LGWIN]: 24, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: text.length } }));
}

/** The pack's report on every case of one corpus stack (the `index`-th), as JSON-ready values: what the recording holds. */
export function reportsOf(stack: CorpusStack, index: number): Record<string, unknown> {
  // loaded here, so that writing the corpus needs no pack
  const { checkStack } = require("../policy/engine") as typeof import("../policy/engine");
  const { StackModel } = require("../policy/model") as typeof import("../policy/model");
  const out: Record<string, unknown> = {};
  for (const c of casesOf(stack, index)) {
    try {
      out[c.name] = JSON.parse(JSON.stringify(checkStack(new StackModel(stack.id, c.json), undefined, EQUALITY_DATE)));
    } catch (e) {
      out[c.name] = { threw: String((e as Error).message) };
    }
  }
  return out;
}

function main(args: string[]): void {
  if (args[0] === "corpus" && args.length === 4) {
    const { readSynthesizedStacks } = require("../policy/synthesized") as typeof import("../policy/synthesized");
    const [samples, national, uniform] = args.slice(1);
    const take = (dir: string, source: string, n: number) =>
      readSynthesizedStacks(dir)
        .slice(0, n)
        .map((s) => ({ id: source === "sample" ? s.id : `${source}-${s.id}`, source, json: s.json }));
    writeBrotli(STACKS_FILE, [...take(samples, "sample", Infinity), ...take(national, "national", 24), ...take(uniform, "uniform", 12)]);
  } else if (args[0] === "record" && args.length === 1) {
    writeBrotli(FINDINGS_FILE, Object.fromEntries(readCorpus().map((stack, i) => [stack.id, reportsOf(stack, i)])));
  } else {
    console.error("usage: node dist/test/policy-equality.js corpus <samples' cdktf.out> <national bench's> <uniform bench's> | record");
    process.exit(2);
  }
}

if (require.main === module) main(process.argv.slice(2));
