#!/usr/bin/env bash
# Installs every system package MRM Field needs to build and test on Debian. Idempotent: it only
# calls apt-get when something is missing.
set -euo pipefail

PACKAGES=(build-essential pkg-config curl ca-certificates
  # SQLCipher's OpenSSL is built from source with the store (perl runs its Configure).
  perl make
  # The desktop app (Tauri 2 on WebKitGTK).
  libwebkit2gtk-4.1-dev wget file libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  # Its end-to-end tests: WebKitWebDriver, a virtual display, screenshots.
  webkit2gtk-driver xvfb xauth imagemagick
  # TLS tests make self-signed certificates; terminal-prompt tests use script (bsdutils).
  openssl bsdutils
  # The command-line walkthrough (scripts/walkthrough.sh) reads JSON with python3.
  python3
  # The factsheet test renders the PDF to an image (pdftoppm).
  poppler-utils
  # The endpoint's PostgreSQL repository is tested on a throwaway cluster the test starts
  # itself (initdb, postgres on a unix socket); runuser (util-linux) runs it as `postgres`.
  postgresql util-linux
  # Several endpoint instances behind a reverse proxy (the scale-out test and bench-scale),
  # started by the test on loopback with its own configuration.
  nginx)

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
# The UI is built with Node.js (vite needs 20.19 or later; the machine image ships it).
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "bootstrap: Node.js 20.19 or later (with npm) is needed to build the UI; found: $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi
for c in clippy rustfmt; do
  if ! cargo "$c" --version >/dev/null 2>&1; then
    rustup component add "$c"
  fi
done
