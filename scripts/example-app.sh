#!/usr/bin/env bash
# The construct library as a customer gets it: packs the package (`npm pack`, which builds dist/),
# installs the tarball into a fresh folder with examples/customer-app, compiles that app against
# the installed declarations and synthesizes it with the cdk-nag packs (any unacknowledged
# finding fails the synth). Run by `npm run test:example` and `.ci/run`.
#
#   scripts/example-app.sh [--keep] [--tarball FILE]
#     --keep          leave the fresh folder (.build/example-app) for a look
#     --tarball FILE  install FILE instead of packing afresh (to iterate on the example only)
#
# Offline-safe: the install takes packages from npm's cache first (--prefer-offline), which
# `npm ci` has filled; only what the cache lacks comes from the registry.
set -euo pipefail

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

KEEP=0
GIVEN_TARBALL=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --keep) KEEP=1 ;;
    --tarball)
      [[ $# -ge 2 && -f "$2" ]] || { echo "example-app: --tarball needs an existing .tgz file" >&2; exit 2; }
      GIVEN_TARBALL="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
      shift
      ;;
    *) echo "example-app: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly WORK="$ROOT/.build/example-app"
readonly BIN="$ROOT/node_modules/.bin"

log() { printf '== example-app: %s\n' "$*" >&2; }

rm -rf "$WORK"
mkdir -p "$WORK/pack" "$WORK/app"

if [[ -n "$GIVEN_TARBALL" ]]; then
  cp "$GIVEN_TARBALL" "$WORK/pack/"
else
  log "npm pack (prepack builds dist/)"
  (cd "$ROOT" && npm pack --silent --pack-destination "$WORK/pack" >/dev/null)
fi
TARBALL="$(ls "$WORK"/pack/flowtune-*.tgz)"
log "packed $(basename "$TARBALL") ($(du -k "$TARBALL" | cut -f1) KiB, $(tar -tzf "$TARBALL" | wc -l) files)"

cp "$ROOT"/examples/customer-app/{app.ts,cdk.json,package.json,tsconfig.json} "$WORK/app/"
cd "$WORK/app"

log "npm install the tarball into a fresh folder (peer dependencies: aws-cdk-lib, constructs, cdk-nag)"
npm install --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error "$TARBALL"
if [[ -e node_modules/flowtune/lib || -e node_modules/flowtune/test ]]; then
  echo "example-app: the package carries TypeScript sources or tests; only dist/ belongs in it" >&2
  exit 1
fi

log "tsc: the app against the installed declarations (NodeNext resolution, as a customer's app)"
"$BIN/tsc" -p tsconfig.json

log "cdk synth with the cdk-nag AwsSolutions and Serverless packs"
"$BIN/cdk" synth --quiet --output cdk.out >/dev/null

TEMPLATE="cdk.out/CustomerStack.template.json"
node --input-type=module - "$TEMPLATE" <<'EOF'
import { readFileSync } from 'node:fs';
const template = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const types = Object.values(template.Resources).map((resource) => resource.Type);
const count = (type) => types.filter((t) => t === type).length;
const machines = count('AWS::StepFunctions::StateMachine');
const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
const fromAssets = functions.filter((fn) => fn.Properties?.Code?.S3Key !== undefined);
if (machines < 2 || functions.length < 10 || fromAssets.length !== functions.length) {
  console.error(`unexpected template: ${machines} state machines, ${functions.length} functions, ${fromAssets.length} from assets`);
  process.exit(1);
}
console.error(`== example-app: CustomerStack synthesized: ${types.length} resources, ${machines} state machines, ${functions.length} functions from prebuilt bundles`);
EOF

if [[ "$KEEP" == 0 ]]; then rm -rf "$WORK"; fi
log "ok"
