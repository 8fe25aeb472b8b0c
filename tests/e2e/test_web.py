"""The clients' self-service page (issue 19, SPEC §2 rule 12, §3.3
dunningweb): the link of a real mail opened over HTTP, a problem reported,
the invoice stopped at once and the lawyer told without the client's
words; every link that does not work gets the same page and changes
nothing; bad input refused with a clear page; per-address limits."""
import json
import os
import re

import psycopg2
import pytest

from harness import allow_simulated_clock, at
from harness.paths import DUNNINGWEB

from web_rig import KEY, OLD_KEY, WEB_LOGIN, Web, csrf_of, link_in, sign

pytestmark = pytest.mark.skipif(not DUNNINGWEB, reason='DUNNINGWEB not set (meson test sets it)')

SECRET_TEXT = 'Mon comptable a viré la somme le 3 mars, référence VIR-ZX81Q'
J3 = at('2026-03-05')
J10 = at('2026-03-12')


@pytest.fixture
def world(make_env):
    """A client with one invoice due 2 March 2026, its j3 mail sent with the
    page's link, and dunningweb running at the same day."""
    env = make_env(firm_conf='  mediator = "Médiateur de la consommation des avocats"\n'
                             '  iban = "FR76 3000 6000 0112 3456 7890 189"\n')
    web = Web(env, now=at('2026-03-05', '12:00'))
    client = env.client('paul@client.example', kind='individual', last='Lefèvre', first='Paul')
    inv = env.invoice('F-2026-0100', client, '2026-03-02', amount='1500.00',
                      matter_ref='SUCCESSION-DUPONT',
                      payment_url='https://paiement.cabinet.example/p/F-2026-0100')
    env.cycle(J3)
    mails = [m for m in env.new_mails() if m.rcpt == 'paul@client.example']
    assert len(mails) == 1, mails
    base, token = link_in(mails[0].body)
    assert base == web.base
    web.start()
    yield env, web, client, inv, token
    web.stop()


def test_page_shows_the_link_invoices_only(world):
    env, web, client, inv, token = world
    other = env.invoice('F-2026-0999', client, '2026-03-20', amount='77.00')
    status, page = web.get(token)
    assert status == 200, page
    assert 'F-2026-0100' in page and 'Cabinet Test' in page
    assert '1\u202f500,00\u00a0€' in page, 'the balance, in French'
    assert 'https://paiement.cabinet.example/p/F-2026-0100' in page
    assert 'FR76 3000 6000 0112 3456 7890 189' in page
    assert 'SUCCESSION' not in page, 'a file reference on the page'
    assert 'F-2026-0999' not in page and other
    assert '<script' not in page.lower()
    assert 'name="category"' in page and 'maxlength="2000"' in page
    # j3: pay and report, no plan.
    assert 'id="plan"' not in page


def french_spacing_faults(page):
    """The text of PAGE (tags left out) where a plain space stands before
    « : ; ? ! » », after « « » or after « n° »."""
    text = re.sub(r'<[^>]*>', '', page)
    return re.findall(r'.{0,20}(?:\S [:;?!»]|« |n° ).{0,5}', text)


def test_french_pages_have_their_no_break_spaces(world):
    """The pages say what the mails say with the same French typography
    (lib/typo.c): « Par virement : », « Catégorie : » with U+00A0."""
    env, web, client, inv, token = world
    status, page = web.get(token)
    assert status == 200, page
    assert french_spacing_faults(page) == []
    assert 'virement\u00a0:' in page
    status, done = web.post(token, {'csrf': csrf_of(page), 'category': 'hardship',
                                    'message': 'Mes difficultés : passagères ?'})
    assert status == 200, done
    assert french_spacing_faults(done) == []


def test_report_stops_the_invoice_and_tells_the_lawyer(world):
    env, web, client, inv, token = world
    status, page = web.get(token)
    status, done = web.post(token, {'csrf': csrf_of(page), 'category': 'already_paid',
                                    'message': SECRET_TEXT})
    assert status == 200, done
    assert 'bien été reçu' in done and 'Médiateur de la consommation' in done
    rid, msg, state = env.one('SELECT id, message, state FROM dunning.client_report '
                              'WHERE client_id = %s', (client,))
    assert msg == SECRET_TEXT and state == 'open'
    # Audited with the client as actor, without the text.
    rows = env.sql("SELECT actor, details::text FROM dunning.audit_log "
                   "WHERE action = 'client_report'")
    assert rows == [('client:%d' % client, rows[0][1])], rows
    assert SECRET_TEXT not in rows[0][1]
    assert env.one("SELECT count(*) FROM dunning.lawyer_alert WHERE kind = 'client_report'") == 1
    # A replayed POST changes nothing twice.
    status, again = web.post(token, {'csrf': csrf_of(page), 'category': 'other',
                                     'message': 'encore'})
    assert status == 200 and 'déjà reçu' in again, again
    assert env.count('dunning.client_report') == 1
    # The j10 day: the client gets no reminder, only the acknowledgement
    # of the report (once, naming the mediator to an individual), and the
    # lawyer got the alert, which names the category and never the
    # client's words.
    env.cycle(J10)
    env.cycle(at('2026-03-12', '11:00'))
    new = [m for m in env.new_mails() if m.rcpt == 'paul@client.example']
    assert [m.subject for m in new] == ['Accusé de réception de votre signalement '
                                        '(F-2026-0100)'], new
    assert 'Médiateur de la consommation' in new[0].text and 'déjà réglé' in new[0].text
    assert new[0].reply_to == 'alice.martin@cabinet.example'
    assert env.one('SELECT state FROM dunning.client_ack WHERE report_id = %s', (rid,)) == 'sent'

    alerts = [m for m in env.lawyer_mails() if 'Problème signalé' in (m.subject or '')]
    assert len(alerts) == 1, [m.subject for m in env.lawyer_mails()]
    assert 'déjà payé' in alerts[0].text and 'F-2026-0100' in alerts[0].text
    for m in env.all_mails():
        assert 'VIR-ZX81Q' not in m.raw, 'the client text in a mail'
    # dunningctl reports shows the text; report-handle resume starts again.
    r = env.ctl('reports', check=0)
    assert 'VIR-ZX81Q' in r.stdout and 'already_paid' in r.stdout, r.stdout
    env.ctl('report-handle', str(rid), 'resume', '--note', 'paiement non reçu', check=0)
    assert env.one('SELECT state FROM dunning.client_report WHERE id = %s', (rid,)) == 'handled'
    env.cycle(at('2026-03-13'))
    assert [m for m in env.new_mails() if m.rcpt == 'paul@client.example']
    env.verify_audit()


def gone_page(web):
    status, page = web.get(sign(999999, [999999]))
    assert status == 410
    return page


def test_links_that_do_not_work_get_the_same_page(world):
    env, web, client, inv, token = world
    other = env.client('autre@client.example')
    other_inv = env.invoice('F-2026-0200', other, '2026-03-02')
    same = gone_page(web)
    assert 'plus valable' in same and 'no longer valid' in same
    altered = token[:-1] + ('A' if token[-1] != 'A' else 'B')
    cases = {
        'altered': altered,
        'expired': sign(client, [inv], expires=1772000000),      # 25 February 2026
        'foreign client': sign(other, [inv]),
        'another client invoice': sign(client, [other_inv]),
        'revoked key': sign(client, [inv], key=OLD_KEY),
        'not a token': 'hello',
    }
    before = env.count('dunning.audit_log')
    for n, (what, t) in enumerate(cases.items()):
        addr = '198.51.100.%d' % n
        status, page = web.get(t, forwarded_for=addr)
        assert (status, page) == (410, same), what
        status, page = web.post(t, {'csrf': 'x' * 43, 'category': 'other', 'message': 'x'},
                                forwarded_for=addr)
        assert (status, page) == (410, same), what
    assert env.count('dunning.client_report') == 0
    assert env.count('dunning.audit_log') == before
    # Paid: the link stops working.
    env.pay('F-2026-0100', '1500.00', at('2026-03-05', '11:00'))
    assert web.get(token) == (410, same)


def test_bad_input_is_refused_and_changes_nothing(world):
    env, web, client, inv, token = world
    status, page = web.get(token)
    csrf = csrf_of(page)
    good = {'csrf': csrf, 'category': 'hardship', 'message': 'ok'}
    cases = [
        ('no csrf', dict(good, csrf=None), 400, 'expiré'),
        ('bad csrf', dict(good, csrf='A' * 43), 400, 'expiré'),
        ('csrf of another link', dict(good, csrf=csrf_of(web.get(sign(client, [inv], rights=7))[1])),
         400, 'expiré'),
        ('no category', dict(good, category=None), 400, 'Choisissez'),
        ('unknown category', dict(good, category='refund'), 400, 'Choisissez'),
        ('2001 characters', dict(good, message='é' * 2001), 413, '2 000'),
    ]
    for what, fields, want, words in cases:
        fields = {k: v for k, v in fields.items() if v is not None}
        status, text = web.post(token, fields, forwarded_for='198.51.100.%d' % len(what))
        assert status == want and words in text, (what, status, text)
    raw = [
        ('bad UTF-8', 'csrf=%s&category=other&message=%%C3%%28' % csrf, 400, 'caractères'),
        ('a control character', 'csrf=%s&category=other&message=a%%00b' % csrf, 400,
         'caractères'),
        ('a bad escape', 'csrf=%s&category=other&message=%%G1' % csrf, 400, 'formulaire'),
        ('a name twice', 'csrf=%s&category=other&category=hardship' % csrf, 400, 'formulaire'),
        ('oversize', 'csrf=%s&category=other&message=%s' % (csrf, 'a' * 40000), 413, 'trop long'),
    ]
    for what, body, want, words in raw:
        status, text = web.post(token, raw=body, forwarded_for='192.0.2.%d' % len(what))
        assert status == want and words in text, (what, status, text)
    status, text = web.post(token, raw='csrf=%s&category=other' % csrf,
                            content_type='text/plain', forwarded_for='192.0.2.200')
    assert status == 400, text
    assert env.count('dunning.client_report') == 0
    assert env.one("SELECT count(*) FROM dunning.audit_log WHERE action = 'client_report'") == 0


def test_rate_limit_per_address(world):
    env, web, client, inv, token = world
    codes = [web.get(token, forwarded_for='203.0.113.7')[0] for _ in range(31)]
    assert codes[:30] == [200] * 30 and codes[30] == 429, codes
    # Another address is not held back; a forged header in front of the
    # proxy's own address counts as the proxy's last entry.
    assert web.get(token, forwarded_for='203.0.113.8')[0] == 200
    assert web.get(token, forwarded_for='10.9.9.9, 203.0.113.7')[0] == 429
    status, page = web.get(token, forwarded_for='203.0.113.9')
    posts = [web.post(token, {'csrf': csrf_of(page), 'category': 'x'},
                      forwarded_for='203.0.113.9')[0] for _ in range(6)]
    assert posts == [400] * 5 + [429], posts


def test_web_role_reads_no_table(world):
    env, web, client, inv, token = world
    conn = psycopg2.connect(env.cluster.conninfo(env.dbname, WEB_LOGIN))
    conn.autocommit = True
    try:
        for q in ('SELECT * FROM dunning.invoice', 'SELECT * FROM dunning.client_report',
                  'SELECT * FROM dunning.client', "SELECT dunning.flag_dispute('F-2026-0100', 'x')",
                  "SELECT dunning.handle_report(1, 'resume', 'x')"):
            with conn.cursor() as cur, pytest.raises(psycopg2.Error):
                cur.execute(q)
    finally:
        conn.close()


def test_refuses_to_start_without_base_url_or_key(make_env):
    env = make_env()
    web = Web(env, now=at('2026-03-05'))
    env.write_config(extra_conf=env.extra_conf.replace('base_url = "%s"' % web.base,
                                                       'base_url = ""'))
    r = env.run(DUNNINGWEB)
    assert r.returncode != 0 and 'base_url is empty' in r.stderr, r.stderr
    web2 = Web(make_env(), now=at('2026-03-05'))
    os.remove(web2.secret)
    r = web2.env.run(DUNNINGWEB)
    assert r.returncode != 0 and 'web_secret' in r.stderr, r.stderr
    # The daemon too refuses a base_url it cannot sign links for.
    r = web2.env.cycle(J3, check=None)
    assert r.returncode != 0 and 'web_secret' in r.stderr, r.stderr


def test_rotation_two_keys(make_env):
    """The file holds the current key, then the previous one: links of both
    work; the mails are signed with the first."""
    env = make_env()
    web = Web(env, now=at('2026-03-05', '12:00'), keys=(OLD_KEY, KEY))
    client = env.client('r@client.example')
    inv = env.invoice('F-2026-0300', client, '2026-03-02')
    web.start()
    try:
        assert web.get(sign(client, [inv], key=KEY))[0] == 200
        assert web.get(sign(client, [inv], key=OLD_KEY))[0] == 200
    finally:
        web.stop()





def test_digest_names_who_did_not_answer_j10_within_48_business_hours(make_env):
    """Rule 12: j10 leaves on Thursday 12 March 2026; 48 business hours
    later is Monday 16 March: that day's digest lists the client who has
    neither paid nor reported (once), not the one who reported nor the one
    who paid."""
    env = make_env()
    Web(env, now=at('2026-03-12'))             # base_url and key: links in the mails
    silent = env.client('silent@client.example')
    told = env.client('told@client.example')
    payer = env.client('payer@client.example')
    planner = env.client('planner@client.example')
    inv = {c: env.invoice('F-NA-%d' % c, c, '2026-03-02', amount='300.00')
           for c in (silent, told, payer, planner)}
    allow_simulated_clock(env)
    for day in ('2026-03-05', '2026-03-12'):
        env.cycle(at(day))
    conn = psycopg2.connect(env.cluster.conninfo(env.dbname, WEB_LOGIN))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT dunning.web_report(%s, %s, 'hardship', '')", (told, [inv[told]]))
        # A plan proposed (whatever becomes of it) is an answer.
        cur.execute("SET dunning.now = '2026-03-13T10:00:00+01:00'")
        cur.execute("SELECT dunning.web_plan(%s, %s, 2, '2026-03-20')", (planner, [inv[planner]]))
    conn.close()
    env.pay('F-NA-%d' % payer, '300.00', at('2026-03-13', '09:00'))
    for day in ('2026-03-13', '2026-03-16', '2026-03-17'):
        env.cycle(at(day))
    digests = {m.date.date().isoformat(): m.text for m in env.lawyer_mails()
               if '.digest.' in m.message_id}
    line = 'Sans réponse 48 heures ouvrées'
    assert line not in digests.get('2026-03-13', ''), digests.get('2026-03-13')
    assert line in digests['2026-03-16'], digests['2026-03-16']
    assert 'F-NA-%d' % silent in digests['2026-03-16'].split(line)[1]
    assert 'F-NA-%d' % told not in digests['2026-03-16'].split(line)[1]
    assert 'F-NA-%d' % payer not in digests['2026-03-16'].split(line)[1]
    assert 'F-NA-%d' % planner not in digests['2026-03-16'].split(line)[1]
    assert line not in digests.get('2026-03-17', '')


def test_a_lawyer_reads_and_handles_their_own_clients_reports_only(make_env):
    """Row-level security on client_report: the other lawyer's client's
    report is neither listed nor handled (it reads as unknown)."""
    env = make_env()
    ra = env.cluster.ensure_role('web_lawyer_a', 'dunning_lawyer')
    rb = env.cluster.ensure_role('web_lawyer_b', 'dunning_lawyer')
    la = env.lawyer('Maître A', 'a@cabinet.example', db_role=ra)
    lb = env.lawyer('Maître B', 'b@cabinet.example', db_role=rb)
    ca = env.client('ca@client.example', lawyer=la)
    env.client('cb@client.example', lawyer=lb)
    inv = env.invoice('F-RLS-1', ca, '2026-03-02')
    env.cluster.ensure_role(WEB_LOGIN, 'dunning_web')
    conn = psycopg2.connect(env.cluster.conninfo(env.dbname, WEB_LOGIN))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT dunning.web_report(%s, %s, 'other', 'texte de A')", (ca, [inv]))
        rid = cur.fetchone()[0]
    conn.close()
    assert 'texte de A' in env.ctl('-U', ra, 'reports', check=0).stdout
    theirs = env.ctl('-U', rb, 'reports', '--json', check=0).stdout
    assert json.loads(theirs) == []
    r = env.ctl('-U', rb, 'report-handle', str(rid), 'resume', check=1)
    assert 'no client report with id %d' % rid in r.stderr, r.stderr
    env.ctl('-U', ra, 'report-handle', str(rid), 'resume', '--note', 'vu', check=0)
    assert env.one('SELECT handled_by FROM dunning.client_report') == ra


# Payment plans from the page (issue 19 item 1/3, rules 11-12): the links
# of j10 and j30 carry the plan right.

PLAN_DAY = at('2026-03-12', '12:00')


@pytest.fixture
def j10(make_env):
    """Two clients each with one invoice due 2 March 2026 (899,99 €: under
    the etc/dunningd.conf plan.auto_accept_max of 1 500 €; 2 000 €: above),
    their j3 and j10 mails sent with the page's link, dunningweb running on
    the j10 day; replays allowed for the web login (its SQL reads the same
    day)."""
    env = make_env(firm_conf='  mediator = "Médiateur de la consommation des avocats"\n')
    web = Web(env, now=PLAN_DAY)
    allow_simulated_clock(env)
    small = env.client('petit@client.example', kind='individual', last='Petit', first='Léa')
    big = env.client('grand@client.example', kind='professional', last='Grand SARL')
    inv = {small: env.invoice('F-2026-0500', small, '2026-03-02', amount='899.99',
                              matter_ref='DOSSIER-SECRET'),
           big: env.invoice('F-2026-0600', big, '2026-03-02', amount='2000.00')}
    env.cycle(J3)
    env.cycle(J10)
    links = {}
    sent = env.new_mails()
    for c, rcpt in ((small, 'petit@client.example'), (big, 'grand@client.example')):
        mails = [m for m in sent if m.rcpt == rcpt]
        assert len(mails) == 2, mails
        links[c] = link_in(mails[-1].body)[1]
    web.start()
    yield env, web, small, big, inv, links
    web.stop()


def plan_choices(page):
    """{instalments: [amounts as shown]} of the page's plan form."""
    out = {}
    for n, text in re.findall(r'name="instalments" value="(\d+)"[^>]*> \d+ échéances\u00a0: '
                              r'([^<]*)</label>', page):
        out[int(n)] = re.split(r', | puis ', text)
    return out


def cents(shown):
    return int(shown.replace('\u00a0€', '').replace('\u202f', '').replace(',', ''))


def test_plan_from_a_j10_link_accepted_suspends_the_invoice(j10):
    env, web, small, big, inv, links = j10
    token = links[small]
    status, page = web.get(token)
    assert status == 200, page
    assert 'action="/r/%s/plan"' % token in page
    assert 'min="2026-03-12" max="2026-04-11"' in page and 'aaaa-mm-jj' in page
    shown = plan_choices(page)
    assert shown == {2: ['449,99\u00a0€', '450,00\u00a0€'],
                     3: ['299,99\u00a0€', '299,99\u00a0€', '300,01\u00a0€']}, shown
    assert 'DOSSIER-SECRET' not in page
    before = env.count('dunning.audit_log')
    status, done = web.post(token, {'csrf': csrf_of(page), 'instalments': '3',
                                    'first_due': ' 2026-04-11 '}, action='plan')
    assert status == 200, done
    assert 'Votre échéancier est accepté' in done and '300,01\u00a0€' in done, done
    assert 'Médiateur de la consommation' in done
    pid, state, by = env.one("SELECT id, state, proposed_by FROM dunning.payment_plan")
    assert (state, by) == ('active', 'client')
    recorded = env.sql('SELECT amount FROM dunning.plan_instalment WHERE plan_id = %s '
                       'ORDER BY seq', (pid,))
    assert [int(a * 100) for (a,) in recorded] == [cents(x) for x in shown[3]]
    assert [str(d) for (d,) in env.sql('SELECT due_on FROM dunning.plan_instalment '
                                       'ORDER BY seq')] == ['2026-04-11', '2026-05-11',
                                                            '2026-06-11']
    actors = env.sql("SELECT DISTINCT actor FROM dunning.audit_log "
                     "WHERE action IN ('plan_proposed', 'plan_accepted')")
    assert actors == [('client:%d' % small,)], actors
    # A replayed POST changes nothing.
    after = env.count('dunning.audit_log')
    assert after > before
    status, again = web.post(token, {'csrf': csrf_of(page), 'instalments': '2',
                                      'first_due': '2026-03-20'}, action='plan')
    assert status == 200 and 'déjà enregistré' in again and '300,01' in again, again
    assert env.count('dunning.payment_plan') == 1 and env.count('dunning.audit_log') == after
    # The page now shows the plan, no second form.
    status, page = web.get(token)
    assert 'action="/r/%s/plan"' % token not in page and 'est accepté' in page
    # The acknowledgement leaves through the daemon's outbox, once, with
    # the schedule, the mediator named to an individual.
    env.cycle(at('2026-03-12', '13:00'))
    acks = [m for m in env.new_mails() if m.rcpt == 'petit@client.example']
    assert [m.subject for m in acks] == ["Votre proposition d'échéancier (F-2026-0500)"], acks
    assert '300,01' in acks[0].text and '11 avril 2026' in acks[0].text
    assert 'Médiateur de la consommation' in acks[0].text and 'accepté' in acks[0].text
    assert 'DOSSIER-SECRET' not in acks[0].raw
    assert env.one('SELECT state FROM dunning.plan_ack WHERE plan_id = %s', (pid,)) == 'sent'
    # The escalation is suspended: no j30 on 1 April (first instalment on 11 April).
    env.cycle(at('2026-04-01'))
    env.cycle(at('2026-04-02'))
    assert [m.subject for m in env.new_mails() if m.rcpt == 'petit@client.example'] == []
    assert env.one("SELECT count(*) FROM dunning.reminder WHERE invoice_id = %s "
                   "AND stage = 'j30' AND state = 'sent'", (inv[small],)) == 0
    env.verify_audit()


def test_plan_above_the_threshold_waits_for_the_lawyer(j10):
    env, web, small, big, inv, links = j10
    token = links[big]
    status, page = web.get(token)
    assert plan_choices(page)[3] == ['666,66\u00a0€', '666,66\u00a0€', '666,68\u00a0€']
    status, done = web.post(token, {'csrf': csrf_of(page), 'instalments': '2',
                                    'first_due': '2026-03-31'}, action='plan')
    assert status == 200, done
    assert "soumise à l'accord du cabinet" in done and '1\u202f000,00\u00a0€' in done, done
    assert env.one('SELECT state FROM dunning.payment_plan') == 'proposed'
    assert env.one("SELECT count(*) FROM dunning.lawyer_alert WHERE kind = 'plan_proposed'") == 1
    status, again = web.post(token, {'csrf': csrf_of(page), 'instalments': '2',
                                     'first_due': '2026-03-31'}, action='plan')
    assert 'déjà enregistré' in again and env.count('dunning.payment_plan') == 1


def test_bad_plan_input_is_refused_and_changes_nothing(j10):
    env, web, small, big, inv, links = j10
    token = links[small]
    status, page = web.get(token)
    good = {'csrf': csrf_of(page), 'instalments': '2', 'first_due': '2026-03-20'}
    before = env.count('dunning.audit_log')
    cases = [
        ('no csrf', dict(good, csrf=None), 'expiré'),
        ('bad csrf', dict(good, csrf='A' * 43), 'expiré'),
        ('one instalment', dict(good, instalments='1'), 'entre 2 et 3'),
        ('four instalments', dict(good, instalments='4'), 'entre 2 et 3'),
        ('not a number', dict(good, instalments='deux'), 'entre 2 et 3'),
        ('no count', dict(good, instalments=None), 'entre 2 et 3'),
        ('yesterday', dict(good, first_due='2026-03-11'), 'aaaa-mm-jj'),
        ('31 days ahead', dict(good, first_due='2026-04-12'), 'aaaa-mm-jj'),
        ('French order', dict(good, first_due='20/03/2026'), 'aaaa-mm-jj'),
        ('not a day', dict(good, first_due='2026-02-30'), 'aaaa-mm-jj'),
        ('no date', dict(good, first_due=None), 'aaaa-mm-jj'),
    ]
    for what, fields, words in cases:
        fields = {k: v for k, v in fields.items() if v is not None}
        status, text = web.post(token, fields, action='plan',
                                forwarded_for='198.51.100.%d' % len(what))
        assert status == 400 and words in text and 'Rien n\'a été modifié' in text, \
            (what, status, text)
    assert env.count('dunning.payment_plan') == 0
    assert env.count('dunning.audit_log') == before
    # The SQL function refuses the same, whoever calls it.
    conn = psycopg2.connect(env.cluster.conninfo(env.dbname, WEB_LOGIN))
    conn.autocommit = True
    try:
        for n, day in ((4, '2026-03-20'), (2, '2026-04-12'), (2, '2026-03-11')):
            with conn.cursor() as cur, pytest.raises(psycopg2.Error):
                cur.execute("SET dunning.now = '2026-03-12T12:00:00+01:00'")
                cur.execute('SELECT dunning.web_plan(%s, %s, %s, %s)',
                            (small, [inv[small]], n, day))
        with conn.cursor() as cur, pytest.raises(psycopg2.Error):
            cur.execute("SELECT dunning.plan_propose_for(%s, %s, 2, '2026-03-20', '', 'client')",
                        (small, [inv[small]]))
    finally:
        conn.close()
    assert env.count('dunning.payment_plan') == 0


def test_a_j3_link_has_no_plan_right(world):
    env, web, client, inv, token = world
    status, page = web.get(token)
    assert 'id="plan"' not in page
    before = env.count('dunning.audit_log')
    status, text = web.post(token, {'csrf': csrf_of(page), 'instalments': '2',
                                    'first_due': '2026-03-20'}, action='plan')
    assert (status, text) == (410, gone_page(web))
    assert env.count('dunning.payment_plan') == 0 and env.count('dunning.audit_log') == before


def test_a_report_handled_as_plan_needs_a_plan(j10):
    env, web, small, big, inv, links = j10
    token = links[small]
    status, page = web.get(token)
    web.post(token, {'csrf': csrf_of(page), 'category': 'hardship', 'message': ''})
    rid = env.one('SELECT id FROM dunning.client_report')
    r = env.ctl('report-handle', str(rid), 'plan', check=1)
    assert 'no proposed or active payment plan names invoice "F-2026-0500"' in r.stderr, r.stderr
    assert env.one('SELECT state FROM dunning.client_report') == 'open'
    status, done = web.post(token, {'csrf': csrf_of(page), 'instalments': '2',
                                    'first_due': '2026-03-20'}, action='plan')
    assert status == 200, done
    env.ctl('report-handle', str(rid), 'plan', check=0)
    assert env.one('SELECT outcome FROM dunning.client_report') == 'plan'
