"""Concurrent commits of the audit log (issue 15, SPEC §2 rule 10): eight
lawyers, each logged in as their own role on their own connection, write
audit rows through their functions (dunning.pause_invoice,
dunning.pause_client) in transactions of 1 to 50 rows, round after round;
a barrier before COMMIT makes the eight commits of a round start together,
so that they overlap.  Some transactions are rolled back, by ROLLBACK or by
an error half-way.  Meanwhile a reader samples the log again and again and
`dunningctl audit verify` runs in a loop.

Through the public interfaces only (the functions, the table's columns,
`dunningctl audit verify`): the reader never sees a row without its hash
or its chain_seq, nor a hole in the chain; every verify during the run
and after it says OK; chain_seq is exactly 1..count(*); each committed
transaction's rows are there once, consecutive in the chain (one
commit, one place in the order), and a rolled-back one left nothing."""
import random
import threading
import time

import psycopg2
import psycopg2.errors

from harness import Worker, audit_watchers

WRITERS = 8
ROUNDS = 40
MAX_ROWS = 50
DEADLINE = 120          # seconds for the whole run; statements give up after 30


def lawyers(env):
    """WRITERS lawyers, each with a login role, a client and three
    invoices: [(role, client id, [invoice numbers])]."""
    out = []
    for w in range(WRITERS):
        role = env.cluster.ensure_role('chain_maitre_%d' % w, 'dunning_lawyer')
        lid = env.lawyer('Maître %d' % w, 'm%d@cabinet.example' % w, db_role=role)
        c = env.client('chain%d@client.example' % w, lawyer=lid)
        numbers = ['CC-%d-%d' % (w, k) for k in range(3)]
        for n in numbers:
            env.invoice(n, c, '2026-03-02')
        out.append((role, c, numbers))
    return out


def test_overlapping_commits_of_lawyers_make_one_verified_chain(env):
    who = lawyers(env)
    start = threading.Barrier(WRITERS, timeout=DEADLINE)
    commit = threading.Barrier(WRITERS, timeout=DEADLINE)
    running = threading.Event()
    running.set()
    lock = threading.Lock()
    committed = {}          # marker of a transaction -> its rows' markers, in order
    undone = set()          # markers of rows written by rolled-back transactions
    commits = []            # (round, start, end) of each COMMIT

    def writer(w):
        role, client, numbers = who[w]
        rnd = random.Random(1000 + w)
        conn = env.connect(user=role, autocommit=False)
        try:
            with conn.cursor() as cur:
                cur.execute('SET statement_timeout = 30000')
            conn.commit()
            for r in range(ROUNDS):
                start.wait()
                size = rnd.randint(1, MAX_ROWS)
                fate = rnd.choices(['commit', 'rollback', 'error'], [6, 1, 1])[0]
                tx = 'w%d-r%d' % (w, r)
                rows = []
                failed = False
                with conn.cursor() as cur:
                    for j in range(size):
                        marker = '%s-n%d' % (tx, j)
                        if fate == 'error' and j == size // 2:
                            # A pause in the past: refused, the transaction aborted.
                            marker += '-refused'
                            try:
                                cur.execute('SELECT dunning.pause_invoice(%s, %s, %s)',
                                            (numbers[0], '2000-01-01', marker))
                            except psycopg2.errors.InvalidParameterValue:
                                failed = True
                            rows.append(marker)
                            break
                        until = '2099-12-31' if j % 2 == 0 else None
                        if j % 5 == 4:
                            cur.execute('SELECT dunning.pause_client(%s, %s, %s)',
                                        (client, until, marker))
                        else:
                            cur.execute('SELECT dunning.pause_invoice(%s, %s, %s)',
                                        (numbers[j % len(numbers)], until, marker))
                        rows.append(marker)
                commit.wait()
                t0 = time.monotonic()
                if fate == 'commit':
                    conn.commit()
                else:
                    assert fate == 'rollback' or failed, (tx, fate)
                    conn.rollback()
                t1 = time.monotonic()
                with lock:
                    if fate == 'commit':
                        committed[tx] = rows
                        commits.append((r, t0, t1))
                    else:
                        undone.update(rows)
        except BaseException:
            start.abort()
            commit.abort()
            raise
        finally:
            conn.close()

    samples = {}

    began = time.monotonic()
    side = audit_watchers(env, running, samples)
    writers = [Worker(lambda w=w: writer(w)) for w in range(WRITERS)]
    try:
        for t in writers:
            t.outcome(DEADLINE)
    finally:
        running.clear()
    for t in side:
        t.outcome(DEADLINE)
    took = time.monotonic() - began

    # The run did what it meant: overlapping commits, rollbacks, samples.
    rounds_overlapping = 0
    for r in range(ROUNDS):
        spans = sorted((t0, t1) for rr, t0, t1 in commits if rr == r)
        rounds_overlapping += any(b[0] < a[1] for a, b in zip(spans, spans[1:]))
    assert rounds_overlapping > 0, 'no two commits ever overlapped'
    assert undone and committed
    assert samples['nonempty'] > 0 and samples['verify'] > 0, samples

    # The pause reasons are audit texts (021), read back beside their hashes.
    rows = env.sql("SELECT chain_seq, dunning.audit_details(id, details)->>'reason' "
                   "FROM dunning.audit_log ORDER BY chain_seq")
    n = sum(len(v) for v in committed.values())
    assert len(rows) == n
    assert [r[0] for r in rows] == list(range(1, n + 1))
    where = {marker: seq for seq, marker in rows}
    assert len(where) == n, 'a row written twice'
    assert not undone & set(where), sorted(undone & set(where))[:5]
    for tx, markers in committed.items():
        seqs = [where[m] for m in markers]
        assert sorted(seqs) == list(range(min(seqs), min(seqs) + len(seqs))), (tx, seqs)
    r = env.verify_audit()
    assert '%d rows' % n in r.stdout, r.stdout
    print('%d writers x %d rounds: %d rows in %d committed transactions, %d rows rolled back; '
          '%d rounds with overlapping commits; %d reads, %d verifies during the run; %.1f s'
          % (WRITERS, ROUNDS, n, len(committed), len(undone), rounds_overlapping,
             samples['reads'], samples['verify'], took))
