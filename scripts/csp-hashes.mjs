// Trunk post_build hook (see Trunk.toml): lets the page's Content-Security-
// Policy allow exactly the inline scripts Trunk wrote into the built HTML.
//
// Trunk injects an inline `<script type="module">` that imports the hashed
// wasm-bindgen JS and calls its init (and, under `trunk serve`, an inline
// live-reload script), which `script-src 'self'` blocks. Its text changes
// with every build (the file names carry content hashes), so this hook, run
// after Trunk has written the final (possibly minified) HTML into
// $TRUNK_STAGING_DIR and before it moves to dist/, adds each inline script's
// 'sha256-…' to the `script-src` of the `<meta http-equiv=
// "Content-Security-Policy">` that index.html carries. Nothing else in the
// policy is touched, and no other inline script is allowed.
//
// It fails the build (exit 1) when an HTML file holds inline scripts but no
// CSP meta with a `script-src` to add them to.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('csp-hashes: TRUNK_STAGING_DIR is not set (run me as a Trunk post_build hook)');
  process.exit(1);
}

const SCRIPT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
// A tag and its attributes (values quoted either way, or unquoted as a
// minifier leaves them; in any order).
const META = /<meta\b(?:[^>"']|"[^"]*"|'[^']*')*>/gi;
const ATTR = /([^\s"'<>\/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;

/** A CSP meta tag with `policy` in place of its content, or undefined if `tag` is none. */
function replacePolicy(tag, replace) {
  const attrs = [...tag.slice(5, -1).matchAll(ATTR)];
  const unquote = (v = '') => (/^["']/.test(v) ? v.slice(1, -1) : v);
  const equiv = attrs.find(([, n]) => n.toLowerCase() === 'http-equiv');
  const content = attrs.find(([, n]) => n.toLowerCase() === 'content');
  if (!equiv || unquote(equiv[2]).toLowerCase() !== 'content-security-policy' || !content) return undefined;
  const policy = replace(unquote(content[2]));
  if (policy === undefined) return undefined;
  const quote = policy.includes('"') ? "'" : '"';
  const at = 5 + content.index;
  return `${tag.slice(0, at)}content=${quote}${policy}${quote}${tag.slice(at + content[0].length)}`;
}

/** The CSP hash of an inline script's text, as the browser computes it. */
function hashOf(text) {
  // The HTML parser turns CR LF and lone CR into LF before the script runs.
  const normalised = text.replace(/\r\n?/g, '\n');
  return `'sha256-${createHash('sha256').update(normalised, 'utf8').digest('base64')}'`;
}

/**
 * The path `trunk serve` serves under, and so its WebSocket base, for a
 * public URL, as Trunk 0.21 derives it (config/rt/serve.rs `common_base`):
 * an absolute path as is, an absolute URL's path, and a relative one (the
 * `./` of Trunk.toml, which keeps dist/ hostable under any prefix) made
 * absolute: `./` is `/`, `./x/` and `x/` are `/x/`.
 */
function serveBase(publicUrl) {
  let base = publicUrl || '/';
  if (/^[a-z][a-z0-9+.-]*:/i.test(base)) base = new URL(base).pathname;
  else if (base.startsWith('.')) base = base.slice(1) || '/';
  if (!base.startsWith('/')) base = `/${base}`;
  return base.replace(/\/?$/, '/');
}

/**
 * `trunk serve` fills its live-reload script's placeholders per request (from
 * the Host header), after this hook, which would change the script and so its
 * hash. Filling them here instead, with Trunk's own fallback for the address
 * (`window.location.host`) and serve's base path as the WebSocket base,
 * leaves serve nothing to replace, and live reload works under the policy too.
 */
function fillServePlaceholders(text) {
  if (!text.includes('{{__TRUNK_')) return text;
  const base = serveBase(process.env.TRUNK_PUBLIC_URL);
  return text
    .replace(/(['`])\{\{__TRUNK_ADDRESS__\}\}\1/g, 'window.location.host')
    .replaceAll('{{__TRUNK_WS_BASE__}}', base);
}

/** Adds `hashes` to the policy's script-src (dropping any a previous run added). */
function withHashes(policy, hashes) {
  return policy
    .split(';')
    .map((directive) => {
      if (!/^\s*script-src\s/i.test(directive)) return directive;
      const kept = directive.trim().split(/\s+/).filter((s) => !s.startsWith("'sha256-"));
      return `${directive.match(/^\s*/)[0]}${[...kept, ...hashes].join(' ')}`;
    })
    .join(';');
}

let failed = false;
for (const name of readdirSync(dir).filter((f) => f.endsWith('.html'))) {
  const path = join(dir, name);
  // Comments (which may mention <script> or <meta>) are left alone.
  const parts = readFileSync(path, 'utf8').split(/(<!--[\s\S]*?-->)/);
  const code = (i) => !parts[i].startsWith('<!--');

  const hashes = [];
  parts.forEach((part, i) => {
    if (!code(i)) return;
    parts[i] = part.replace(SCRIPT, (whole, attrs, text) => {
      if (/\bsrc\s*=/i.test(attrs)) return whole; // external: covered by 'self'
      const filled = fillServePlaceholders(text);
      const hash = hashOf(filled);
      if (!hashes.includes(hash)) hashes.push(hash);
      return filled === text ? whole : `<script${attrs}>${filled}</script>`;
    });
  });
  if (hashes.length === 0) continue;

  let done = false;
  parts.forEach((part, i) => {
    if (done || !code(i)) return;
    parts[i] = part.replace(META, (tag) => {
      if (done) return tag;
      const updated = replacePolicy(tag, (policy) =>
        /(^|;)\s*script-src\s/i.test(policy) ? withHashes(policy, hashes) : undefined,
      );
      if (updated === undefined) return tag;
      done = true;
      return updated;
    });
  });
  if (!done) {
    console.error(`csp-hashes: ${name} has ${hashes.length} inline script(s) but no CSP meta with script-src`);
    failed = true;
    continue;
  }
  writeFileSync(path, parts.join(''));
  console.log(`csp-hashes: ${name}: script-src allows ${hashes.length} inline script(s): ${hashes.join(' ')}`);
}
process.exit(failed ? 1 : 0);
