// Builds app.js into a component with the componentize-js API, with the
// wasi:http features off: the host does not provide wasi:http. (`jco
// componentize` fails reading the WIT folder; see ../../README.md.)
// Usage: node build.mjs <wit dir> <out.wasm>
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const [witPath, out] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const { component } = await componentize({
  sourcePath: join(here, 'app.js'),
  witPath,
  worldName: 'channel',
  // The host gives plugins no wasi:http; outbound HTTP is the `http` import.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
console.log(`wrote ${out} (${component.length} bytes)`);
