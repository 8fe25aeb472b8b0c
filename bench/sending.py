"""The sending part of bench/bench.py: a batch of due reminders sent by
1, 2, 4... daemons to Postfix's smtp-sink, between runs of smtp-source, the
reference, sending the same message to the same sink; the database of
that batch (make_send_template) and the sink serve the latency part too."""
import collections
import os
import re
import signal
import subprocess
import threading
import time

from rig import (AUDIT_HISTORY, BATCH, DUNNINGD, HERE, PERF_HZ, SEND_DAY, SMTP_SINK, SMTP_SOURCE,
                 TRIALS, med, perf_record, run_daemon)
from harness import at, free_port
from host import load_avg, say
from planning import plan_pass


# -------------------------------------------------------------- sending --

SEND_SQL = """
INSERT INTO dunning.lawyer (full_name, email) VALUES ('Maître Alice Martin',
	'alice.martin@cabinet.example');
INSERT INTO dunning.client (kind, company_name, email, lawyer_id, address_line1, postal_code,
	city, strategic)
SELECT 'professional', 'Société ' || g, 'm-' || g || '@client.example', 1,
	'1 rue de la Paix', '75002', 'Paris', g > %(batch)s
FROM generate_series(1, %(batch)s + %(trials)s) g;
INSERT INTO dunning.invoice (number, client_id, issued_on, due_on, amount, matter_ref)
SELECT 'M-' || c.id, c.id, '2026-02-01', '2026-03-02', 1000.00, 'D-' || c.id
FROM dunning.client c;
-- the j3 of each, as a planning pass at SEND_DAY writes it (without its
-- audit row): due on 03-05 at 09:00, held for a strategic client
INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, reason)
SELECT i.id, 'j3', CASE WHEN c.strategic THEN 'held' ELSE 'planned' END,
	'2026-03-05 09:00+01', CASE WHEN c.strategic THEN 'strategic_client' ELSE 'due' END
FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id;
VACUUM ANALYZE dunning.client, dunning.invoice, dunning.reminder, dunning.audit_log;
"""


class Sink:
    """Postfix's smtp-sink on a free loopback port, every transaction
    appended to a dump file."""

    def __init__(self, work, name):
        self.dump = os.path.join(work, name + '.dump')
        self.port = free_port()
        os.makedirs(work, exist_ok=True)
        os.chmod(work, 0o777)
        self.proc = subprocess.Popen([SMTP_SINK, '-u', 'nobody', '-D', self.dump,
                                      '127.0.0.1:%d' % self.port, '256'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                import socket
                with socket.create_connection(('127.0.0.1', self.port), 0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('smtp-sink did not start')

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)

    def message_ids(self):
        ids = []
        with open(self.dump, 'rb') as f:
            for line in f:
                if line[:11].lower() == b'message-id:':
                    ids.append(line[11:].strip().decode('ascii', 'replace'))
        # the lawyers' digest (sql/010) is not a client's reminder
        return [i for i in ids if not i.startswith('<dunning-lawyer.')]


def smtp_source(port, msgfile, count, sessions):
    """smtp-source: COUNT messages with the content of MSGFILE over
    SESSIONS parallel connections, each kept for all its messages (-d).
    Messages per second."""
    per = count // sessions
    t = time.monotonic()
    r = subprocess.run([SMTP_SOURCE, '-s', str(sessions), '-m', str(per * sessions), '-d',
                        '-F', msgfile, '-f', 'relances@cabinet.example',
                        '-t', 'client@client.example', '127.0.0.1:%d' % port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s = time.monotonic() - t
    if r.returncode != 0:
        raise RuntimeError('smtp-source: %s' % r.stderr)
    return per * sessions / s


def audit_history(b, db):
    """The audit log of a year at work (a firm of this size writes a few
    hundred rows a working day), a day's rows per transaction: the
    daemon's statements run against the log production has, not against
    an empty table whose statistics say so."""
    for first in range(1, AUDIT_HISTORY + 1, 1000):
        b.sql(db, "INSERT INTO dunning.audit_log (actor, action, details) "
                  "SELECT 'dunningd', 'history', jsonb_build_object('n', g) "
                  "FROM generate_series(%s, %s) g", (first, min(first + 999, AUDIT_HISTORY)))


def load_batch(b, db, batch, held):
    """BATCH due j3 reminders (one invoice per client) and HELD strategic
    clients' j3 held (SEND_SQL)."""
    for stmt in (SEND_SQL % {'batch': batch, 'trials': held}).split(';'):
        if stmt.strip():
            b.sql(db, stmt)


def make_send_template(b):
    db = b.clone(b.cluster.template, 'send_tpl')
    audit_history(b, db)
    load_batch(b, db, BATCH, TRIALS)
    conf = b.config(db, free_port(), 'send_tpl')
    p = plan_pass(conf, at(SEND_DAY, '10:00'))     # checks: nothing to write
    say('== sending template: %s' % p['detail'])
    return db


def first_message(dump):
    """The first message of an smtp-sink dump, CRLF, for smtp-source -F."""
    with open(dump, 'rb') as f:
        data = f.read()
    # The dump: envelope lines (X-Client-Addr, ...) then the message.
    start = data.find(b'\nFrom:')
    start = data.find(b'Date:') if start < 0 else start + 1
    end = data.find(b'\n\n', data.find(b'\n\n', start) + 2)
    msg = data[start:]
    nxt = re.search(rb'\n(?:X-Client-Addr|X-Client-Proto|X-Helo-Args|X-Mail-Args):', msg)
    if nxt:
        msg = msg[:nxt.start() + 1]
    del end
    return msg


def part_send(b, tpl, scale, profile=False):
    res = {'runs': [], 'ref': []}
    msgfile = None
    for k in scale:
        db = b.clone(tpl)
        sink = Sink(os.path.join(b.work, 'sink'), 'send%d' % k)
        conf = b.config(db, sink.port, 'send%d' % k)
        # the reference before
        if msgfile is not None:
            res['ref'].append((k, smtp_source(sink.port, msgfile, BATCH, k), 'before'))
            os.truncate(sink.dump, 0)
        load0 = load_avg()
        t0 = time.monotonic()
        procs = []
        for i in range(k):
            procs.append(threading.Thread(target=lambda: procs_out.append(
                run_daemon(['-c', conf, '--once', '-v', '--now', at(SEND_DAY, '10:00')])),
                daemon=True))
        procs_out = []
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        wall = time.monotonic() - t0
        sent = b.sql(db, "SELECT count(*), count(DISTINCT message_id) FROM dunning.reminder "
                     "WHERE state = 'sent'")[0]
        ids = sink.message_ids()
        db_ids = set(r[0] for r in b.sql(db, "SELECT message_id FROM dunning.reminder "
                                          "WHERE state = 'sent'"))
        send_ms = [float(m) for o in procs_out
                   for m in re.findall(r'sending ([\d.]+) ms', o[1])]
        run = {'k': k, 'wall': wall, 'sent': sent[0], 'distinct_db': sent[1],
               'received': len(ids), 'distinct': len(set(ids)),
               'same_set': set(ids) == db_ids, 'rc': [o[0] for o in procs_out],
               'rss': [o[3] for o in procs_out], 'cpu': [o[4] for o in procs_out],
               'send_ms': send_ms, 'load': load0,
               'rate': sent[0] / (max(send_ms) / 1000) if send_ms else 0,
               'rate_wall': sent[0] / wall}
        if msgfile is None:
            msgfile = os.path.join(b.work, 'message.eml')
            with open(msgfile, 'wb') as f:
                f.write(first_message(sink.dump))
            res['msg_bytes'] = os.path.getsize(msgfile)
        os.truncate(sink.dump, 0)
        res['ref'].append((k, smtp_source(sink.port, msgfile, BATCH, k), 'after'))
        res['runs'].append(run)
        say('   %d daemon(s): %d sent (%d distinct ids), %d received at the sink (%d distinct), '
            'same set: %s; %.0f msg/s (sending), %.0f msg/s (whole processes); exit %s; '
            'reference %.0f msg/s' % (k, run['sent'], run['distinct_db'], run['received'],
                                      run['distinct'], run['same_set'], run['rate'],
                                      run['rate_wall'], run['rc'], res['ref'][-1][1]))
        sink.stop()
        b.cluster.admin('DROP DATABASE %s WITH (FORCE)' % db)
    if profile:
        ref1 = [rate for k, rate, _ in res['ref'] if k == 1]
        res['profile'] = profile_send(b, tpl, med(ref1) if ref1 else None)
    return res


# -------------------------------------------------------------- profile --

PROFILE_SEND = os.path.join(HERE, 'profile-send.txt')

# During the profiled run only (restored after): WAL write and fsync times
# in pg_stat_wal, planning times in pg_stat_statements.
PROFILE_SETTINGS = ('track_wal_io_timing', 'pg_stat_statements.track_planning')

CPU_GROUPS = {'dunningd': 'dunningd', 'backend': 'its PostgreSQL backend',
              'cluster': 'the cluster\'s other processes (WAL writer, checkpointer, …)',
              'sink': 'smtp-sink', 'idle': 'idle (swapper)',
              'other': 'every other process (the machine is shared)'}

DB_STATS = ('xact_commit', 'xact_rollback', 'session_time', 'active_time',
            'idle_in_transaction_time', 'sessions', 'tup_inserted', 'tup_updated',
            'tup_deleted')
WAL_STATS = ('wal_records', 'wal_fpi', 'wal_bytes', 'wal_write', 'wal_sync', 'wal_write_time',
             'wal_sync_time')


def db_stats(b, db):
    """pg_stat_database's counters of DB (DB_STATS) and the cluster's
    pg_stat_wal (WAL_STATS), read from database postgres once no session
    is left in DB (a session's times reach pg_stat_database when it ends)."""
    b.quiet(db)
    time.sleep(1)           # the WAL writer's and the exited backend's last counts
    row = b.cluster.admin('SELECT %s FROM pg_stat_database WHERE datname = %%s' %
                          ', '.join(DB_STATS), (db,))[0]
    wal = b.cluster.admin('SELECT %s FROM pg_stat_wal' % ', '.join(WAL_STATS))[0]
    out = dict(zip(DB_STATS, (float(v or 0) for v in row)))
    out.update(zip(WAL_STATS, (float(v or 0) for v in wal)))
    return out


def statements_by_time(b, db, k=12):
    """The K statements of DB with the most time in pg_stat_statements since
    its reset: (calls, rows, exec ms, plan ms, the text on one line, cut)."""
    return b.cluster.admin(
        "SELECT s.calls, s.rows, s.total_exec_time, s.total_plan_time, "
        "left(regexp_replace(s.query, '\\s+', ' ', 'g'), 150) "
        "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname = %s ORDER BY s.total_exec_time + s.total_plan_time DESC, s.query "
        "LIMIT %s", (db, k))


def statement_totals(b, db):
    """(calls, exec ms, plan ms) of every statement of DB since the reset."""
    r = b.cluster.admin(
        "SELECT coalesce(sum(s.calls), 0), coalesce(sum(s.total_exec_time), 0), "
        "coalesce(sum(s.total_plan_time), 0) FROM pg_stat_statements s "
        "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s", (db,))[0]
    return int(r[0]), float(r[1]), float(r[2])


def set_profile_settings(b, on):
    for name in PROFILE_SETTINGS:
        b.cluster.admin('ALTER SYSTEM %s %s' % ('SET' if on else 'RESET', name) +
                        (' = on' if on else ''))
    b.cluster.admin('SELECT pg_reload_conf()')
    end = time.monotonic() + 10
    want = 'on' if on else 'off'
    while any(b.cluster.admin('SELECT current_setting(%s)', (n,))[0][0] != want
              for n in PROFILE_SETTINGS):
        if time.monotonic() > end:
            raise RuntimeError('the profile\'s settings did not take')
        time.sleep(0.05)


def postmaster_pid(b):
    with open(os.path.join(b.cluster.data, 'postmaster.pid')) as f:
        return int(f.readline())


def perf_report(data, sort, limit, *sel, rows=40, relative=True):
    """The rows of `perf report --no-children --sort SORT -n` (samples
    shown), entries under LIMIT per cent left out."""
    rep = subprocess.run(['perf', 'report', '-i', data, '--stdio', '--no-children', '-n',
                          '--percentage', 'relative' if relative else 'absolute',
                          '--sort', sort, '-g', 'none', '--percent-limit', str(limit)] +
                         list(sel), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, timeout=600)
    out = [ln.rstrip() for ln in rep.stdout.split('\n') if ln.strip() and not ln.startswith('#')]
    return out[:rows] if rows else out


def samples_by_pid(data):
    """{pid: (comm, samples)} of the whole recording."""
    out = {}
    for ln in perf_report(data, 'pid', 0, rows=0):
        m = re.match(r'^\s*[\d.]+%\s+(\d+)\s+(-?\d+):(.*)$', ln)
        if m:
            out[int(m.group(2))] = (m.group(3).strip(), int(m.group(1)))
    return out


def build_shim(work):
    """bench/timeshim.c built into WORK: (its path)."""
    out = os.path.join(work, 'timeshim.so')
    subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-o', out, os.path.join(HERE, 'timeshim.c'),
                    '-ldl', '-lpthread'], check=True)
    return out


def read_shim(path):
    """The daemon's timed calls (bench/timeshim.c): (life ms, [(calls, ms,
    key)] by time, most first)."""
    life, rows = 0.0, []
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            calls, ns, key = line.rstrip('\n').split('\t', 2)
            if key == '(life)':
                life = int(ns) / 1e6
            else:
                rows.append((int(calls), int(ns) / 1e6, key))
    return life, sorted(rows, key=lambda r: -r[1])


def profile_send(b, tpl, ref_rate):
    """One 1-daemon send of the batch, on a fresh copy of TPL to a fresh
    sink, under `perf record -a -g` for the daemon's run, with
    pg_stat_statements reset before it, pg_stat_database's and
    pg_stat_wal's counters read around it (track_wal_io_timing and
    pg_stat_statements.track_planning on for this run only).  Writes
    bench/profile-send.txt; returns the figures the results quote.
    REF_RATE: smtp-source's rate on one connection (msg/s), or None."""
    db = b.clone(tpl, 'sendprof')
    sink = Sink(os.path.join(b.work, 'sink'), 'sendprof')
    conf = b.config(db, sink.port, 'sendprof')
    data = os.path.join(b.work, 'perf-send.data')
    seen, stop = {}, threading.Event()

    def watch():            # every process of the cluster, while it lives
        conn = b.connect('postgres')
        try:
            with conn.cursor() as c:
                while not stop.is_set():
                    c.execute("SELECT pid, backend_type, datname FROM pg_stat_activity "
                              "WHERE pid <> pg_backend_pid()")
                    for pid, kind, dbname in c.fetchall():
                        seen[pid] = (kind, dbname)
                    time.sleep(0.02)
        finally:
            conn.close()

    shim, shim_out = build_shim(b.work), os.path.join(b.work, 'timeshim.out')
    set_profile_settings(b, True)
    try:
        b.reset_statements(db)
        s0 = db_stats(b, db)
        perf = perf_record(data)
        th = threading.Thread(target=watch, daemon=True)
        th.start()
        t0 = time.monotonic()
        with open(os.path.join(b.work, 'sendprof.log'), 'w+') as log:
            p = subprocess.Popen([DUNNINGD, '-c', conf, '--once', '-v', '--now',
                                  at(SEND_DAY, '10:00')],
                                 stdout=subprocess.DEVNULL, stderr=log,
                                 env=dict(os.environ, LD_PRELOAD=shim, TIMESHIM_OUT=shim_out))
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            log.seek(0)
            err = log.read()
        wall = time.monotonic() - t0
        stop.set()
        th.join(10)
        perf.send_signal(signal.SIGINT)
        perf.communicate(timeout=300)
        s1 = db_stats(b, db)
        calls, exec_ms, plan_ms = statement_totals(b, db)
        top = statements_by_time(b, db)
    finally:
        set_profile_settings(b, False)
    sent = b.sql(db, "SELECT count(*) FROM dunning.reminder WHERE state = 'sent'")[0][0]
    received = len(sink.message_ids())
    sink.stop()
    b.cluster.admin('DROP DATABASE %s WITH (FORCE)' % db)
    d = {k: s1[k] - s0[k] for k in s1}
    m = re.search(r'planning ([\d.]+) ms, sending ([\d.]+) ms', err)
    if p.returncode != 0 or m is None or sent == 0:
        raise RuntimeError('profiled dunningd --once exited %d (%d sent):\n%s' % (
            p.returncode, sent, err))

    # CPU by process, from perf's samples (cpu-clock, PERF_HZ a second and CPU)
    by_pid = samples_by_pid(data)
    total = sum(n for _, n in by_pid.values())
    backends = sorted(pid for pid, (kind, dbname) in seen.items()
                      if kind == 'client backend' and dbname == db)
    cluster = set(seen) | {postmaster_pid(b)}
    groups = collections.OrderedDict((
        ('dunningd', [p.pid]), ('backend', backends),
        ('cluster', sorted(cluster - set(backends))), ('sink', [sink.proc.pid])))
    cpu = collections.OrderedDict((g, sum(by_pid.get(x, ('', 0))[1] for x in pids))
                                  for g, pids in groups.items())
    cpu['idle'] = by_pid.get(0, ('', 0))[1]
    cpu['other'] = total - sum(cpu.values())

    n = float(sent)
    life_ms, calls_d = read_shim(shim_out)
    curl_ms = sum(ms for c, ms, k in calls_d if k == '(libcurl) curl_easy_perform')
    quit_ms = sum(ms for c, ms, k in calls_d if k == '(libcurl) curl_easy_cleanup')
    pq_ms = sum(ms for c, ms, k in calls_d if not k.startswith('(libcurl)'))
    prof = {
        'sent': sent, 'received': received, 'rc': p.returncode, 'wall': wall,
        'send_ms': float(m.group(2)), 'plan_ms': float(m.group(1)),
        'cpu_s': ru.ru_utime + ru.ru_stime, 'ref_rate': ref_rate,
        'life_ms': life_ms, 'pq_ms': pq_ms, 'curl_ms': curl_ms, 'quit_ms': quit_ms,
        'pq_calls': sum(c for c, ms, k in calls_d if not k.startswith('(libcurl)')),
        'own_ms': life_ms - pq_ms - curl_ms - quit_ms, 'calls_d': calls_d,
        'commits': d['xact_commit'], 'rollbacks': d['xact_rollback'], 'sessions': d['sessions'],
        'statements': calls, 'exec_ms': exec_ms, 'plan_pg_ms': plan_ms,
        'session_ms': d['session_time'], 'active_ms': d['active_time'],
        'idle_tx_ms': d['idle_in_transaction_time'],
        'wal_sync': d['wal_sync'], 'wal_sync_ms': d['wal_sync_time'],
        'wal_write': d['wal_write'], 'wal_write_ms': d['wal_write_time'],
        'wal_bytes': d['wal_bytes'], 'wal_records': d['wal_records'], 'wal_fpi': d['wal_fpi'],
        'top': top, 'cpu_samples': cpu, 'samples': total, 'backends': backends,
        'pids': {g: v for g, v in groups.items()}, 'path': PROFILE_SEND}
    prof['pq_rest_ms'] = (pq_ms - exec_ms - plan_ms - prof['wal_sync_ms'] -
                          prof['wal_write_ms'])
    prof['idle_ms'] = prof['session_ms'] - prof['active_ms'] - prof['idle_tx_ms']

    us = lambda v: v * 1000 / n     # ms over the run -> µs per message
    per_msg = prof['send_ms'] * 1000 / n
    L = ['Profile of one send of the batch by one daemon (bench/bench.py --parts send --profile): '
         '`dunningd --once -v --now %s`, %d reminders due, on a fresh copy of the sending '
         'template, to a fresh smtp-sink; `perf record -a -g -F %d` for the process\'s life; '
         'the daemon\'s calls to libpq and libcurl timed in the process (bench/timeshim.c, '
         'LD_PRELOAD); pg_stat_statements reset before it, pg_stat_database and pg_stat_wal '
         'read before and after; for this run only track_wal_io_timing and '
         'pg_stat_statements.track_planning on. %d sent, %d received at the sink, exit %d. '
         'Planning %.1f ms, sending %.1f ms (the daemon\'s log, -v): %.0f µs a message, %.0f '
         'msg/s under the profile; process %.2f s, CPU %.2f s (user + sys). The machine is '
         'shared: see "every other process" below.' % (
             at(SEND_DAY, '10:00'), BATCH, PERF_HZ, sent, received, p.returncode,
             prof['plan_ms'], prof['send_ms'], per_msg, n / (prof['send_ms'] / 1000), wall,
             prof['cpu_s']),
         '', '## Where the daemon\'s time goes, per message (totals / %d messages sent)' % sent,
         '']
    rows = [
        ('the process\'s life (timeshim; the log\'s sending phase: %.1f)' % per_msg,
         us(life_ms)),
        ('  waiting for PostgreSQL: libpq calls, %.2f a message (round trip, execution, '
         'commit)' % (prof['pq_calls'] / n), us(pq_ms)),
        ('    executing statements (pg_stat_statements total_exec_time)', us(exec_ms)),
        ('    planning them (total_plan_time)', us(plan_ms)),
        ('    WAL fsync, cluster-wide (pg_stat_wal wal_sync_time)', us(prof['wal_sync_ms'])),
        ('    WAL write, cluster-wide (wal_write_time)', us(prof['wal_write_ms'])),
        ('    the rest: round trips, parse/bind, commit work, waiting for a CPU',
         us(prof['pq_rest_ms'])),
        ('  waiting for the relay: curl_easy_perform (one message\'s SMTP transfer)',
         us(curl_ms)),
        ('  closing the relay\'s sessions: curl_easy_cleanup (QUIT)', us(quit_ms)),
        ('  the rest: the daemon\'s own work (claim bookkeeping, composing), start and exit',
         us(prof['own_ms'])),
        ('dunningd CPU, whole process (wait4 rusage)', prof['cpu_s'] * 1e6 / n)]
    if ref_rate:
        rows.append(('smtp-source, one connection, same sink: a whole message (measured '
                     'part)', 1e6 / ref_rate))
    for g, k in cpu.items():
        rows.append(('CPU (perf samples / %d Hz): %s' % (PERF_HZ, CPU_GROUPS[g]),
                     k * 1e6 / PERF_HZ / n))
    L += ['    %9.1f µs  %s' % (v, name) for name, v in rows]
    L += ['',
          '    %9.3f  statements (pg_stat_statements calls, top level: BEGIN, COMMIT and the '
          'audit chain\'s commit-time trigger statements included)' % (calls / n),
          '    %9.3f  transactions committed (pg_stat_database xact_commit), %.3f rolled back'
          % (prof['commits'] / n, prof['rollbacks'] / n),
          '    %9.3f  WAL fsyncs (pg_stat_wal wal_sync: durable commits waited for), %.1f µs '
          'each' % (prof['wal_sync'] / n, prof['wal_sync_ms'] * 1000 / max(1, prof['wal_sync'])),
          '    %9.3f  WAL writes; %.1f WAL records, %.0f bytes, %.3f full-page images' % (
              prof['wal_write'] / n, prof['wal_records'] / n, prof['wal_bytes'] / n,
              prof['wal_fpi'] / n),
          '', 'Its PostgreSQL session (pg_stat_database, µs a message): session_time %.1f, '
          'active_time %.1f, idle_in_transaction_time %.1f, the rest (idle) %.1f. PostgreSQL '
          '15 restarts the active clock at each protocol message of a statement (Bind, then '
          'Execute: pgstat_report_activity), so the time of a Bind — the planning of a custom '
          'plan — is counted nowhere and lands in "idle": read the daemon\'s side above '
          'instead.' % (us(prof['session_ms']), us(prof['active_ms']), us(prof['idle_tx_ms']),
                        us(prof['idle_ms'])),
          '', 'Sessions of the daemon in its database: %d; its backend(s): %s. Samples: %d '
          '(%.1f CPU-seconds over %d CPUs).' % (
              prof['sessions'], ', '.join(map(str, backends)) or 'not seen', total,
              total / PERF_HZ, os.cpu_count()),
          '', '## The daemon\'s calls by time (timeshim: the time the daemon waited for each)',
          '', '    calls/msg      calls        ms  µs/msg  µs/call  call']
    for c, ms, k in calls_d[:14]:
        L.append('    %9.3f %10d %9.1f %7.1f %8.1f  %s' % (c / n, c, ms, us(ms),
                                                       ms * 1000 / max(1, c), k[:150]))
    L += ['', '## Statements by total time (exec + plan), pg_stat_statements', '',
          '    calls/msg      calls   exec ms   plan ms  µs/call  statement']
    for c, r, e, pl, q in top:
        L.append('    %9.3f %10d %9.1f %9.1f %8.1f  %s' % (c / n, c, e, pl,
                                                        (e + pl) * 1000 / max(1, c), q))
    L += ['', '## The whole machine, by command, DSO and symbol (per cent of all samples, '
          'every process of the machine; ≥ 0.3 %)', '']
    L += perf_report(data, 'comm,dso,symbol', 0.3, rows=50, relative=False)
    L += ['', '## By process (per cent of all samples, ≥ 0.5 %)', '']
    L += perf_report(data, 'pid', 0.5, relative=False)
    for g in ('dunningd', 'backend', 'sink'):
        pids = ','.join(map(str, groups[g]))
        if not pids:
            continue
        # The filtering key is also a sort key (see backlog.py).
        L += ['', '## %s (--pid %s), by library' % (CPU_GROUPS[g], pids), '']
        L += perf_report(data, 'pid,dso', 1, '--pid', pids)
        L += ['', '## %s, by function (≥ 0.7 %% of its samples)' % CPU_GROUPS[g], '']
        L += perf_report(data, 'pid,dso,symbol', 0.7, '--pid', pids)
    with open(PROFILE_SEND, 'w', encoding='utf-8') as f:
        f.write('\n'.join(L) + '\n')
    os.unlink(data)
    say('   profile of one 1-daemon send written to %s: %.0f µs a message, %.2f commits and '
        '%.2f statements a message' % (PROFILE_SEND, per_msg, prof['commits'] / n, calls / n))
    return prof
