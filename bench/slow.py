"""The slow-relay part of bench/bench.py (issue 16): "a dispute or a
payment settled in at most 1 s, worst of 50, behind a relay taking 300 ms
per message".

1, 2 and 4 daemons (dunningd as a service, `--now`, like the latency
part) send a batch of due j3 reminders through the tests' relay
(tests/lib/smtp_recorder.py, aiosmtpd) answering each end of DATA after
50 ms, then after 300 ms.  While they send, the billing software's
dispute (an UPDATE of the invoice) lands on a message among the next to
leave, alternately one only claimed (still 'planned', under a lease: the
dispute waits for nothing, the planner woken by NOTIFY cancels it) and
the one being handed ('sending': the UPDATE waits for that one send, on
the invoice's send lock).  Each trial is timed until the reminder is
settled; then the relay's records and the audit log are checked: no
message of a disputed invoice reached the relay after the dispute took
hold, and no Message-ID twice.
"""
import collections
import math
import os
import random
import threading
import time

from rig import SEND_DAY, SLOW_POLL, TRIALS, med
from harness import SmtpRecorder, at
from host import load_avg, say
from planning import plan_pass
from running import Stamped, wait_first_sent
from sending import audit_history, load_batch

DELAYS = (0.05, 0.3)        # the relay's answer to each end of DATA, s
SCALE = (1, 2, 4)           # daemons on the database
TIMEOUT_S = 10              # a trial not settled by then is a timeout
POLL_S = 0.002
GAP_S = 0.05                # between two trials, at least; then up to one message more

# The reminder a trial disputes: the next to leave among the claimed ones
# (the lowest id still planned under a lease), or the one being handed.
PICK_SQL = {
    'claimed': "SELECT r.id, i.number, c.email FROM dunning.reminder r "
               "JOIN dunning.invoice i ON i.id = r.invoice_id "
               "JOIN dunning.client c ON c.id = i.client_id "
               "WHERE r.state = 'planned' AND r.lease_until IS NOT NULL "
               "  AND i.disputed_at IS NULL ORDER BY r.id LIMIT 1",
    'sending': "SELECT r.id, i.number, c.email FROM dunning.reminder r "
               "JOIN dunning.invoice i ON i.id = r.invoice_id "
               "JOIN dunning.client c ON c.id = i.client_id "
               "WHERE r.state = 'sending' AND i.disputed_at IS NULL ORDER BY r.id LIMIT 1",
}
CASES = ('claimed', 'sending')

# The billing software's statement; RETURNING reads the server's clock
# once the row is written, i.e. after the BEFORE trigger (sql/007,
# base/send_lock.sql) got the invoice's send lock, before the commit:
# from then on no sender can mark the invoice 'sending' (its try-lock
# fails, then its re-check sees the dispute).  statement_timestamp() is
# when the server began it: the difference is the wait for the lock.
DISPUTE_SQL = ("UPDATE dunning.invoice SET disputed_at = %s, dispute_reason = %s "
               "WHERE number = %s RETURNING extract(epoch FROM clock_timestamp()), "
               "extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000")


def batch_size(delay, k):
    """Reminders enough for the 50 trials to end inside the sending, with
    room: k daemons each send about one message per (DELAY + 10 ms); the
    trials last about TRIALS × (DELAY + 0.15 s) (a pick, half a message
    on average, the pause between two), after some 5 s of start; twice
    that.  The daemons are stopped once the trials are done."""
    rate = k / (delay + 0.01)
    return int(math.ceil(2 * rate * (TRIALS * (delay + 0.15) + 5) / 100.0)) * 100


def make_slow_template(b):
    """The migrated schema and a year of audit log, as the sending part's
    template has; each run adds its own batch."""
    db = b.clone(b.cluster.template, 'slow_tpl')
    audit_history(b, db)
    return db


def trial(w, o, case, now):
    """One dispute on a reminder of CASE: a dict, or None when no reminder
    of that case came within TIMEOUT_S (the batch ran out)."""
    end = time.monotonic() + TIMEOUT_S
    while True:
        o.execute(PICK_SQL[case])
        row = o.fetchone()
        if row:
            break
        if time.monotonic() > end:
            return None
        time.sleep(POLL_S)
    rid, number, email = row
    box = {}

    def dispute():
        with w.cursor() as c:
            box['wall0'] = time.time()
            box['t0'] = time.monotonic()
            c.execute(DISPUTE_SQL, (now, 'honoraires contestés', number))
            box['returned'] = time.monotonic()
            box['lock_at'], box['lock_wait_ms'] = (float(x) for x in c.fetchone())

    th = threading.Thread(target=dispute, daemon=True)
    th.start()
    while 't0' not in box:
        time.sleep(0.0001)
    state = settled = None
    while True:
        o.execute('SELECT state FROM dunning.reminder WHERE id = %s', (rid,))
        state = o.fetchone()[0]
        if 'returned' in box and state in ('cancelled', 'sent', 'failed', 'in_doubt'):
            settled = max(time.monotonic(), box['returned'])
            break
        if time.monotonic() - box['t0'] > TIMEOUT_S:
            break
        time.sleep(POLL_S)
    th.join(120)
    if th.is_alive():
        raise RuntimeError('the dispute on %s did not return in 120 s' % number)
    return {'case': case, 'rid': rid, 'number': number, 'email': email, 'state': state,
            'ms': (settled - box['t0']) * 1000 if settled else None,
            'update_ms': (box['returned'] - box['t0']) * 1000,
            'lock_wait_ms': box['lock_wait_ms'], 'lock_at': box['lock_at'],
            'wall0': box['wall0']}


def slow_run(b, tpl, delay, k):
    db = b.clone(tpl)
    n = batch_size(delay, k)
    load_batch(b, db, n, 0)
    work = os.path.join(b.work, 'slow-%d-%d' % (int(delay * 1000), k))
    os.makedirs(work)
    relay = SmtpRecorder(work).start()
    relay.faults(delay={'eom': delay})
    conf = b.config(db, relay.port, 'slow-%d-%d' % (int(delay * 1000), k), SLOW_POLL)
    now = at(SEND_DAY, '10:00')
    plan_pass(conf, now)            # the bookmarks moved, as the send template's
    w = b.connect(db)
    o = b.connect(db)
    with w.cursor() as c:
        c.execute("SELECT set_config('dunning.now', %s, false)", (now,))
    oc = o.cursor()
    # The pause between two trials, drawn (seeded): the next dispute meets
    # a message at any point of its handing, not in step with the sends.
    rng = random.Random(int(delay * 1000) * 10 + k)
    load0 = load_avg()
    ds = [Stamped(conf, now) for _ in range(k)]
    trials = []
    try:
        wait_first_sent(oc, 60)
        t_first = time.monotonic()
        oc.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent'")
        sent0 = oc.fetchone()[0]
        for i in range(TRIALS):
            t = trial(w, oc, CASES[i % 2], now)
            if t is None:
                say('   no %s reminder left after %d trials' % (CASES[i % 2], len(trials)))
                break
            trials.append(t)
            time.sleep(rng.uniform(GAP_S, GAP_S + delay + 0.05))
        t_trials = time.monotonic() - t_first
        oc.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent'")
        sent1 = oc.fetchone()[0]
    finally:
        # One SIGTERM each, all at once (a second one makes dunningd exit
        # at once, a message in flight left in doubt): each finishes the
        # send in flight and releases the rest of its claim.
        for d in ds:
            if d.proc.poll() is None:
                d.proc.terminate()
        rcs = []
        for d in ds:
            rcs.append(d.proc.wait(120))
            d.th.join(10)
        relay.stop()
    res = check(b, db, relay, trials)
    w.close()
    o.close()
    b.cluster.admin('DROP DATABASE %s WITH (FORCE)' % db)
    res.update({'delay': delay, 'k': k, 'batch': n, 'trials': trials, 'rc': rcs,
                't_trials': t_trials, 'sent_trials': sent1 - sent0, 'sent_first': sent0,
                'load': load0})
    for case in CASES:
        res[case] = stats([t for t in trials if t['case'] == case])
    res['all'] = stats(trials)
    # A claimed message the sender marked 'sending' between the pick and
    # the UPDATE: that dispute waited for its send.
    res['claimed_cancelled'] = stats([t for t in trials if t['case'] == 'claimed' and
                                      t['state'] == 'cancelled'])
    res['claimed_sent'] = len([t for t in trials if t['case'] == 'claimed' and
                               t['state'] == 'sent'])
    a = res['all']
    say('   relay %3.0f ms, %d daemon(s), batch %d: %d trials, median %.1f ms, worst %.1f ms, '
        '%d timeouts; claimed: median %.1f, worst %.1f (%d sent first); sending: median '
        '%.1f, worst %.1f; %d sent during the trials (%.1f s); %d after a dispute, %d '
        'Message-IDs twice; exit %s' % (
            delay * 1000, k, n, a['n'], a['median'] or 0, a['worst'] or 0, a['timeouts'],
            res['claimed']['median'] or 0, res['claimed']['worst'] or 0, res['claimed_sent'],
            res['sending']['median'] or 0, res['sending']['worst'] or 0, res['sent_trials'],
            t_trials, len(res['after_dispute']), res['dup_ids'], rcs))
    return res


def stats(trials):
    ok = [t['ms'] for t in trials if t['ms'] is not None]
    up = [t['update_ms'] for t in trials]
    return {'n': len(trials), 'median': med(ok) if ok else None,
            'worst': max(ok) if ok else None,
            'timeouts': len([t for t in trials if t['ms'] is None]),
            'update_median': med(up) if up else None, 'update_worst': max(up) if up else None}


def check(b, db, relay, trials):
    """What reached the relay against the trials and the database: each
    Message-ID at most once, the relay's set the database's 'sent' set, and
    no message of a disputed invoice accepted by the relay after its
    dispute took hold (the relay's received_at, taken right before its 250,
    against the UPDATE's clock_timestamp() once it held the send lock: both
    the host's real-time clock); the audit rows of each disputed
    reminder."""
    recs = [r for r in relay.records()
            if not (r['message_id'] or '').startswith('<dunning-lawyer.')]
    ids = collections.Counter(r['message_id'] for r in recs)
    by_rcpt = collections.defaultdict(list)
    for r in recs:
        for rcpt in r['rcpt_tos']:
            by_rcpt[rcpt].append(r)
    db_sent = set(x[0] for x in b.sql(db, "SELECT message_id FROM dunning.reminder "
                                          "WHERE state = 'sent'"))
    left = dict(b.sql(db, "SELECT state, count(*) FROM dunning.reminder "
                          "WHERE state IN ('sending', 'in_doubt') GROUP BY state"))
    audit = collections.defaultdict(list)
    rids = [t['rid'] for t in trials]
    for rid, action, aid in b.sql(db, "SELECT reminder_id, action, id FROM dunning.audit_log "
                                      "WHERE reminder_id = ANY(%s) ORDER BY id", (rids,)):
        audit[rid].append((action, aid))
    after, already, bad = [], 0, []
    for t in trials:
        got = by_rcpt.get(t['email'], [])
        acts = [a for a, _ in audit[t['rid']]]
        t['relay'] = [r['received_at'] for r in got]
        t['audit'] = acts
        if any(r['received_at'] >= t['lock_at'] for r in got):
            after.append(t['number'])
        if t['state'] == 'sent':
            already += any(r['received_at'] < t['wall0'] for r in got)
            if not (len(got) == 1 and acts.count('sending') == 1 and acts.count('sent') == 1):
                bad.append(t['number'])
        elif t['state'] == 'cancelled':
            if got or 'sending' in acts or 'cancelled' not in acts:
                bad.append(t['number'])
        else:
            bad.append(t['number'])
    return {'received': len(recs), 'distinct': len(ids),
            'dup_ids': len([i for i, c in ids.items() if c > 1]),
            'same_set': set(ids) == db_sent, 'db_sent': len(db_sent), 'left': left,
            'after_dispute': after, 'answered_before': already, 'bad': bad}


def part_slow(b, delays=DELAYS, scale=SCALE):
    tpl = make_slow_template(b)
    say('== slow relay: %s' % ', '.join('%d daemon(s) at %.0f ms: %d reminders' % (
        k, d * 1000, batch_size(d, k)) for d in delays for k in scale))
    return [slow_run(b, tpl, d, k) for d in delays for k in scale]
