#!/usr/bin/python3
"""bench/bench.py — the benchmark set of issues 7, 15 and 16; bench/run calls it.

Not a test: it asserts nothing about the figures, it measures them side by
side with a reference in the same run and writes bench/results.md.

    bench/run                       (installs Postfix's tools, builds, runs this)
    /usr/bin/python3 bench/bench.py [--sizes 10000,100000,1000000] [--parts ...]
                                    [--profile] [--out FILE]

It uses the tests' harness (tests/lib/harness/): a private PostgreSQL
15 cluster run as postgres (run this as root) as production runs it
(Cluster(production=True): fsync, synchronous_commit and full_page_writes
on, pg_stat_statements loaded), databases cloned from a migrated template;
the daemon of $DUNNINGD (default build-bench/).

Parts:
  plan     portfolios of each size (bench/portfolio.sql, seed 1), their
           catch-up first pass (every bookmark written); then one planning
           pass (dunningd --plan-only) against the bare query of its
           candidates (COPY (...) TO '/dev/null', the daemon's own SQL text
           read from pipeline/plan.c), alternately: at a date where about
           5 % of the invoices have a stage due, each on its own copy of
           the database after the catch-up pass, and at the catch-up pass's
           instant again, where nothing is due; peak RSS of the pass.
  send     10 000 due reminders sent to Postfix's smtp-sink by 1, 2 and 4
           daemons (dunningd --once, all started together), each run
           between runs of Postfix's smtp-source sending 10 000 messages of
           the same content to the same sink over as many connections;
           every Message-ID counted in the sink's dump.  --profile: one more
           1-daemon send under perf, the daemon's calls to libpq and libcurl
           timed in the process (bench/timeshim.c, LD_PRELOAD), its
           statements (pg_stat_statements), commits (pg_stat_database) and
           WAL writes and fsyncs (pg_stat_wal), into bench/profile-send.txt
           and a few lines of the results on where a message's time goes.
  latency  dispute-to-cancel latency, 50 trials, while one daemon sends a
           batch of 10 000; its RSS during the batch.
  idle     CPU of an idle daemon over 60 s; its RSS.
  slow     issue 16: dispute-to-settled latency, 50 trials, while 1, 2 and
           4 daemons send through the tests' relay (aiosmtpd) answering
           each end of DATA after 50 ms, then 300 ms; each dispute on a
           claimed message or on the one being handed (bench/slow.py).
  backlog  a backlog of each size (every invoice overdue, none reminded:
           bench/backlog.py): the first pass, the escalation pass a week
           later, a pass with nothing due; time, peak RSS, commits and
           statements per invoice, against Tryton 6.0's figures quoted
           from the issue.  --profile: the first pass at 100 000 (or the
           largest size below) again under perf, into
           bench/profile-backlog.txt.
"""
import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time

# rig first: it sets the environment the harness reads.
from rig import (AS_OF, BATCH, DUNNINGD, HERE, IDLE_S, SEND_DAY, SMTP_SINK, SMTP_SOURCE,
                 TRIALS, Bench, med)
from harness import PG_BIN, at
from host import cpu_model, fdatasync_rate, filesystem, git_head, load_avg, say
from backlog import (GOAL_IDLE_MS, GOAL_N, GOAL_RSS_KB, GOAL_S, GOAL_SCALE, GOAL_X, STEPS,
                     TRYTON, part_backlog)
from planning import part_plan
from running import part_idle, part_latency
from rig import PERF_HZ
from sending import make_send_template, part_send
from slow import GAP_S, TIMEOUT_S, part_slow

RESULTS = os.path.join(HERE, 'results.md')

FIGURES = []        # (figure, dunningd, reference, ratio, goal) for the table
NOTES = {}          # section -> list of lines


# -------------------------------------------------------------- results --

def write_results(meta, out):
    L = []
    w = L.append
    w('# dunningd benchmarks (issues 7, 15 and 16)')
    w('')
    w('Written by `bench/run` (bench/bench.py --parts %s%s) on %s, commit %s; %s, '
      '%d cores; load average before: %s, after: %s. Every figure is measured next to its '
      'reference in the same run (except Tryton\'s, quoted from issue 15); timings are '
      'medians of alternated runs where a part repeats them. The machine is shared (other '
      'engineers\' fuzzers and SQL benchmarks ran at the same time): read the ratios, not '
      'the absolute times.' % (meta['parts'],
                               ' --sizes %s' % meta['sizes'] if meta['sizes'] else '',
                               meta['date'], meta['head'],
                               meta['cpu'], os.cpu_count(), meta['load0'], meta['load1']))
    w('')
    st = meta['settings']
    w('PostgreSQL %s as production runs it (tests/lib/harness/pg.py, `Cluster(production=True)`: '
      'PostgreSQL\'s own defaults, every commit flushed to disk — fsync = %s, '
      'synchronous_commit = %s, full_page_writes = %s, wal_level = %s; shared_buffers = %s, '
      'checkpoint_timeout = %s, max_wal_size = %s, untuned; shared_preload_libraries = %s), its '
      'data on %s, where `pg_test_fsync -s 1` times one 8 kB write and its fdatasync, what a '
      'commit waits for, at %s (many production disks are slower); dunningd built with '
      '`-Dbuildtype=release`%s. Whole run: %.0f s.' % (
          meta['pg'], st.get('fsync'), st.get('synchronous_commit'), st.get('full_page_writes'),
          st.get('wal_level'), st.get('shared_buffers'), st.get('checkpoint_timeout'),
          st.get('max_wal_size'), st.get('shared_preload_libraries'), meta['disk'],
          '%.0f µs, %.0f a second' % (1e6 / meta['fdatasync'], meta['fdatasync'])
          if meta.get('fdatasync') else 'an unknown time',
          ', Postfix %s smtp-sink / smtp-source on loopback' % meta['postfix']
          if meta.get('postfix') else '', meta['elapsed']))
    w('')
    w('| figure | dunningd | reference | ratio | goal |')
    w('|---|---|---|---|---|')
    for f in FIGURES:
        w('| %s |' % ' | '.join(f))
    w('')
    for sec, lines in NOTES.items():
        w('## %s' % sec)
        w('')
        L.extend(lines)
        w('')
    tmp = out + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write('\n'.join(L) + '\n')
    os.replace(tmp, out)


def fig(name, mine, ref, ratio, goal):
    FIGURES.append((name, mine, ref, ratio, goal))


def summarise(plan, send, lat, idle):
    if plan:
        notes = NOTES.setdefault('Planning', [])
        notes.append('One planning pass = `dunningd --plan-only --now T` (the same pass as the '
                     'start of `--once`, with nothing sent); its time is the pass itself '
                     '(plan_pass, measured in the process: reading the candidates\' ids, '
                     'then chunk by chunk their locks, their facts, the policy, the writes of '
                     'the decisions and of the next bookmarks, the commits), the process\'s '
                     'whole life in brackets (start, configuration and templates, '
                     'connection). The reference is the query the pass reads its candidates '
                     'with: FACTS_SQL and the predicate `[PLAN_DUE]` of `candidates[]` (the '
                     'invoices whose bookmark (`dunning.invoice_next_action`) is at or before the instant '
                     'of the pass), read from pipeline/plan.c, `$1` bound to that instant, '
                     'run as `COPY (…) TO \'/dev/null\'` on one connection, without JIT '
                     'like the daemon\'s session; it reads, locks and writes nothing.')
        notes.append('')
        notes.append('Each size\'s portfolio is loaded once, then planned by a **catch-up first '
                     'pass** at %s 10:00: the stored rules (`dunning.setting` plan_rules) '
                     'differ from the configuration\'s, so it reads every open invoice '
                     '(`[PLAN_ALL]`) and writes their decisions and bookmarks. Its time and '
                     'writes (as its log line counts them, bookmarks apart) are the column '
                     '"first pass (writes)" of the nothing-due row; the due row has no such '
                     'pass apart. The two rows:' % AS_OF)
        notes.append('')
        notes.append('- **nothing due**: passes at the catch-up pass\'s instant again, on '
                     'that database, alternated with the bare query at the same instant '
                     '(pass, query, query, pass, …): every bookmark is later, so the pass '
                     'examines nothing and the query returns no rows (both counts in '
                     '"candidates");')
        notes.append('- **due**: the day of pick_due_day (the first business day after %s '
                     'on which at least 5 %% of the invoices have a reminder due: "stage '
                     'due"), 10:00. Each round makes two copies of the database as the '
                     'catch-up pass left it (`CREATE DATABASE … TEMPLATE`), runs the pass on '
                     'one and the bare query on the other, the first of the two alternating '
                     'between rounds (the copy made first serving it), and drops them: each '
                     'pass is the first at that instant and has the whole day\'s work to do. '
                     'It examines the invoices whose bookmark has come: those with a stage '
                     'due, and also those with a reminder planned but not sent whose window '
                     'closed; "candidates" gives the invoices each pass examined and, in '
                     'brackets, the rows of the bare query; "first pass (writes)" the '
                     'writes of each pass as its log line counts them (planned, held, '
                     'rescheduled, cancelled, escalated: not the new bookmarks, written '
                     'besides for every invoice examined whose next instant moved).' % AS_OF)
        notes.append('')
        notes.append('| invoices | load (s) | payments | reminders | DB size | date | stage due '
                     '| candidates | first pass (writes) | pass median ms (process) '
                     '| bare query median ms | ratio | peak RSS kB |')
        notes.append('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
        for r in plan:
            for key in ('due', 'none'):
                x = r[key]
                if x['first']:
                    first = '%.0f ms (%d)' % (x['first']['ms'], x['first']['writes'])
                else:
                    first = '— (%s each)' % ' or '.join(map(str, x['writes_each']))
                notes.append('| %d | %.1f | %d | %d | %d MB | %s %s | %s | %s (%s rows) | %s '
                             '| %.1f (%.1f) | %.1f | %.2f | %d |' % (
                                 r['n'], r['load_s'], r['counts'][1], r['counts'][2],
                                 r['counts'][3] // 2**20, x['day'],
                                 'due' if key == 'due' else 'nothing due',
                                 ('%d (%.1f %%)' % (r['n_due'], 100 * r['n_due'] / r['n']))
                                 if key == 'due' else '0',
                                 ' or '.join(map(str, x['examined_all'])),
                                 ' or '.join(map(str, x['rows_all'])), first,
                                 x['pass_ms'], x['wall_ms'], x['bare_ms'],
                                 x['pass_ms'] / x['bare_ms'], x['rss']))
            for key in ('due', 'none'):
                x = r[key]
                fig('planning pass, %d invoices, %s (median ms)' % (
                    r['n'], 'about 5 %% due (%s)' % x['day'] if key == 'due' else
                    'nothing due (%s)' % x['day']),
                    '%.1f' % x['pass_ms'], '%.1f (bare query)' % x['bare_ms'],
                    '%.2f×' % (x['pass_ms'] / x['bare_ms']), '≤ 1.5×' if key == 'due' else
                    'almost nothing: an index range scan')
        big = plan[-1]
        fig('peak RSS of a planning pass, %d invoices' % big['n'],
            '%d kB' % max(big['due']['rss'], big['none']['rss']), '—', '—', 'report')
        if 'explain' in big:
            notes.append('')
            notes.append('The candidate query at %d invoices, nothing due (%s), '
                         '`EXPLAIN (ANALYZE, BUFFERS, TIMING OFF)`:' % (big['n'], AS_OF))
            notes.append('')
            notes.append('```')
            notes.extend(big['explain'].split('\n'))
            notes.append('```')
    if send:
        notes = NOTES.setdefault('Sending and scale-out', [])
        refs = {}
        for k, rate, _ in send['ref']:
            refs.setdefault(k, []).append(rate)
        notes.append('%d due j3 reminders (one invoice per client, their rows written by '
                     'SQL as a planning pass writes them — a `--plan-only` pass then finds '
                     'nothing to change —; a copy of the same database for each run) sent by k '
                     'daemons `dunningd --once` started together on the same database, to '
                     'smtp-sink (`-D` dump of every transaction). Messages of %d bytes; '
                     'smtp.messages_per_session = 20 (the default), so each daemon opens one '
                     'connection at a time. Reference: smtp-source `-s k -d -m %d -F '
                     'message.eml` (k parallel connections, each kept for all its messages, '
                     'the daemon\'s own first message as content) to the same sink, before '
                     'and after each daemon run. dunningd\'s rate is messages / the longest '
                     'sending phase (log, after planning); in brackets, messages / the '
                     'processes\' whole life.' % (BATCH, send.get('msg_bytes', 0), BATCH))
        notes.append('')
        notes.append('| daemons | sent | distinct Message-IDs (DB) | received at the sink '
                     '| distinct received | sink set = DB set | dunningd msg/s '
                     '| smtp-source msg/s (median) | ratio | exit | peak RSS kB | CPU s |')
        notes.append('|---|---|---|---|---|---|---|---|---|---|---|---|')
        for r in send['runs']:
            ref = med(refs.get(r['k'], [0]))
            notes.append('| %d | %d | %d | %d | %d | %s | %.0f (%.0f) | %.0f | %.2f | %s | %s '
                         '| %s |' % (r['k'], r['sent'], r['distinct_db'], r['received'],
                                     r['distinct'], 'yes' if r['same_set'] else 'NO',
                                     r['rate'], r['rate_wall'], ref, r['rate'] / ref,
                                     r['rc'], r['rss'],
                                     ', '.join('%.1f' % c for c in r['cpu'])))
            name = ('sending %d reminders, 1 daemon (msg/s)' % BATCH if r['k'] == 1 else
                    'scale-out: %d daemons, %d reminders (msg/s)' % (r['k'], BATCH))
            fig(name, '%.0f' % r['rate'], '%.0f (smtp-source -s %d)' % (ref, r['k']),
                '%.2f×' % (r['rate'] / ref), '≥ 0.8×' if r['k'] == 1 else 'report')
            fig('each Message-ID exactly once, %d daemon(s)' % r['k'],
                '%d received, %d distinct' % (r['received'], r['distinct']),
                '%d sent in the DB' % r['sent'],
                '—', 'yes' if (r['received'] == r['distinct'] == r['sent'] == BATCH and
                               r['same_set']) else 'NO')
        notes.append('')
        notes.append('smtp-source runs (k, msg/s, when): ' + ', '.join(
            '(%d, %.0f, %s)' % x for x in send['ref']))
        if send.get('profile'):
            summarise_send_profile(send['profile'])
    if lat:
        ok = [t for t in lat['trials'] if t is not None]
        fig('dispute-to-cancel under load, %d trials (ms)' % TRIALS,
            'median %.1f, worst %.1f' % (lat['median'], lat['worst']), '—', '—',
            '< 1 s (SPEC rule 4)')
        fig('RSS under load (batch of %d)' % BATCH, '%d kB (HWM %d kB)' % (
            lat['rss_load_max'], lat['hwm']), '—', '—', 'report')
        notes = NOTES.setdefault('Latency under load', [])
        notes.append('One daemon as a service (`--now %s`, poll_interval 3600: only the '
                     'notification explains a reaction) sending a batch of %d j3 to '
                     'smtp-sink; %d strategic clients\' j3 held. Each trial: the billing '
                     'software\'s `UPDATE dunning.invoice SET disputed_at` committed on one '
                     'connection, then the held reminder polled every 2 ms on another until '
                     '`cancelled`. %d trials, %d timeouts; median %.1f ms, worst %.1f ms; the '
                     'trials ran for %.1f s from the first message sent, and %d of the %d '
                     'were sent when the last trial ended; %d reminders of disputed invoices '
                     'sent. Daemon exit status %s.' % (
                         at(SEND_DAY, '10:00'), BATCH, TRIALS, len(lat['trials']),
                         lat['timeouts'], lat['median'], lat['worst'], lat['t_trials'],
                         lat['sent_after_trials'], BATCH, lat['sent_disputed'], lat['rc']))
        notes.append('')
        notes.append('Sorted latencies (ms): ' + ', '.join('%.1f' % t for t in sorted(ok)))
    if idle:
        fig('idle CPU over %d s' % IDLE_S, '%.2f ms (schedstat); %.0f ms (ticks)' % (
            idle['sched_ms'], idle['ticks_ms']), '—', '%.4f %% of a core' % (
            idle['sched_ms'] / (IDLE_S * 10)), 'almost nothing')
        fig('RSS idle', '%d kB (HWM %d kB)' % (idle['rss1']['VmRSS'], idle['rss1']['VmHWM']),
            '—', '—', 'report')
        NOTES.setdefault('Idle', []).append(
            'An idle daemon on an empty migrated database, default poll_interval (60 s), '
            'inside the send window; CPU from the sum of /proc/PID/task/*/schedstat and from '
            'utime+stime (10 ms ticks) over %d s, from 3 s after its start.' % IDLE_S)


def summarise_send_profile(p):
    """Where a message's time goes, from the profiled run's numbers
    (sending.profile_send): a few lines under the sending table."""
    n = float(p['sent'])
    us = lambda ms: ms * 1000 / n            # ms over the run -> µs a message
    pc = lambda ms: 100 * ms / p['life_ms'] if p['life_ms'] else float('nan')
    cpu = {g: k * 1e6 / PERF_HZ / n for g, k in p['cpu_samples'].items()}
    pq = [x for x in p['calls_d'] if not x[2].startswith('(libcurl)')]
    notes = NOTES['Sending and scale-out']
    w = notes.append
    w('')
    w('Where a message\'s time goes: one more 1-daemon send of the batch, profiled (`--profile`; '
      'detail in bench/profile-send.txt): the daemon\'s calls to libpq and libcurl timed in '
      'the process (bench/timeshim.c, LD_PRELOAD; the daemon\'s log has only its planning '
      'and sending totals), pg_stat_statements reset before it, pg_stat_database and '
      'pg_stat_wal read around it (track_wal_io_timing on), perf for its life. Under the '
      'profile it sent %d in %.0f ms: **%.0f µs a message** (%.0f msg/s); the process lived '
      '%.0f µs a message. In µs a message:' % (
          p['sent'], p['send_ms'], p['send_ms'] * 1000 / n, n / (p['send_ms'] / 1000),
          us(p['life_ms'])))
    w('')
    w('- **Waiting for PostgreSQL: %.0f (%.0f %%)**, %.2f calls to libpq a message; of it, '
      'the server executing statements %.0f and planning them %.0f (pg_stat_statements), '
      'WAL fsync %.0f (%.2f fsyncs a message, %.0f µs each; pg_stat_wal), WAL write %.0f, the '
      'rest — round trips, parse/bind, commit work, waiting for a CPU — %.0f.' % (
          us(p['pq_ms']), pc(p['pq_ms']), p['pq_calls'] / n, us(p['exec_ms']),
          us(p['plan_pg_ms']), us(p['wal_sync_ms']), p['wal_sync'] / n,
          p['wal_sync_ms'] * 1000 / max(1, p['wal_sync']), us(p['wal_write_ms']),
          us(p['pq_rest_ms'])))
    w('- **Waiting for the relay: %.0f (%.0f %%)** in curl_easy_perform (one message\'s SMTP '
      'transfer), %.0f (%.0f %%) closing sessions (QUIT)%s; smtp-sink\'s CPU %.0f a '
      'message (perf).' % (
          us(p['curl_ms']), pc(p['curl_ms']), us(p['quit_ms']), pc(p['quit_ms']),
          '; smtp-source takes %.0f for a whole message to the same sink on one connection '
          '(the measured part\'s median)' % (1e6 / p['ref_rate']) if p['ref_rate'] else '',
          cpu['sink']))
    w('- **The daemon\'s own work: %.0f (%.0f %%)** outside both (claim bookkeeping, '
      'composing, start and exit); its CPU %.0f a message (wait4, whole process; partly '
      'inside the libpq and libcurl calls).' % (
          us(p['own_ms']), pc(p['own_ms']), p['cpu_s'] * 1e6 / n))
    w('- **The calls to PostgreSQL with the most time** (µs a message, calls a message, µs a '
      'call): %s.' % '; '.join('`%s` %.0f (%.2f, %.0f)' % (
          k[:60].replace('|', '\\|'), us(ms), c / n, ms * 1000 / max(1, c))
          for c, ms, k in pq[:4]))
    w('- **Round trips and commits**: %.2f statements a message (pg_stat_statements calls, top '
      'level: BEGIN, COMMIT and the audit chain\'s commit-time trigger statements included); '
      '**%.2f transactions committed a message** (pg_stat_database xact_commit / messages '
      'sent), %.2f of them durable (WAL fsyncs); %.0f bytes of WAL a message. On the server, '
      'the statements with the most time (exec + plan): %s.' % (
          p['statements'] / n, p['commits'] / n, p['wal_sync'] / n, p['wal_bytes'] / n,
          '; '.join('`%s` %.0f (%.2f calls)' % (q[:50].replace('|', '\\|'),
                                                (e + pl) * 1000 / n, c / n)
                    for c, r, e, pl, q in p['top'][:3])))
    w('- **CPU** (perf samples at %d Hz, µs a message): its PostgreSQL backend %.0f, the '
      'cluster\'s other processes %.0f, dunningd %.0f, smtp-sink %.0f, every other process '
      'of the machine %.0f; the %d CPUs idle %.0f %% of the recording.' % (
          PERF_HZ, cpu['backend'], cpu['cluster'], cpu['dunningd'], cpu['sink'], cpu['other'],
          os.cpu_count(), 100 * p['cpu_samples']['idle'] / max(1, p['samples'])))
    fig('transactions committed per message sent, 1 daemon (xact_commit / sent, profiled run)',
        '%.2f (%.2f durable: WAL fsyncs)' % (p['commits'] / n, p['wal_sync'] / n), '—', '—',
        'report')


def summarise_slow(slow):
    def ms(v):
        return '%.1f' % v if v is not None else '—'

    for r in slow:
        a = r['all']
        fig('dispute settled behind a relay taking %.0f ms per message, %d daemon(s), %d trials '
            '(ms)' % (r['delay'] * 1000, r['k'], a['n']),
            'median %s, worst %s (claimed: %s; being handed: %s)%s' % (
                ms(a['median']), ms(a['worst']), ms(r['claimed']['worst']),
                ms(r['sending']['worst']),
                ', %d timeouts' % a['timeouts'] if a['timeouts'] else ''),
            '—', '—', '≤ 1 s worst of %d' % TRIALS)
    notes = NOTES.setdefault('Disputes behind a slow relay (issue 16)', [])
    w = notes.append
    w('Goal of issue 16: a dispute or a payment settled in at most 1 s, worst of %d, behind a '
      'relay taking 300 ms per message (SPEC rule 4 and §3.5: a dispute waits at most for the '
      'one message of its invoice being handed to the relay). The relay is the tests\' '
      '(tests/lib/smtp_recorder.py, aiosmtpd, through harness.SmtpRecorder) with its fault '
      'injection answering each end of DATA after 50 ms, then after 300 ms. For each delay, k = '
      '%s daemons run as services (`dunningd --now %s`, poll_interval 3600: only the '
      'notification explains a reaction) on a fresh copy of a database with a year of audit '
      'log (as the sending part\'s) and a batch of due j3 reminders, one invoice per client, '
      'written as a planning pass writes them (then `--plan-only` at that instant): '
      'about twice what k daemons send in the time of the trials (column "batch"); they are '
      'stopped (SIGTERM) once the trials are done, the rest of the batch not waited for. '
      'smtp.messages_per_session = 20: each daemon claims up to 20 due reminders together '
      '(still \'planned\', under a lease) and marks each \'sending\' right before handing it.'
      % (TRIALS, ', '.join(str(x['k']) for x in slow if x['delay'] == slow[0]['delay']),
         at(SEND_DAY, '10:00')))
    w('')
    w('From the first message recorded sent, %d trials, one after the other, a pause drawn '
      'between two (uniform from %.0f ms to %.0f ms more than the relay\'s delay, seeded: a '
      'dispute meets a message at any point of its handing, not in step with the sends), '
      'alternately on a **claimed** message (the lowest-id reminder still `planned` with a '
      'lease: the next to leave among the claimed ones) and on the message **being handed** '
      '(the lowest-id reminder `sending`). Each: the billing software\'s `UPDATE '
      'dunning.invoice SET disputed_at = …, dispute_reason = … WHERE number = …` '
      '(autocommit) on one connection, in a thread; the reminder\'s state polled every 2 ms on '
      'another. **Settled** = the UPDATE has returned (its commit acknowledged) *and* the '
      'reminder is in a final state: `cancelled` (the dispute won: the planner, woken by the '
      'NOTIFY of the commit, cancelled it; the message never leaves) or `sent` (it was being '
      'handed: the UPDATE waited on the invoice\'s send lock until the relay\'s answer was '
      'recorded). The time is from just before the UPDATE is sent to the later of the two; '
      'not settled after %d s is a timeout. A claimed message may become the one being '
      'handed between the pick and the UPDATE (the sender marked it first): it then ends '
      '`sent`, counted in its picked case ("claimed, ended sent"). "UPDATE returned" is how '
      'long the billing software\'s statement took: a dispute on a claimed message should '
      'wait for nothing (a commit), one on the message being handed for that one send.'
      % (TRIALS, GAP_S * 1000, GAP_S * 1000 + 50, TIMEOUT_S))
    w('')
    w('Checks, after the daemons stopped. Each Message-ID the relay recorded (the lawyers\' '
      'digests apart) at most once, and their set the database\'s `sent` set. No message of a '
      'disputed invoice accepted **after the dispute took hold**: the UPDATE returns '
      '`clock_timestamp()`, read once its row is written, i.e. after its BEFORE trigger got the '
      'invoice\'s send lock (sql/base/send_lock.sql) — which a sender holds from marking the '
      'message `sending` until its outcome is committed, and without which it cannot mark '
      'it (a try-lock, then a re-check that sees the committed dispute) — and before the '
      'commit; the relay stamps each message it accepts (`received_at`) right before its 250, '
      'which comes before the sender records `sent` and lets the lock go. Both are the host\'s '
      'real-time clock (gettimeofday / clock_gettime(CLOCK_REALTIME), same machine), so a '
      'message of that invoice with `received_at` ≥ that instant would have reached the relay '
      'after the dispute held its lock: "after the dispute" counts them. (The audit rows\' '
      '`at` is the daemon\'s simulated clock, in whole seconds, and the invoice UPDATE writes '
      'no audit row: neither can order the two.) And per trial, from the audit log: a '
      '`cancelled` reminder has a `cancelled` row, no `sending` row and nothing at the relay to '
      'its client; a `sent` one exactly one `sending` and one `sent` row and one message at the '
      'relay ("audit/relay mismatches" counts the trials that differ). "Accepted before the '
      'UPDATE": disputes on a message being handed whose relay answer had already come when '
      'the UPDATE was sent (it waited only for the recording). A payment takes the same '
      'path (the same send lock, the same NOTIFY) and is not measured apart.')
    w('')
    w('| relay ms / message | daemons | batch | case | trials | settled median ms | worst ms '
      '| timeouts | UPDATE returned median / worst ms | claimed, ended sent |')
    w('|---|---|---|---|---|---|---|---|---|---|')
    for r in slow:
        for case, name in (('claimed', 'claimed'),
                           ('claimed_cancelled', 'claimed, of which ended cancelled'),
                           ('sending', 'being handed'), ('all', 'all')):
            x = r[case]
            w('| %.0f | %d | %d | %s | %d | %s | %s | %d | %s / %s | %s |' % (
                r['delay'] * 1000, r['k'], r['batch'], name, x['n'], ms(x['median']),
                ms(x['worst']), x['timeouts'], ms(x['update_median']), ms(x['update_worst']),
                r['claimed_sent'] if case == 'claimed' else ''))
    w('')
    w('| relay ms / message | daemons | sent before the trials | sent during the trials (s) '
      '| received at the relay | distinct Message-IDs | relay set = DB sent set | after the '
      'dispute | accepted before the UPDATE | audit/relay mismatches | left sending / in_doubt '
      '| exit | load before |')
    w('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in slow:
        w('| %.0f | %d | %d | %d (%.1f s) | %d | %d | %s | %d%s | %d | %d%s | %d / %d | %s | %s |'
          % (r['delay'] * 1000, r['k'], r['sent_first'], r['sent_trials'], r['t_trials'],
             r['received'], r['distinct'], 'yes' if r['same_set'] else 'NO',
             len(r['after_dispute']),
             ' (%s)' % ', '.join(r['after_dispute']) if r['after_dispute'] else '',
             r['answered_before'], len(r['bad']),
             ' (%s)' % ', '.join(r['bad']) if r['bad'] else '',
             r['left'].get('sending', 0), r['left'].get('in_doubt', 0),
             ', '.join(map(str, r['rc'])), r['load']))
    w('')
    w('Sorted times to settled (ms), per configuration (c: claimed, ended cancelled; cs: '
      'claimed, ended sent; h: being handed):')
    w('')
    for r in slow:
        w('- %.0f ms, %d daemon(s): %s' % (r['delay'] * 1000, r['k'], ', '.join(
            '%s%s' % (ms(t['ms']), 'h' if t['case'] == 'sending' else
                      'cs' if t['state'] == 'sent' else 'c')
            for t in sorted(r['trials'], key=lambda t: (t['ms'] is None, t['ms'] or 0)))))


def backlog_goal(step, n, x, by_n):
    """The goal of the issue for STEP at N (pass X), with its verdict; '—'
    where the issue sets none."""
    secs = x['ms'] / 1000
    if step in GOAL_X and n == GOAL_N:
        return '≤ %g s (≥ %d× Tryton): %s' % (GOAL_S, GOAL_X[step],
                                              'met' if secs <= GOAL_S else 'not met')
    if step in GOAL_X and n == 1000000 and 10000 in by_n:
        small = by_n[10000]['steps'][step]
        k = (x['ms'] / n) / (small['ms'] / 10000)
        return 'per invoice ≤ %g× that at 10 000: %.2f×, %s' % (
            GOAL_SCALE, k, 'met' if k <= GOAL_SCALE else 'not met')
    if step == 'nothing due, next' and n == 1000000:
        return '≤ %d ms: %s' % (GOAL_IDLE_MS, 'met' if x['ms'] <= GOAL_IDLE_MS else 'not met')
    return '—'


def summarise_backlog(bl):
    by_n = {r['n']: r for r in bl}
    notes = NOTES.setdefault('Backlog (issue 15)', [])
    w = notes.append
    w('A firm that installs dunningd with a backlog: N invoices, 10 per client, invoice i '
      '(1..N) 3 + (i × 7919) mod 118 days overdue on 2024-12-31 (3 to 120 days), due 30 days '
      'after its issue, 50.00 + ((i × 104729) mod 495100) / 100 EUR; professional clients '
      'with a company name and a postal address, one lawyer; no reminder, payment, dispute '
      'or pause yet; the default configuration (approval above 5 000 EUR). Loaded with '
      '`generate_series` into a fresh migrated database, then `VACUUM ANALYZE` '
      '(bench/backlog.py). Four passes, each its own process `dunningd -c CONF --plan-only '
      '--now T` (nothing sent), one after the other on the same database:')
    w('')
    w('- **first**: `--now 2024-12-31T10:00:00+01:00`, the first reminder of every invoice;')
    w('- **escalation**: every reminder the first pass planned marked sent at that instant as '
      'the sender would (state, sent_at, attempts, a Message-ID per client and stage), '
      '`VACUUM ANALYZE`, then `--now 2025-01-07T10:00:00+01:00`: the next stage;')
    w('- **nothing due**: the same instant again, right after; its candidate query (a range '
      'of the bookmarks\' index, invoice_next_action_at_idx) also meets the index entries of the '
      'bookmarks the escalation pass replaced, dead rows it marks as such (as VACUUM would);')
    w('- **nothing due, next**: the same once more: a day with nothing due, as the daemon '
      'meets it (the goal of 20 ms is read here).')
    w('')
    w('Each size\'s portfolio is loaded once; each round runs the four passes on its own copy '
      '(`CREATE DATABASE … TEMPLATE`). Times are the medians of the rounds (%s), every '
      'round\'s in the detail table; peak RSS is the largest.' % ', '.join(
          '%d at %d' % (r['rounds'], r['n']) for r in bl))
    w('')
    w('dunningd\'s time is the pass\'s own (the number before "ms" that ends its log line '
      '`planning pass …`: the candidate query, the policy, the writes and their commits), '
      'the process\'s whole life in brackets (start, configuration and templates, '
      'connection, schema check). Tryton 6.0\'s is account_dunning\'s "Create Dunnings" on '
      'the same invoices, **quoted from issue 15, not measured in this run** (none at 1 000 '
      '000); the ratio is Tryton\'s time over the pass\'s.')
    w('')
    w('| step | N | dunningd (s) | per invoice (µs) | Tryton 6.0 reference | ratio | goal |')
    w('|---|---|---|---|---|---|---|')
    for step, _ in STEPS:
        for r in bl:
            n, x = r['n'], r['steps'][step]
            ref = TRYTON.get(step, {}).get(n)
            w('| %s | %d | %.3f (%.2f) | %.1f | %s | %s | %s |' % (
                step, n, x['ms'] / 1000, x['wall'], x['ms'] * 1000 / n,
                '%.2f s (issue 15)' % ref if ref else '—',
                '%.0f×' % (ref / (x['ms'] / 1000)) if ref else '—',
                backlog_goal(step, n, x, by_n)))
    rss = max(x['rss'] for r in bl for x in r['steps'].values())
    w('')
    w('Peak RSS of the dunningd process, largest over every pass and size: %d kB (goal ≤ %d '
      'kB: %s).' % (rss, GOAL_RSS_KB, 'met' if rss <= GOAL_RSS_KB else 'not met'))
    w('')
    w('Each pass in detail (the counts of the last round). Machine busy: the share of the '
      'machine\'s %d cores not idle during the process (/proc/stat, this pass and its backend '
      'included: above about %d %% others were competing). Peak RSS and CPU of the process '
      'from GNU time (wait4), commits '
      'the delta of `pg_stat_database.xact_commit` of the database, statements the sum of '
      'pg_stat_statements\' `calls` for the database (top-level statements, BEGIN and COMMIT '
      'included; reset before the pass), both read once the pass\'s session had left, '
      'divided by N; the counts of the log line (other writes: rescheduled, cancelled, '
      'escalated); the reminders by stage and state after the pass.' % (
          os.cpu_count(), 100 // os.cpu_count()))
    w('')
    w('| N | load + analyse (s) | DB size | step | pass ms (each round) | machine busy '
      '(each round) | process s | peak RSS kB | CPU s '
      '| examined | planned | held | other writes | commits / invoice | statements / invoice '
      '| reminders after |')
    w('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in bl:
        for step, _ in STEPS:
            x = r['steps'][step]
            other = sum(x[k] or 0 for k in ('rescheduled', 'cancelled', 'escalated'))
            w('| %d | %.1f | %d MB | %s | %.1f (%s) | %s | %.2f | %d | %.2f | %s | %s | %s | %d '
              '| %.4f (%d) | %.3f (%d) | %s |' % (
                  r['n'], r['load_s'], r['size'] // 2**20, step, x['ms'],
                  ', '.join('%.1f' % v for v in x['all_ms']),
                  ', '.join('%.0f %%' % (100 * v) for v in x['all_busy']), x['wall'], x['rss'],
                  x['cpu'], x['examined'], x['planned'], x['held'], other,
                  x['commits'] / r['n'], x['commits'], x['statements'] / r['n'],
                  x['statements'], x['after']))
    big = bl[-1]
    w('')
    w('The statements pg_stat_statements counted most often during each pass at %d invoices, '
      'last round '
      '(calls per invoice, calls, rows, the text cut). A statement a deferred trigger runs '
      'at COMMIT (the audit chain, sql/base/audit.sql) counts as top-level there: it runs '
      'outside any statement of the client.' % big['n'])
    w('')
    w('| step | calls / invoice | calls | rows | statement |')
    w('|---|---|---|---|---|')
    for step, _ in STEPS:
        for calls, rows, q in big['steps'][step]['top']:
            w('| %s | %.3f | %d | %d | `%s` |' % (step, calls / big['n'], calls, rows,
                                                q.replace('|', '\\|')))
    w('')
    w('The passes\' log lines:')
    w('')
    w('```')
    for r in bl:
        for step, _ in STEPS:
            w(r['steps'][step]['line'])
    w('```')
    if any('profile' in r for r in bl):
        w('')
        w('A profile of the first pass at %d invoices (perf, on a copy of the loaded '
          'portfolio, after the measured passes): bench/profile-backlog.txt.' % [
              r['n'] for r in bl if 'profile' in r][0])
    for r in bl:
        for step in ('first', 'escalation'):
            x = r['steps'][step]
            ref = TRYTON[step].get(r['n'])
            fig('backlog, %s pass, %d invoices (s)' % (step, r['n']), '%.3f' % (x['ms'] / 1000),
                '%.2f (Tryton 6.0, quoted from issue 15)' % ref if ref else '—',
                '%.0f×' % (ref / (x['ms'] / 1000)) if ref else '—',
                backlog_goal(step, r['n'], x, by_n))
    for step in ('nothing due', 'nothing due, next'):
        for r in bl:
            x = r['steps'][step]
            fig('backlog, %s pass, %d invoices (ms)' % (step, r['n']), '%.1f' % x['ms'], '—',
                '—', backlog_goal(step, r['n'], x, by_n))
    fig('peak RSS of a backlog pass, up to %d invoices' % bl[-1]['n'], '%d kB' % rss, '—', '—',
        '≤ %d kB: %s' % (GOAL_RSS_KB, 'met' if rss <= GOAL_RSS_KB else 'not met'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='10000,100000,1000000')
    ap.add_argument('--parts', default='plan,send,latency,idle,slow,backlog')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--rounds-big', type=int, default=3, help='rounds at 1 000 000 invoices')
    ap.add_argument('--scale', default='1,2,4')
    ap.add_argument('--backlog-rounds', type=int, default=3)
    ap.add_argument('--backlog-rounds-big', type=int, default=1,
                    help='backlog rounds from 1 000 000 invoices')
    ap.add_argument('--profile', action='store_true',
                    help='send: one more 1-daemon send of the batch under perf, with '
                    'pg_stat_statements, pg_stat_database and pg_stat_wal around it, into '
                    'bench/profile-send.txt; backlog: the first pass at 100 000 invoices (or '
                    'the largest size below) again under perf, into bench/profile-backlog.txt')
    ap.add_argument('--out', default=RESULTS, help='the results file (default %(default)s)')
    a = ap.parse_args()
    parts = a.parts.split(',')
    sizes = [int(x) for x in a.sizes.split(',')]
    unknown = set(parts) - {'plan', 'send', 'latency', 'idle', 'slow', 'backlog'}
    if unknown:
        sys.exit('bench: unknown part(s) %s' % ', '.join(sorted(unknown)))
    need = [DUNNINGD]
    if 'send' in parts or 'latency' in parts:
        need += [SMTP_SINK, SMTP_SOURCE]
    for p in need:
        if not os.access(p, os.X_OK):
            sys.exit('bench: %s missing (run bench/run)' % p)
    meta = {'date': dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            'head': git_head(), 'cpu': cpu_model(), 'load0': load_avg(),
            'parts': a.parts, 'sizes': a.sizes if {'plan', 'backlog'} & set(parts) else None}
    if 'send' in parts or 'latency' in parts:
        r = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', 'postfix'],
                           stdout=subprocess.PIPE, text=True)
        meta['postfix'] = r.stdout.strip()
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix='dunning-bench-')
    os.chmod(work, 0o755)
    b = Bench(work)
    plan = send = lat = idle = slow = bl = None
    try:
        meta['settings'] = b.settings()
        meta['pg'] = b.sql('postgres', 'SHOW server_version')[0][0]
        meta['disk'] = filesystem(b.cluster.dir)
        meta['fdatasync'] = fdatasync_rate(b.cluster.dir, PG_BIN)
        if 'plan' in parts:
            plan = part_plan(b, sizes, a.rounds, a.rounds_big)
        if 'send' in parts or 'latency' in parts:
            tpl = make_send_template(b)
        if 'send' in parts:
            send = part_send(b, tpl, [int(x) for x in a.scale.split(',')], a.profile)
        if 'latency' in parts:
            lat = part_latency(b, tpl)
        if 'idle' in parts:
            idle = part_idle(b)
        if 'slow' in parts:
            slow = part_slow(b)
        if 'backlog' in parts:
            bl = part_backlog(b, sizes, a.backlog_rounds, a.backlog_rounds_big, a.profile)
    finally:
        b.close()
        shutil.rmtree(work, ignore_errors=True)
    meta['load1'] = load_avg()
    meta['elapsed'] = time.monotonic() - t0
    summarise(plan, send, lat, idle)
    if slow:
        summarise_slow(slow)
    if bl:
        summarise_backlog(bl)
    write_results(meta, a.out)
    say('written %s (%.0f s)' % (a.out, meta['elapsed']))


if __name__ == '__main__':
    main()
