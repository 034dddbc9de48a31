#!/usr/bin/env bash
# Installs every system package MRM Field needs to build and test on Debian. Idempotent: it only
# calls apt-get when something is missing.
set -euo pipefail

PACKAGES=(build-essential pkg-config curl ca-certificates)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "bootstrap: cargo is missing; install the Rust toolchain (rustup, stable) first" >&2
  exit 1
fi
for c in clippy rustfmt; do
  if ! cargo "$c" --version >/dev/null 2>&1; then
    rustup component add "$c"
  fi
done
