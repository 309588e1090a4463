#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME (default 10m) each, one after the other
# on one worker, then keeps what the fuzzer found interesting in the
# package's testdata/fuzz/<Target>, so later plain `go test` runs replay it.
#   bash test/fuzz.sh [FuzzTarget | ./pkg/:FuzzTarget ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
FUZZTIME=${FUZZTIME:-10m}

targets=(
	./runtime/:FuzzParse
	./runtime/:FuzzProcessSpec
	./runtime/:FuzzBundleConfig
	./runtime/ocispec/:FuzzDecodeConfig
	./runtime/ocispec/:FuzzDecodeProcess
	./runtime/shim/:FuzzExecRequest
	./runtime/shim/:FuzzCreateRequest
	./detect/:FuzzEncode
	./detect/:FuzzAppendString
	./detect/eql/:FuzzCompile
	./eventview/:FuzzLine
	./detect/policy/:FuzzParse
	./detect/policy/:FuzzHelperAnswer
	./webhook/:FuzzReviewJSON
	./audit/:FuzzJoin
)
cache="$(go env GOCACHE)/fuzz/$(go list -m)"
failed=0
for t in "${targets[@]}"; do
	pkg=${t%%:*} name=${t##*:}
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qxF -e "$name" -e "$t"; then
		continue
	fi
	if ! grep -q "^func $name(" "$pkg"*_test.go 2>/dev/null; then
		echo "== $pkg $name: no such target, skipped"
		continue
	fi
	echo "== $pkg $name for $FUZZTIME"
	out=$(mktemp)
	if go test -timeout 0 -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s -parallel 1 "$pkg" >"$out" 2>&1; then
		grep -E '^fuzz: elapsed' "$out" | tail -n 1
		echo "   PASS"
	else
		echo "   FAIL:"
		grep -v '^fuzz: elapsed' "$out" | tail -n 30
		failed=1
	fi
	rm -f "$out"
	rel=${pkg#./}
	src="$cache/${rel%/}/$name"
	if [ -d "$src" ]; then
		mkdir -p "${rel}testdata/fuzz/$name"
		cp -n "$src"/* "${rel}testdata/fuzz/$name/" 2>/dev/null || true
		echo "   corpus: $(ls "${rel}testdata/fuzz/$name" | wc -l) inputs in ${rel}testdata/fuzz/$name"
	fi
done
exit $failed
