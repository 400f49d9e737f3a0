// Minifies three.js's module build into depthhand's static files. The output is committed so that running the
// server needs no npm; this package.json/lock stays the source of the version. Run: `npm ci && npm run build`.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { minify } from "terser";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "node_modules", "three", "build");
const dst = join(here, "..", "src", "depthhand", "serve", "static", "depthhand", "three");
mkdirSync(dst, { recursive: true });
for (const name of ["three.core", "three.module"]) {
  let code = readFileSync(join(src, `${name}.js`), "utf8");
  code = code.replaceAll("'./three.core.js'", "'./three.core.min.js'");
  const out = await minify(code, { module: true, compress: true, mangle: true });
  writeFileSync(join(dst, `${name}.min.js`), out.code);
  console.log(`${name}.min.js: ${(out.code.length / 1024).toFixed(0)} KiB -> ${dst}`);
}
copyFileSync(join(here, "node_modules", "three", "LICENSE"), join(dst, "LICENSE"));
