#!/usr/bin/env bash
# The main job: installs what is needed (Debian and npm packages, only those missing), then runs the recommendation
# sample pipeline end to end — MovieLens export, cleaning, time split, features, matrix factorization, content-based,
# hybrid, popularity baseline, ranking evaluation, registration — tracked in the embedded SQLite store (.cairn/ in
# samples/recommender).
# Usage: bash scripts/main.sh [-p NAME=VALUE]…   (or: npm run main)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-data

root=$PWD
cairn() { node "$root/bin/cairn.js" "$@"; }
cd samples/recommender
cairn run cairn.yaml "$@"
id=$(cairn runs list --limit 1 --format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);const runs=r.runs??r;process.stdout.write(String(runs[0].id))})')
echo
cairn runs show "$id"
cat <<MSG

What to look at:
  - the metrics above: rmse (also rmse_known / rmse_cold), precision@10, recall@10, f1@10, ndcg@10, coverage and
    lift_ndcg@10 of the hybrid model, its blend weights, and the backend tag (which tfjs backend trained it);
  - samples/recommender/.cairn/work/evaluate/metrics.json: hybrid, matrix factorization, content-based and the
    popularity baseline side by side;
  - lineage of the run:           node bin/cairn.js lineage $id --workspace samples/recommender
  - run it again: every step comes from the cache;  -p factors=64 retrains only what that changes:
                                  npm run main -- -p factors=64
  - in VS Code: open samples/recommender, and use the Cairn sidebar (Experiments, Pipelines, Models) and the CodeLens
    ("Deploy locally" on MODEL_CARD.md);
  - the deployment loop (serve, replay later traffic, drift, retrain, A/B, promote): npm run loop -- /tmp/cairn-loop
    (docs/deploy.md walks through it).
MSG
