"""Retention (issue 17 items 6 and 7): the purge removes the purged
clients' letters from the spool (only beneath spool.dir) and their kept
message copies, and forgets the audit log's free texts about them, which
live in dunning.audit_text beside a salted hash the chain keeps — so the
chain still verifies; a GDPR export is written owner-only whatever the
umask."""
import hashlib
import json
import os
import stat
import subprocess

import psycopg2
import pytest

from harness import DUNNINGCTL, at

# The escalation of an invoice due on 2026-03-02 (as tests/e2e/test_letter.py):
# j3, j10, j30 by e-mail, j45 held on 2026-04-16, approved, written as a
# letter into the spool on 2026-04-17.
ESCALATION = ['2026-03-05', '2026-03-12', '2026-04-01', '2026-04-16']
LETTER_DAY = '2026-04-17'

# What a person wrote or a relay answered about the purged clients.
DISPUTE = 'Mme Valjean conteste : 7 impasse des Lilas'
CLEARED = 'accord trouvé avec Jeanne Valjean'
REFERENCE = 'VIR SEPA JEANNE VALJEAN'
TRACKING = '1A 555 666 7777-8'
REFUSED_ADDRESS = 'w.refuse@client.example'
TEXTS = (DISPUTE, CLEARED, REFERENCE, TRACKING, REFUSED_ADDRESS, 'Valjean')


def audit_rows_holding(env, text):
    """The audit rows, and the side table's rows, whose text holds TEXT."""
    like = '%' + text + '%'
    return (env.sql('SELECT a.id, a.action FROM dunning.audit_log a '
                    'WHERE a::text ILIKE %s ORDER BY a.id', (like,)),
            env.sql('SELECT t.audit_id, t.key FROM dunning.audit_text t '
                    'WHERE t::text ILIKE %s ORDER BY t.audit_id', (like,)))


def letters_world(make_env):
    """V (letter, dispute, payment) and W (a relay's 550 quoting its
    address) closed on 2026-04-20; K (letter) still owes.  Returns the
    env, the client ids and V's and K's letters' paths."""
    env = make_env(reject=r'^w\.refuse@')
    lw = env.lawyer('Maître Claire Roux', 'claire.roux@cabinet.example')
    ids = {'V': env.client('jeanne.valjean@client.example', kind='individual',
                           first='Jeanne', last='Valjean', lawyer=lw),
           'W': env.client(REFUSED_ADDRESS, company='Refus SARL', lawyer=lw),
           'K': env.client('k@garde.example', company='Garde SA', lawyer=lw)}
    env.invoice('F-700', ids['V'], '2026-03-02', amount='1500.00')
    env.invoice('F-720', ids['W'], '2026-03-02', amount='400.00')
    env.invoice('F-730', ids['K'], '2026-03-02', amount='900.00')
    env.replay_on(ESCALATION)
    assert env.reminders('F-720')['j3']['state'] == 'failed'
    for n in ('F-700', 'F-730'):
        env.sql('SELECT dunning.approve(%s)', (env.reminders(n)['j45']['id'],),
                now=at('2026-04-16', '17:00'))
    env.replay_on([LETTER_DAY])
    paths = {k: env.reminders(n)['j45']['letter_path']
             for k, n in (('V', 'F-700'), ('K', 'F-730'))}
    assert all(os.path.isfile(p) for p in paths.values()), paths
    env.ctl('letter-sent', str(env.reminders('F-700')['j45']['id']), '--tracking', TRACKING,
            now=at('2026-04-17', '16:00'), check=0)
    env.ctl('dispute', 'F-700', DISPUTE, now=at('2026-04-18', '10:00'), check=0)
    env.ctl('clear-dispute', 'F-700', CLEARED, now=at('2026-04-18', '11:00'), check=0)
    env.pay('F-700', '1500.00', at('2026-04-20'), reference=REFERENCE)
    env.sql("UPDATE dunning.invoice SET status = 'cancelled' WHERE number = 'F-720'",
            now=at('2026-04-20'))
    return env, ids, paths


def test_purge_removes_letters_copies_and_the_audit_logs_texts(make_env):
    env, ids, paths = letters_world(make_env)
    # Before: the texts are read back beside their hashes, never in the chain.
    for text in TEXTS[:4]:
        chained, side = audit_rows_holding(env, text)
        assert chained == [] and side, (text, chained, side)
    chained, side = audit_rows_holding(env, REFUSED_ADDRESS)
    assert chained == [] and side and all(k == 'detail' for _, k in side), (chained, side)
    (flagged,) = env.audit('dispute_flagged', 'F-700')
    assert flagged['details']['reason'] == DISPUTE
    assert env.one('SELECT bool_and(dunning.audit_text_matches(t)) FROM dunning.audit_text t')
    hist = env.ctl('history', 'F-700', check=0).stdout
    assert DISPUTE in hist and CLEARED in hist
    assert env.count('dunning.message_copy', 'client_id = %s', (ids['V'],)) == 4

    # 3 years after 2026-04-20: V and W are purged, K (owing) is not.
    r = env.ctl('purge', '--dry-run', now=at('2029-06-01'), check=0)
    assert 'letter would be removed: %s (client %d, reminder' % (paths['V'], ids['V']) \
        in r.stdout
    assert os.path.isfile(paths['V'])
    r = env.ctl('purge', now=at('2029-06-01'), check=0)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ['CLIENT', 'CLOSED', 'ON', 'INVOICES', 'MESSAGE', 'COPIES',
                                'AUDIT', 'TEXTS', 'LETTERS']
    rows = {int(l.split()[0]): l.split()[1:] for l in lines[1:3]}
    # V's texts: the tracking number, the dispute's reason (flagged and
    # cleared), the note, the reference, the relay's three 250 answers; W's:
    # the relay's 550.
    assert rows == {ids['V']: ['2026-04-20', '1', '4', '8', '1'],
                    ids['W']: ['2026-04-20', '1', '0', '1', '0']}, r.stdout
    assert lines[-2] == ('1 letter removed from the spool %s, 0 already gone, 0 not removed'
                         % env.spool)
    assert lines[-1] == '2 clients anonymised (closed more than 3 years ago)'

    # The letter and the copies are gone; K's letter stays.
    assert not os.path.exists(paths['V']) and os.path.isfile(paths['K'])
    assert env.reminders('F-700')['j45']['letter_path'] is None
    assert env.reminders('F-730')['j45']['letter_path'] == paths['K']
    assert env.count('dunning.message_copy', 'client_id = ANY(%s)', ([ids['V'], ids['W']],)) \
        == 0
    (gone,) = env.audit('letters_removed')
    assert gone['details'].pop('real_at')      # purge ran under --now
    assert gone['details'] == {'client_id': ids['V'], 'removed': 1, 'missing': 0,
                               'not_removed': 0,
                               'reminder_ids': [env.reminders('F-700')['j45']['id']]}
    # No text about them is left anywhere in the audit log, nor beside it.
    for text in TEXTS:
        assert audit_rows_holding(env, text) == ([], []), text
    # Their hashes stay, so the chain still verifies.
    (flagged,) = env.audit('dispute_flagged', 'F-700')
    assert set(flagged['details']) == {'reason_sha256', 'real_at'}      # under --now
    env.verify_audit()
    # A second purge has nothing to do.
    r = env.ctl('purge', now=at('2029-06-01'), check=0)
    assert r.stdout == '0 clients anonymised (closed more than 3 years ago)\n'


def test_purge_removes_only_files_directly_in_the_spool(make_env):
    """Paths recorded for letters are data: one outside the spool, one with
    "..", a symbolic link and a directory are reported and kept (exit 1);
    a missing file is not an error; the rest is removed, and the next purge
    tries the kept ones again."""
    env = make_env()
    c = env.client('old@client.example', company='Ancien SARL')
    inv = env.invoice('F-800', c, '2021-11-30', amount='100.00')
    env.pay('F-800', '100.00', '2022-01-10 10:00+01')
    os.makedirs(env.spool, exist_ok=True)
    secret = os.path.join(os.path.dirname(env.spool), 'secret.txt')
    with open(secret, 'w') as f:
        f.write('do not remove')
    os.mkdir(os.path.join(env.spool, 'a-dir.pdf'))
    os.symlink(secret, os.path.join(env.spool, 'link.pdf'))
    plain = os.path.join(env.spool, '2022-01-03-j45-1.pdf')
    with open(plain, 'w') as f:
        f.write('%PDF-1.5 letter')
    paths = {'j3': plain, 'j10': secret,
             'j30': os.path.join(env.spool, '..', 'secret.txt'),
             'j45': os.path.join(env.spool, 'link.pdf'),
             'a1': os.path.join(env.spool, 'a-dir.pdf'),
             'a3': os.path.join(env.spool + '/', 'gone.pdf')}
    rem = {}
    for stage, path in paths.items():
        rem[stage] = env.one("INSERT INTO dunning.reminder (invoice_id, stage, state, "
                             "scheduled_for, sent_at, letter_path) VALUES (%s, %s, 'sent', "
                             "'2022-01-03', '2022-01-03', %s) RETURNING id",
                             (inv, stage, path))

    r = env.ctl('purge', '--dry-run', now=at('2026-03-10'), check=1)
    assert os.path.exists(plain)
    r = env.ctl('purge', now=at('2026-03-10'), check=1)
    assert 'letter removed: %s' % plain in r.stdout
    assert 'letter already gone: %s' % paths['a3'] in r.stdout
    for stage, why in (('j10', 'not a file directly in the spool'),
                       ('j30', 'not a file directly in the spool'),
                       ('j45', 'a symbolic link'), ('a1', 'not a regular file')):
        assert ('letter %s (client %d, reminder %d) not removed: %s'
                % (paths[stage], c, rem[stage], why)) in r.stderr, (stage, r.stderr)
    assert r.stdout.splitlines()[-2] == ('1 letter removed from the spool %s, 1 already '
                                         'gone, 4 not removed' % env.spool)
    assert not os.path.exists(plain)
    with open(secret) as f:
        assert f.read() == 'do not remove'
    assert os.path.islink(os.path.join(env.spool, 'link.pdf'))
    assert os.path.isdir(os.path.join(env.spool, 'a-dir.pdf'))
    left = {s: r['letter_path'] for s, r in env.reminders('F-800').items()}
    assert left == {'j3': None, 'a3': None, 'j10': paths['j10'], 'j30': paths['j30'],
                    'j45': paths['j45'], 'a1': paths['a1']}
    (gone,) = env.audit('letters_removed')
    assert gone['details'].pop('real_at')      # purge ran under --now
    assert gone['details'] == {'client_id': c, 'removed': 1, 'missing': 1, 'not_removed': 4,
                               'reminder_ids': sorted(rem.values())}
    # The client is anonymised all the same; the next purge tries the rest.
    assert env.one('SELECT anonymised_at IS NOT NULL FROM dunning.client WHERE id = %s', (c,))
    os.unlink(os.path.join(env.spool, 'link.pdf'))
    r = env.ctl('purge', now=at('2026-03-10'), check=1)
    assert 'letter already gone: %s' % paths['j45'] in r.stdout
    assert env.reminders('F-800')['j45']['letter_path'] is None
    assert plain not in r.stdout
    env.verify_audit()


def test_audit_free_texts_hashed_in_the_chain_read_by_whoever_reads_the_row(env):
    """Every writer of a free text: the row keeps KEY_sha256 (salted), the
    text is in dunning.audit_text, which the row's readers read (a lawyer:
    their clients' only) and nobody writes; codes stay in the row."""
    mine = env.cluster.ensure_role('maitre_texte', 'dunning_lawyer')
    other = env.cluster.ensure_role('maitre_autre', 'dunning_lawyer')
    lw = env.lawyer('Maître Texte', 'texte@cabinet.example', db_role=mine)
    env.lawyer('Maître Autre', 'autre@cabinet.example', db_role=other)
    c = env.client('t@client.example', lawyer=lw)
    env.invoice('F-900', c, '2026-03-02')
    env.invoice('F-901', c, '2026-03-02')
    env.cycle(at('2026-03-05'))
    env.pay('F-901', '10.00', at('2026-03-05', '12:00'), reference='VIR T')
    env.sql("SELECT dunning.flag_dispute('F-900', 'contesté par M. T')")
    env.sql("SELECT dunning.clear_dispute('F-900', 'réglé avec M. T')")
    env.sql("SELECT dunning.pause_client(%s, '2026-12-01', 'M. T hospitalisé')", (c,),
            now=at('2026-03-05'))
    env.sql("SELECT dunning.pause_invoice('F-901', '2026-12-01', 'attente de M. T')",
            now=at('2026-03-05'))
    texts = env.sql('SELECT a.action, t.key, t.text, a.details ->> (t.key || \'_sha256\'), '
                    'encode(sha256(t.salt || convert_to(t.text, \'UTF8\')), \'hex\'), '
                    'a.details ? t.key FROM dunning.audit_text t '
                    'JOIN dunning.audit_log a ON a.id = t.audit_id ORDER BY a.id, t.key')
    # The relay's answers first (the cycle's j3 messages).
    assert [(a, k, t) for a, k, t, *_ in texts[:2]] == [('sent', 'detail', '250 2.0.0 Ok: queued')] * 2
    texts = texts[2:]
    assert [(a, k, t) for a, k, t, *_ in texts] == [
        ('payment_recorded', 'reference', 'VIR T'),
        ('dispute_flagged', 'reason', 'contesté par M. T'),
        ('dispute_cleared', 'note', 'réglé avec M. T'),
        ('dispute_cleared', 'reason', 'contesté par M. T'),
        ('client_paused', 'reason', 'M. T hospitalisé'),
        ('invoice_paused', 'reason', 'attente de M. T')]
    for _, _, text, kept, computed, in_row in texts:
        assert kept == computed and not in_row
        assert kept != hashlib.sha256(text.encode()).hexdigest()     # salted
    # Codes stay in the row.
    assert env.sql("SELECT details ? 'reason' FROM dunning.audit_log "
                   "WHERE action = 'planned' LIMIT 1") == [(True,)]
    # Readers: the lawyer of the client, the accountant; not another lawyer.
    for role, n in ((mine, 8), (other, 0),
                    (env.cluster.ensure_role('compta_texte', 'dunning_accountant'), 8)):
        conn = env.connect(user=role)
        try:
            assert env.one('SELECT count(*) FROM dunning.audit_text', conn=conn) == n, role
            for stmt in ("INSERT INTO dunning.audit_text VALUES (1, 'x', '\\x00', 'x')",
                         "UPDATE dunning.audit_text SET text = 'x'",
                         'DELETE FROM dunning.audit_text'):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    env.sql(stmt, conn=conn)
        finally:
            conn.close()
    daemon = env.cluster.ensure_role('daemon_texte', 'dunning_daemon')
    conn = env.connect(user=daemon)
    try:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            env.sql('DELETE FROM dunning.audit_text', conn=conn)
    finally:
        conn.close()
    env.verify_audit()


def export_as(env, args, umask, stdout=None):
    """dunningctl export-client ARGS with UMASK, as an operator's shell runs it."""
    return subprocess.run([DUNNINGCTL, '-c', env.config, 'export-client'] + args,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60,
                          preexec_fn=lambda: os.umask(umask))


def test_export_client_file_is_owner_only_whatever_the_umask(env, tmp_path):
    c = env.client('export@client.example', company='Export SARL')
    env.invoice('F-950', c, '2026-03-02')
    out = tmp_path / 'export.json'
    r = export_as(env, [str(c), '--output', str(out)], 0o022)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert json.loads(out.read_text())['client']['id'] == c
    assert r.stdout == '' and r.stderr.startswith('client %d exported to %s:' % (c, out))
    # Never over an existing file (nor through a link), nothing audited then.
    n = env.count('dunning.audit_log', "action = 'client_exported'")
    r = export_as(env, [str(c), '--output', str(out)], 0o022)
    assert r.returncode == 1 and 'File exists' in r.stderr
    assert env.count('dunning.audit_log', "action = 'client_exported'") == n
    # An unknown client leaves no file.
    r = export_as(env, ['999999', '--output', str(tmp_path / 'none.json')], 0o022)
    assert r.returncode == 1 and not (tmp_path / 'none.json').exists()
    # The shell's redirection under umask 022 makes a 0644 file: the
    # export makes it owner-only before writing.
    shell = tmp_path / 'shell.json'
    with open(shell, 'w') as f:
        os.chmod(shell, 0o644)
        r = export_as(env, [str(c)], 0o022, stdout=f)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(shell).st_mode) == 0o600
    assert json.loads(shell.read_text())['client']['id'] == c
