#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, builds, typechecks, lints, then runs every tier.
# Usage: bash scripts/test.sh   (or: npm test)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --with-e2e --with-data

echo "== typecheck"; npx tsc -b
echo "== lint"; npx eslint . --max-warnings=0
echo "== format"; npx prettier --check .

# One node:test run over every tier so the closing summary counts all of them.
shopt -s globstar nullglob
files=(test/unit/**/*.test.ts test/lsp/**/*.test.ts test/runtime/**/*.test.ts test/webviews/**/*.test.ts)
echo "== node:test (${#files[@]} files)"
node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"

if [ -f test/e2e/run.sh ]; then
  echo "== e2e (real VS Code)"
  bash test/e2e/run.sh
fi
