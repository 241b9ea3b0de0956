#!/bin/sh
# go-test-all.sh GO FLAG...: runs `GO test FLAG...` on every package, with
# the console's journeys (./ui) beside the others rather than after them:
# `go test ./...` starts ./ui last, and the journeys spend much of their
# time waiting on the browser, which leaves a core idle to the end. Fails
# if either run fails.
set -u
go=$1
shift
"$go" test "$@" ./ui &
console=$!
"$go" test "$@" $("$go" list ./... | grep -v '/qm/ui$')
rest=$?
wait "$console"
console=$?
[ "$rest" -eq 0 ] && [ "$console" -eq 0 ]
