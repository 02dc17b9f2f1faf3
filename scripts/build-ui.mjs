// Bundles the Preact app into ui/dist (served as Workers static assets). esbuild: one step, no config.
import { build } from "esbuild";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";

const watch = process.argv.includes("--watch");
await mkdir("ui/dist/assets", { recursive: true });
const result = await build({
  entryPoints: ["ui/src/main.tsx"],
  bundle: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: !watch,
  sourcemap: true,
  outfile: "ui/dist/assets/app.js",
  metafile: true,
  logLevel: "warning",
});
await copyFile("ui/index.html", "ui/dist/index.html");
// The API reference's script (worker/routes/docs.ts), served by us so that /api/docs works offline.
await mkdir("ui/dist/vendor/scalar", { recursive: true });
await copyFile("node_modules/@scalar/api-reference/dist/browser/standalone.js", "ui/dist/vendor/scalar/standalone.js");
try {
  await copyFile("ui/src/styles.css", "ui/dist/assets/app.css");
} catch {}
const js = await readFile("ui/dist/assets/app.js");
const gz = gzipSync(js).length;
await writeFile("ui/dist/bundle-size.json", JSON.stringify({ bytes: js.length, gzip_bytes: gz }) + "\n");
console.log(`ui: app.js ${(js.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip`);
void result;
