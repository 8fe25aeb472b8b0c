#!/usr/bin/python3
"""bench/service.py — figures of dunningd running as a service.

Not a test: it asserts nothing about the figures, it measures them and
writes them to bench/service-results.md (and prints them).

    ninja -C build && /usr/bin/python3 bench/service.py

It uses the tests' harness (tests/lib/harness/): a private
PostgreSQL 15 cluster (run as postgres through runuser: run this as root),
a database per part cloned from a migrated template, the SMTP recorder, and
the daemon built in build/ (DUNNINGD, DUNNINGCTL, DUNNING_SOURCE_ROOT may
override the paths, as for the tests).

What it measures (about 3 minutes):

 1. Reaction latency through LISTEN/NOTIFY, with schedule.poll_interval =
    3600 (so only a notification explains a reaction within seconds): per
    trial, one strategic client's invoice whose j3 is 'held'; the billing
    software's direct UPDATE of disputed_at (a trigger NOTIFYs), or a
    payment of the full amount, committed on one connection; the time from
    that commit returning to the reminder reading 'cancelled' on another
    connection, polled every 2 ms.  And for dunning.flag_dispute() (it
    cancels in its own transaction) the share of trials already cancelled
    when its commit returns.
 2. The same dispute latency while the daemon sends a batch of 2000 due
    reminders to the recorder; that batch's throughput.
 3. Idle CPU: the daemon with nothing to do (empty database, default
    poll_interval of 60 s) for 60 s, from /proc/PID/stat (utime + stime) and,
    at nanosecond resolution, the sum of /proc/PID/task/*/schedstat.
 4. VmRSS and VmHWM (/proc/PID/status) idle after start and after the
    2000-message batch.

The machine is shared and noisy: every latency is given as a median, a
90th percentile and the worst trial, never as one timing.
"""
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

# service_parts first: it sets the environment the harness reads.
from service_parts import (BATCH, IDLE_S, IDLE_SLICE_S, NOW, POLL_S, TICK, TRIAL_DEADLINE,
                           TRIALS, fmt, outlier_note, part1, part2, part3, summary)
import harness
from harness import Cluster, migrate_template
from host import cpu_model, git_head, load_avg, say

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, 'service-results.md')


# ----------------------------------------------------------- report ----

def lat_row(name, trials):
    ok = [t['ms'] for t in trials if t['ms'] is not None]
    s = summary(ok)
    miss = len(trials) - len(ok)
    return '| %s | %d%s | %s | %s | %s | %s |' % (
        name, s['n'], (' (+%d timed out)' % miss) if miss else '', fmt(s['median']),
        fmt(s['p90']), fmt(s['worst']), fmt(s['best'])), s


def breakdown(trials):
    n = [t['notify_ms'] for t in trials if t.get('notify_ms') is not None]
    p = [t['planned_ms'] for t in trials if t.get('planned_ms') is not None]
    c = [t['commit_ms'] for t in trials]
    return n, p, c


def report(meta, r1, r2, r3):
    L = []
    L.append('# dunningd as a service: measured figures')
    L.append('')
    L.append('Measured %s on commit %s, on a shared, noisy virtual machine with 2 cores '
             '(%s; load average %s before, %s after), by `/usr/bin/python3 bench/service.py` '
             '(%.0f s in all). PostgreSQL 15 private cluster of the e2e harness over a unix '
             'socket (fsync=off, synchronous_commit=off), the SMTP recorder of tests/lib on '
             'loopback, dunningd from build/ with `--now %s`. '
             'Latencies are medians, 90th percentiles (nearest rank) and worst of %d trials, '
             'never one timing.' % (
                 meta['date'], meta['commit'], meta['cpu'], meta['load0'], meta['load1'],
                 meta['elapsed'], NOW, TRIALS))
    L.append('')
    L.append('How: one trial per strategic client\'s invoice whose j3 is `held` (all created '
             'up front, the daemon started, every j3 held before the first trial); the change '
             'is committed in autocommit on one connection, and the clock starts when that '
             'statement returns (its COMMIT done); another connection then reads the '
             'reminder\'s state every %d ms until it is `cancelled`, so each figure includes '
             'up to one poll interval plus one query (~0.3 ms) of observer overhead. '
             'schedule.poll_interval = 3600: only LISTEN/NOTIFY explains a reaction. '
             'The daemon runs with -v so that its log shows each notification; this process '
             'stamps its log lines as it reads them (the breakdown columns, indicative).'
             % int(POLL_S * 1000))
    L.append('')
    L.append('## 1. Change committed → reminder `cancelled`, idle daemon')
    L.append('')
    L.append('| change | trials | median ms | p90 ms | worst ms | best ms |')
    L.append('|---|---|---|---|---|---|')
    rowd, sd = lat_row('`UPDATE dunning.invoice SET disputed_at, dispute_reason` (trigger '
                       'NOTIFY)', r1['trials']['dispute'])
    rowp, sp = lat_row('`INSERT INTO dunning.payment` of the full amount', r1['trials']['payment'])
    L += [rowd, rowp]
    fl = r1['trials']['flag_dispute']
    share = sum(1 for t in fl if t['at_commit']) / len(fl) * 100
    L.append('')
    L.append('`SELECT dunning.flag_dispute(number, reason)`: reminder already `cancelled` at '
             'the first read after its commit returned in **%d of %d trials (%.0f %%)** '
             '(it cancels in its own transaction); the call itself took median %s ms, worst '
             '%s ms.' % (sum(1 for t in fl if t['at_commit']), len(fl), share,
                         fmt(statistics.median([t['commit_ms'] for t in fl])),
                         fmt(max(t['commit_ms'] for t in fl))))
    L.append('')
    L.append('Breakdown (median / worst, ms after the commit returned): ')
    L.append('')
    L.append('| change | the UPDATE/INSERT itself | notification line read | '
             '"planned on notification" line read | `cancelled` seen |')
    L.append('|---|---|---|---|---|')
    for name, k in (('dispute UPDATE', 'dispute'), ('payment INSERT', 'payment')):
        n, p, c = breakdown(r1['trials'][k])
        ms = [t['ms'] for t in r1['trials'][k] if t['ms'] is not None]
        L.append('| %s | %s / %s | %s / %s | %s / %s | %s / %s |' % (
            name, fmt(statistics.median(c)), fmt(max(c)),
            fmt(statistics.median(n)) if n else '—', fmt(max(n)) if n else '—',
            fmt(statistics.median(p)) if p else '—', fmt(max(p)) if p else '—',
            fmt(statistics.median(ms)), fmt(max(ms))))
    L.append('')
    allt = [t for k in ('dispute', 'payment', 'flag_dispute') for t in r1['trials'][k]]
    wc = max(allt, key=lambda t: t['commit_ms'])
    L.append('The slowest statement itself: %s on %s, %.1f ms (trial %d of %d of its kind).' % (
        wc['kind'], wc['number'], wc['commit_ms'], r1['trials'][wc['kind']].index(wc) + 1,
        TRIALS))
    L.append('')
    L.append('Check: %d mails sent (expected 0), %d `cancelled` audit rows (expected %d), '
             'reasons: dispute %s, payment %s, flag_dispute %s; daemon exit status %d.' % (
                 r1['mails'], r1['audit_cancelled'], 3 * TRIALS,
                 sorted({t['reason'] for t in r1['trials']['dispute']}),
                 sorted({t['reason'] for t in r1['trials']['payment']}),
                 sorted({t['reason'] for t in fl}), r1['rc']))
    L.append('')
    L.append('## 2. Dispute UPDATE → `cancelled` while sending %d reminders' % BATCH)
    L.append('')
    t2 = r2['trials']
    under = [t for t in t2 if t['sent_after'] < BATCH and t['ms'] is not None]
    L.append('%d non-strategic clients with a due j3 (inserted with generate_series) and %d '
             'strategic ones with a held j3 in the same database; the daemon started, the '
             'trials began as soon as the first message was recorded as sent and ran %.1f s, '
             'all %d of them while the batch was still being sent (sent count after the '
             'trial < %d) unless said below: %d of %d were.' % (
                 BATCH, TRIALS, r2['trials_window_s'], TRIALS, BATCH, len(under), len(t2)))
    L.append('')
    L.append('| change | trials | median ms | p90 ms | worst ms | best ms |')
    L.append('|---|---|---|---|---|---|')
    rowl, sl = lat_row('`UPDATE … disputed_at` under load (all trials)', t2)
    L.append(rowl)
    if under and len(under) != len(t2):
        rowu, _ = lat_row('the same, only trials ended while the batch was sending', under)
        L.append(rowu)
    n, p, c = breakdown(t2)
    L.append('')
    L.append('The trials ran from %.1f s to %.1f s after the daemon\'s start; every j3 was sent '
             'at %.1f s at the latest. The daemon\'s full passes and send passes, as read from '
             'its log (seconds after its start):' % (r2['trials_span'][0], r2['trials_span'][1],
                                                      r2['done_s']))
    L.append('')
    L.append('```')
    L += ['%7.2f s  %s' % (t, line[:150]) for t, line in r2['cycles']]
    L.append('```')
    L.append('')
    L.append('Breakdown under load (median / worst, ms): the UPDATE itself %s / %s; '
             'notification line read %s / %s; "planned on notification" read %s / %s.' % (
                 fmt(statistics.median(c)), fmt(max(c)),
                 fmt(statistics.median(n)) if n else '—', fmt(max(n)) if n else '—',
                 fmt(statistics.median(p)) if p else '—', fmt(max(p)) if p else '—'))
    L.append('')
    b = r2['buckets']
    L.append('Side figure — throughput of the batch: **%.0f messages/s** (%d messages, first to '
             'last receipt at the recorder in %.1f s; per one-second bucket: median %s, lowest '
             '%s, highest %s messages); %.1f s from the end of the start-up pass (%d '
             'invoices planned in %.1f s after the daemon\'s start) to the last receipt. '
             'Default smtp.messages_per_session (20), recorder without delay. '
             'Check: %d distinct Message-IDs, %d of the %d disputed strategic j3 cancelled, '
             '%d mails to them; daemon exit status %d.' % (
                 r2['rate'], r2['mails'], r2['span_s'],
                 fmt(statistics.median(b), 0) if b else '—', min(b) if b else '—',
                 max(b) if b else '—', r2['from_cycle_s'] or float('nan'), BATCH + TRIALS,
                 r2['plan_s'] or float('nan'), r2['unique_ids'], r2['cancelled_u'], TRIALS,
                 r2['u_mails'], r2['rc']))
    L.append('')
    L.append('## 3. Idle CPU and memory')
    L.append('')
    sl3 = r3['slices']
    per60 = r3['tick_ms'] * 60 / r3['wall_s']
    sch60 = r3['sched_ms'] * 60 / r3['wall_s']
    L.append('| figure | value |')
    L.append('|---|---|')
    L.append('| idle CPU, utime+stime (/proc/PID/stat, %d Hz ticks) | **%.0f ms per 60 s = '
             '%.3f %% of one core**%s |' % (
                 TICK, per60, per60 / 600,
                 ' (%d tick(s): at the resolution of this counter, see schedstat below)'
                 % round(r3['tick_ms'] * TICK / 1000) if r3['tick_ms'] <= 1000 / TICK else ''))
    L.append('| idle CPU, sum of /proc/PID/task/*/schedstat (ns) | %.1f ms per 60 s = %.4f %% '
             'of one core |' % (sch60, sch60 / 600))
    L.append('| idle CPU per %d s slice (schedstat), median / worst | %.2f / %.2f ms |' % (
        IDLE_SLICE_S, statistics.median(s['sched_ms'] for s in sl3),
        max(s['sched_ms'] for s in sl3)))
    L.append('| VmRSS / VmHWM idle after start (empty database) | %d / %d kB |' % (
        r3['rss_start']['VmRSS'], r3['rss_start']['VmHWM']))
    L.append('| VmRSS / VmHWM after %d s idle | %d / %d kB |' % (
        IDLE_S, r3['rss_end']['VmRSS'], r3['rss_end']['VmHWM']))
    L.append('| VmRSS / VmHWM after start with %d held reminders (part 1) | %d / %d kB |' % (
        3 * TRIALS, r1['rss_start']['VmRSS'], r1['rss_start']['VmHWM']))
    L.append('| VmRSS / VmHWM after the %d-message batch (part 2) | %d / %d kB |' % (
        BATCH, r2['rss_after']['VmRSS'], r2['rss_after']['VmHWM']))
    L.append('')
    L.append('Idle: empty migrated database, default schedule.poll_interval (60 s), no -v, '
             '`--now %s` (inside the send window); measured for %.1f s from 2 s after the '
             'start-up pass, in %d slices of %d s; %d full passes ran in the daemon\'s life '
             '(the start-up one included). utime+stime counts every thread of the process; '
             'its resolution is one tick (%d ms).' % (
                 NOW, r3['wall_s'], len(sl3), IDLE_SLICE_S, r3['cycles'], 1000 // TICK))
    L.append('')
    return L


def anomalies(r1, r2):
    """Lines on the worst trials, with the daemon log read meanwhile."""
    A = ['## Outliers and other observations', '']
    first = [t for t, line in r2['cycles'] if line.startswith('dunningd: cycle ')]
    if len(first) >= 2 and first[1] - first[0] < 5:
        A.append('- At start the daemon runs two full passes back to back (%.2f s and %.2f s '
                 'after its start in part 2): the start-up request and the rescan asked for '
                 'when the LISTEN connection comes up (loop.c on_listen_state). The second one '
                 'finds nothing to do; it is cheap (%.0f ms over %d invoices) but doubles the '
                 'start-up queries.' % (first[0], first[1], (first[1] - first[0]) * 1000,
                                        BATCH + TRIALS))
        A.append('')
    A.append('- Each trial\'s latency is mostly the daemon planning one invoice after the '
             'notification (the "planned on notification" line is read ~2.5–4 ms after the '
             'commit, the notification itself ~0.2–0.3 ms after); for comparison the '
             'start-up pass of part 2 took %.1f s from the daemon\'s start for %d invoices '
             '(%.1f ms per invoice, process start and connections included).' % (
                 r2['plan_s'] or float('nan'), BATCH + TRIALS,
                 (r2['plan_s'] or float('nan')) * 1000 / (BATCH + TRIALS)))
    A.append('')
    for label, trials, d in (('idle, dispute UPDATE', r1['trials']['dispute'], r1['daemon']),
                             ('idle, payment', r1['trials']['payment'], r1['daemon']),
                             ('under load, dispute UPDATE', r2['trials'], r2['daemon'])):
        ok = [t for t in trials if t['ms'] is not None]
        miss = [t for t in trials if t['ms'] is None]
        for t in miss:
            A.append('- %s: %s timed out after %.0f s (state %s)' % (
                label, t['number'], TRIAL_DEADLINE, t.get('state')))
        if not ok:
            continue
        med = statistics.median(t['ms'] for t in ok)
        worst = max(ok, key=lambda t: t['ms'])
        A.append('- %s, worst trial (%.1f× the median):' % (label, worst['ms'] / med))
        A.append('')
        A.append('```')
        A += outlier_note(worst, d)
        A.append('```')
        A.append('')
    return A


def main():
    if os.geteuid() != 0:
        sys.exit('run as root: the cluster runs as postgres through runuser')
    for p in (harness.DUNNINGD, harness.DUNNINGCTL):
        if not os.access(p, os.X_OK):
            sys.exit('not built: %s (ninja -C build)' % p)
    meta = {'date': dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z'),
            'commit': git_head(), 'cpu': '%d × %s' % (os.cpu_count(), cpu_model()),
            'load0': load_avg()}
    t0 = time.monotonic()
    base = tempfile.mkdtemp(prefix='dunning-bench-')
    cluster = Cluster()
    try:
        cluster.start()
        cluster.template = migrate_template(cluster, base)
        r1 = part1(cluster, base)
        r2 = part2(cluster, base)
        r3 = part3(cluster, base)
    finally:
        cluster.stop()
    meta['elapsed'] = time.monotonic() - t0
    meta['load1'] = load_avg()
    lines = report(meta, r1, r2, r3) + anomalies(r1, r2)
    text = '\n'.join(lines) + '\n'
    with open(RESULTS, 'w', encoding='utf-8') as f:
        f.write(text)
    say('')
    say(text)
    say('written to %s' % RESULTS)
    # Keep the daemons' logs next to the temporary files, for a look.
    for name, r in (('p1', r1), ('p2', r2), ('p3', r3)):
        with open(os.path.join(base, name + '-dunningd.log'), 'w') as f:
            if r.get('daemon') is not None:
                t0 = r['daemon'].stamped[0][0] if r['daemon'].stamped else 0
                for t, _, line in r['daemon'].stamped:
                    f.write('%10.1f ms  %s\n' % ((t - t0) * 1000, line))
            else:
                f.write(r['log'])
    say('daemon logs in %s' % base)


if __name__ == '__main__':
    main()
