"""Partial legal aid (SPEC §2 rule 13, issue 18 item 1; loi n° 91-647
art. 35): a fee agreement under partial legal aid must reach the bâtonnier
within fifteen days of its signature, on pain of nullity.  The lawyer is
told on the day it is signed, five days before the last day and on the
last day while it is not filed; each once, none once filed.  Signed on
3 March 2026, its last day is 18 March (the day of the signature is not
counted).  And dunningctl agreement-signed / agreement-filed."""
import datetime as dt

import pytest

from harness import allow_simulated_clock, at

from lawyer_mails import alerts, digests

NBSP = '\u00a0'


def legal_aid_alerts(env):
    return env.sql("SELECT details->>'step', event_key FROM dunning.lawyer_alert "
                   "WHERE kind = 'legal_aid' ORDER BY id")


@pytest.fixture
def partial(env):
    lw = env.lawyer('Maître Claire Roux', 'claire.roux@cabinet.example')
    c = env.client('aj@client.example', kind='individual', first='Paul', last='Lenoir',
                   lawyer=lw)
    agr = env.agreement(c, clause=False, signed_on=None, legal_aid='partial',
                        matter_ref='AJ-2026-7')
    return env, agr


def test_signed_tells_the_lawyer_that_day_in_french(partial):
    """agreement_signed on 3 March: one alert that day, in French with
    its no-break spaces; more passes the same day and the next send
    nothing again."""
    env, agr = partial
    env.sql('SELECT dunning.agreement_signed(%s, %s)', (agr, '2026-03-03'),
            now=at('2026-03-03', '10:00'))
    assert [s for s, _ in legal_aid_alerts(env)] == ['signed']   # queued with the signature
    env.cycle(at('2026-03-03', '10:05'))
    env.cycle(at('2026-03-03', '11:00'))
    env.cycle(at('2026-03-04', '10:00'))
    (m,) = alerts(env)
    assert m.rcpt == 'claire.roux@cabinet.example'
    assert m.subject == ('Aide juridictionnelle partielle' + NBSP + ': convention à transmettre '
                         'au bâtonnier au plus tard le 18 mars 2026')
    assert ('Aide juridictionnelle partielle' + NBSP + ': la convention d\'honoraires de '
            'Paul Lenoir (dossier AJ-2026-7), signée le 3 mars 2026, doit être transmise au '
            'bâtonnier au plus tard le 18 mars 2026 (loi n' + '°' + NBSP + '91-647, art. 35), '
            'à peine de nullité.') in m.body.replace('\n', ' ')
    assert 'facture' not in m.body and 'dunningctl agreement-filed %d' % agr in m.body
    assert legal_aid_alerts(env) == [('signed', 'legal_aid:%d:signed' % agr)]


def test_signature_entered_by_the_firm_is_told_at_the_next_pass(partial):
    """signed_on written by the firm's software (not agreement_signed):
    the daemon's next pass that day tells it."""
    env, agr = partial
    env.sql('UPDATE dunning.fee_agreement SET signed_on = %s WHERE id = %s', ('2026-03-03', agr))
    env.cycle(at('2026-03-03', '10:00'))
    (m,) = alerts(env)
    assert 'signée le 3 mars 2026' in m.body
    assert [s for s, _ in legal_aid_alerts(env)] == ['signed']


def test_five_days_before_and_on_the_last_day(partial):
    """Not filed: D+9 nothing new; D+10 (13 March, five days before the
    last day) the reminder; D+14 nothing; D+15 (18 March) the last day's
    alert; after it, nothing again."""
    env, agr = partial
    env.sql('SELECT dunning.agreement_signed(%s, %s)', (agr, '2026-03-03'),
            now=at('2026-03-03', '10:00'))
    env.cycle(at('2026-03-03', '10:05'))
    env.cycle(at('2026-03-12', '10:00'))
    assert [s for s, _ in legal_aid_alerts(env)] == ['signed']
    env.cycle(at('2026-03-13', '10:00'))
    assert [s for s, _ in legal_aid_alerts(env)] == ['signed', 'soon']
    env.cycle(at('2026-03-17', '10:00'))
    env.cycle(at('2026-03-18', '10:00'))
    env.cycle(at('2026-03-19', '10:00'))
    env.cycle(at('2026-03-20', '10:00'))
    assert [s for s, _ in legal_aid_alerts(env)] == ['signed', 'soon', 'deadline']
    ms = alerts(env)
    assert len(ms) == 3, [m.subject for m in ms]
    soon, last = ms[1], ms[2]
    assert "n'est pas encore enregistrée comme transmise au bâtonnier" in soon.text
    assert 'au plus tard le 18 mars 2026' in soon.text
    assert "Aujourd'hui, 18 mars 2026, est le dernier jour" in last.text, last.text
    assert 'la convention est nulle' in last.text


def test_filed_before_the_reminder_tells_no_more(partial):
    env, agr = partial
    allow_simulated_clock(env)
    env.sql('SELECT dunning.agreement_signed(%s, %s)', (agr, '2026-03-03'),
            now=at('2026-03-03', '10:00'))
    env.cycle(at('2026-03-03', '10:05'))
    env.sql('SELECT dunning.agreement_filed(%s, %s)', (agr, '2026-03-09'),
            now=at('2026-03-09', '10:00'))
    for day in ('2026-03-13', '2026-03-18', '2026-03-19'):
        env.cycle(at(day, '10:00'))
    assert [s for s, _ in legal_aid_alerts(env)] == ['signed']
    assert len(alerts(env)) == 1


def test_an_agreement_not_under_partial_legal_aid_tells_nothing(env):
    c = env.client('plein@client.example')
    none = env.agreement(c, clause=True, signed_on=None)
    total = env.agreement(c, clause=False, signed_on=None, legal_aid='total')
    for a in (none, total):
        env.sql('SELECT dunning.agreement_signed(%s, %s)', (a, '2026-03-03'),
                now=at('2026-03-03', '10:00'))
    for day in ('2026-03-03', '2026-03-13', '2026-03-18'):
        env.cycle(at(day, '10:00'))
    assert legal_aid_alerts(env) == [] and alerts(env) == []


# ------------------------------------------------------------ dunningctl --

def refused(r, words):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr == 'dunningctl: %s\n' % words, r.stderr
    assert r.stdout == ''


def test_ctl_agreement_signed_and_filed(env):
    """A lawyer logged in as themselves records the signature and the
    filing of their client's agreement; another lawyer's agreement is
    refused with the words of an unknown id, and a bad date or id is a
    usage error; refusals change nothing."""
    ra = env.cluster.ensure_role('maitre_roux', 'dunning_lawyer')
    rb = env.cluster.ensure_role('maitre_blanc', 'dunning_lawyer')
    la = env.lawyer('Maître Claire Roux', 'claire.roux@cabinet.example', db_role=ra)
    lb = env.lawyer('Maître Jean Blanc', 'jean.blanc@cabinet.example', db_role=rb)
    ca = env.client('a@client.example', lawyer=la)
    cb = env.client('b@client.example', lawyer=lb)
    mine = env.agreement(ca, clause=False, signed_on=None, legal_aid='partial')
    theirs = env.agreement(cb, clause=False, signed_on=None, legal_aid='partial')
    # a lawyer's functions follow the real clock (no simulated clock here)
    today = env.one('SELECT dunning.today()')
    day, before_day = str(today), str(today - dt.timedelta(days=1))

    r = env.ctl('-U', ra, 'agreement-signed', str(mine), day, check=0)
    assert r.stdout == 'fee agreement %d: recorded as signed on %s\n' % (mine, day)
    assert str(env.one('SELECT signed_on FROM dunning.fee_agreement WHERE id = %s',
                       (mine,))) == day
    assert [s for s, _ in legal_aid_alerts(env)] == ['signed']

    before = env.sql('SELECT to_jsonb(a)::text FROM dunning.fee_agreement a ORDER BY id')
    audit = env.count('dunning.audit_log')
    refused(env.ctl('-U', ra, 'agreement-signed', str(theirs), day),
            'no fee agreement with id %d' % theirs)
    refused(env.ctl('-U', ra, 'agreement-signed', '999999', day),
            'no fee agreement with id 999999')
    refused(env.ctl('-U', ra, 'agreement-filed', str(theirs), day),
            'no fee agreement with id %d' % theirs)
    for bad in ('2026-02-30', '3/3/2026', 'hier'):
        r = env.ctl('-U', ra, 'agreement-signed', str(mine), bad)
        assert r.returncode == 2 and 'not a date' in r.stderr, r.stderr
    r = env.ctl('-U', ra, 'agreement-filed', 'x1', day)
    assert r.returncode == 2, r.stderr
    r = env.ctl('-U', ra, 'agreement-filed', str(mine))
    assert r.returncode == 2 and 'usage: dunningctl' in r.stderr
    refused(env.ctl('-U', ra, 'agreement-filed', str(mine), before_day),
            'fee agreement %d was signed on %s: it cannot be filed on %s'
            % (mine, day, before_day))
    assert env.sql('SELECT to_jsonb(a)::text FROM dunning.fee_agreement a ORDER BY id') == before
    assert env.count('dunning.audit_log') == audit

    r = env.ctl('-U', ra, 'agreement-filed', str(mine), day, check=0)
    assert r.stdout == ('fee agreement %d: recorded as filed with the bâtonnier on '
                        '%s\n' % (mine, day))
    assert str(env.one('SELECT batonnier_filed_on FROM dunning.fee_agreement WHERE id = %s',
                       (mine,))) == day
    h = env.ctl('agreement-signed', '--help', check=0)
    assert h.stdout.startswith('usage: dunningctl') and 'agreement-signed' in h.stdout


# ---------------------------------------------------------------- digest --

def test_the_digest_lists_the_agreement_while_it_is_not_filed(partial):
    """Signed on 3 March, not filed: the lawyer's digests of 4 and 19
    March list it (the latter as late); filed on 20 March, the digest of
    23 March no longer does.  A total legal-aid agreement is never listed."""
    env, agr = partial
    allow_simulated_clock(env)
    c = env.one('SELECT client_id FROM dunning.fee_agreement WHERE id = %s', (agr,))
    env.agreement(c, clause=False, signed_on='2026-03-02', legal_aid='total')
    env.sql('SELECT dunning.agreement_signed(%s, %s)', (agr, '2026-03-03'),
            now=at('2026-03-03', '10:00'))
    env.cycle(at('2026-03-04', '10:00'))
    env.cycle(at('2026-03-19', '10:00'))
    env.sql('SELECT dunning.agreement_filed(%s, %s)', (agr, '2026-03-20'),
            now=at('2026-03-20', '10:00'))
    env.cycle(at('2026-03-23', '10:00'))
    ds = {m.date.date().isoformat(): m for m in digests(env)}
    line = ('  - convention n°' + NBSP + '%d (dossier AJ-2026-7), Paul Lenoir' + NBSP
            + ': signée le 3 mars 2026, à transmettre au plus tard le 18 mars 2026') % agr
    assert 'Aide juridictionnelle partielle' + NBSP + ': conventions d\'honoraires à ' \
        'transmettre au bâtonnier (1)' + NBSP + ':' in ds['2026-03-04'].body
    assert line + '\n' in ds['2026-03-04'].body, ds['2026-03-04'].body
    assert line + NBSP + '; délai expiré\n' in ds['2026-03-19'].body, ds['2026-03-19'].body
    # filed: nothing left to tell, the digest of 23 March is empty (no mail)
    assert '2026-03-23' not in ds
    assert env.one("SELECT state FROM dunning.lawyer_digest WHERE day = '2026-03-23'") == 'empty'
    assert all(m.body.count('convention n°') == 1 for m in ds.values())
