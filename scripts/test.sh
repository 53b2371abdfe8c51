#!/usr/bin/env bash
# `make test` and `make test-cargo`: the checks named as arguments (make
# targets: fmt-check, clippy, rtl-lint), then the doc tests, then every
# other test under nextest. Nothing stops at the first failure. The last line
# printed is nextest's summary (`Summary [...] N tests run: ...`), repeated at
# the end when nextest printed more after it (the failing tests, `error: test
# run failed`); the exit status is non-zero when any check or test failed.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo=${CARGO:-cargo}
make=${MAKE:-make}
failed=()

for target in "$@"; do
    "$make" --no-print-directory "$target" || failed+=("$target")
done

echo "make test: the doc tests, then every other test under nextest (the first run builds the test profile: about 3 min on 2 cores, then about 2 min of tests)"
"$cargo" test --workspace --doc -q || failed+=("doc tests")

log=$(mktemp)
trap 'rm -f "$log"' EXIT
color=never
[ -t 2 ] && color=always
# `deps` installs clang-19, tcpdump and the Python readers (pydeps), and
# the kernel is there: tests that need them must not skip.
NFBPF_REQUIRE_CLANG=1 NFBPF_REQUIRE_KERNEL=1 NFBPF_REQUIRE_READERS=1 \
    "$cargo" nextest run --workspace --no-fail-fast --color "$color" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("tests")

plain() { sed 's/\x1b\[[0-9;]*m//g' "$log"; }
summary=$(plain | grep -E '^ *Summary \[' | tail -n 1)
if [ ${#failed[@]} -gt 0 ]; then
    echo "make test: failed: ${failed[*]}"
fi
if [ -z "$summary" ]; then
    echo "make test: nextest printed no summary (the tests did not build or run; see above)"
elif [ "$(plain | tail -n 1)" != "$summary" ] || [ ${#failed[@]} -gt 0 ]; then
    echo "$summary"
fi
[ ${#failed[@]} -eq 0 ]
