"""Templates (SPEC §3.4): a template naming a field the message context
does not offer is refused when the templates are loaded (--check-config,
daemon start, reload), naming the file, the line and the field; the
shipped sets pass; a client with language 'en' gets the English set with
English amounts and dates, a French client the French one."""
import os
import re
import shutil
import signal

from harness import TEMPLATES, at

LOOP_CONF = 'schedule { poll_interval = 1 }\n'


def templates_copy(env, tmp_path):
    """A copy of the shipped templates, and ENV's configuration pointed at it."""
    copy = str(tmp_path / 'templates')
    shutil.copytree(TEMPLATES, copy)
    with open(env.config, encoding='utf-8') as f:
        text = f.read()
    text = text.replace('dir = "%s"' % TEMPLATES, 'dir = "%s"' % copy)
    with open(env.config, 'w', encoding='utf-8') as f:
        f.write(text)
    return copy


def typo(path, old, new):
    """Replace the first OLD by NEW in the file at PATH; its line number."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    for i, line in enumerate(lines):
        if old in line:
            lines[i] = line.replace(old, new, 1)
            break
    else:
        raise AssertionError('%s not in %s' % (old, path))
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))
    return i + 1


def test_shipped_templates_pass_check_config(env):
    r = env.daemon('--check-config', check=0)
    assert 'configuration OK' in r.stdout
    assert 'no field' not in r.stderr
    for lang in ('fr', 'en'):
        for name in ('j03', 'j10', 'j30', 'j45'):
            assert os.path.exists(os.path.join(TEMPLATES, lang, name + '.txt'))


def test_unknown_field_refused_with_file_line_and_field(env, tmp_path):
    """A typo in a French stage template, in an English one and in a
    partial: --check-config exits non-zero and names template, line, field."""
    copy = templates_copy(env, tmp_path)
    j30 = os.path.join(copy, 'fr', 'j30.txt')
    line = typo(j30, '{{total_balance}}', '{{interest_totl}}')
    r = env.daemon('--check-config')
    assert r.returncode != 0
    assert '%s:%d: no field "interest_totl" in the message context' % (j30, line) in r.stderr
    assert 'configuration OK' not in r.stdout

    shutil.copy(os.path.join(TEMPLATES, 'fr', 'j30.txt'), j30)
    j10 = os.path.join(copy, 'en', 'j10.txt')
    line = typo(j10, '{{total_balance}}', '{{total_balence}}')
    r = env.daemon('--check-config')
    assert r.returncode != 0
    assert '%s:%d: no field "total_balence" in the message context' % (j10, line) in r.stderr

    # Inside {{#invoices}}: names resolve against an invoice, then outward,
    # so {{firm.name}} there is fine and {{invoice.number}} is not.
    shutil.copy(os.path.join(TEMPLATES, 'en', 'j10.txt'), j10)
    liste = os.path.join(copy, 'en', '_liste.txt')
    typo(liste, '{{number}}', '{{number}} {{firm.name}} {{client.name}}')
    env.daemon('--check-config', check=0)
    line = typo(liste, '{{number}}', '{{invoice.number}}')
    r = env.daemon('--check-config')
    assert r.returncode != 0
    assert '%s:%d: no field "invoice.number" in the message context' % (liste, line) in r.stderr


def test_daemon_refuses_to_start_and_reload_with_unknown_field(make_env, tmp_path):
    """The daemon does not start on a template naming an unknown field
    (nothing sent); a reload onto such a template is refused and the
    running templates kept."""
    env = make_env(extra_conf=LOOP_CONF)
    copy = templates_copy(env, tmp_path)
    j03 = os.path.join(copy, 'fr', 'j03.txt')
    good = open(j03, encoding='utf-8').read()
    typo(j03, '{{payment_url}}', '{{paymnet_url}}')
    c = env.client('refus@client.example')
    env.invoice('T-1', c, '2026-03-02')
    r = env.cycle(at('2026-03-05'), check=None)
    assert r.returncode != 0
    assert 'no field "paymnet_url" in the message context' in r.stderr
    assert env.mails() == []

    with open(j03, 'w', encoding='utf-8') as f:
        f.write(good)
    d = env.start_daemon(now=at('2026-03-05'))
    try:
        assert len(env.wait_mails(1)) == 1
        typo(j03, '{{payment_url}}', '{{paymnet_url}}')
        mark = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_log(r'no field "paymnet_url" in the message context', after=mark)
        # Still running on the templates it had: the next client is served.
        c2 = env.client('apres@client.example')
        env.invoice('T-2', c2, '2026-03-02')
        assert len(env.wait_mails(2)) == 2
        assert d.proc.poll() is None
        assert 'paymnet' not in env.mails()[-1].raw
    finally:
        assert d.stop() == 0


def test_english_client_gets_english_j3(env):
    """language = 'en': the English j3, €1,234.56 and '2 March 2026';
    language = 'fr': the French one, 1 234,56 € and '2 mars 2026'."""
    en = env.client('english@client.example', company='Smith & Jones Ltd', language='en')
    fr = env.client('francais@client.example', company='Dupont SARL', language='fr')
    env.invoice('E-1', en, '2026-03-02', amount='1234.56', issued_on='2026-01-31')
    env.invoice('E-2', fr, '2026-03-02', amount='1234.56', issued_on='2026-01-31')
    env.cycle(at('2026-03-05'))
    mails = {m.rcpt: m for m in env.mails()}
    m = mails['english@client.example']
    assert m.subject == 'Reminder: invoice no. E-1 now due'
    assert m.text.startswith('Dear Sir or Madam,\n')
    assert ('invoice no. E-1 (your matter D-E-1), issued on 31 January 2026, '
            'due on 2 March 2026: €1,234.56') in m.text
    assert 'If you have already made this payment, please disregard this message.' in m.text
    assert 'Yours faithfully,' in m.text
    assert not re.search(r'\b(Madame|facture|note d\'honoraires|mars)\b', m.text)
    html = m.msg.get_body(preferencelist=('html',))
    assert m.msg.get_content_type() == 'multipart/alternative'
    assert html is not None and '<html lang="en">' in html.get_content()
    assert ('invoice no.&nbsp;<strong>E-1</strong> (your matter D-E-1), issued on 31 January '
            '2026, due on 2 March 2026: <strong>€1,234.56</strong>') in html.get_content()
    f = mails['francais@client.example']
    assert f.subject.startswith("Rappel\u00a0: note d'honoraires n°\u00a0E-2")
    assert ("note d'honoraires n° E-2 (votre dossier D-E-2), émise le 31 janvier 2026, "
            "échue le 2 mars 2026 : 1 234,56 €") in f.text
    assert 'Dear' not in f.text


def test_lawyer_templates_of_the_firm_language_are_checked(make_env, tmp_path):
    """The lawyers' templates of firm.language (here en) are checked like
    the client's: a field their context lacks names the file and line."""
    env = make_env(firm_conf='  language = "en"\n')
    copy = templates_copy(env, tmp_path)
    digest = os.path.join(copy, 'en', 'lawyer_digest.txt')
    env.daemon('--check-config', check=0)
    line = typo(digest, '{{dispute_days}}', '{{dispute.days}}')
    r = env.daemon('--check-config')
    assert r.returncode != 0
    assert '%s:%d: no field "dispute.days" in the message context' % (digest, line) in r.stderr
    # The French set is not the one in use: a typo there is not reported.
    typo(digest, '{{dispute.days}}', '{{dispute_days}}')
    typo(os.path.join(copy, 'fr', 'lawyer_digest.txt'), '{{dispute_days}}', '{{x}}')
    env.daemon('--check-config', check=0)


def test_lists_nested_in_each_other_refused_at_check_config(env, tmp_path):
    """Issue 17: sections over lists nested more than three deep multiply
    their work (10 invoices, 30 deep: 10^30 passes): --check-config names
    the file, the line and the section."""
    copy = templates_copy(env, tmp_path)
    j03 = os.path.join(copy, 'fr', 'j03.txt')
    line = typo(j03, '{{> liste}}', '{{#invoices}}{{#invoices}}{{#invoices}}{{#invoices}}'
                '{{number}}{{/invoices}}{{/invoices}}{{/invoices}}{{/invoices}}')
    r = env.daemon('--check-config')
    assert r.returncode != 0
    assert ("%s:%d: section 'invoices': sections over lists nested more than 3 deep"
            % (j03, line)) in r.stderr, r.stderr


def test_a_template_that_would_render_for_ever_fails_its_reminders(env, tmp_path):
    """Lists nested through a partial (which --check-config does not
    follow) are stopped at render time by the work cap: each reminder of
    that template fails with not_composed, the error naming the template;
    the other templates' messages leave; the cycle ends."""
    copy = templates_copy(env, tmp_path)
    def nest(body):
        return '{{#invoices}}' * 3 + body + '{{/invoices}}' * 3
    # 40 invoices, 6 deep: 4 * 10^9 passes.
    with open(os.path.join(copy, 'fr', '_liste.txt'), 'w', encoding='utf-8') as f:
        f.write(nest('{{> boucle}}') + '\n')
    with open(os.path.join(copy, 'fr', '_boucle.txt'), 'w', encoding='utf-8') as f:
        f.write(nest('') + '\n')
    env.daemon('--check-config', check=0)
    many = env.client('plusieurs@client.example')
    for i in range(40):
        env.invoice('F-80%02d' % i, many, '2026-03-02')
    en = env.client('english@client.example', language='en')
    env.invoice('F-8100', en, '2026-03-02')
    r = env.cycle(at('2026-03-05'))
    assert r.returncode == 0, r.stderr
    assert [m.rcpt for m in env.mails()] == ['english@client.example']
    rem = env.reminders('F-8000')['j3']
    assert rem['state'] == 'failed' and rem['reason'] == 'not_composed', rem
    assert rem['last_error'].startswith('template fr/j03.txt: '), rem
    assert 'too much work' in rem['last_error'], rem


def test_template_not_in_utf8_refused_with_its_line(env, tmp_path):
    """Issue 17: a template saved in Latin-1 (or any byte that is not
    UTF-8) is refused by --check-config, naming the file and the line,
    rather than sent as is (and refused by the database with the copy)."""
    copy = templates_copy(env, tmp_path)
    j10 = os.path.join(copy, 'fr', 'j10.txt')
    with open(j10, 'rb') as f:
        lines = f.read().split(b'\n')
    lines[2] = 'Réglement en Latin-1'.encode('latin-1')
    with open(j10, 'wb') as f:
        f.write(b'\n'.join(lines))
    r = env.daemon('--check-config')
    assert r.returncode != 0
    assert '%s:3: not UTF-8 text (byte 0xe9)' % j10 in r.stderr, r.stderr
    shutil.copy(os.path.join(TEMPLATES, 'fr', 'j10.txt'), j10)
    with open(os.path.join(copy, 'fr', '_liste.txt'), 'ab') as f:
        f.write(b'\xff\n')
    r = env.daemon('--check-config')
    assert r.returncode != 0 and '_liste.txt:4: not UTF-8 text' in r.stderr, r.stderr
