// Tests must not depend on the developer's shell: these variables change what is synthesized.
for (const v of ["ALPHA_PRIME_STATE_BUCKET", "ALPHA_PRIME_STACKS", "ALPHA_PRIME_ENV_DIR", "CDKTF_OUTDIR"]) delete process.env[v];
