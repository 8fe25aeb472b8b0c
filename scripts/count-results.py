#!/usr/bin/python3
"""Total the cases of every suite meson ran, from each build directory's
meson-logs/testlog.json (BUILD:SETUP: testlog-SETUP.json, of meson test
--setup SETUP; with the default setup, also failover.json, the failover
suite's run of its own): TAP tests count their "ok"/"not ok" lines, pytest
suites their summary line, any other test counts as one case.  Prints one
line per build and suite, then the totals: "N passed, N failed"."""
import json
import re
import sys

TAP = re.compile(r'^(not )?ok \d+', re.M)
PYTEST = re.compile(r'(\d+) (passed|failed|error|errors)\b')


def count(test):
    out = test.get('stdout') or ''
    tap = TAP.findall(out)
    if tap:
        failed = sum(1 for m in tap if m)
        passed = len(tap) - failed
        # A crash after some cases: the test itself failed.
        if test['result'] not in ('OK', 'EXPECTEDFAIL') and failed == 0:
            failed = 1
        return passed, failed
    summary = [l for l in out.splitlines() if re.search(r'\d+ (passed|failed)', l)]
    if summary:
        passed = failed = 0
        for n, what in PYTEST.findall(summary[-1]):
            if what == 'passed':
                passed += int(n)
            else:
                failed += int(n)
        if test['result'] != 'OK' and failed == 0:
            failed = 1
        return passed, failed
    return (1, 0) if test['result'] == 'OK' else (0, 1)


def main():
    total_p = total_f = 0
    for build in sys.argv[1:]:
        suites = {}
        # BUILD:SETUP is the run of meson test --setup SETUP in BUILD.
        build, _, setup = build.partition(':')
        log = f'{build}/meson-logs/testlog' + (f'-{setup}' if setup else '') + '.json'
        try:
            with open(log, encoding='utf-8') as f:
                tests = [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            print(f'{build}: no test log (the build or the run failed)')
            total_f += 1
            continue
        # The failover suite's run of its own (scripts/test: --logbase failover).
        try:
            if not setup:
                with open(f'{build}/meson-logs/failover.json', encoding='utf-8') as f:
                    tests += [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            pass
        for t in tests:
            p, fl = count(t)
            suite = t['name']
            sp, sf = suites.get(suite, (0, 0))
            suites[suite] = (sp + p, sf + fl)
        for suite, (p, fl) in sorted(suites.items()):
            print(f'{build} {suite}: {p} passed, {fl} failed')
            total_p += p
            total_f += fl
    print(f'{total_p} passed, {total_f} failed')
    return 1 if total_f else 0


sys.exit(main())
