"""The GDPR tools (issue 4 item 7): export-client (every datum held on a
client, as JSON) and purge (anonymise the clients whose files closed more
than retention.years ago), with the audit chain still verifiable."""
import json

from harness import at


def keep_copy(env, message_id, client, stage, reminder_ids, subject, body):
    """A kept copy of a message, as the sender writes it."""
    env.sql('INSERT INTO dunning.message_copy (message_id, client_id, stage, reminder_ids, '
            'subject, body) VALUES (%s, %s, %s, %s, %s, %s)',
            (message_id, client, stage, reminder_ids, subject, body))


def snapshot(env):
    """Every row a purge could touch, as text."""
    return [env.sql('SELECT c::text FROM dunning.client c ORDER BY id'),
            env.sql('SELECT i::text FROM dunning.invoice i ORDER BY id'),
            env.sql('SELECT p::text FROM dunning.payment p ORDER BY id'),
            env.sql('SELECT r::text FROM dunning.reminder r ORDER BY id'),
            env.sql('SELECT m::text FROM dunning.message_copy m ORDER BY message_id'),
            env.sql('SELECT count(*) FROM dunning.audit_log')]


# ----------------------------------------------------------- export ----

def test_export_client_holds_everything_about_the_client_and_nothing_else(env):
    lw = env.lawyer('Maître Claire Roux', 'claire.roux@cabinet.example')
    c = env.client('jeanne.valjean@client.example', kind='individual', first='Jeanne',
                   last='Valjean', phone='06 12 34 56 78', lawyer=lw)
    other = env.client('autre@client.example', company='Autre Client SA')
    env.invoice('F-200', c, '2026-03-02', amount='1500.00', payment_url='https://pay/200')
    env.invoice('F-201', c, '2026-03-09', amount='300.00')
    env.invoice('F-290', other, '2026-03-02', amount='999.00')
    env.pay('F-200', '500.00', at('2026-03-04'), reference='VIR-VALJEAN')
    env.pay('F-290', '999.00', at('2026-03-04'), reference='VIR-AUTRE')
    env.cycle(at('2026-03-05'))
    env.ctl('pause', '--client', str(c), '2026-03-20', 'appel de la cliente',
            now=at('2026-03-05', '11:00'), check=0)
    env.ctl('pause', '--client', str(other), '2026-03-20', 'autre pause',
            now=at('2026-03-05', '11:00'), check=0)
    rem = env.reminders('F-200')['j3']
    # The sender kept the copy of the j3 it sent; the other client's is made here.
    keep_copy(env, '<autre@cabinet.example>', other, 'j3', [1], 'Autre', 'Texte de l\'autre')

    r = env.ctl('export-client', str(c), now=at('2026-03-06'), check=0)
    doc = json.loads(r.stdout)
    assert r.stderr == ('client %d exported: 2 invoices, 1 payment, 1 reminder, '
                        '1 message, 6 audit rows\n' % c)
    assert doc['export']['client_id'] == c and doc['export']['exported_by'] == 'postgres'
    assert doc['export']['exported_at'] == '2026-03-06T09:00:00Z'
    cl = doc['client']
    assert (cl['id'], cl['first_name'], cl['last_name'], cl['email'], cl['phone'],
            cl['city'], cl['kind']) == (c, 'Jeanne', 'Valjean', 'jeanne.valjean@client.example',
                                        '06 12 34 56 78', 'Lyon', 'individual')
    assert cl['strategic'] is False and cl['paused_until'] == '2026-03-20'
    assert doc['lawyer'] == {'id': lw, 'full_name': 'Maître Claire Roux',
                             'email': 'claire.roux@cabinet.example'}
    inv = {i['number']: i for i in doc['invoices']}
    assert set(inv) == {'F-200', 'F-201'}
    assert inv['F-200']['amount'] == '1500.00' and inv['F-200']['balance'] == '1000.00'
    assert inv['F-200']['payment_url'] == 'https://pay/200'
    assert inv['F-200']['due_on'] == '2026-03-02' and inv['F-200']['status'] == 'open'
    (p,) = doc['payments']
    assert (p['invoice_number'], p['amount'], p['reference']) == ('F-200', '500.00',
                                                                  'VIR-VALJEAN')
    assert p['received_at'] == '2026-03-04T09:00:00Z'
    (rm,) = doc['reminders']
    assert (rm['id'], rm['stage'], rm['state'], rm['message_id']) == (
        rem['id'], 'j3', 'sent', rem['message_id'])
    (m,) = doc['messages']
    (sent,) = [x for x in env.mails() if x.message_id == rem['message_id']]
    assert m['message_id'] == rem['message_id'] and m['reminder_ids'] == [rem['id']]
    assert m['subject'] == sent.subject and m['body'].strip() == sent.body.strip()
    assert 'F-200' in m['body'] and '1\u202f000,00\xa0€' in m['body']
    assert [a['action'] for a in doc['audit']] == [
        'payment_recorded', 'planned', 'sending', 'sent', 'client_paused', 'client_exported']
    assert all(a['invoice_id'] in (inv['F-200']['id'], inv['F-201']['id']) or
               a['details'].get('client_id') == c for a in doc['audit'])
    assert [a['at'] for a in doc['audit']] == sorted(a['at'] for a in doc['audit'])

    # Nothing of the other client.
    text = r.stdout
    for word in ('Autre', 'autre@client.example', 'F-290', 'VIR-AUTRE', '999.00',
                 'autre pause'):
        assert word not in text, word
    # The export itself is audited.
    (a,) = env.audit('client_exported')
    assert a['details'].pop('real_at')       # exported under --now: a replay
    assert a['details'] == {'client_id': c} and a['actor'] == 'postgres'
    env.verify_audit()


def test_export_client_refusals(env):
    r = env.ctl('export-client', '999999')
    assert r.returncode == 1 and r.stderr == 'dunningctl: no client with id 999999\n'
    assert r.stdout == ''
    assert env.ctl('export-client', 'abc').returncode == 2
    assert env.ctl('export-client').returncode == 2
    assert env.audit('client_exported') == []


# ------------------------------------------------------------ purge ----

def purge_world(env):
    """Clients on 2026-03-10, retention 3 years (cutoff 2023-03-10):
      A: paid in full 2022-01-10                      -> purged
      B: one invoice paid 2021, another still open    -> kept
      C: cancelled on 2022-06-01 (individual)         -> purged
      D: cancelled on 2024-01-01                      -> kept (too recent)
      E: paid in two parts, the last on 2023-06-01    -> kept (closed 2023-06-01)
      F: written off 2022-02-01, partly paid before   -> purged
      G: no invoice                                   -> kept
    """
    lw = env.lawyer()
    ids = {}
    ids['A'] = env.client('a@ancien.example', company='Ancien Client A SARL', phone='01 02',
                          lawyer=lw)
    env.invoice('F-A1', ids['A'], '2021-11-30', amount='1200.00',
                payment_url='https://pay/a1')
    env.pay('F-A1', '1200.00', '2022-01-10 10:00+01', reference='VIR-A')
    ids['B'] = env.client('b@ancien.example', company='Client B')
    env.invoice('F-B1', ids['B'], '2021-01-31', amount='100.00')
    env.pay('F-B1', '100.00', '2021-02-10 10:00+01')
    env.invoice('F-B2', ids['B'], '2026-02-28', amount='100.00')
    ids['C'] = env.client('c@ancien.example', kind='individual', first='Claude',
                          last='Cancel')
    env.invoice('F-C1', ids['C'], '2022-05-01', amount='300.00', status='cancelled',
                status_closed_on='2022-06-01')
    ids['D'] = env.client('d@recent.example', company='Client D')
    env.invoice('F-D1', ids['D'], '2021-05-01', amount='300.00', status='cancelled',
                status_closed_on='2024-01-01')
    ids['E'] = env.client('e@recent.example', company='Client E')
    env.invoice('F-E1', ids['E'], '2021-05-01', amount='300.00')
    env.pay('F-E1', '100.00', '2021-06-01 10:00+02')
    env.pay('F-E1', '200.00', '2023-06-01 10:00+02')
    ids['F'] = env.client('f@ancien.example', company='Client F')
    env.invoice('F-F1', ids['F'], '2021-05-01', amount='300.00')
    env.pay('F-F1', '50.00', '2021-06-01 10:00+02')
    env.sql("UPDATE dunning.invoice SET status = 'written_off' WHERE number = 'F-F1'",
            now='2022-02-01 12:00+01')
    ids['G'] = env.client('g@nouveau.example', company='Client G')
    keep_copy(env, '<a1@cabinet.example>', ids['A'], 'j3', [1], 'Rappel A', 'Texte A')
    keep_copy(env, '<a2@cabinet.example>', ids['A'], 'j10', [2], 'Rappel A2', 'Texte A2')
    keep_copy(env, '<d1@cabinet.example>', ids['D'], 'j3', [3], 'Rappel D', 'Texte D')
    return ids


def test_invoice_closing_dates(env):
    """The day each invoice's file closed: paid (the payment that reached
    the amount), cancelled or written off (the day the status changed, by
    the one clock), the earlier of both; none while something is owed."""
    ids = purge_world(env)
    got = dict(env.sql('SELECT number, dunning.invoice_closed_on(i)::text '
                       'FROM dunning.invoice i ORDER BY number'))
    assert got == {'F-A1': '2022-01-10', 'F-B1': '2021-02-10', 'F-B2': None,
                   'F-C1': '2022-06-01', 'F-D1': '2024-01-01', 'F-E1': '2023-06-01',
                   'F-F1': '2022-02-01'}
    # The status's day follows the status.
    env.sql("UPDATE dunning.invoice SET status = 'cancelled' WHERE number = 'F-B2'",
            now='2026-03-10 12:00+01')
    assert str(env.one("SELECT status_closed_on FROM dunning.invoice WHERE number = 'F-B2'")) \
        == '2026-03-10'
    env.sql("UPDATE dunning.invoice SET status = 'written_off' WHERE number = 'F-B2'",
            now='2026-03-11 12:00+01')
    assert str(env.one("SELECT status_closed_on FROM dunning.invoice WHERE number = 'F-B2'")) \
        == '2026-03-10'
    env.sql("UPDATE dunning.invoice SET status = 'open' WHERE number = 'F-B2'")
    assert env.one("SELECT status_closed_on FROM dunning.invoice WHERE number = 'F-B2'") is None
    assert ids


def test_purge_dry_run_changes_nothing_then_purge_anonymises_only_the_eligible(env):
    ids = purge_world(env)
    env.cycle(at('2026-03-10'))
    before = snapshot(env)

    r = env.ctl('purge', '--dry-run', now=at('2026-03-10'), check=0)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ['CLIENT', 'CLOSED', 'ON', 'INVOICES', 'MESSAGE', 'COPIES',
                                'AUDIT', 'TEXTS', 'LETTERS']
    # A's payment reference is an audit text (021).
    assert [l.split() for l in lines[1:-1]] == [
        [str(ids['A']), '2022-01-10', '1', '2', '1', '0'],
        [str(ids['C']), '2022-06-01', '1', '0', '0', '0'],
        [str(ids['F']), '2022-02-01', '1', '0', '0', '0']]
    assert lines[-1] == ('3 clients would be anonymised (closed more than 3 years ago); '
                         'nothing changed')
    assert snapshot(env) == before

    r = env.ctl('purge', now=at('2026-03-10'), check=0)
    assert r.stdout.splitlines()[-1] == '3 clients anonymised (closed more than 3 years ago)'
    cols = ('kind, first_name, last_name, company_name, email, phone, address_line1, '
            'address_line2, postal_code, city, country, anonymised_at IS NOT NULL')
    a = env.one('SELECT %s FROM dunning.client WHERE id = %%s' % cols, (ids['A'],))
    assert a == ('professional', None, None, 'Client anonymisé n° %d' % ids['A'], None, None,
                 None, None, None, None, 'FR', True)
    cc = env.one('SELECT %s FROM dunning.client WHERE id = %%s' % cols, (ids['C'],))
    assert cc == ('individual', None, 'Client anonymisé n° %d' % ids['C'], None, None, None,
                  None, None, None, None, 'FR', True)
    for k in 'BDEG':
        row = env.one('SELECT email, anonymised_at FROM dunning.client WHERE id = %s',
                      (ids[k],))
        assert row[0] is not None and row[1] is None, k
    # Amounts, numbers and dates kept; the payment link gone.
    inv = env.one("SELECT number, amount::text, issued_on::text, due_on::text, payment_url "
                  "FROM dunning.invoice WHERE number = 'F-A1'")
    assert inv == ('F-A1', '1200.00', '2021-10-31', '2021-11-30', None)
    assert env.one("SELECT p.amount::text || ' ' || p.reference FROM dunning.payment p "
                   "JOIN dunning.invoice i ON i.id = p.invoice_id WHERE i.number = 'F-A1'") \
        == '1200.00 VIR-A'
    # The purged clients' copies are gone; the others' (D's, and B's from
    # the cycle above) are kept.
    assert env.sql('SELECT message_id FROM dunning.message_copy WHERE client_id = ANY(%s)',
                   ([ids['A'], ids['C'], ids['F']],)) == []
    assert ('<d1@cabinet.example>',) in env.sql('SELECT message_id FROM dunning.message_copy')
    purged = env.audit('client_purged')
    assert sorted(p['details']['client_id'] for p in purged) == sorted(
        [ids['A'], ids['C'], ids['F']])
    for p in purged:
        # real_at: purge ran under --now, a replay.
        assert set(p['details']) == {'client_id', 'invoices', 'message_copies',
                                     'audit_texts', 'retention_years', 'real_at'}
        assert p['actor'] == 'postgres' and p['number'] is None
    assert [p['details']['message_copies'] for p in purged
            if p['details']['client_id'] == ids['A']] == [2]
    env.verify_audit()

    # Nothing left to purge; the export shows the anonymised file.
    r = env.ctl('purge', now=at('2026-03-10'), check=0)
    assert r.stdout == '0 clients anonymised (closed more than 3 years ago)\n'
    doc = json.loads(env.ctl('export-client', str(ids['A']), check=0).stdout)
    text = json.dumps(doc, ensure_ascii=False)
    assert 'a@ancien.example' not in text and 'Ancien Client A' not in text
    assert doc['client']['company_name'] == 'Client anonymisé n° %d' % ids['A']
    assert doc['invoices'][0]['amount'] == '1200.00' and doc['messages'] == []
    env.verify_audit()


def test_purge_follows_retention_years_and_refuses_others(make_env):
    env = make_env(extra_conf='retention { years = 5 }\n')
    ids = purge_world(env)
    r = env.ctl('purge', '--dry-run', now=at('2026-03-10'), check=0)
    assert r.stdout.splitlines()[-1].startswith('0 clients would be anonymised (closed more '
                                                'than 5 years ago)')
    r = env.ctl('purge', '--dry-run', now=at('2027-06-01'), check=0)
    assert [l.split()[0] for l in r.stdout.splitlines()[1:-1]] == [str(ids['A']),
                                                                   str(ids['F'])]
    assert env.ctl('purge', '--now').returncode == 2
    assert env.ctl('purge', '--all').returncode == 2
    role = env.cluster.ensure_role('comptable_purge', 'dunning_accountant')
    r = env.ctl('-U', role, 'purge', '--dry-run')
    assert r.returncode == 1 and 'permission denied for function purge' in r.stderr
    assert env.audit('client_purged') == []


def test_a_clients_report_is_exported_then_its_words_purged(env):
    """A problem the client reported from their page (rule 12): its words
    are the client's personal data — in their export, and gone with the
    purge like every other free text of theirs; the category, the dates and
    the lawyer's outcome stay for the file's history."""
    c = env.client('jeanne.valjean@client.example', kind='individual', first='Jeanne',
                   last='Valjean')
    inv = env.invoice('F-300', c, '2022-01-10', amount='800.00', issued_on='2021-12-10')
    words = "J'ai réglé par chèque le 3 janvier, n° 1234567."
    rid = env.one('SELECT dunning.web_report(%s, ARRAY[%s]::bigint[], %s, %s)',
                  (c, inv, 'already_paid', words), now=at('2022-01-20'))
    assert rid
    env.pay('F-300', '800.00', at('2022-01-25'), reference='CHQ-1234567')
    r = env.ctl('export-client', str(c), now=at('2022-02-01'), check=0)
    doc = json.loads(r.stdout)
    assert [(x['category'], x['message'], x['invoices']) for x in doc['reports']] == \
        [('already_paid', words, ['F-300'])]

    r = env.ctl('purge', now=at('2026-03-10'), check=0)
    assert '1 client anonymised' in r.stdout, r.stdout
    assert env.sql('SELECT category, message, received_at IS NOT NULL '
                   'FROM dunning.client_report WHERE id = %s', (rid,)) == \
        [('already_paid', '', True)]
    dump = ' '.join(str(v) for row in env.sql('SELECT * FROM dunning.client_report')
                    for v in row)
    assert 'chèque' not in dump
