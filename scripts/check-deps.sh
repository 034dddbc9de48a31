#!/usr/bin/env bash
# The one-way arrows between crates, checked on the resolved dependency graph (cargo tree, normal
# dependencies only): a crate that must do no IO never links an IO stack, and the endpoint never
# links a device's sync client. Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

fail=0
# forbid CRATE PATTERN WHY: CRATE's normal dependency tree must hold no package matching PATTERN.
forbid() {
  local crate=$1 pattern=$2 why=$3 tree found
  tree=$($CARGO tree -p "$crate" -e normal --prefix none --format '{p}')
  # A tree without the crate itself means cargo answered something else: never pass on that.
  grep -q "^$crate " <<<"$tree" || { echo "check-deps: no tree for $crate" >&2; exit 2; }
  found=$(awk '{print $1}' <<<"$tree" | sort -u | grep -E "^($pattern)$" || true)
  if [ -n "$found" ]; then
    echo "check-deps: $crate must not depend on $(echo "$found" | tr '\n' ' ')($why)" >&2
    fail=1
  fi
}

forbid mrm-crdt 'rusqlite|libsqlite3-sys|reqwest|hyper|tokio|axum|mrm-store|mrm-page-crypto|mrm-sync|mrm-server|tauri' \
  'the record core does no IO'
forbid mrm-page-crypto 'mrm-crdt|reqwest|tokio' 'the unsafe patch stands alone'
forbid mrm-server 'reqwest|mrm-store|mrm-sync|tauri' \
  'the endpoint links no device store, no HTTP client and no app'
forbid mrm-sync 'axum|mrm-server|tauri' 'the client links no endpoint and no app'
forbid mrm-store 'reqwest|hyper|tokio|axum|mrm-sync|mrm-server|tauri' \
  'the store does no network IO'
forbid mrm-export 'reqwest|tokio|axum|tauri' 'exports are bytes out'

# Never two SQLite builds in one binary (docs/domain.md).
all=$($CARGO tree --workspace -e normal --prefix none --format '{p}')
n=$(awk '$1 == "libsqlite3-sys" {print $2}' <<<"$all" | sort -u | wc -l)
if [ "$n" -ne 1 ]; then
  echo "check-deps: $n versions of libsqlite3-sys in the build (one is right)" >&2
  fail=1
fi
exit $fail
