"""Telling the lawyer (issue 4, item 3): the daily digest, over a
replayed month and line by line, against a real PostgreSQL and the SMTP
recorder."""
import re

from harness import at, days, instant, norm_spaces
from lawyer_mails import ALICE, digests, item_lines, lines


# ------------------------------------------------------- the daily digest --

SECTIONS = {
    'En attente de votre approbation': 'held',
    'Relances non délivrées': 'failed',
    'Envois incertains': 'in_doubt',
    'Dossiers sortis des relances automatiques': 'escalated',
    'Contestations ouvertes depuis 14 jours ou plus': 'disputed',
}


def digest_sections(m):
    """{section: [invoice numbers]} of a digest, its counts checked."""
    out, cur, count = {}, None, None
    for line in lines(m):
        h = re.match(r'^(.+) \((\d+)\) :$', line)
        if h:
            assert h.group(1) in SECTIONS, line
            cur, count = SECTIONS[h.group(1)], int(h.group(2))
            out[cur] = []
        elif line.startswith('  - ') and cur is not None:
            out[cur].append(re.search(r'facture n° (\S+?)[ ,]', line).group(1))
        elif cur is not None and count is not None:
            assert len(out[cur]) == count, (cur, out[cur], count)
            count = None
    return {k: sorted(v) for k, v in out.items()}


def expected_digest(day, who):
    """What the month's digest of WHO must list on DAY (see the test)."""
    d = day.isoformat()
    e = {}

    def add(section, number, first, last='2026-04-30'):
        if first <= d <= last:
            e.setdefault(section, []).append(number)

    if who == 'alice':
        add('held', 'H-1', '2026-04-01', '2026-04-07')      # j30, approved 8/4
        add('held', 'H-1', '2026-04-16')                     # j45
        add('held', 'S-1', '2026-04-09', '2026-04-09')       # j3, approved 10/4
        add('held', 'S-1', '2026-04-16')                     # j10
        add('failed', 'X-1', '2026-04-16', '2026-04-21')     # resent 22/4
        add('disputed', 'D-1', '2026-04-16', '2026-04-23')   # flagged 2/4, cleared 24/4
    else:
        add('held', 'E-1', '2026-04-09', '2026-04-09')       # j45, approved 10/4
        add('held', 'B-1', '2026-04-15')                     # j30
        add('in_doubt', 'K-1', '2026-04-20')
        add('escalated', 'E-1', '2026-04-27', '2026-04-27')  # escalated Saturday 25/4
    return {k: sorted(v) for k, v in e.items()}


def test_digest_over_a_replayed_month(make_env):
    """April 2026 replayed day by day, two cycles a day, for two lawyers:
    holds, approvals, a rejected address then resent, a dispute open more
    than 14 days then cleared, an in-doubt send, a formal notice and an
    escalation.  Each business day each lawyer gets at most one digest, only
    when there is something, listing exactly their own items; no digest on
    weekends or Easter Monday; the alerts arrive on their days."""
    env = make_env(reject='refuse@')
    bob = env.lawyer('Maître Bob Durand', 'bob.durand@cabinet.example')
    BOB = 'bob.durand@cabinet.example'
    h = env.client('hache@client.example', company='Société Hache')
    s = env.client('strat@client.example', company='Stratège SA', strategic=True)
    x = env.client('refuse@client.example', company='Refus SARL')
    dd = env.client('conteste@client.example', kind='individual', first='Marie', last='Dubois')
    e = env.client('escalade@client.example', company='Escalade SAS', lawyer=bob)
    b = env.client('bigb@client.example', company='Grosse Facture SA', lawyer=bob)
    k = env.client('doute@client.example', company='Doute SARL', lawyer=bob)
    env.invoice('H-1', h, '2026-03-02', amount='8000.00')
    env.invoice('S-1', s, '2026-04-06', amount='300.00')
    env.invoice('X-1', x, '2026-04-13', amount='450.00')
    env.invoice('D-1', dd, '2026-03-16', amount='1200.00')
    env.invoice('E-1', e, '2026-02-23', amount='600.00')
    env.invoice('B-1', b, '2026-03-16', amount='9000.00')
    env.invoice('K-1', k, '2026-04-13', amount='350.00')
    env.replay_on(['2026-02-26', '2026-03-05', '2026-03-12', '2026-03-19', '2026-03-25',
                   '2026-03-26'])
    before = len(env.lawyer_mails())

    def rid(number, stage):
        return env.reminders(number)[stage]['id']

    def sql_at(hhmm, day, q, *args):
        return lambda: env.sql(q, args, now=at(day, hhmm))

    events = {
        '2026-04-02': sql_at('08:00', '2026-04-02',
                             "SELECT dunning.flag_dispute('D-1', 'montant contesté')"),
        '2026-04-08': lambda: env.sql('SELECT dunning.approve(%s)', (rid('H-1', 'j30'),),
                                      now=at('2026-04-08', '08:00')),
        '2026-04-10': [lambda: env.sql('SELECT dunning.approve(%s)', (rid('S-1', 'j3'),),
                                       now=at('2026-04-10', '08:00')),
                       lambda: env.sql('SELECT dunning.approve(%s)', (rid('E-1', 'j45'),),
                                       now=at('2026-04-10', '08:00'))],
        # As if the connection had dropped after the data went out.
        '2026-04-20': lambda: env.sql("UPDATE dunning.reminder SET state = 'in_doubt', "
                                      "reason = 'no_answer_after_data', sent_at = NULL "
                                      "WHERE id = %s", (rid('K-1', 'j3'),)),
        '2026-04-22': [sql_at('08:00', '2026-04-22', "UPDATE dunning.client SET email = "
                              "'corrige@client.example' WHERE id = %s", x),
                       lambda: env.sql("SELECT dunning.resend(%s, 'adresse corrigée')",
                                       (rid('X-1', 'j3'),), now=at('2026-04-22', '08:00'))],
        '2026-04-24': sql_at('08:00', '2026-04-24',
                             "SELECT dunning.clear_dispute('D-1', 'accord trouvé')"),
    }
    seen = before
    got_alerts = []
    for day in days('2026-04-01', '2026-04-30'):
        fn = events.get(day.isoformat())
        for f in (fn if isinstance(fn, list) else [fn] if fn else []):
            f()
        env.cycle(at(day, '10:00'))
        env.cycle(at(day, '15:30'))
        new = env.lawyer_mails()[seen:]
        seen += len(new)
        business = day.weekday() < 5 and day.isoformat() != '2026-04-06'
        for who, addr in (('alice', ALICE), ('bob', BOB)):
            want = expected_digest(day, who)
            got = [m for m in new if m.rcpt == addr and '.digest.' in m.message_id]
            if not business or not want:
                assert got == [], (day, who, [m.body for m in got])
                continue
            assert len(got) == 1, (day, who, len(got))
            m = got[0]
            assert digest_sections(m) == want, (day, who, m.body)
            n = sum(len(v) for v in want.values())
            assert m.subject == ('Relances\u00a0: %d élément demande votre attention' % n if n == 1
                                 else 'Relances\u00a0: %d éléments demandent votre attention' % n)
            assert m.date == instant(day, '10:00')
            assert m.message_id == '<dunning-lawyer.digest.%d.%s@cabinet.example>' % (
                bob if who == 'bob' else env._default_lawyer(), day.strftime('%Y%m%d'))
        got_alerts += [(day.isoformat(), m.rcpt, m.subject) for m in new
                       if '.alert.' in m.message_id]
    assert got_alerts == [
        ('2026-04-08', ALICE, 'Dossier à surveiller\u00a0: facture n°\u00a0H-1'),
        ('2026-04-10', BOB, 'Passage en phase contentieuse\u00a0: facture n°\u00a0E-1'),
        ('2026-04-16', ALICE, 'Relance non délivrée\u00a0: facture n°\u00a0X-1'),
        ('2026-04-27', BOB, 'Fin des relances automatiques\u00a0: facture n°\u00a0E-1'),
        ('2026-04-29', ALICE, 'Dossier à surveiller\u00a0: facture n°\u00a0D-1'),
    ]
    # One (lawyer, day) row per business day and lawyer, whatever the count.
    assert env.count('dunning.lawyer_digest', "day BETWEEN '2026-04-01' AND '2026-04-30'") == 42
    assert env.count('dunning.audit_log', "action = 'digest_sent'") == \
        env.count('dunning.lawyer_digest', "state = 'sent'")
    env.verify_audit()


def test_digest_lines_say_what_and_why(make_env):
    """The exact lines of a digest: reminder number, stage, invoice, file
    reference, client, balance and why held; a dispute's age but not its
    reason; the disputes' age from escalation.dispute_reminder_days."""
    env = make_env(extra_conf='escalation { dispute_reminder_days = 3 }\n')
    c = env.client('gros@client.example', company='Gros Client SA')
    i = env.client('perso@client.example', kind='individual', first='Léa', last='Petit')
    env.invoice('G-1', c, '2026-03-02', amount='12345.67')
    env.invoice('P-1', i, '2026-03-02', amount='80.00', matter_ref=None)
    env.replay_on(['2026-03-05', '2026-03-12'])
    env.sql("SELECT dunning.flag_dispute('P-1', 'Détails privés du dossier de divorce')",
            now=at('2026-03-27', '17:00'))
    env.cycle(at('2026-03-30', '09:00'))        # Monday: the dispute is 3 days old
    env.cycle(at('2026-04-01', '09:05'))
    env.cycle(at('2026-04-01', '17:59'))
    ds = digests(env)
    assert [m.date for m in ds] == [instant('2026-03-30', '09:00'), instant('2026-04-01', '09:05')]
    m = ds[1]
    assert m.rcpt == ALICE
    assert m.subject == 'Relances\u00a0: 2 éléments demandent votre attention'
    rid = env.reminders('G-1')['j30']['id']
    text = norm_spaces(m.body)
    assert 'Voici le point du mercredi 1er avril 2026 sur les relances' in text
    assert item_lines(m) == [
        '- relance n° %d, étape j30 : facture n° G-1 (dossier D-G-1), Gros Client SA, '
        'reste dû 12 345,67 € ; montant égal ou supérieur au seuil d\'approbation' % rid,
        '- facture n° P-1, Léa Petit, reste dû 80,00 € ; contestée depuis le 27 mars 2026 '
        '(5 jours)',
    ]
    assert 'Contestations ouvertes depuis 3 jours ou plus (1) :' in text
    assert 'divorce' not in m.raw and 'privés' not in text
    assert ds[0].subject == 'Relances\u00a0: 1 élément demande votre attention'


def test_a_dispute_one_day_old_reads_in_the_singular(make_env):
    """« (1 jour) », not « (1 jours) »: a count of days agrees with its
    number in the digest (the disputes' age, the days before prescription)."""
    env = make_env(extra_conf='escalation { dispute_reminder_days = 1 }\n')
    i = env.client('un@client.example', kind='individual', first='Léa', last='Petit')
    env.invoice('U-1', i, '2026-03-02', amount='80.00', matter_ref=None)
    env.replay_on(['2026-03-05'])
    env.sql("SELECT dunning.flag_dispute('U-1', 'motif')", now=at('2026-03-31', '08:00'))
    env.cycle(at('2026-04-01', '09:05'))
    (m,) = digests(env)
    assert item_lines(m) == [
        '- facture n° U-1, Léa Petit, reste dû 80,00 € ; contestée depuis le 31 mars 2026 '
        '(1 jour)']
