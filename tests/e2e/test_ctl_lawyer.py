"""dunningctl's lawyer commands (SPEC §3.3, issue 4 item 2): dispute,
clear-dispute, approve, reject, pause, pending, history, preview and
letter-sent; their exit statuses and printed words, what they change, and
what a lawyer logged in as themselves (-U) may see and do."""
import json
import re

import pytest

from harness import allow_simulated_clock, at, norm_spaces


def held_j30(env, number, client, amount='8000.00'):
    """An invoice due 2026-03-02 over the approval threshold, replayed to
    its j30 (held on 2026-04-01); the held reminder's row."""
    env.invoice(number, client, '2026-03-02', amount=amount)
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    rem = env.reminders(number)['j30']
    assert rem['state'] == 'held', rem
    return rem


def refused(r, words):
    """Exit 1 with 'dunningctl: WORDS' (the server's message) on stderr."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith('dunningctl: ') and words in r.stderr, r.stderr
    assert r.stdout == ''


def usage(r, command):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert ('usage: dunningctl' in r.stderr and command in r.stderr) or 'not a' in r.stderr


# ------------------------------------------------------------- help ----

def test_help_lists_every_command_and_each_command_has_its_usage(env):
    r = env.ctl('--help', check=0)
    commands = ['pending', 'approve', 'reject', 'dispute', 'clear-dispute', 'pause',
                'history', 'preview', 'letter-sent', 'status', 'migrate', 'plan',
                'audit', 'in-doubt', 'resend', 'mark-sent', 'export-client', 'purge']
    for c in commands:
        assert re.search(r'^  %s\b' % re.escape(c), r.stdout, re.M), c
        h = env.ctl(c, '--help', check=0)
        assert h.stdout.startswith('usage: dunningctl') and ' %s' % c in h.stdout, h.stdout
    r = env.ctl('frobnicate')
    assert r.returncode == 2 and 'frobnicate: unknown command' in r.stderr
    assert env.ctl().returncode == 2


# ---------------------------------------------------------- dispute ----

def test_dispute_and_clear_dispute(env):
    c = env.client('litige@client.example')
    env.invoice('F-100', c, '2026-03-02')
    env.cycle(at('2026-03-05', '19:00'))                 # j3 planned for tomorrow
    assert env.reminders('F-100')['j3']['state'] == 'planned'

    r = env.ctl('dispute', 'F-100', 'le client conteste le nombre d\'heures',
                now=at('2026-03-05', '20:00'), check=0)
    assert r.stdout == ('invoice F-100: dispute recorded; its pending reminders are '
                        'cancelled and none leaves until the dispute is cleared\n')
    assert env.reminders('F-100')['j3']['state'] == 'cancelled'
    (a,) = env.audit('dispute_flagged', 'F-100')
    assert a['actor'] == 'postgres' and a['details']['reason'].startswith('le client conteste')

    rows = len(env.audit())
    refused(env.ctl('dispute', 'F-100', 'encore'), 'invoice "F-100" is already disputed')
    r = env.ctl('dispute', 'F-9', 'inconnue')
    assert r.returncode == 1 and r.stderr == 'dunningctl: no invoice numbered "F-9"\n'
    refused(env.ctl('dispute', 'F-100', '  '), 'the dispute reason must not be empty')
    usage(env.ctl('dispute', 'F-100'), 'dispute')
    usage(env.ctl('dispute', 'F-100', 'a', 'b'), 'dispute')
    refused(env.ctl('clear-dispute', 'F-9', 'x'), 'no invoice numbered "F-9"')
    assert len(env.audit()) == rows                    # refusals change nothing

    r = env.ctl('clear-dispute', 'F-100', 'accord trouvé', now=at('2026-03-06', '10:00'),
                check=0)
    assert r.stdout.startswith('invoice F-100: dispute cleared; the reminders resume, '
                               'the next one not before 5 days from now')
    assert env.one("SELECT disputed_at IS NULL FROM dunning.invoice WHERE number = 'F-100'")
    refused(env.ctl('clear-dispute', 'F-100', 'encore'), 'invoice "F-100" is not disputed')
    usage(env.ctl('clear-dispute', 'F-100'), 'clear-dispute')


# ---------------------------------------------------- approve, reject --

def test_approve_and_reject(env):
    c = env.client('gros@client.example')
    a = held_j30(env, 'F-110', c)
    env.invoice('F-111', c, '2026-03-03', amount='9000.00')
    env.replay_on(['2026-03-06', '2026-03-13', '2026-04-02'])
    b = env.reminders('F-111')['j30']
    assert b['state'] == 'held'

    r = env.ctl('approve', str(a['id']), now=at('2026-04-02', '19:00'), check=0)
    assert r.stdout == 'reminder %d approved: it leaves at the next send window\n' % a['id']
    assert env.reminders('F-110')['j30']['state'] == 'approved'
    (ap,) = env.audit('approved', 'F-110')
    assert ap['actor'] == 'postgres'
    refused(env.ctl('approve', str(a['id'])), 'reminder %d is approved, not held' % a['id'])
    r = env.ctl('approve', '999999')
    assert r.returncode == 1 and r.stderr == 'dunningctl: no reminder with id 999999\n'
    r = env.ctl('approve', 'abc')
    assert r.returncode == 2 and 'abc: not a reminder id' in r.stderr
    usage(env.ctl('approve'), 'approve')

    refused(env.ctl('reject', str(b['id']), ''), 'the rejection reason must not be empty')
    usage(env.ctl('reject', str(b['id'])), 'reject')
    r = env.ctl('reject', str(b['id']), 'client en redressement judiciaire',
                now=at('2026-04-02', '19:05'), check=0)
    assert r.stdout == 'reminder %d rejected: it will not be sent\n' % b['id']
    rem = env.reminders('F-111')['j30']
    assert rem['state'] == 'cancelled' and rem['last_error'] == 'client en redressement judiciaire'
    refused(env.ctl('reject', str(b['id']), 'encore'), 'is cancelled, not held')

    env.cycle(at('2026-04-03', '09:00'))               # the approved one leaves
    assert env.reminders('F-110')['j30']['state'] == 'sent'
    assert env.reminders('F-111')['j30']['state'] == 'cancelled'


# ------------------------------------------------------------ pause ----

def test_pause_client_and_invoice(env):
    c = env.client('pause@client.example')
    env.invoice('F-120', c, '2026-03-02')
    r = env.ctl('pause', '--client', str(c), '2026-04-15', 'échéancier convenu',
                now=at('2026-03-04'), check=0)
    assert r.stdout == 'client %d paused: no message before 2026-04-15\n' % c
    assert str(env.one('SELECT paused_until FROM dunning.client WHERE id = %s', (c,))) == \
        '2026-04-15'
    (a,) = env.audit('client_paused')
    assert a['details']['client_id'] == c and a['details']['reason'] == 'échéancier convenu'
    r = env.ctl('pause', '--client', str(c), '--lift', 'le client a rappelé',
                now=at('2026-03-05'), check=0)
    assert r.stdout == 'client %d: pause lifted\n' % c
    assert env.one('SELECT paused_until FROM dunning.client WHERE id = %s', (c,)) is None

    r = env.ctl('pause', '--invoice', 'F-120', '2026-03-20', 'virement annoncé',
                now=at('2026-03-05'), check=0)
    assert r.stdout == 'invoice F-120 paused: no message before 2026-03-20\n'
    assert len(env.audit('invoice_paused', 'F-120')) == 1
    r = env.ctl('pause', '--invoice', 'F-120', '--lift', 'pas reçu', now=at('2026-03-06'),
                check=0)
    assert r.stdout == 'invoice F-120: pause lifted\n'

    rows = len(env.audit())
    refused(env.ctl('pause', '--client', str(c), '2026-03-01', 'trop tard',
                    now=at('2026-03-06')), 'pause date 2026-03-01 is in the past')
    refused(env.ctl('pause', '--client', '999999', '2026-05-01', 'x', now=at('2026-03-06')),
            'no client with id 999999')
    refused(env.ctl('pause', '--invoice', 'F-9', '2026-05-01', 'x', now=at('2026-03-06')),
            'no invoice numbered "F-9"')
    refused(env.ctl('pause', '--invoice', 'F-120', '2026-05-01', ' ', now=at('2026-03-06')),
            'the pause reason must not be empty')
    assert len(env.audit()) == rows
    r = env.ctl('pause', '--client', str(c), '2026-13-01', 'x')
    assert r.returncode == 2 and '2026-13-01: not a date (YYYY-MM-DD)' in r.stderr
    for bad in (['pause', '--client', str(c), '--invoice', 'F-120', '2026-05-01', 'x'],
                ['pause', '2026-05-01', 'x'],
                ['pause', '--client', str(c), '2026-05-01'],
                ['pause', '--client', str(c), '--lift'],
                ['pause', '--client', str(c), '--lift', '2026-05-01', 'x'],
                ['pause', '--client', 'abc', '2026-05-01', 'x']):
        assert env.ctl(*bad).returncode == 2, bad
    assert len(env.audit()) == rows


# ---------------------------------------------------------- pending ----

def test_pending_text_and_json(env):
    lw = env.lawyer('Maître Claire Roux', 'claire.roux@cabinet.example')
    c1 = env.client('seuil@client.example', company='Établissements Dupré & Fils', lawyer=lw)
    c2 = env.client('vip@client.example', kind='individual', first='Hélène', last='Dœuf',
                    strategic=True)
    a = held_j30(env, 'F-130', c1)
    env.pay('F-130', '500.00', at('2026-04-01', '12:00'))
    env.invoice('F-131', c2, '2026-04-01', amount='300.00')
    env.cycle(at('2026-04-06', '10:00'))
    b = env.reminders('F-131')['j3']
    assert b['state'] == 'held'

    r = env.ctl('pending', check=0)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ['ID', 'INVOICE', 'CLIENT', 'BALANCE', 'STAGE', 'HELD', 'SINCE',
                                'WHY']
    assert lines[-1] == '2 reminders held for approval'
    row_a = next(l for l in lines if l.startswith('%d ' % a['id']))
    assert 'F-130' in row_a and 'Établissements Dupré & Fils' in row_a
    assert '7500.00 EUR' in row_a and ' j30 ' in row_a and 'approval_threshold' in row_a
    assert '2026-04-01 10:00' in row_a                 # held since, firm's local time
    row_b = next(l for l in lines if l.startswith('%d ' % b['id']))
    assert 'Hélène Dœuf' in row_b and '300.00 EUR' in row_b and 'strategic_client' in row_b

    got = json.loads(env.ctl('pending', '--json', check=0).stdout)
    assert [g['reminder_id'] for g in got] == [a['id'], b['id']]     # oldest first
    assert got[0] == {'reminder_id': a['id'], 'invoice_number': 'F-130', 'client_id': c1,
                      'client_name': 'Établissements Dupré & Fils', 'balance': '7500.00',
                      'currency': 'EUR', 'stage': 'j30', 'since': '2026-04-01T08:00:00Z',
                      'why': 'approval_threshold'}
    assert got[1]['why'] == 'strategic_client' and got[1]['client_name'] == 'Hélène Dœuf'

    env.ctl('approve', str(a['id']), check=0)
    assert len(json.loads(env.ctl('pending', '--json', check=0).stdout)) == 1
    usage(env.ctl('pending', '--yaml'), 'pending')


def test_pending_empty(env):
    r = env.ctl('pending', check=0)
    assert r.stdout.splitlines()[-1] == '0 reminders held for approval'
    assert json.loads(env.ctl('pending', '--json', check=0).stdout) == []


# ---------------------------------------------------------- history ----

def test_history_shows_reminders_and_audit_in_time_order(env):
    c = env.client('histoire@client.example', company='Histoire SARL')
    env.invoice('F-140', c, '2026-03-02', amount='1200.00')
    env.replay_on(['2026-03-05', '2026-03-12'])
    env.pay('F-140', '200.00', at('2026-03-13', '10:00'), reference='VIR-42')
    env.ctl('dispute', 'F-140', 'honoraires contestés', now=at('2026-03-16', '11:00'),
            check=0)
    r = env.ctl('history', 'F-140', check=0)
    out = r.stdout
    lines = out.splitlines()
    assert lines[0] == ('invoice F-140: client %d Histoire SARL; 1200.00 EUR, balance '
                        '1000.00 EUR; issued 2026-01-31, due 2026-03-02; open' % c)
    assert lines[1] == '  disputed since 2026-03-16 11:00: honoraires contestés'
    rems = env.reminders('F-140')
    j3 = next(l for l in lines if l.startswith('  %d ' % rems['j3']['id']))
    assert ' j3 ' in j3 and ' sent ' in j3 and rems['j3']['message_id'] in j3
    assert '2026-03-05 10:00' in j3
    audit = lines[lines.index('audit (times in Europe/Paris):') + 1:]
    actions = [l.split()[3] for l in audit]
    assert actions == ['planned', 'sending', 'sent', 'planned', 'sending', 'sent',
                       'payment_recorded', 'dispute_flagged'], audit
    stamps = [' '.join(l.split()[:2]) for l in audit]
    assert stamps == sorted(stamps)
    assert '"reference": "VIR-42"' in out and 'honoraires contestés' in out

    r = env.ctl('history', 'F-9')
    assert r.returncode == 1 and r.stderr == 'dunningctl: no invoice numbered "F-9"\n'
    usage(env.ctl('history'), 'history')
    env.invoice('F-141', c, '2026-06-01')
    r = env.ctl('history', 'F-141', check=0)
    assert r.stdout.splitlines()[1:] == ['reminders: none', 'audit: none']


# ---------------------------------------------------------- preview ----

def preview_parts(out):
    """(preface lines, headers dict, body) of preview's output."""
    pre, rest = out.split('--\n', 1)
    head, body = rest.split('\n\n', 1)
    headers = dict(l.split(': ', 1) for l in head.splitlines())
    return pre.splitlines(), headers, body


def test_preview_is_the_message_the_daemon_then_sends(env):
    """Two invoices due the same day: preview shows the one message the
    sender groups them in, and the daemon then sends exactly that text with
    that Message-ID."""
    lw = env.lawyer('Maître Éloïse Brûlé', 'eloise.brule@cabinet.example')
    c = env.client('groupe@client.example', company='Société Générale des Eaux', lawyer=lw)
    env.invoice('F-150', c, '2026-03-02', amount='1234.56')
    env.invoice('F-151', c, '2026-03-02', amount='100.00')
    env.cycle(at('2026-03-05', '19:00'))                 # planned for 2026-03-06 09:00
    rems = [env.reminders('F-150')['j3'], env.reminders('F-151')['j3']]
    assert {r['state'] for r in rems} == {'planned'}

    r = env.ctl('preview', str(rems[1]['id']), now=at('2026-03-06', '10:00'), check=0)
    pre, h, body = preview_parts(r.stdout)
    assert pre[0].startswith('reminder %d (stage j3, planned): one message, leaves at '
                             '2026-03-06 10:00 (Europe/Paris)' % rems[1]['id'])
    assert pre[0].endswith('with 2 invoices: F-150, F-151')
    assert h['To'] == 'Société Générale des Eaux <groupe@client.example>'
    assert h['Subject'] == 'Rappel\u00a0: 2 notes d\'honoraires en attente de règlement'
    assert h['Reply-To'] == 'eloise.brule@cabinet.example'
    assert h['From'] == 'Cabinet Test <relances@cabinet.example>'
    assert 'Madame, Monsieur,' in body and 'F-150' in body and 'F-151' in body
    assert '1 234,56 €' in norm_spaces(body)
    mid = h['Message-ID']
    assert re.match(r'^<dunning\.%d-2\.j3\.[0-9a-f]{8}@cabinet\.example>$' % rems[0]['id'],
                    mid), mid
    assert env.reminders('F-150')['j3']['state'] == 'planned'     # nothing written

    raw = env.ctl('preview', '--raw', str(rems[0]['id']), now=at('2026-03-06', '10:00'),
                  check=0).stdout
    assert raw.startswith(('From: ', 'Date: ', 'Message-ID: ', 'To: ', 'Subject: ',
                           'Reply-To: ', 'MIME-Version: '))
    assert re.search(r'^Message-Id: %s$' % re.escape(mid), raw, re.M | re.I), raw
    assert 'quoted-printable' in raw

    env.cycle(at('2026-03-06', '10:00'))
    (m,) = env.mails()
    assert m.message_id == mid
    assert m.subject == h['Subject']
    assert m.body.rstrip('\n') == body.rstrip('\n')
    assert env.reminders('F-150')['j3']['message_id'] == mid


def test_preview_leaves_out_what_the_claim_would_leave_out(env):
    """A sibling paid meanwhile (its planned reminder not yet cancelled) is
    dropped by the claim's re-check: preview drops it too, and the
    Message-ID is the one of the message that really leaves."""
    c = env.client('trois@client.example')
    for n in ('F-155', 'F-156', 'F-157'):
        env.invoice(n, c, '2026-03-02')
    env.cycle(at('2026-03-05', '19:00'))
    env.pay('F-156', '1000.00', at('2026-03-05', '20:00'))
    env.sql("UPDATE dunning.invoice SET disputed_at = dunning.now(), dispute_reason = 'x' "
            "WHERE number = 'F-157'", now=at('2026-03-05', '20:00'))
    rems = [env.reminders(n)['j3'] for n in ('F-155', 'F-156', 'F-157')]
    assert [r['state'] for r in rems] == ['planned'] * 3
    r = env.ctl('preview', str(rems[0]['id']), now=at('2026-03-06', '10:00'), check=0)
    pre, h, body = preview_parts(r.stdout)
    assert pre[0].endswith('with 1 invoice: F-155')
    assert h['Message-ID'] == '<dunning.%d.j3@cabinet.example>' % rems[0]['id']
    r = env.ctl('preview', str(rems[1]['id']), now=at('2026-03-06', '10:00'), check=0)
    assert 'note: at that time the policy would not send it: paid' in r.stdout
    env.cycle(at('2026-03-06', '10:00'))
    (m,) = env.mails()
    assert m.message_id == h['Message-ID'] and m.body.rstrip('\n') == body.rstrip('\n')


def test_preview_of_a_held_reminder_then_approved(env):
    c = env.client('apercu@client.example', kind='individual', first='Zoé', last='Martin')
    a = held_j30(env, 'F-152', c)
    r = env.ctl('preview', str(a['id']), now=at('2026-04-02', '10:00'), check=0)
    pre, h, body = preview_parts(r.stdout)
    assert pre[1] == 'note: held for approval: it leaves only once approved'
    assert h['To'] == 'Zoé Martin <apercu@client.example>'
    assert h['Message-ID'] == '<dunning.%d.j30@cabinet.example>' % a['id']
    assert 'F-152' in body and 'indemnité forfaitaire' not in body   # individual client
    env.ctl('approve', str(a['id']), now=at('2026-04-02', '09:59'), check=0)
    env.cycle(at('2026-04-02', '10:00'))
    m = env.mails()[-1]
    assert m.message_id == h['Message-ID'] and m.body.rstrip('\n') == body.rstrip('\n')


def test_preview_refusals(env):
    c = env.client('refus@client.example')
    env.invoice('F-153', c, '2026-03-02')
    env.cycle(at('2026-03-05', '10:00'))
    sent = env.reminders('F-153')['j3']
    assert sent['state'] == 'sent'
    refused(env.ctl('preview', str(sent['id'])), 'reminder %d is sent' % sent['id'])
    r = env.ctl('preview', '999999')
    assert r.returncode == 1 and r.stderr == 'dunningctl: no reminder with id 999999\n'
    assert env.ctl('preview', 'x').returncode == 2
    usage(env.ctl('preview'), 'preview')
    # A client without an address: said, not composed.
    d = env.client(None, company='Sans Adresse SA')
    env.invoice('F-154', d, '2026-03-02')
    env.cycle(at('2026-03-05', '19:00'))
    rem = env.reminders('F-154')['j3']
    refused(env.ctl('preview', str(rem['id']), now=at('2026-03-06', '10:00')),
            'would not be sent: the client has no e-mail address')


def j45_letter(env, number, client):
    """An invoice replayed to its j45, approved and written; its reminders."""
    env.invoice(number, client, '2026-03-02', amount='700.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16'])
    j45 = env.reminders(number)['j45']
    assert j45['state'] == 'held', j45
    return j45


def test_preview_of_a_letter_is_its_text(env):
    c = env.client('lettre@client.example', kind='individual', first='Paul', last='Lefèvre')
    j45 = j45_letter(env, 'F-160', c)
    r = env.ctl('preview', str(j45['id']), now=at('2026-04-16', '11:00'), check=0)
    pre, text = r.stdout.split('--\n', 1)
    assert 'a letter for registered mail, written at 2026-04-16 11:00' in pre
    assert 'to: Paul Lefèvre\n    12 avenue des Tilleuls\n    69003 Lyon\n' in pre
    assert 'F-160' in text and 'mise en demeure' in text.lower()
    assert 'reste dû 700,00 €' in norm_spaces(text)
    assert 'Subject:' not in r.stdout


# ------------------------------------------------------ letter-sent ----

def test_letter_sent_records_the_tracking_number_once(env):
    c = env.client('recommande@client.example', kind='individual', first='Paul', last='Roy')
    j45 = j45_letter(env, 'F-170', c)
    usage_r = env.ctl('letter-sent', str(j45['id']))
    assert usage_r.returncode == 2
    refused(env.ctl('letter-sent', str(j45['id']), '--tracking', '1A 234'),
            'reminder %d is held, not sent' % j45['id'])
    env.ctl('approve', str(j45['id']), now=at('2026-04-16', '10:30'), check=0)
    env.cycle(at('2026-04-16', '10:31'))
    assert env.reminders('F-170')['j45']['state'] == 'sent'

    rows = len(env.audit())
    refused(env.ctl('letter-sent', str(j45['id']), '--tracking', '1a 234'),
            'tracking number "1a 234" is not 1 to 32 characters')
    refused(env.ctl('letter-sent', str(j45['id']), '--tracking', 'X' * 33),
            'is not 1 to 32 characters')
    refused(env.ctl('letter-sent', str(j45['id']), '--tracking', ' '),
            'the tracking number must not be empty')
    assert len(env.audit()) == rows

    r = env.ctl('letter-sent', str(j45['id']), '--tracking', '1A 234 567 8901-2',
                now=at('2026-04-17', '09:30'), check=0)
    assert r.stdout == ('reminder %d: letter recorded as posted, tracking number '
                        '1A 234 567 8901-2\n' % j45['id'])
    (a,) = env.audit('letter_posted', 'F-170')
    assert a['reminder_id'] == j45['id'] and a['actor'] == 'postgres'
    real_at = a['details'].pop('real_at')       # recorded under --now: a replay
    assert real_at
    assert a['details'] == {'stage': 'j45', 'tracking': '1A 234 567 8901-2',
                            'tracking_sha256': a['details']['tracking_sha256']}
    # The chain keeps the number's salted hash only (021).
    assert env.one('SELECT details FROM dunning.audit_log WHERE id = %s', (a['id'],)) \
        == {'stage': 'j45', 'tracking_sha256': a['details']['tracking_sha256'],
            'real_at': real_at}
    refused(env.ctl('letter-sent', '--tracking=9Z', str(j45['id'])),
            'already recorded as posted (tracking 1A 234 567 8901-2)')

    j3 = env.reminders('F-170')['j3']                    # an e-mail, not a letter
    refused(env.ctl('letter-sent', str(j3['id']), '--tracking', '1A'),
            'reminder %d (stage j3) was not sent as a letter' % j3['id'])
    r = env.ctl('letter-sent', '999999', '--tracking', '1A')
    assert r.returncode == 1 and r.stderr == 'dunningctl: no reminder with id 999999\n'
    assert len(env.audit('letter_posted')) == 1
    assert 'letter_posted' in env.ctl('history', 'F-170', check=0).stdout
    env.verify_audit()


# ---------------------------------------------------- lawyers' own --

def two_lawyers(env):
    """Maître Martin and Maître Durand, each logging in as themselves, each
    with a client and a held reminder; returns their roles, clients and
    held reminders."""
    ra = env.cluster.ensure_role('maitre_martin', 'dunning_lawyer')
    rb = env.cluster.ensure_role('maitre_durand', 'dunning_lawyer')
    la = env.lawyer('Maître Alice Martin', 'alice.martin@cabinet.example', db_role=ra)
    lb = env.lawyer('Maître Bruno Durand', 'bruno.durand@cabinet.example', db_role=rb)
    ca = env.client('martin@client.example', company='Client De Martin SA', lawyer=la)
    cb = env.client('durand@client.example', company='Client De Durand SA', lawyer=lb)
    env.invoice('F-180', ca, '2026-03-02', amount='8000.00')
    env.invoice('F-181', cb, '2026-03-02', amount='8000.00')
    env.replay_on(['2026-03-05', '2026-03-12', '2026-04-01'])
    ha, hb = env.reminders('F-180')['j30'], env.reminders('F-181')['j30']
    assert ha['state'] == hb['state'] == 'held'
    return (ra, rb), (ca, cb), (ha, hb)


def test_lawyer_sees_and_acts_on_their_own_files_only(env):
    (ra, rb), (ca, cb), (ha, hb) = two_lawyers(env)
    allow_simulated_clock(env)
    mine = json.loads(env.ctl('-U', ra, 'pending', '--json', check=0).stdout)
    assert [p['invoice_number'] for p in mine] == ['F-180']
    theirs = json.loads(env.ctl('--user', rb, 'pending', '--json', check=0).stdout)
    assert [p['invoice_number'] for p in theirs] == ['F-181']
    assert 'Client De Durand' not in env.ctl('-U', ra, 'pending', check=0).stdout

    # The other lawyer's files read exactly as unknown ones.
    for args, words in [
            (('approve', str(hb['id'])), 'no reminder with id %d' % hb['id']),
            (('reject', str(hb['id']), 'non'), 'no reminder with id %d' % hb['id']),
            (('preview', str(hb['id'])), 'no reminder with id %d' % hb['id']),
            (('dispute', 'F-181', 'x'), 'no invoice numbered "F-181"'),
            (('clear-dispute', 'F-181', 'x'), 'no invoice numbered "F-181"'),
            (('history', 'F-181'), 'no invoice numbered "F-181"'),
            (('pause', '--invoice', 'F-181', '2026-12-01', 'x'), 'no invoice numbered "F-181"'),
            (('pause', '--client', str(cb), '2026-12-01', 'x'), 'no client with id %d' % cb),
            (('letter-sent', str(hb['id']), '--tracking', '1A'),
             'no reminder with id %d' % hb['id']),
            (('export-client', str(cb)), 'no client with id %d' % cb)]:
        r = env.ctl('-U', ra, *args, now=at('2026-04-02', '10:00'))
        assert r.returncode == 1 and r.stderr == 'dunningctl: %s\n' % words, (args, r.stderr)
    refused(env.ctl('-U', ra, 'purge', '--dry-run'), 'permission denied for function purge')
    assert env.reminders('F-181')['j30']['state'] == 'held'

    # Their own: acted on, audited under their name.
    r = env.ctl('-U', ra, 'preview', str(ha['id']), now=at('2026-04-02', '10:00'), check=0)
    assert 'Client De Martin SA <martin@client.example>' in r.stdout
    assert 'F-180' in env.ctl('-U', ra, 'history', 'F-180', check=0).stdout
    env.ctl('-U', ra, 'approve', str(ha['id']), now=at('2026-04-02', '10:00'), check=0)
    (a,) = env.audit('approved', 'F-180')
    assert a['actor'] == ra
    env.ctl('-U', ra, 'dispute', 'F-180', 'contestation', now=at('2026-04-02', '10:05'),
            check=0)
    assert env.audit('dispute_flagged', 'F-180')[0]['actor'] == ra
    doc = json.loads(env.ctl('-U', ra, 'export-client', str(ca), check=0).stdout)
    assert doc['client']['company_name'] == 'Client De Martin SA'
    assert 'F-181' not in json.dumps(doc)
    env.verify_audit()


def test_user_override_keeps_the_rest_of_the_conninfo(env):
    """-U replaces the user of database.conninfo, key=value or URI, and
    keeps the rest; an unknown role is refused by the server."""
    (ra, _), _, _ = two_lawyers(env)
    r = env.ctl('-U', 'nobody_here', 'pending')
    assert r.returncode == 1 and 'role "nobody_here" does not exist' in r.stderr
    assert env.ctl('-U', '', 'pending').returncode == 2
    # The configuration as a URI naming the superuser.
    uri = 'postgresql://postgres@/%s?host=%s&port=%d' % (
        env.dbname, env.cluster.host, env.cluster.port)
    text = open(env.config, encoding='utf-8').read()
    conf = env.config + '.uri'
    with open(conf, 'w', encoding='utf-8') as f:
        f.write(re.sub(r'conninfo = "[^"]*"', 'conninfo = "%s"' % uri, text))
    r = env.ctl('-U', ra, 'pending', '--json', config=conf, check=0)
    assert [p['invoice_number'] for p in json.loads(r.stdout)] == ['F-180']


def test_preview_of_an_invoice_at_a_stage_not_planned_yet(env):
    """preview --invoice N --stage j30 while only j3 has left: the j30
    message with this invoice alone, when the stage is due, no Message-ID
    yet; on that day the daemon sends exactly that text."""
    c = env.client('avance@client.example', company='Atelier Lumière')
    env.invoice('F-160', c, '2026-03-02', amount='1500.00')
    env.replay_on(['2026-03-05'])
    assert env.reminders('F-160')['j3']['state'] == 'sent'

    r = env.ctl('preview', '--invoice', 'F-160', '--stage', 'j30',
                now=at('2026-03-06', '11:00'), check=0)
    assert r.returncode == 0, r.stderr
    pre, h, body = preview_parts(r.stdout)
    assert pre[0] == ('invoice F-160 at stage j30 (not planned yet): one message, leaves at '
                      '2026-04-01 09:00 (Europe/Paris) at the earliest, with 1 invoice: F-160')
    assert pre[1].startswith('note: this is the message the stage would be with this '
                             'invoice alone')
    assert len(pre) == 2, pre
    assert h['Message-ID'] == '(given when the reminder is planned)'
    assert h['To'] == 'Atelier Lumière <avance@client.example>'
    assert 'F-160' in body and '1 500,00 €' in norm_spaces(body)
    assert 'j30' not in env.reminders('F-160')          # nothing written

    raw = env.ctl('preview', '--raw', '--invoice', 'F-160', '--stage', 'j30',
                  now=at('2026-03-06', '11:00'), check=0)
    assert 'placeholder' in raw.stderr
    assert re.search(r'^Message-Id: <dunning\.0\.j30@cabinet\.example>$', raw.stdout,
                     re.M | re.I), raw.stdout

    env.replay_on(['2026-03-12', '2026-04-01'])
    m = [m for m in env.mails() if m.subject == h['Subject']]
    assert len(m) == 1, [x.subject for x in env.mails()]
    assert m[0].body.rstrip('\n') == body.rstrip('\n')


def test_preview_of_an_invoice_and_stage(env):
    """--invoice with a reminder of that stage planned shows that reminder;
    a stage already sent says so and why it will not leave again; unknown
    stage or invoice is refused, a half-given choice is a usage error."""
    c = env.client('etape@client.example')
    env.invoice('F-161', c, '2026-03-02')
    env.cycle(at('2026-03-05', '19:00'))
    j3 = env.reminders('F-161')['j3']
    r = env.ctl('preview', '--invoice', 'F-161', '--stage', 'j3',
                now=at('2026-03-05', '20:00'), check=0)
    pre, h, _ = preview_parts(r.stdout)
    assert pre[0].startswith('reminder %d (stage j3, planned): one message' % j3['id'])
    assert h['Message-ID'] == '<dunning.%d.j3@cabinet.example>' % j3['id']

    env.cycle(at('2026-03-06', '10:00'))
    assert env.reminders('F-161')['j3']['state'] == 'sent'
    r = env.ctl('preview', '--invoice', 'F-161', '--stage', 'j3',
                now=at('2026-03-07', '10:00'), check=0)
    assert r.returncode == 0, r.stderr
    assert ('note: a reminder of this stage was already sent on 2026-03-06; this is how it '
            'would read today') in r.stdout
    assert 'note: at that time the policy would not send it: ' in r.stdout
    assert "the policy's next step is j10" in r.stdout

    refused(env.ctl('preview', '--invoice', 'F-161', '--stage', 'j31'),
            'the configuration has no stage "j31": write one of j3, j10, j30, j45')
    refused(env.ctl('preview', '--invoice', 'F-999', '--stage', 'j3'),
            'no invoice numbered "F-999"')
    for args in (['--invoice', 'F-161'], ['--stage', 'j3'], ['--invoice', 'F-161', '--stage'],
                 [str(j3['id']), '--invoice', 'F-161', '--stage', 'j3']):
        assert env.ctl('preview', *args).returncode == 2, args
