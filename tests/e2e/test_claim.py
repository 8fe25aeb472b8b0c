"""The sender's claim (SPEC §2 rules 2, 3 and 8, §3.5): one transaction
claims up to smtp.messages_per_session messages, each a client's due
reminders of one stage and currency, locks their invoices (passing by
those another transaction holds), re-checks the policy under the locks,
marks the survivors 'sending'; the session then carries them and each
outcome is recorded once."""
import collections
import re
import subprocess

import psycopg2
import pytest

from harness import DUNNINGD, at, wait_until

DAY = '2026-03-05'              # a Thursday: j3 of the invoices due on 2 March
DUE = '2026-03-02'
DOMAIN = 'cabinet.example'      # of the harness's smtp.from


def grouped_message_id(rem_ids, stage):
    """The Message-ID of a message carrying several reminders, REM_IDS in
    the order of their invoices: <dunning.FIRST-N.STAGE.HASH@domain>, HASH
    the low 32 bits of the 64-bit FNV-1a of the ids' little-endian bytes."""
    h = 14695981039346656037
    for rid in rem_ids:
        for b in range(8):
            h ^= (rid >> (8 * b)) & 0xff
            h = (h * 1099511628211) & 0xffffffffffffffff
    return '<dunning.%d-%d.%s.%08x@%s>' % (rem_ids[0], len(rem_ids), stage, h & 0xffffffff,
                                          DOMAIN)


def single_message_id(rem_id, stage):
    return '<dunning.%d.%s@%s>' % (rem_id, stage, DOMAIN)


def messages_per_connection(env):
    """The number of messages the relay took on each connection, in the
    order of the connections."""
    per = collections.Counter(e['conn'] for e in env.smtp.events() if e['event'] == 'eom')
    return [per[c] for c in sorted(per)]


def audit_per_reminder(env, action):
    return collections.Counter(a['reminder_id'] for a in env.audit(action))


def sent_count(stderr):
    """The 'N sent' of the cycle line a `dunningd --once` logged."""
    m = re.search(r'cycle \S+: .*?; (\d+) sent,', stderr)
    assert m, stderr
    return int(m.group(1))


def assert_sent_once(env, numbers):
    """Each reminder of NUMBERS sent, with one 'sending' and one 'sent'
    audit row, and its Message-ID received once by the relay."""
    mails = env.mails()
    ids = collections.Counter(m.message_id for m in mails)
    sending = audit_per_reminder(env, 'sending')
    sent = audit_per_reminder(env, 'sent')
    for number in numbers:
        r = env.reminders(number)['j3']
        assert r['state'] == 'sent', (number, r)
        assert r['attempts'] == 1, (number, r)
        assert ids[r['message_id']] == 1, (number, r['message_id'], ids)
        assert sending[r['id']] == 1 and sent[r['id']] == 1, (number, sending, sent)


# ------------------------------------------------ several groups at once --

def test_one_pass_claims_several_clients_groups_and_currencies(make_env):
    """Seven messages due, three per session: client A's two EUR invoices
    leave in one message (both numbers, the grouped Message-ID), client B's
    EUR and USD invoices in two messages, four other clients one each;
    every reminder once, audited 'sending' then 'sent', over three SMTP
    sessions of 3, 3 and 1 messages."""
    env = make_env(smtp_conf='messages_per_session = 3\n',
                   extra_conf='approval {\n  threshold "EUR" { amount = 5000 }\n'
                              '  threshold "USD" { amount = 5000 }\n}\n')
    a = env.client('alpha@client.example')
    a1 = env.invoice('A-1', a, DUE, amount='100.00')
    a2 = env.invoice('A-2', a, DUE, amount='250.00')
    b = env.client('bravo@client.example')
    env.invoice('B-EUR', b, DUE, amount='300.00')
    env.invoice('B-USD', b, DUE, amount='400.00', currency='USD')
    solo = ['S-%d' % i for i in range(4)]
    for i, number in enumerate(solo):
        env.invoice(number, env.client('solo%d@client.example' % i), DUE)
    every = ['A-1', 'A-2', 'B-EUR', 'B-USD'] + solo

    r = env.cycle(at(DAY, '10:00'))
    assert sent_count(r.stderr) == 7, r.stderr

    assert env.lawyer_mails() == []
    mails = env.mails()
    assert len(mails) == 7, mails
    assert len({m.message_id for m in mails}) == 7
    assert_sent_once(env, every)

    # A: one message carrying both invoices, the grouped Message-ID.
    (ma,) = [m for m in mails if m.rcpt == 'alpha@client.example']
    ra1, ra2 = env.reminders('A-1')['j3'], env.reminders('A-2')['j3']
    ordered = [rem['id'] for _, rem in sorted([(a1, ra1), (a2, ra2)])]
    expected = grouped_message_id(ordered, 'j3')
    assert ra1['message_id'] == ra2['message_id'] == ma.message_id == expected
    assert 'A-1' in ma.text and 'A-2' in ma.text
    assert env.stage_of(ma.message_id) == ('j3', ['A-1', 'A-2'])

    # B: one message per currency, each naming its own invoice only.
    mb = sorted((m for m in mails if m.rcpt == 'bravo@client.example'),
                key=lambda m: 'B-USD' in m.text)
    assert len(mb) == 2, mb
    assert 'B-EUR' in mb[0].text and 'B-USD' not in mb[0].text
    assert 'B-USD' in mb[1].text and 'B-EUR' not in mb[1].text
    for m, number in zip(mb, ('B-EUR', 'B-USD')):
        rem = env.reminders(number)['j3']
        assert m.message_id == rem['message_id'] == single_message_id(rem['id'], 'j3')

    # The others: one message each, to their own client.
    for i, number in enumerate(solo):
        rem = env.reminders(number)['j3']
        (m,) = [m for m in mails if m.message_id == rem['message_id']]
        assert m.rcpt == 'solo%d@client.example' % i
        assert m.message_id == single_message_id(rem['id'], 'j3')

    # ceil(7 / 3) sessions: 3, 3, then 1.
    assert messages_per_connection(env) == [3, 3, 1]

    # A second pass the same day sends nothing more.
    env.cycle(at(DAY, '10:30'))
    assert len(env.mails()) == 7
    assert env.count('dunning.audit_log', "action = 'sending'") == 8
    env.verify_audit()


# -------------------------------------- an invoice held by someone else --

@pytest.mark.parametrize('hold', ['row_lock', 'send_lock'])
def test_invoice_locked_during_the_claim_is_passed_by_then_leaves_once(make_env, hold):
    """Another transaction holds invoice X (its row FOR UPDATE, or its
    send lock as a payment or a dispute takes it) during the pass: the
    claim does not wait for it, every other message leaves and X's reminder
    stays planned, untouched.  Released, the next pass sends X once and
    nothing else again."""
    env = make_env(smtp_conf='messages_per_session = 3\n')
    numbers = ['L-%d' % i for i in range(6)]
    ids = {}
    for i, number in enumerate(numbers):
        ids[number] = env.invoice(number, env.client('lock%d@client.example' % i), DUE)
    x = 'L-2'
    # Planned first: the --once pass's planning has nothing to change on X
    # (planning would wait for a row lock; only the claim is under test).
    env.daemon('--plan-only', now=at(DAY, '10:00'), check=0)
    planned = env.reminders(x)['j3']
    assert planned['state'] == 'planned'

    holder = env.connect(autocommit=False)
    try:
        cur = holder.cursor()
        if hold == 'row_lock':
            cur.execute('SELECT id FROM dunning.invoice WHERE number = %s FOR UPDATE', (x,))
        else:
            cur.execute('SELECT dunning.lock_invoice(%s)', (ids[x],))
        r = env.daemon('--once', now=at(DAY, '10:00'), check=0, timeout=30)
        assert sent_count(r.stderr) == 5, r.stderr
        rx = env.reminders(x)['j3']
        assert rx['state'] == 'planned', rx
        assert rx['attempts'] == 0 and rx['message_id'] is None and rx['sent_at'] is None, rx
        assert rx['scheduled_for'] == planned['scheduled_for']
        assert env.audit('sending', x) == [] and env.audit('sent', x) == []
        others = [n for n in numbers if n != x]
        assert_sent_once(env, others)
        assert sorted(m.rcpt for m in env.mails()) == sorted(
            'lock%d@client.example' % i for i, n in enumerate(numbers) if n != x)
        assert all(n <= 3 for n in messages_per_connection(env))
    finally:
        holder.rollback()
        holder.close()

    r = env.daemon('--once', now=at(DAY, '10:05'), check=0, timeout=30)
    assert sent_count(r.stderr) == 1, r.stderr
    mails = env.mails()
    assert len(mails) == 6
    assert [m.rcpt for m in mails].count('lock2@client.example') == 1
    assert_sent_once(env, numbers)
    assert env.count('dunning.audit_log', "action = 'sending'") == 6
    env.verify_audit()


# ------------------------------------- a payment between plan and claim --

def test_payment_after_planning_is_caught_by_the_claims_recheck(make_env):
    """A-1 is paid in full after the pass's planning read it and before
    the claim: the claim, reading the balance under its locks, cancels A-1's
    reminder (reason paid) and A's message leaves with A-2 alone; the other
    messages of the batch leave."""
    env = make_env(smtp_conf='messages_per_session = 3\n')
    a = env.client('alpha@client.example')
    env.invoice('A-1', a, DUE, amount='100.00')
    env.invoice('A-2', a, DUE, amount='250.00')
    env.invoice('C-1', env.client('charlie@client.example'), DUE)
    env.invoice('D-1', env.client('delta@client.example'), DUE)
    env.daemon('--plan-only', now=at(DAY, '09:30'), check=0)
    assert {r['number']: r['state'] for r in env.reminders()} == {
        'A-1': 'planned', 'A-2': 'planned', 'C-1': 'planned', 'D-1': 'planned'}

    # Y, not planned yet, is what the pass's planning must write.  The
    # planning passes by an invoice someone else holds (SKIP LOCKED), but
    # its commit seals its audit rows under the audit chain's head: holding
    # the head stops the pass at the end of its planning, after it read
    # every invoice's facts (A-1 still unpaid then), before the claim.  The
    # head is taken once the daemon's own start row is written: the
    # daemon is first held where its cycle publishes its settings (before
    # it reads anything): the time zone recorded differs from its
    # configuration's, and a transaction holds the settings' row.  A-1 is
    # paid in the transaction that holds the head.
    env.invoice('Y-1', env.client('yankee@client.example'), DUE)
    settings = env.connect(autocommit=False)
    holder = env.connect(autocommit=False)
    proc = None

    def waiting(query):
        # The daemon's session waiting for a lock, at QUERY.
        rows = env.sql("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid NOT IN (%s, %s) AND wait_event_type = 'Lock'",
                       (settings.get_backend_pid(), holder.get_backend_pid()))
        return any(query in r[0] for r in rows)

    env.sql("UPDATE dunning.setting SET value = 'UTC' WHERE key = 'timezone'")
    try:
        settings.cursor().execute("SELECT 1 FROM dunning.setting FOR UPDATE")
        proc = subprocess.Popen([DUNNINGD, '-c', env.config, '--once', '--now',
                                 at(DAY, '10:00')], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        wait_until('the cycle waiting to publish its settings',
                   lambda: waiting('UPDATE dunning.setting'))
        cur = holder.cursor()
        cur.execute("SELECT 1 FROM dunning.audit_head FOR UPDATE")
        settings.rollback()
        wait_until('the planning pass waiting for the audit head',
                   lambda: waiting('COMMIT'))
        assert proc.poll() is None
        cur.execute("SET dunning.now = '2026-03-05 09:45+01'")
        cur.execute("INSERT INTO dunning.payment (invoice_id, amount, received_at) "
                    "SELECT id, 100.00, '2026-03-05 09:45+01' FROM dunning.invoice "
                    "WHERE number = 'A-1'")
        assert env.reminders('A-1')['j3']['state'] == 'planned'    # nothing cancelled yet
        holder.commit()
        _, err = proc.communicate(timeout=30)
    finally:
        for c in (settings, holder):
            if c.status != psycopg2.extensions.STATUS_READY:
                c.rollback()
            c.close()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert sent_count(err) == 4, err

    r1 = env.reminders('A-1')['j3']
    assert r1['state'] == 'cancelled' and r1['reason'] == 'paid', r1
    assert r1['sent_at'] is None and r1['attempts'] == 0, r1
    (c,) = env.audit('cancelled', 'A-1')
    assert c['actor'] == env.daemon_actor and c['details'].get('reason') == 'paid', c
    assert env.audit('sending', 'A-1') == []
    # The claim's re-check did it, not the planning.
    assert 'invoice A-1: not sent at claim: paid' in err, err

    mails = env.mails()
    assert len(mails) == 4, mails
    (ma,) = [m for m in mails if m.rcpt == 'alpha@client.example']
    r2 = env.reminders('A-2')['j3']
    assert ma.message_id == r2['message_id'] == single_message_id(r2['id'], 'j3')
    assert 'A-2' in ma.text and 'A-1' not in ma.text
    assert_sent_once(env, ['A-2', 'C-1', 'D-1', 'Y-1'])
    assert messages_per_connection(env) == [3, 1]

    env.cycle(at(DAY, '11:00'))
    assert len(env.mails()) == 4
    assert env.reminders('A-1')['j3']['state'] == 'cancelled'
    env.verify_audit()


# ------------------------------------------- two daemons, small sessions --

def test_two_daemons_with_small_sessions_send_each_message_once(make_env):
    """Two `dunningd --once` at once on the same 30 due messages (some
    grouping two invoices), four messages per session: every Message-ID
    reaches the relay once, every reminder is claimed once and sent once,
    and no session carries more than four messages."""
    env = make_env(smtp_conf='messages_per_session = 4\n')
    numbers = []
    for i in range(30):
        c = env.client('duo%02d@client.example' % i)
        env.invoice('T-%02d' % i, c, DUE)
        numbers.append('T-%02d' % i)
        if i % 5 == 0:
            env.invoice('T-%02db' % i, c, DUE)
            numbers.append('T-%02db' % i)
    env.daemon('--plan-only', now=at(DAY, '10:00'), check=0)
    assert env.count('dunning.reminder', "state = 'planned'") == 36
    # A relay slow enough for the two daemons' sessions to overlap.
    env.smtp.faults(delay={'eom': 0.03})
    argv = [DUNNINGD, '-c', env.config, '--once', '--now', at(DAY, '10:00')]
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    errs = []
    try:
        for p in procs:
            _, err = p.communicate(timeout=60)
            errs.append(err)
            assert p.returncode == 0, err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate(timeout=30)
    assert sum(sent_count(e) for e in errs) == 30, errs

    mails = env.mails()
    ids = [m.message_id for m in mails]
    assert len(ids) == len(set(ids)) == 30, 'a Message-ID arrived twice'
    rows = env.reminders()
    assert len(rows) == 36 and {r['state'] for r in rows} == {'sent'}, rows
    assert {r['message_id'] for r in rows} == set(ids)
    assert_sent_once(env, numbers)
    for i in range(0, 30, 5):
        a, b = env.reminders('T-%02d' % i)['j3'], env.reminders('T-%02db' % i)['j3']
        assert a['message_id'] == b['message_id'], (a, b)
    per = messages_per_connection(env)
    assert sum(per) == 30 and max(per) <= 4, per
    assert env.count('dunning.audit_log', "action = 'sent'") == 36
    env.verify_audit()
