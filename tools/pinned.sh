# Sourced by the scripts under tools/: pinned tools installed once into a cache directory and
# reused while their pin files (and the interpreter's version) stay the same. The caller holds
# the cache's lock (flock) around these.
#
#   pinned_venv DIR REQUIREMENTS PYTHON    a virtualenv at DIR with `pip install -r REQUIREMENTS`
#   pinned_node DIR PACKAGE_DIR            DIR/node_modules from PACKAGE_DIR's package.json and
#                                          package-lock.json (`npm ci`)
# Both print whether they installed or reused, and fail (non-zero) when installing fails.

pinned_venv() {
  local dir=$1 requirements=$2 python=$3 stamp
  stamp="$(sha256sum "$requirements" | cut -c1-16) $("$python" -c 'import sys; print(sys.version.split()[0])')"
  if [[ -x $dir/bin/python && "$(cat "$dir/.tpgate-stamp" 2>/dev/null)" == "$stamp" ]]; then
    echo "$(basename "$dir"): cached ($dir)"
    return 0
  fi
  "$python" -c 'import sys; assert sys.version_info >= (3, 11), "need Python 3.11+"' || return 1
  rm -rf "$dir"
  "$python" -m venv "$dir" || return 1
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" || return 1
  echo "$stamp" >"$dir/.tpgate-stamp"
  echo "$(basename "$dir"): installed ($dir)"
}

pinned_node() {
  local dir=$1 package=$2 stamp
  command -v node >/dev/null || { echo "node is not installed (need Node.js 20+)" >&2; return 1; }
  stamp="$(cat "$package/package.json" "$package/package-lock.json" | sha256sum | cut -c1-16) $(node --version)"
  if [[ -d $dir/node_modules && "$(cat "$dir/.tpgate-stamp" 2>/dev/null)" == "$stamp" ]]; then
    echo "$(basename "$dir"): cached ($dir)"
    return 0
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$package/package.json" "$package/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  echo "$stamp" >"$dir/.tpgate-stamp"
  echo "$(basename "$dir"): installed ($dir)"
}
