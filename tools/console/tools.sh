# Sourced by check.sh and run.sh: the pinned node tools (package.json + package-lock.json)
# installed once into $CONSOLE_NODE and reused while the pins and the node version match.
# Sets CONSOLE_HERE, CONSOLE_ROOT, TOOLS_CACHE, CONSOLE_NODE, CONSOLE_NODE_MODULES.
CONSOLE_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONSOLE_ROOT=$(cd "$CONSOLE_HERE/../.." && pwd)
TOOLS_CACHE=${TPGATE_TOOLS_CACHE:-$HOME/.cache/tpgate-tools}
CONSOLE_NODE=$TOOLS_CACHE/console-node
CONSOLE_NODE_MODULES=$CONSOLE_NODE/node_modules

install_console_tools() {
  mkdir -p "$TOOLS_CACHE"
  # One installer at a time per cache directory (the same lock as tools/clients/run.sh).
  exec 9>"$TOOLS_CACHE/.lock"
  flock 9
  # shellcheck source=tools/pinned.sh
  source "$CONSOLE_ROOT/tools/pinned.sh"
  local status=0
  pinned_node "$CONSOLE_NODE" "$CONSOLE_HERE" || status=1
  flock -u 9
  return "$status"
}
