#!/usr/bin/env bash
# `npm run deploy:local`: bootstraps and deploys the Flowtune stack with cdklocal to a
# LocalStack-compatible endpoint (LocalStack, MiniStack) named by AWS_ENDPOINT_URL.
# It refuses to run without that variable, so it can never deploy to a real account by accident.
#
#   AWS_ENDPOINT_URL=http://localhost:4566 npm run deploy:local [-- extra cdk deploy args]
#
# Stack outputs go to $FLOWTUNE_OUTPUTS_FILE (default .build/deployed/stack-outputs.json), where
# `npm run test:deployed` reads them.
set -euo pipefail

if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
  cat >&2 <<'EOF'
deploy:local needs a LocalStack-compatible endpoint and none is set.
  Set AWS_ENDPOINT_URL, for LocalStack:  AWS_ENDPOINT_URL=http://localhost:4566 npm run deploy:local
  or let npm run test:ministack start MiniStack (no Docker needed), deploy to it and test it.
Nothing was deployed: without an endpoint cdk would target a real AWS account.
EOF
  exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# cdklocal sends S3 asset uploads to AWS_ENDPOINT_URL_S3 and stops if only AWS_ENDPOINT_URL is set.
export AWS_ENDPOINT_URL_S3="${AWS_ENDPOINT_URL_S3:-$AWS_ENDPOINT_URL}"
export AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export AWS_DEFAULT_REGION="$AWS_REGION"
# cdklocal strips every AWS_* variable (credentials included, so real ones never leave this
# machine) and falls back to us-east-1; let the region through so deploy and tests agree.
export AWS_ENVAR_ALLOWLIST="AWS_REGION,AWS_DEFAULT_REGION"
# LocalStack and MiniStack both use this account unless configured otherwise.
ACCOUNT="${FLOWTUNE_LOCAL_ACCOUNT:-000000000000}"
OUTPUTS_FILE="${FLOWTUNE_OUTPUTS_FILE:-$ROOT/.build/deployed/stack-outputs.json}"
# The cloud assembly goes to its own folder so a deploy never races a teammate's `cdk synth`.
CDK_OUT="${FLOWTUNE_CDK_OUT:-$ROOT/.build/deployed/cdk.out}"
mkdir -p "$(dirname "$OUTPUTS_FILE")"

CDKLOCAL="$ROOT/node_modules/.bin/cdklocal"
[[ -x "$CDKLOCAL" ]] || { echo "cdklocal is missing: run npm ci first" >&2; exit 1; }

echo "== deploy:local: bootstrap aws://$ACCOUNT/$AWS_REGION at $AWS_ENDPOINT_URL" >&2
"$CDKLOCAL" bootstrap "aws://$ACCOUNT/$AWS_REGION" --output "$CDK_OUT"

# FLOWTUNE_EMULATOR (set by scripts/ministack.sh) names the emulator, so the app can leave out
# resource types it cannot provision; see docs/ministack.md.
context=()
[[ -n "${FLOWTUNE_EMULATOR:-}" ]] && context=(--context "flowtune:emulator=$FLOWTUNE_EMULATOR")

echo "== deploy:local: deploy${FLOWTUNE_EMULATOR:+ (emulator: $FLOWTUNE_EMULATOR)} (outputs: ${OUTPUTS_FILE#"$ROOT"/})" >&2
"$CDKLOCAL" deploy --all --require-approval never --progress events --outputs-file "$OUTPUTS_FILE" \
  --output "$CDK_OUT" \
  "${context[@]}" "$@"
