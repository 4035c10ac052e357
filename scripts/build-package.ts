/**
 * Builds the installable package into dist/ (run by `npm pack` through `prepack`, or `npm run build`):
 *
 * - the construct library (lib/) and the event contracts (domain/) as JavaScript with type
 *   declarations, by tsc, in the source tree's layout (so PROJECT_ROOT, two levels above
 *   lib/definitions, is dist/ itself);
 * - every Lambda handler (lambdas/**\/handler.ts) prebuilt with the settings `cdk synth` bundles
 *   with (HANDLER_BUNDLE), into dist/bundles/<entry>/index.mjs, where BundledFunctionFactory
 *   takes them from: a customer's synth needs neither esbuild nor the handlers' dependencies;
 * - the state machine definitions the constructs read (statemachines/).
 *
 * tsc keeps relative specifiers as written (`'../domain/events'`), which Node's ESM loader does
 * not resolve; each is rewritten to the emitted file (`'../domain/events/index.js'`).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';
import { HANDLER_BUNDLE, prebuiltBundleDir } from '../lib/constructs/function-factory';
import { PROJECT_ROOT } from '../lib/definitions';

const HELP = `Usage: npm run build   (or: npx tsx scripts/build-package.ts [--help])

Builds dist/: the construct library and event contracts (JavaScript + .d.ts), the Lambda
handlers prebuilt as bundles, and the state machine definitions. \`npm pack\` runs it first.`;

const DIST = join(PROJECT_ROOT, 'dist');

function log(message: string): void {
  process.stderr.write(`== build-package: ${message}\n`);
}

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(dir, entry))
    .filter((file) => statSync(file).isFile() && keep(file));
}

/** `'./x'` → `'./x.js'` or `'./x/index.js'`, whichever was emitted; anything else unchanged. */
export function resolveSpecifier(fromFile: string, specifier: string, extension: '.js' | '.d.ts'): string {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return specifier;
  if (/\.(m?js|json)$/.test(specifier)) return specifier;
  const base = join(dirname(fromFile), specifier);
  if (existsSync(`${base}${extension}`)) return `${specifier}.js`;
  if (existsSync(join(base, `index${extension}`))) return `${specifier}/index.js`;
  throw new Error(
    `${relative(DIST, fromFile)} imports ${specifier}, which the build did not emit; add its folder to tsconfig.build.json's include.`,
  );
}

/** Rewrites every static, dynamic and re-export specifier of one emitted file. */
function rewriteSpecifiers(file: string, extension: '.js' | '.d.ts'): void {
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\2/g,
    (_match, lead: string, quote: string, specifier: string) =>
      `${lead}${quote}${resolveSpecifier(file, specifier, extension)}${quote}`,
  );
  if (rewritten !== text) writeFileSync(file, rewritten);
}

async function bundleHandlers(): Promise<number> {
  const entries = filesUnder(join(PROJECT_ROOT, 'lambdas'), (file) => file.endsWith('/handler.ts')).map(
    (file) => relative(PROJECT_ROOT, file),
  );
  for (const entry of entries) {
    await build({
      entryPoints: [join(PROJECT_ROOT, entry)],
      outfile: join(prebuiltBundleDir(entry, DIST), HANDLER_BUNDLE.fileName),
      bundle: true,
      platform: 'node',
      format: HANDLER_BUNDLE.format,
      target: HANDLER_BUNDLE.target,
      mainFields: [...HANDLER_BUNDLE.mainFields],
      minify: HANDLER_BUNDLE.minify,
      sourcemap: true,
      sourcesContent: false,
      banner: { js: HANDLER_BUNDLE.banner },
      logLevel: 'warning',
    });
  }
  return entries.length;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const unknown = argv.filter((arg) => arg !== '--');
  if (unknown.length > 0) {
    process.stderr.write(`build-package takes no arguments; got ${unknown.join(' ')}\n\n${HELP}\n`);
    return 2;
  }
  rmSync(DIST, { recursive: true, force: true });

  log('tsc: lib/ and domain/ to JavaScript with declarations');
  execFileSync(process.execPath, [require_resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  const emitted = filesUnder(DIST, (file) => file.endsWith('.js') || file.endsWith('.d.ts'));
  for (const file of emitted) rewriteSpecifiers(file, file.endsWith('.d.ts') ? '.d.ts' : '.js');
  log(`${emitted.length} files emitted, relative specifiers resolved`);

  log('esbuild: Lambda handlers');
  log(`${await bundleHandlers()} handlers bundled into dist/bundles/`);

  cpSync(join(PROJECT_ROOT, 'statemachines'), join(DIST, 'statemachines'), { recursive: true });
  log('state machine definitions copied; dist/ is ready for npm pack');
  return 0;
}

/** typescript's CLI entry, from this project's node_modules. */
function require_resolve(specifier: string): string {
  return join(PROJECT_ROOT, 'node_modules', specifier);
}

process.exitCode = await main(process.argv.slice(2));
