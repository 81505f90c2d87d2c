#!/usr/bin/env bash
# Installs what Cairn needs on a fresh Debian/Ubuntu node machine: Debian packages (only those missing) and npm
# packages (only when package-lock.json changed since the last install), then builds the bundles.
# Usage: bash scripts/setup.sh [--with-e2e] [--with-data]
set -euo pipefail
cd "$(dirname "$0")/.."

want_e2e=0
want_data=0
for a in "$@"; do
  case "$a" in
    --with-e2e) want_e2e=1 ;;
    --with-data) want_data=1 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

# Build tools for better-sqlite3 (compiled from source on Node 20) are always needed.
pkgs=(build-essential python3)
# ONNX test models with expected outputs (runtime tests).
pkgs+=(libonnx-testdata)
# The explanation tests cross-check against scikit-learn, scipy and xgboost (always: they are unit tests).
pkgs+=(python3-sklearn python3-scipy python3-xgboost)
# A real single-node Slurm cluster for the Slurm executor's tests (test/lib/slurm.ts).
pkgs+=(slurm-wlm munge)
# The PostgreSQL tracking store: the store tests start a throwaway cluster of the real server (test/lib/postgres.ts).
pkgs+=(postgresql)
# MovieLens for the recommender sample; numpy for the reference MF of the ML benches (bench/ml/mfNumpy.py).
[ "$want_data" = 1 ] && pkgs+=(r-base-core r-cran-dslabs python3-numpy)
# The gradient-boosting benchmark and its scikit-learn cross-check: reference libraries and two more data sets.
[ "$want_data" = 1 ] && pkgs+=(r-cran-modeldata python3-sklearn python3-xgboost)
[ "$want_e2e" = 1 ] && pkgs+=(chromium ripgrep libkrb5-dev)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" != 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# initdb refuses to run as root: the test cluster then runs as the `postgres` OS user (the Debian package creates it).
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

stamp=node_modules/.cairn-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

node esbuild.mjs

# bench/ml/gbdt.ts's data: modeldata's mlc_churn and ames, exported here (not committed).
if [ "$want_data" = 1 ] && [ ! -f bench/ml/data/ames.csv ]; then
  Rscript scripts/export-bench-tabular.R bench/ml/data
fi
