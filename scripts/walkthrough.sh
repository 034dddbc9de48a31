#!/usr/bin/env bash
# The README's five-minute walkthrough, on a fresh demo store under ./demo. Two field laptops
# record the same incident differently, exchange bundles, see the conflict, and resolve it.
set -euo pipefail
cd "$(dirname "$0")/.."
MRM=${MRM:-./target/release/mrm}
DEMO=${DEMO:-demo}
rm -rf "$DEMO"
mkdir -p "$DEMO"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
# Demo passphrases (an officer types theirs at a prompt; scripts pass them like this).
export MRM_PASSPHRASE=${MRM_PASSPHRASE:-"demo store passphrase"}
export MRM_BUNDLE_PASSPHRASE=${MRM_BUNDLE_PASSPHRASE:-"demo bundle passphrase"}
echo "store passphrase: $MRM_PASSPHRASE   bundle passphrase: $MRM_BUNDLE_PASSPHRASE"
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

step "$MRM" --data "$DEMO/awa" init --mission MONUSCO --officer "Awa D." --team Goma
step "$MRM" --data "$DEMO/rev" init --mission MONUSCO --officer "Reviewer R." --team HQ
TODAY=$(date +%F)
YESTERDAY=$(date -d yesterday +%F)
PATROL=$(echo "{\"date\":\"$TODAY\",\"route\":[\"Kiwanja\",\"Rutshuru\"],\"participants\":[\"Awa D.\",\"J. K.\"]}" \
  | "$MRM" --data "$DEMO/awa" patrol add --json -)
echo "patrol $PATROL"
cat > "$DEMO/incident.json" <<JSON
{
  "title": "Attack on Kiwanja village",
  "occurred_on": "$YESTERDAY", "date_precision": "day", "reported_on": "$TODAY",
  "location": {"admin1": "North Kivu", "admin2": "Rutshuru", "place": "Kiwanja"},
  "narrative": "Fictional example: armed men attacked the village at dawn.",
  "patrol_id": "$PATROL",
  "sources": [{"kind": "eyewitness", "consent": true, "notes": "met at the market"}],
  "violations": [
    {"type": "killing", "victims": {"boys": 1, "girls": 0, "sex_unknown": 0},
     "perpetrator": {"party": "Group Alpha", "category": "armed_group"}},
    {"type": "abduction", "victims": {"boys": 2, "girls": 1, "sex_unknown": 0,
       "coded": [{"code": "V-001", "sex": "girl", "age": 12}]},
     "perpetrator": {"party": "Group Alpha", "category": "armed_group"}}
  ]
}
JSON
INC=$("$MRM" --data "$DEMO/awa" incident add --json "$DEMO/incident.json")
echo "incident $INC"
VIOL=$("$MRM" --data "$DEMO/awa" incident show "$INC" --json | jget "d['violations'][0]['id']")
SRC=$("$MRM" --data "$DEMO/awa" incident show "$INC" --json | jget "d['sources'][0]['id']")
step "$MRM" --data "$DEMO/awa" incident list
step "$MRM" --data "$DEMO/awa" bundle export --out "$DEMO/to-hq.mrmb" --for "$DEMO/rev"
step "$MRM" --data "$DEMO/rev" bundle import "$DEMO/to-hq.mrmb"
echo "# both edit the killing's count of boys while apart"
echo "{\"violations\":[{\"id\":\"$VIOL\",\"victims\":{\"boys\":2}}]}" | "$MRM" --data "$DEMO/awa" incident edit "$INC" --json -
echo "{\"violations\":[{\"id\":\"$VIOL\",\"victims\":{\"boys\":3}}]}" | "$MRM" --data "$DEMO/rev" incident edit "$INC" --json -
step "$MRM" --data "$DEMO/rev" verify "$INC" "$VIOL" --status verified --note "two independent sources" --source "$SRC"
step "$MRM" --data "$DEMO/rev" bundle export --out "$DEMO/to-field.mrmb" --for "$DEMO/awa"
step "$MRM" --data "$DEMO/awa" bundle import "$DEMO/to-field.mrmb"
step "$MRM" --data "$DEMO/awa" bundle export --out "$DEMO/to-hq2.mrmb" --for "$DEMO/rev"
step "$MRM" --data "$DEMO/rev" bundle import "$DEMO/to-hq2.mrmb"
step "$MRM" --data "$DEMO/rev" incident show "$INC"
step "$MRM" --data "$DEMO/rev" incident resolve "$INC" --field "violations.$VIOL.victims.boys" --value 3
step "$MRM" --data "$DEMO/rev" incident history "$INC"
step "$MRM" --data "$DEMO/rev" demo --incidents 200
step "$MRM" --data "$DEMO/rev" incident list --type abduction --admin1 "North Kivu" --limit 5
step "$MRM" --data "$DEMO/rev" stats
step "$MRM" --data "$DEMO/rev" export csv --clear --out "$DEMO/caseload.csv"
echo
echo "The demo stores are in $DEMO/ (awa = field laptop, rev = reviewer)."
