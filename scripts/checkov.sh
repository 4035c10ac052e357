#!/usr/bin/env bash
# Scans the synthesized CloudFormation templates with checkov (the open-source IaC scanner) and
# fails on any failed check: `npm run scan`, and a step of `bash .ci/run`.
#
#   scripts/checkov.sh            install (pinned) → synth (default, and with the connector) → scan
#   scripts/checkov.sh --no-synth scan the templates already in .build/checkov/
#
# checkov lives in an ignored virtualenv (.venv/checkov). It runs offline: --skip-download keeps it
# from fetching its vendor's guidelines and policies, no API key is ever given, and the
# BC_* / PRISMA_* variables that would send results anywhere are cleared. Skips are made only in
# each resource's metadata, with a reason (lib/checkov.ts); test/infra/checkov.test.ts checks them.
set -euo pipefail

# Pinned: a new checkov release can add checks, and the gate must only move when we move it.
readonly CHECKOV_VERSION="3.3.30"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly VENV="$ROOT/.venv/checkov"
readonly WORK_DIR="$ROOT/.build/checkov"

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

log() { printf '== checkov: %s\n' "$*" >&2; }

synth=true
for arg in "$@"; do
  case "$arg" in
    --no-synth) synth=false ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option $arg" >&2; usage >&2; exit 2 ;;
  esac
done

installed_version() {
  [[ -x "$VENV/bin/python" ]] || return 0
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true
}

install_checkov() {
  if [[ "$(installed_version)" == "$CHECKOV_VERSION" ]]; then
    log "checkov $CHECKOV_VERSION already in ${VENV#"$ROOT"/}"
    return
  fi
  if ! python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    echo "checkov needs Python >= 3.9 with the venv module (python3 -m venv); none found on PATH" >&2
    exit 1
  fi
  log "installing checkov==$CHECKOV_VERSION into ${VENV#"$ROOT"/} (about a minute, once)"
  [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
}

# name → extra cdk context; the connector variant adds its function, secret, table and rule.
readonly VARIANTS=(default connector)
context_of() {
  case "$1" in
    default) ;;
    connector) printf '%s\n' -c flowtune:connectorEndpoint=https://rpa.example.com/flowtune -c flowtune:connectorName=rpa ;;
  esac
}

synth_variant() {
  local name="$1" out="$WORK_DIR/$1/cdk.out" started
  local -a context
  mapfile -t context < <(context_of "$name")
  rm -rf "$out"
  mkdir -p "$out"
  started=$(date +%s)
  log "synth ($name) → ${out#"$ROOT"/}"
  (cd "$ROOT" && npx --no-install cdk synth --quiet --output "$out" "${context[@]}" >"$WORK_DIR/$name/synth.log" 2>&1) || {
    tail -n 30 "$WORK_DIR/$name/synth.log" >&2
    log "synth ($name) failed; full log: ${WORK_DIR#"$ROOT"/}/$name/synth.log"
    exit 1
  }
  log "synth ($name) took $(($(date +%s) - started)) s"
}

scan_variant() {
  local name="$1" template="$WORK_DIR/$1/cdk.out/Flowtune.template.json" report="$WORK_DIR/$1/checkov.json"
  [[ -f "$template" ]] || { echo "no template at ${template#"$ROOT"/}: run without --no-synth" >&2; exit 1; }
  log "scan ($name): ${template#"$ROOT"/}"
  # checkov exits 1 when a check fails; the summary below decides.
  env -u BC_API_KEY -u PRISMA_API_URL -u BC_FROM_BRANCH -u BC_REPO_ID \
    "$VENV/bin/checkov" --file "$template" --framework cloudformation --skip-download \
    --quiet --compact --output json >"$report" 2>"$WORK_DIR/$name/checkov.log" || true
  "$VENV/bin/python" - "$report" "$name" <<'EOF'
import json, sys
report, name = sys.argv[1], sys.argv[2]
try:
    data = json.load(open(report))
except ValueError:
    sys.exit(f"checkov ({name}) wrote no JSON report; see {report.replace('.json', '.log')}")
results = data if isinstance(data, list) else [data]
summary = {key: sum(r["summary"][key] for r in results) for key in ("passed", "failed", "skipped", "parsing_errors")}
print(f"checkov ({name}): {summary['passed']} passed, {summary['failed']} failed, "
      f"{summary['skipped']} skipped (each with its reason), {summary['parsing_errors']} parsing errors")
for r in results:
    for check in r["results"]["failed_checks"]:
        print(f"  FAILED {check['check_id']} {check['check_name']}: {check['resource']}")
if summary["failed"] or summary["parsing_errors"]:
    sys.exit(f"checkov ({name}) found failed checks: fix them, or skip one in the resource's metadata with skipCheck() and a specific reason (lib/checkov.ts)")
EOF
}

main() {
  mkdir -p "$WORK_DIR"
  install_checkov
  for variant in "${VARIANTS[@]}"; do
    mkdir -p "$WORK_DIR/$variant"
    [[ "$synth" == true ]] && synth_variant "$variant"
    scan_variant "$variant"
  done
}

main
