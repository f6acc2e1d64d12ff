// Unit tests of the app's own logic: each `src/**/*.test.ts` bundled by esbuild and run by
// Node's test runner.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { build } from "esbuild";

const out = ".test-build";
rmSync(out, { recursive: true, force: true });
const tests = readdirSync("src", { recursive: true })
  .filter((name) => name.endsWith(".test.ts"))
  .map((name) => join("src", name));
await build({
  entryPoints: tests,
  outdir: out,
  bundle: true,
  platform: "node",
  format: "esm",
  outExtension: { ".js": ".mjs" },
  logLevel: "warning",
});
const run = spawnSync(process.execPath, ["--test", out], { stdio: "inherit" });
process.exit(run.status ?? 1);
