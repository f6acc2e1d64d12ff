// Bundles the app into dist/ (no CDN: everything the page needs is in these files).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
await build({
  entryPoints: { app: "src/app.tsx" },
  outdir: "dist",
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  logLevel: "warning",
});
await build({ entryPoints: ["src/app.css"], outdir: "dist", bundle: true, minify: true, logLevel: "warning" });
copyFileSync("index.html", "dist/index.html");
