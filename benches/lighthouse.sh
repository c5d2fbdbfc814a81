#!/bin/sh
# Lighthouse (from npm, pinned by the Makefile) in Debian's Chromium, with its
# default mobile emulation and simulated throttling, against the release
# build: /signin signed out, /keys and /keys/new signed in. Prints each
# page's performance, accessibility and best-practices scores with a verdict
# against the targets (90, 95, 95), and keeps the reports under
# target/lighthouse/. Run through `make lighthouse`, after `make release`.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
lighthouse="$root/target/test-tools/lighthouse/node_modules/.bin/lighthouse"
server="$root/target/release/portico"
reports="$root/target/lighthouse"
work=$(mktemp -d)
mkdir -p "$reports"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

DATABASE_URL="sqlite://$work/portico.db" \
PORTICO_SECRET_FILE="$work/server.secret" \
PORTICO_LISTEN="127.0.0.1:$port" \
PORTICO_LOG=warn \
LEPTOS_SITE_ROOT="$root/target/site" \
  "$server" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT INT TERM

i=0
until curl -fs "$base/healthz" >/dev/null; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then
    echo "the server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done

# An account with an organisation, signed in: its session cookie goes along
# with the signed-in pages.
curl -fs -o /dev/null \
  --data-urlencode "email=lighthouse@example.com" \
  --data-urlencode "password=paper lantern orbit velvet" \
  --data-urlencode "org_name=Lighthouse" \
  "$base/api/sign_up"
curl -fs -c "$work/cookies" -o /dev/null \
  --data-urlencode "email=lighthouse@example.com" \
  --data-urlencode "password=paper lantern orbit velvet" \
  "$base/api/sign_in"
cookie=$(sed 's/^#HttpOnly_//' "$work/cookies" | awk '!/^#/ && NF >= 7 { print $6 "=" $7 }' | tail -n 1)
[ -n "$cookie" ] || { echo "sign-up gave no session cookie" >&2; exit 1; }

audit() {
  name=$1
  path=$2
  shift 2
  CHROME_PATH=/usr/bin/chromium "$lighthouse" "$base$path" --quiet \
    --chrome-flags="--headless=new --no-sandbox" \
    --only-categories=performance,accessibility,best-practices \
    --output=json --output=html --output-path="$reports/$name" "$@"
}

audit signin /signin
audit keys /keys --extra-headers="{\"Cookie\": \"$cookie\"}"
audit keys-new /keys/new --extra-headers="{\"Cookie\": \"$cookie\"}"

python3 - "$reports" <<'EOF'
import json, sys
targets = {"performance": 90, "accessibility": 95, "best-practices": 95}
print(f"\nLighthouse {'':4}{'page':<10} {'performance':>12} {'accessibility':>14} {'best practices':>15}")
missed = []
for name, path in [("signin", "/signin"), ("keys", "/keys"), ("keys-new", "/keys/new")]:
    report = json.load(open(f"{sys.argv[1]}/{name}.report.json"))
    ended = report.get("finalDisplayedUrl", "")
    if not ended.split("?")[0].endswith(path):
        print(f"  {path}: Lighthouse ended on {ended}, not on the page asked for")
    scores = {k: round(report["categories"][k]["score"] * 100) for k in targets}
    print(f"{'':15}{path:<10} {scores['performance']:>12} {scores['accessibility']:>14} {scores['best-practices']:>15}")
    missed += [f"{path} {k} {v} < {targets[k]}" for k, v in scores.items() if v < targets[k]]
    # A bundle that fails to start still scores well (the page is rendered
    # on the server), so errors in the console count as a miss of their own.
    errors = report["audits"]["errors-in-console"].get("details", {}).get("items", [])
    for e in errors:
        print(f"{'':15}{path}: console error: {e.get('description', '').splitlines()[0]}")
    if errors:
        missed.append(f"{path} has {len(errors)} console error(s)")
print("targets (performance 90, accessibility 95, best practices 95):", "MET" if not missed else "MISSED: " + "; ".join(missed))
EOF
echo "Reports: $reports/*.report.html"
