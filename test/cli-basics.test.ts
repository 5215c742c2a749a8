import * as fs from "fs";
import * as path from "path";
import { cli } from "./cli-run";
import { envDirWith, sampleText } from "./helpers";

describe("validate of one named file applies the cross-file rules against its directory", () => {
  // kaga's file copied under another id, keeping kaga's local government code: two files for one municipality
  const twin = sampleText("kaga").replace(/^id: kaga$/m, "id: kaga-twin");
  const dir = envDirWith({ "kaga.yaml": sampleText("kaga"), "kaga-twin.yaml": twin, "ashiya.yaml": sampleText("ashiya") });

  test("a file whose local government code another file of the directory holds is refused, named alone", async () => {
    const r = await cli("validate", path.join(dir, "kaga-twin.yaml"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kaga-twin\.yaml:\d+:\d+: \/localGovernmentCode: \d+ is also used by kaga\.yaml/);
  });

  test("the file sorted first is refused too (the clash is reported on the named file, not only on the later one)", async () => {
    const r = await cli("validate", path.join(dir, "kaga.yaml"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/kaga\.yaml:\d+:\d+: \/localGovernmentCode: \d+ is also used by kaga-twin\.yaml/);
  });

  test("a clean file of the same directory still validates alone (a neighbour's clash is not its business)", async () => {
    const r = await cli("validate", path.join(dir, "ashiya.yaml"));
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toMatch(/1 municipality file\(s\) valid: ashiya/);
  });
});

describe("the CLI says what it is and how it exits", () => {
  test("--version prints the package version", async () => {
    const r = await cli("--version");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")).version);
  });

  test("--help lists the exit codes", async () => {
    const r = await cli("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*\n[\s\S]*\s+2 /);
  });
});
