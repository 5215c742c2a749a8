// Tests must not depend on the developer's shell: these variables change what is synthesized.
for (const v of ["ALPHA_PRIME_STATE_BUCKET", "ALPHA_PRIME_STACKS", "ALPHA_PRIME_ENV_DIR", "CDKTF_OUTDIR"]) delete process.env[v];
// ...and these what language validate and init speak (tests that want Japanese say --lang ja or set them)
for (const v of ["LC_ALL", "LC_MESSAGES"]) delete process.env[v];
process.env.LANG = "C.UTF-8";
// ...and the synth cache is this test file's own, never the developer's (~/.cache/alpha-prime)
process.env.ALPHA_PRIME_CACHE_DIR = require("fs").mkdtempSync(require("path").join(require("os").tmpdir(), "alpha-prime-cache-test-"));
