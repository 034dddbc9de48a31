#!/usr/bin/env bash
# `make run`: the desktop app on a demo store with a local sync endpoint. The first run creates
# demo/app/: an endpoint database with the mission configuration, a field officer's laptop store
# with 500 fictional incidents, and an adviser's (reviewer's) store, both enrolled; later runs
# reuse it (`rm -rf demo/app` starts over). `ROLE=adviser make run` opens the adviser's laptop.
set -euo pipefail
cd "$(dirname "$0")/.."
MRM=${MRM:-./target/debug/mrm}
APP=${APP:-./target/debug/mrm-field}
DIR=${DIR:-demo/app}
PORT=${MRM_PORT:-8787}
URL="http://127.0.0.1:$PORT"
mkdir -p "$DIR"
# The demo stores' passphrase (typed on the app's unlock screen). An officer chooses their own.
export MRM_PASSPHRASE=${MRM_PASSPHRASE:-"demo passphrase"}
if [ -f "$DIR/laptop/mrm.sqlite" ] && [ ! -f "$DIR/laptop/key.json" ]; then
  echo "run-app: $DIR was made before stores were encrypted; making it again"
  rm -rf "$DIR/laptop" "$DIR/adviser" "$DIR/server.sqlite"
fi
# An endpoint database from before encryption at rest is rewritten encrypted (its key file made).
if [ -f "$DIR/server.sqlite" ] && head -c 15 "$DIR/server.sqlite" | grep -q "SQLite format 3"; then
  "$MRM" admin --db "$DIR/server.sqlite" --db-key-file "$DIR/server.key" encrypt
fi

"$MRM" serve --db "$DIR/server.sqlite" --db-key-file "$DIR/server.key" --bind "127.0.0.1:$PORT" > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q listening "$DIR/serve.log" 2>/dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat "$DIR/serve.log"; echo "run-app: the endpoint did not start (port $PORT busy? set MRM_PORT)" >&2; exit 1; }
  sleep 0.1
done

if [ ! -f "$DIR/laptop/mrm.sqlite" ]; then
  echo "run-app: creating the demo store in $DIR (once)"
  cat > "$DIR/config.json" <<JSON
{"mission": "MONUSCO", "teams": ["Goma", "Bukavu", "Bunia", "HQ"],
 "parties": ["National Army", "Group Alpha", "Group Bravo", "Group Charlie"],
 "party_registry": [
   {"id": "national-army", "name": "National Army", "category": "state_armed_force",
    "listed_for": ["recruitment_use"],
    "action_plan": {"signed_on": "2012-10-04", "status": "in_progress"}},
   {"id": "group-alpha", "name": "Group Alpha", "category": "non_state_armed_group",
    "aliases": ["Alpha Front"], "listed_for": ["recruitment_use", "killing_maiming"]},
   {"id": "group-bravo", "name": "Group Bravo", "category": "non_state_armed_group"},
   {"id": "group-charlie", "name": "Group Charlie", "category": "non_state_armed_group",
    "split_from": "group-bravo"}],
 "admin_areas": {"North Kivu": ["Rutshuru", "Masisi", "Beni", "Lubero"],
                 "South Kivu": ["Uvira", "Fizi", "Kalehe"], "Ituri": ["Djugu", "Irumu", "Mambasa"]},
 "area_bounds": {"North Kivu": {"south": -2.1, "west": 27.2, "north": 0.95, "east": 29.98},
                 "South Kivu": {"south": -5.0, "west": 26.8, "north": -1.6, "east": 29.4},
                 "Ituri": {"south": 0.4, "west": 27.2, "north": 3.6, "east": 31.3}}}
JSON
  "$MRM" admin --db "$DIR/server.sqlite" --db-key-file "$DIR/server.key" config set --json "$DIR/config.json"
  "$MRM" --data "$DIR/laptop" init --mission MONUSCO --officer "Awa D." --team Goma
  TOKEN=$("$MRM" admin --db "$DIR/server.sqlite" --db-key-file "$DIR/server.key" device enroll --officer "Awa D." --team Goma --role officer 2>/dev/null)
  "$MRM" --data "$DIR/laptop" enroll --server "$URL" --token "$TOKEN"
  # Generated once the laptop is an officer's: the demo then writes only what an officer may
  # (no reviewer's decisions), so its first sync sends everything instead of holding 370 records.
  "$MRM" --data "$DIR/laptop" demo --incidents 500
  # The section's other work, so the Activities screen and the dashboard have something to show.
  echo '{"date": "2026-03-02", "place": "Bunia transit centre", "boys": 31, "girls": 6, "party": "Group Alpha", "instrument": "unilateral_declaration", "partner": "Transit centre"}' \
    | "$MRM" --data "$DIR/laptop" release add --json - >/dev/null
  echo '{"date": "2026-04-10", "place": "Goma", "audience": "police", "participants": {"male": 130, "female": 22}, "topic": "Child protection in operations", "training_of_trainers": true}' \
    | "$MRM" --data "$DIR/laptop" training add --json - >/dev/null
  echo '{"date": "2026-05-05", "party": "Group Alpha", "kind": "negotiation", "level": "commander", "subject": "An action plan on recruitment"}' \
    | "$MRM" --data "$DIR/laptop" engagement add --json - >/dev/null
  "$MRM" --data "$DIR/adviser" init --mission MONUSCO --officer "Adviser C." --team HQ
  TOKEN=$("$MRM" admin --db "$DIR/server.sqlite" --db-key-file "$DIR/server.key" device enroll --officer "Adviser C." --team HQ --role reviewer 2>/dev/null)
  "$MRM" --data "$DIR/adviser" enroll --server "$URL" --token "$TOKEN"
fi

STORE="$DIR/laptop"
[ "${ROLE:-officer}" = adviser ] && STORE="$DIR/adviser"
echo "run-app: endpoint $URL, store $STORE; unlock it with the passphrase: $MRM_PASSPHRASE"
echo "run-app: close the window to stop"
"$APP" --data "$STORE"
