#!/usr/bin/env bash
# One-time system installs for the browser tests (Debian's chromium) and the
# deliverability guard (SpamAssassin). Skipped when present; needs root and apt.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v spamassassin >/dev/null 2>&1 || need+=(spamassassin)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: ${need[*]} not installed (needs root and apt-get); the tests that use them will say so" >&2
  exit 0
fi
echo "installing ${need[*]} (one time)..." >&2
apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
