"""The sending part of bench/bench.py: a batch of due reminders sent by
1, 2, 4... daemons to Postfix's smtp-sink, between runs of smtp-source, the
reference, sending the same message to the same sink; the database of
that batch (make_send_template) and the sink serve the latency part too."""
import os
import re
import subprocess
import threading
import time

from rig import AUDIT_HISTORY, BATCH, SEND_DAY, SMTP_SINK, SMTP_SOURCE, TRIALS, run_daemon
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


def part_send(b, tpl, scale):
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
    return res
