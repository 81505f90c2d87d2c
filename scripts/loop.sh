#!/usr/bin/env bash
# The closed loop on samples/recommender (docs/deploy.md walks through it): train as of T1 → promote v1 to champion
# through the gates → serve it with the prediction log → replay the ratings after T1 as traffic, with their labels as
# feedback → `cairn monitor` finds the drift, opens an alert and retrains as of T2 (v2, alias challenger) → A/B:
# champion vs challenger split by userId on the ratings after T2, online report and offline replay on a holdout →
# promote the challenger while traffic flows → the running server answers with v2, no request failed.
#
# Usage: bash scripts/loop.sh WORKDIR
#   WORKDIR gets a copy of the sample (cairn.yaml, MODEL_CARD.md), its store (.cairn/), the traffic files (traffic/) and
#   every command's --format json output (loop/NN-stage.json; loop/summary.json sums them up). It must be empty or
#   absent. Needs Rscript with r-cran-dslabs (bash scripts/setup.sh --with-data) and the built CLI (npm run build).
# Environment: CAIRN (the command, default `node bin/cairn.js` of this repository), T1, T2 (as_of fractions, default
#   0.5 and 0.7), EPOCHS (5), FACTORS (16), LIMIT (rows replayed per period, 3000), HOLDOUT (rows of the A/B holdout,
#   5000).
set -euo pipefail
{ # Bash reads the whole block before running it: editing this file during a run cannot change the run.

root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:?usage: bash scripts/loop.sh WORKDIR}
read -r -a cairn <<< "${CAIRN:-node $root/bin/cairn.js}"
T1=${T1:-0.5}
T2=${T2:-0.7}
EPOCHS=${EPOCHS:-5}
FACTORS=${FACTORS:-16}
LIMIT=${LIMIT:-3000}
HOLDOUT=${HOLDOUT:-5000}
model=movie-recommender

if [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then
  echo "loop.sh: $work is not empty; give a new or empty folder (the loop starts from a fresh store)" >&2
  exit 2
fi
mkdir -p "$work/loop" "$work/traffic"
cp "$root/samples/recommender/cairn.yaml" "$root/samples/recommender/MODEL_CARD.md" "$work/"
cd "$work"
work=$PWD
out=$work/loop

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# json FILE EXPR: evaluates a JavaScript expression over the file's JSON (bound to `j`) and prints the result.
json() {
  node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = new Function("j", `return (${process.argv[2]});`)(j);
    process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));' "$1" "$2"
}

# stage NAME OK_CODES CMD…: runs a cairn command with --format json into loop/NAME.json; fails the loop when its exit
# code is not one of OK_CODES (e.g. "0" or "0 1": monitor and a refused promotion exit 1 by design).
stage() {
  local name=$1 ok=$2 code=0
  shift 2
  "${cairn[@]}" "$@" --format json > "$out/$name.json" 2> "$out/$name.log" || code=$?
  echo "$code" > "$out/$name.code"
  if [[ " $ok " != *" $code "* ]]; then
    echo "loop.sh: cairn $* exited $code (expected $ok)" >&2
    cat "$out/$name.log" "$out/$name.json" >&2
    exit 1
  fi
}

section() { printf '\n== %s\n' "$*"; }

# serve NAME ARGS…: starts cairn serve in the background, waits for its "listening" line, sets url, token, deployment.
serve() {
  local name=$1
  shift
  "${cairn[@]}" serve --workspace "$work" --port 0 --follow-ms 200 "$@" --format json > "$out/$name.jsonl" 2> "$out/$name.log" &
  server=$!
  pids+=("$server")
  for _ in $(seq 1 600); do
    if grep -q '"event":"listening"' "$out/$name.jsonl" 2>/dev/null; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then
      echo "loop.sh: cairn serve $* exited before listening:" >&2
      cat "$out/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  head -n 1 "$out/$name.jsonl" > "$out/$name.json"
  url=$(json "$out/$name.json" 'j.url')
  token=$(json "$out/$name.json" 'j.token')
  deployment=$(json "$out/$name.json" 'j.deploymentId')
}

stop_server() {
  stage "$1" 0 deployments stop "$deployment" --workspace "$work"
  wait "$server" || true
}

# probe NAME: one request of a known user and movie; records the HTTP status, the arm and the version that answered.
probe() {
  node -e '
    const [url, token, file] = process.argv.slice(1);
    fetch(url + "/invocations", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + token },
      body: JSON.stringify({ dataframe_records: [{ userId: 1, movieId: 31 }] }) })
      .then(async (r) => require("fs").writeFileSync(file, JSON.stringify({ status: r.status, arm: r.headers.get("x-cairn-arm"),
        version: r.headers.get("x-cairn-version"), body: await r.json() }) + "\n"))
      .catch((e) => { console.error(e); process.exit(1); });' "$url" "$token" "$out/$1.json"
}

# health_version: the champion version the server reports now.
health_version() {
  node -e '
    const [url, token] = process.argv.slice(1);
    fetch(url + "/health", { headers: { authorization: "Bearer " + token } }).then((r) => r.json())
      .then((h) => process.stdout.write(String(h.model.registered?.version ?? "")), (e) => { console.error(e); process.exit(1); });' "$url" "$token"
}

section "1. Train as of T1 (as_of=$T1: the share of the ratings, in time order, seen so far; the rest is the future)"
stage 01-run-v1 0 run cairn.yaml -p as_of="$T1" -p epochs="$EPOCHS" -p factors="$FACTORS" --workspace "$work"
cp .cairn/work/split/future.csv traffic/after-t1.csv
cp .cairn/work/split/train.csv traffic/train-t1.csv   # v1's training data, to compare the traffic with by hand
stage 01-show-v1 0 runs show "$(json "$out/01-run-v1.json" 'j.runId')" --workspace "$work"
json "$out/01-show-v1.json" '`run ${j.id}: ${j.status}; as_of ${new Date(j.metrics.as_of * 1000).toISOString().slice(0, 10)}: train ${j.metrics.train_rows}, test ${j.metrics.test_rows}, future ${j.metrics.future_rows} ratings; rmse ${j.metrics.rmse.toFixed(4)}`'
echo
v1=$(json "$out/01-show-v1.json" 'j.metrics.version')

section "2. Gates and promotion of v1 to champion"
stage 02-gates-v1 0 models gates "$model" "$v1" --workspace "$work"
json "$out/02-gates-v1.json" 'j.gates.map((g) => `${g.gate}: ${g.state} (${g.detail})`).join("\n")'
echo
stage 03-promote-v1 0 models promote "$model" "$v1" --alias champion --workspace "$work"
echo "champion → version $(json "$out/03-promote-v1.json" 'j.move.version')"

section "3. Serve the champion with the prediction log"
serve 04-serve-v1 --model "$model@champion"
echo "serving version $(json "$out/04-serve-v1.json" 'j.model.registered.version') at $url (deployment $deployment)"

section "4. Replay the $LIMIT ratings after T1 as traffic, then their ratings as feedback"
stage 05-replay-t1 0 replay traffic/after-t1.csv --url "$url" --token "$token" --label rating --key userId --batch 50 --limit "$LIMIT"
json "$out/05-replay-t1.json" '`${j.rows} rows in ${j.requests} requests, ${j.failed} failed; feedback: ${j.feedback.updated} labels`'
echo

section "5. Monitor: logged traffic vs v1's training data; the drift opens an alert, which retrains as of T2 = $T2"
stage 06-monitor 0\ 1 monitor "$model" --window-rows 1000 --retrain cairn.yaml -p as_of="$T2" -p epochs="$EPOCHS" -p factors="$FACTORS" --workspace "$work"
json "$out/06-monitor.json" '[`drifted: ${j.drifted}; share of drifted columns ${j.report.report.share}`,
  ...j.report.report.features.map((f) => `  ${f.name}: ${f.method} ${f.score.toFixed(3)} (threshold ${f.threshold})${f.drifted ? " DRIFT" : ""}`),
  `alert #${j.alert?.id}: ${j.alert?.message}`, `retrain run ${j.retrain?.runId}: ${j.retrain?.status}`].join("\n")'
echo
cp .cairn/work/split/future.csv traffic/after-t2.csv
stage 06-show-v2 0 runs show "$(json "$out/06-monitor.json" 'j.retrain.runId')" --workspace "$work"
json "$out/06-show-v2.json" '`run ${j.id}: ${j.status}; as_of ${new Date(j.metrics.as_of * 1000).toISOString().slice(0, 10)}: train ${j.metrics.train_rows}, test ${j.metrics.test_rows}, future ${j.metrics.future_rows} ratings; rmse ${j.metrics.rmse.toFixed(4)}; registered version ${j.metrics.version}`'
echo
# The holdout: the ratings after the ones the A/B traffic replays (header kept).
awk -v from="$((LIMIT + 2))" -v to="$((LIMIT + HOLDOUT + 1))" 'NR == 1 || (NR >= from && NR <= to)' traffic/after-t2.csv > traffic/holdout.csv
stage 07-gates-v1-drift 0\ 1 models gates "$model" champion --workspace "$work"
echo "gates of the champion now (a failing gate):"
json "$out/07-gates-v1-drift.json" 'j.gates.filter((g) => g.state !== "pass").map((g) => `  ${g.gate}: ${g.state} (${g.detail})`).join("\n")'
echo
stage 08-models 0 models show "$model" --workspace "$work"
echo "aliases: $(json "$out/08-models.json" 'j.aliases')"
v2=$(json "$out/08-models.json" 'j.aliases.challenger')
stop_server 09-stop-v1

section "6. A/B: champion vs challenger, split 50/50 by userId, on the $LIMIT ratings after T2"
serve 10-serve-ab --model "$model@champion" --challenger "$model@challenger" --split 0.5 --key userId
echo "champion version $(json "$out/10-serve-ab.json" 'j.model.registered.version'), challenger version $(json "$out/10-serve-ab.json" 'j.challenger.model.registered.version') at $url"
stage 11-replay-t2 0 replay traffic/after-t2.csv --url "$url" --token "$token" --label rating --key userId --batch 50 --limit "$LIMIT"
json "$out/11-replay-t2.json" '`${j.rows} rows, ${j.failed} failed; rows per arm: ${JSON.stringify(j.arms)}`'
echo
stage 12-ab-report 0 ab report "$model" --deployment "$deployment" --workspace "$work"
json "$out/12-ab-report.json" 'j.test.statement'
echo
stage 13-ab-replay 0 ab replay "$model" --holdout traffic/holdout.csv --label rating --workspace "$work"
json "$out/13-ab-replay.json" 'j.test.statement'
echo

section "7. Promote the challenger while traffic flows; the server follows the alias"
"${cairn[@]}" replay traffic/holdout.csv --url "$url" --token "$token" --label rating --key userId --batch 5 --concurrency 4 --format json > "$out/15-replay-during.json" 2> "$out/15-replay-during.log" &
replayer=$!
pids+=("$replayer")
stage 14-promote-v2 0 models promote "$model" challenger --alias champion --workspace "$work"
echo "champion → version $(json "$out/14-promote-v2.json" 'j.move.version') (gates: $(json "$out/14-promote-v2.json" 'j.gates.passed ? "pass" : "fail"'))"
followed=false
for _ in $(seq 1 300); do
  [ "$(health_version)" = "$v2" ] && { followed=true; break; }
  sleep 0.1
done
swapped_during_replay=false
kill -0 "$replayer" 2>/dev/null && swapped_during_replay=true
code=0
wait "$replayer" || code=$?
[ "$code" = 0 ] || { echo "loop.sh: the replay during the promotion exited $code" >&2; cat "$out/15-replay-during.log" "$out/15-replay-during.json" >&2; exit 1; }
json "$out/15-replay-during.json" '`during the swap: ${j.rows} rows in ${j.requests} requests, ${j.failed} failed`'
echo "; the server reports version $(health_version) (swapped while the replay ran: $swapped_during_replay)"
probe 16-probe
json "$out/16-probe.json" '`a request now: HTTP ${j.status}, arm ${j.arm}, version ${j.version}, prediction ${j.body.predictions[0].toFixed(3)}`'
echo
stage 17-promote-v1-refused 1 models promote "$model" "$v1" --alias champion --workspace "$work"
echo "rolling the champion back to v1 through the gates is refused:"
json "$out/17-promote-v1-refused.json" 'j.gates.gates.filter((g) => g.state === "fail").map((g) => `  ${g.gate}: ${g.detail}`).join("\n")'
echo
stop_server 18-stop-ab

node -e '
  const fs = require("fs");
  const r = (n) => JSON.parse(fs.readFileSync(`${process.argv[1]}/${n}.json`, "utf8"));
  const summary = {
    v1: { run: r("01-run-v1").runId, promoted: r("03-promote-v1").move.version },
    drift: { drifted: r("06-monitor").drifted, share: r("06-monitor").report.report.share, alert: r("06-monitor").alert?.id ?? null },
    retrain: r("06-monitor").retrain,
    aliases: r("08-models").aliases,
    ab: { online: r("12-ab-report").test.winner, replay: r("13-ab-replay").test.winner },
    promoted: r("14-promote-v2").move?.version ?? null,
    followed: process.argv[2] === "true",
    swappedDuringReplay: process.argv[3] === "true",
    answeredBy: r("16-probe").version,
    failedRequests: [r("05-replay-t1"), r("11-replay-t2"), r("15-replay-during")].reduce((s, x) => s + x.failed, 0),
  };
  fs.writeFileSync(`${process.argv[1]}/summary.json`, JSON.stringify(summary, null, 1) + "\n");' "$out" "$followed" "$swapped_during_replay"
section "Done: every stage's JSON is in $out (summary.json)"
exit 0
}
