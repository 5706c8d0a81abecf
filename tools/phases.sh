# Sourced by the run.sh scripts under tools/: phases with their wall times.
#
#   log MSG                 prints a heading
#   now                     a timestamp for record
#   record NAME START OK    notes a phase's time and status (anything but `ok` fails the run: FAILED=1)
#
# The times are in TIMES, one line each, for the script's summary.
TIMES=()
FAILED=0

log() { printf '\n==> %s\n' "$*"; }
now() { date +%s.%N; }
record() { # name start status
  local secs
  secs=$(awk -v a="$2" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  TIMES+=("$(printf '%-34s %7ss  %s' "$1" "$secs" "$3")")
  [[ $3 == ok ]] || FAILED=1
}
