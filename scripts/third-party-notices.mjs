#!/usr/bin/env node
// Writes THIRD_PARTY_NOTICES.md: the third-party code this package's own files carry (compiled into
// the addon and the WebAssembly DSP module, or bundled into dist/ and web-dist/), with each one's
// license text, and the data the shipped models were trained on. npm dependencies that stay
// dependencies (onnxruntime-node, commander, ...) carry their own licenses and are not listed.
//   node scripts/third-party-notices.mjs          write the file
//   node scripts/third-party-notices.mjs --check  exit 1 if the committed file is not what it would write
// Which packages the bundles hold: the `node_modules/` sources of their source maps (`npx vite build
// --config src/web/vite.config.ts --sourcemap --outDir /tmp/x`, and dist/*.map after `npm run build:ts`).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'THIRD_PARTY_NOTICES.md');

const BSD3 = (holder) => `Copyright (c) ${holder}
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted
provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions
   and the following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice, this list of
   conditions and the following disclaimer in the documentation and/or other materials provided
   with the distribution.
3. Neither the name of the copyright holder nor the names of its contributors may be used to
   endorse or promote products derived from this software without specific prior written
   permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND
FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER
IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT
OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.`;

const MIT = (holder) => `Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

/** A bundled npm package: its version and license from its package.json, its license text from its own file. */
function npmPackage(name, shipsIn, fallbackText) {
  const dir = join(root, 'node_modules', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = ['LICENSE', 'LICENCE', 'LICENSE.md', 'LICENSE.txt'].map((f) => join(dir, f)).find(existsSync);
  const text = file ? readFileSync(file, 'utf8').trim() : fallbackText;
  if (!text) throw new Error(`${name} has no license file and no text was given for it`);
  return { title: `${name} ${manifest.version}`, license: manifest.license, shipsIn, text };
}

const entries = [
  {
    title: 'KISS FFT (kissfft 131.1.0, from Debian\'s source package or the upstream release)',
    license: 'BSD-3-Clause',
    shipsIn: 'compiled into the native addon (`prebuilds/`, or built at install) and the WebAssembly DSP module (`wasm/dist/`, `web-dist/`)',
    text: BSD3('2003-2010 Mark Borgerding'),
  },
  npmPackage('onnxruntime-web', 'bundled into the kiosk app (`web-dist/`: its JavaScript and its `.wasm`)', MIT('Microsoft Corporation')),
  npmPackage('protobufjs', 'bundled into `dist/` and `web-dist/` (reading and writing ONNX files)'),
  npmPackage('long', 'bundled into `dist/` and `web-dist/` (with protobufjs)'),
  npmPackage('idb-keyval', 'bundled into the kiosk app (`web-dist/`: keeps the personal model "My voice" made in the browser)'),
];

const lines = [
  '# Third-party notices',
  '',
  'spoken-digits is MIT-licensed (`LICENSE`). Its package also carries the third-party code below, compiled into',
  'its binaries or bundled into its JavaScript, each under its own license. Written by',
  '`node scripts/third-party-notices.mjs` from the packages\' own files; npm dependencies that are installed as',
  'dependencies carry their own licenses and are not repeated here. ONNX Runtime\'s own notices for the libraries',
  'compiled into its `.wasm` are its repository\'s `ThirdPartyNotices.txt`, which its npm package does not ship.',
  '',
  '## Training data of the shipped models',
  '',
  'The models in `models/` were trained on the Free Spoken Digit Dataset (github.com/Jakobovski/free-spoken-digit-dataset),',
  '© Zohar Jackson and the FSDD contributors, licensed under Creative Commons Attribution-ShareAlike 4.0',
  'International (CC BY-SA 4.0, https://creativecommons.org/licenses/by-sa/4.0/). No FSDD audio is in the package.',
  '',
];
for (const e of entries) {
  lines.push(`## ${e.title}`, '', `License: ${e.license}. Ships ${e.shipsIn}.`, '', '```', e.text, '```', '');
}
const text = `${lines.join('\n').trimEnd()}\n`;

if (process.argv.includes('--check')) {
  const committed = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (committed !== text) {
    console.error('THIRD_PARTY_NOTICES.md is out of date: run node scripts/third-party-notices.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
