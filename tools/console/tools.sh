# Sourced by check.sh and run.sh: the pinned node tools (package.json + package-lock.json)
# installed once into $CONSOLE_NODE and reused while the pins and the node version match.
# Sets CONSOLE_HERE, CONSOLE_ROOT, TOOLS_CACHE, CONSOLE_NODE, CONSOLE_NODE_MODULES.
CONSOLE_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONSOLE_ROOT=$(cd "$CONSOLE_HERE/../.." && pwd)
TOOLS_CACHE=${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}
CONSOLE_NODE=$TOOLS_CACHE/console-node
CONSOLE_NODE_MODULES=$CONSOLE_NODE/node_modules

install_console_tools() {
  command -v node >/dev/null || { echo "node is not installed (need Node.js 20+)" >&2; return 1; }
  mkdir -p "$TOOLS_CACHE"
  # One installer at a time per cache directory (the same lock as tools/clients/run.sh).
  exec 9>"$TOOLS_CACHE/.lock"
  flock 9
  local stamp
  stamp="$(cat "$CONSOLE_HERE/package.json" "$CONSOLE_HERE/package-lock.json" | sha256sum | cut -c1-16) $(node --version)"
  if [[ -d $CONSOLE_NODE_MODULES && "$(cat "$CONSOLE_NODE/.tpgate-stamp" 2>/dev/null)" == "$stamp" ]]; then
    echo "console node_modules: cached ($CONSOLE_NODE)"
  else
    rm -rf "$CONSOLE_NODE" && mkdir -p "$CONSOLE_NODE"
    cp "$CONSOLE_HERE/package.json" "$CONSOLE_HERE/package-lock.json" "$CONSOLE_NODE/"
    if ! (cd "$CONSOLE_NODE" && npm ci --no-audit --no-fund --loglevel=error); then
      flock -u 9
      return 1
    fi
    echo "$stamp" >"$CONSOLE_NODE/.tpgate-stamp"
    echo "console node_modules: installed ($CONSOLE_NODE)"
  fi
  flock -u 9
}
