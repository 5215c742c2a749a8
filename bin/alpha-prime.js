#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript under dist/ (`npm run build`).
"use strict";
const path = require("path");
const fs = require("fs");
const entry = path.join(__dirname, "..", "dist", "cli", "main.js");
if (!fs.existsSync(entry)) {
  process.stderr.write("alpha-prime: not built yet; run `npm run build` (or `npm install && npm run synth`) first\n");
  process.exit(2);
}
require(entry).main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`alpha-prime: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 2; },
);
