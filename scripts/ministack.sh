#!/usr/bin/env bash
# Deploys Flowtune to MiniStack (a free, MIT-licensed, LocalStack-compatible emulator that
# needs no Docker) and runs the deployed end-to-end suite against it: `npm run test:ministack`.
#
#   scripts/ministack.sh              install (pinned) → start → deploy:local → test:deployed → stop
#   scripts/ministack.sh -- CMD ...   install → start → CMD with the endpoint in its env → stop
#
# MiniStack lives in an ignored virtualenv (.venv/ministack), listens on a free port and is
# always stopped on exit, whatever failed. Its log is kept in .build/ministack/ for post-mortems.
set -euo pipefail

# Pinned: the deployed suite is only as reproducible as the emulator under it.
readonly MINISTACK_VERSION="1.5.33"
# MiniStack's default account and region; the deployed suite and cdklocal agree on them.
readonly REGION="us-east-1"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly VENV="$ROOT/.venv/ministack"
readonly WORK_DIR="$ROOT/.build/ministack"

log() { printf '== ministack: %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

installed_version() {
  [[ -x "$VENV/bin/python" ]] || return 0
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("ministack"))' 2>/dev/null || true
}

install_ministack() {
  if [[ "$(installed_version)" == "$MINISTACK_VERSION" ]]; then
    log "ministack $MINISTACK_VERSION already in $VENV"
    return
  fi
  if ! python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "MiniStack needs Python >= 3.10 with the venv module (python3 -m venv); none found on PATH" >&2
    exit 1
  fi
  log "installing ministack==$MINISTACK_VERSION into $VENV"
  [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "ministack==$MINISTACK_VERSION"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

MINISTACK_PID=""
STEP_PID=""

# Runs one step in the background and waits for it: bash defers traps until a foreground child
# ends, and `wait` is what lets INT/TERM stop MiniStack at once instead of after the step.
run_step() {
  "$@" &
  STEP_PID=$!
  wait "$STEP_PID"
  STEP_PID=""
}

on_signal() {
  [[ -n "$STEP_PID" ]] && kill -TERM "$STEP_PID" 2>/dev/null
  exit "$1"
}

stop_ministack() {
  local status=$?
  if [[ -n "$MINISTACK_PID" ]] && kill -0 "$MINISTACK_PID" 2>/dev/null; then
    log "stopping MiniStack (pid $MINISTACK_PID and its Lambda workers)"
    # setsid made MiniStack a process-group leader: this ends it and the node workers it spawned.
    kill -TERM -- "-$MINISTACK_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$MINISTACK_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$MINISTACK_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -n "${MINISTACK_LOG:-}" && -f "$MINISTACK_LOG" ]]; then
    log "failed (exit $status); last lines of $MINISTACK_LOG:"
    tail -n 40 "$MINISTACK_LOG" >&2 || true
  fi
  exit "$status"
}

start_ministack() {
  local port started
  port="$(free_port)"
  mkdir -p "$WORK_DIR"
  find "$WORK_DIR" -name 'ministack-*.log' -mtime +1 -delete 2>/dev/null || true
  MINISTACK_LOG="$WORK_DIR/ministack-$port.log"
  export MINISTACK_ENDPOINT="http://127.0.0.1:$port"
  started="$(now)"
  log "starting MiniStack on port $port (log: ${MINISTACK_LOG#"$ROOT"/})"
  trap stop_ministack EXIT
  trap 'on_signal 130' INT
  trap 'on_signal 143' TERM
  # IOT_MTLS_ENABLED=0 skips the MQTT/TLS listener (start in ~0.3 s instead of seconds).
  # AWS_ENDPOINT_URL is what MiniStack hands its Lambda workers, so their SDK calls come back here.
  # SFN_WAIT_SCALE shortens Retry back-off sleeps; the process instance has no Wait states.
  # MINISTACK_HOST: queue URLs name the host the clients use, so no SDK has to reconcile two.
  GATEWAY_PORT="$port" \
    BIND_HOST=127.0.0.1 \
    MINISTACK_HOST=127.0.0.1 \
    IOT_MTLS_ENABLED=0 \
    SFN_WAIT_SCALE="${SFN_WAIT_SCALE:-0.1}" \
    LOG_LEVEL="${MINISTACK_LOG_LEVEL:-INFO}" \
    AWS_ENDPOINT_URL="$MINISTACK_ENDPOINT" \
    AWS_DEFAULT_REGION="$REGION" \
    setsid "$VENV/bin/ministack" >"$MINISTACK_LOG" 2>&1 &
  MINISTACK_PID=$!
  for _ in $(seq 1 300); do
    if curl -fsS "$MINISTACK_ENDPOINT/_ministack/ready" >/dev/null 2>&1; then
      log "MiniStack ready in $(elapsed "$started") s"
      return
    fi
    kill -0 "$MINISTACK_PID" 2>/dev/null || { log "MiniStack exited during start-up"; exit 1; }
    sleep 0.1
  done
  log "MiniStack was not ready after 30 s"
  exit 1
}

export_endpoint_env() {
  export AWS_ENDPOINT_URL="$MINISTACK_ENDPOINT"
  # cdklocal uploads assets through the S3 client, which reads its own endpoint variable.
  export AWS_ENDPOINT_URL_S3="$MINISTACK_ENDPOINT"
  # Dummy credentials: MiniStack does not check them, and they can never reach a real account.
  export AWS_ACCESS_KEY_ID="test"
  export AWS_SECRET_ACCESS_KEY="test"
  export AWS_REGION="$REGION"
  export AWS_DEFAULT_REGION="$REGION"
  unset AWS_SESSION_TOKEN AWS_PROFILE
  # deploy:local passes it on as `-c flowtune:emulator=ministack`, so the CDK app can leave out
  # what MiniStack cannot provision (see docs/ministack.md).
  export FLOWTUNE_EMULATOR="ministack"
}

main() {
  local run_command=()
  if [[ $# -gt 0 ]]; then
    [[ "$1" == "--" ]] || { echo "usage: $0 [-- COMMAND ...]" >&2; exit 2; }
    shift
    run_command=("$@")
  fi

  local t0
  t0="$(now)"
  install_ministack
  log "install/check took $(elapsed "$t0") s"
  start_ministack
  export_endpoint_env
  cd "$ROOT"

  if [[ ${#run_command[@]} -gt 0 ]]; then
    run_step "${run_command[@]}"
    return
  fi

  export FLOWTUNE_OUTPUTS_FILE="$WORK_DIR/stack-outputs.json"
  export FLOWTUNE_CDK_OUT="$WORK_DIR/cdk.out"
  rm -f "$FLOWTUNE_OUTPUTS_FILE"
  t0="$(now)"
  run_step bash scripts/deploy-local.sh
  log "bootstrap + deploy took $(elapsed "$t0") s"
  t0="$(now)"
  run_step npm run --silent test:deployed
  log "deployed suite took $(elapsed "$t0") s"
}

main "$@"
