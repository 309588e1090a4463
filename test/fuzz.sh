#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME (default 10m) each, one after the other
# on one worker, then keeps what the fuzzer found interesting in the
# package's testdata/fuzz/<Target>, so later plain `go test` runs replay it.
#   bash test/fuzz.sh [FuzzTarget ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
FUZZTIME=${FUZZTIME:-10m}

targets=(
	./runtime/:FuzzParse
	./runtime/:FuzzProcessSpec
	./runtime/:FuzzBundleConfig
	./detect/:FuzzEncode
	./detect/eql/:FuzzCompile
	./eventview/:FuzzLine
	./detect/policy/:FuzzParse
	./detect/policy/:FuzzHelperAnswer
)
cache="$(go env GOCACHE)/fuzz/$(go list -m)"
for t in "${targets[@]}"; do
	pkg=${t%%:*} name=${t##*:}
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
		continue
	fi
	if ! grep -q "^func $name(" "$pkg"*_test.go 2>/dev/null; then
		echo "== $pkg $name: no such target, skipped"
		continue
	fi
	echo "== $pkg $name for $FUZZTIME"
	go test -timeout 0 -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s -parallel 1 "$pkg" 2>&1 |
		grep -E '^(fuzz: elapsed: [0-9]+m?[0-9]*s?, execs|---|\s+fuzz_test|ok|FAIL|PASS|Failing input)' | tail -n 4
	rel=${pkg#./}
	src="$cache/${rel%/}/$name"
	if [ -d "$src" ]; then
		mkdir -p "${rel}testdata/fuzz/$name"
		cp -n "$src"/* "${rel}testdata/fuzz/$name/" 2>/dev/null || true
		echo "   corpus: $(ls "${rel}testdata/fuzz/$name" | wc -l) inputs in ${rel}testdata/fuzz/$name"
	fi
done
