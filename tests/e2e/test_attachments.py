"""Attachments (SPEC §2 rule 9, issue 17 item 1): an invoice's pdf_path is
read only when attachments.attach_invoice_pdf is on, and only from inside
attachments.dir — never through "..", another absolute path or a symbolic
link, never a file that is not a PDF or is over 10 MB, never a directory.
A refused PDF fails that reminder (attachment_refused), nothing leaves for
it, the others of the pass go on, and the file's bytes are in no message."""
import base64
import os

import pytest

from harness import at
from test_mime import pdf_bytes

SECRET = b'hunter2-smtp-password-7f3a9c'


def secret_file(env):
    """A file outside attachments.dir holding a secret (the SMTP password)."""
    path = os.path.join(env.workdir, 'secret.txt')
    with open(path, 'wb') as f:
        f.write(SECRET + b'\n')
    return path


def invoices_dir(env, on=True):
    """attachments.dir = WORKDIR/invoices, switched on (ON) or left off."""
    d = os.path.join(env.workdir, 'invoices')
    os.makedirs(d, exist_ok=True)
    env.write_config(extra_conf=env.extra_conf + 'attachments { dir = "%s" '
                     'attach_invoice_pdf = %s }\n' % (d, 'true' if on else 'false'))
    return d


def put(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    return path


def assert_no_secret(env):
    """The secret, as is or in base64 at any offset, in no message."""
    encoded = [base64.b64encode(b'xx'[:k] + SECRET)[4:-4].decode() for k in range(3)]
    for m in env.all_mails():
        assert SECRET.decode() not in m.raw
        for e in encoded:
            assert e not in m.raw.replace('\r\n', ''), e


def test_off_by_default_no_file_opened_no_attachment(env):
    """Without an attachments section, pdf_path naming a secret file: the
    reminder leaves without any attachment, the secret nowhere."""
    c = env.client('off@client.example')
    env.invoice('F-7000', c, '2026-03-02', pdf_path=secret_file(env))
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    assert m.msg.get_content_type() == 'multipart/alternative'
    assert list(m.msg.iter_attachments()) == []
    assert 'F-7000' in m.body
    assert env.reminders('F-7000')['j3']['state'] == 'sent'
    assert_no_secret(env)


def test_off_explicitly_even_inside_dir(env):
    """attach_invoice_pdf = false with a dir: a real PDF inside it is not
    attached either."""
    d = invoices_dir(env, on=False)
    c = env.client('off2@client.example')
    env.invoice('F-7001', c, '2026-03-02',
                pdf_path=put(os.path.join(d, 'F-7001.pdf'), pdf_bytes('F-7001')))
    env.cycle(at('2026-03-05'))
    (m,) = env.mails()
    assert list(m.msg.iter_attachments()) == []
    assert env.reminders('F-7001')['j3']['state'] == 'sent'


def test_on_pdf_inside_dir_attached(env):
    """On: a PDF inside dir, named absolutely (under dir) or relative to
    it, is attached with its bytes."""
    d = invoices_dir(env)
    os.mkdir(os.path.join(d, '2026'))
    a = put(os.path.join(d, 'F-7010.pdf'), pdf_bytes('F-7010', 5000))
    put(os.path.join(d, '2026', 'F-7011.pdf'), pdf_bytes('F-7011', 6000))
    c = env.client('on@client.example')
    env.invoice('F-7010', c, '2026-03-02', pdf_path=a)
    c2 = env.client('rel@client.example')
    env.invoice('F-7011', c2, '2026-03-02', pdf_path='2026/F-7011.pdf')
    env.cycle(at('2026-03-05'))
    got = {m.rcpt: {p.get_filename(): p.get_content() for p in m.msg.iter_attachments()}
           for m in env.mails()}
    assert got == {'on@client.example': {'F-7010.pdf': pdf_bytes('F-7010', 5000)},
                   'rel@client.example': {'F-7011.pdf': pdf_bytes('F-7011', 6000)}}


def refused_cases(env, d):
    """{invoice number: (pdf_path, what last_error says)} of the paths
    the daemon must refuse."""
    secret = secret_file(env)
    os.symlink(secret, os.path.join(d, 'out-link.pdf'))
    inside = put(os.path.join(d, 'real.pdf'), pdf_bytes('real'))
    os.symlink(inside, os.path.join(d, 'in-link.pdf'))
    os.mkdir(os.path.join(d, 'sub'))
    os.symlink(d, os.path.join(d, 'dirlink'))
    put(os.path.join(d, 'note.pdf'), b'PK\x03\x04 not a pdf ' + SECRET)
    big = os.path.join(d, 'big.pdf')
    with open(big, 'wb') as f:
        f.write(b'%PDF-1.4\n')
        f.truncate(10 * 1024 * 1024 + 1)
    os.mkdir(os.path.join(d, 'folder.pdf'))
    return {
        'F-7100': (secret, 'outside attachments.dir'),
        'F-7101': ('../secret.txt', 'outside attachments.dir'),
        'F-7102': (d + '/../secret.txt', 'outside attachments.dir'),
        'F-7103': (os.path.join(d, 'out-link.pdf'), 'symbolic link'),
        'F-7104': ('in-link.pdf', 'symbolic link'),
        'F-7105': ('dirlink/real.pdf', 'symbolic link'),
        'F-7106': ('note.pdf', 'not a PDF'),
        'F-7107': (big, 'more than'),
        'F-7108': ('folder.pdf', 'not a regular file'),
        'F-7109': ('sub/../../secret.txt', 'outside attachments.dir'),
        'F-7110': ('/etc/passwd', 'outside attachments.dir'),
        'F-7111': ('absent.pdf', 'No such file'),
    }


def test_on_refusals_fail_that_reminder_nothing_sent(env):
    """On: every path outside dir, through a symbolic link (even one to a
    file inside dir), not a PDF, over 10 MB, or a directory fails its
    reminder with attachment_refused and its why; nothing leaves for it,
    the other client's reminder goes; the secret is in no message."""
    d = invoices_dir(env)
    cases = refused_cases(env, d)
    for i, (number, (path, _)) in enumerate(cases.items()):
        env.invoice(number, env.client('refus%d@client.example' % i), '2026-03-02',
                    pdf_path=path)
    env.invoice('F-7199', env.client('ok@client.example'), '2026-03-02',
                pdf_path=put(os.path.join(d, 'F-7199.pdf'), pdf_bytes('F-7199')))
    r = env.cycle(at('2026-03-05'))
    assert r.returncode == 0
    (m,) = env.mails()
    assert m.rcpt == 'ok@client.example'
    assert [p.get_filename() for p in m.msg.iter_attachments()] == ['F-7199.pdf']
    for number, (path, why) in cases.items():
        rem = env.reminders(number)['j3']
        assert rem['state'] == 'failed', (number, rem)
        assert rem['reason'] == 'attachment_refused', (number, rem)
        assert why in rem['last_error'] and path in rem['last_error'], (number, rem)
        (aud,) = env.audit('failed', number)
        assert aud['details']['reason'] == 'attachment_refused', aud
    assert_no_secret(env)
    env.replay('2026-03-06', '2026-03-09')
    assert [m.rcpt for m in env.mails()] == ['ok@client.example']
    assert_no_secret(env)


def test_preview_refuses_as_the_sender_does(env):
    """dunningctl preview composes through the same code: a refused PDF is
    named, nothing of the secret printed; with attachments off, the preview
    shows the message without it."""
    d = invoices_dir(env)
    c = env.client('pv@client.example')
    env.invoice('F-7200', c, '2026-03-02', pdf_path='../secret.txt')
    secret_file(env)
    env.cycle(at('2026-03-05', '19:00'))                 # planned, not sent
    rem = env.reminders('F-7200')['j3']
    assert rem['state'] == 'planned', rem
    r = env.ctl('preview', '--raw', str(rem['id']), now=at('2026-03-06', '10:00'))
    assert r.returncode != 0
    assert 'outside attachments.dir' in r.stderr, r.stderr
    assert SECRET.decode() not in r.stdout + r.stderr
    env.write_config(extra_conf='')                      # off: the default
    r = env.ctl('preview', '--raw', str(rem['id']), now=at('2026-03-06', '10:00'), check=0)
    assert 'application/pdf' not in r.stdout and SECRET.decode() not in r.stdout
    assert os.path.isdir(d)


@pytest.mark.parametrize('conf,said', [
    ('attachments { attach_invoice_pdf = true }\n',
     'attach_invoice_pdf = true needs attachments.dir'),
    ('attachments { dir = "" attach_invoice_pdf = true }\n',
     'attach_invoice_pdf = true needs attachments.dir'),
    ('attachments { dir = "factures" attach_invoice_pdf = true }\n',
     'attach_invoice_pdf = true needs an absolute attachments.dir, not "factures"'),
])
def test_check_config_refuses_on_without_an_absolute_dir(make_env, conf, said):
    env = make_env(smtp=False, extra_conf=conf)
    r = env.daemon('--check-config')
    assert r.returncode != 0, r.stdout
    assert 'dunningd.conf:' in r.stderr and said in r.stderr, r.stderr
    assert 'configuration OK' not in r.stdout


def test_check_config_accepts_off_and_an_absolute_dir(make_env, tmp_path):
    for conf in ('attachments { dir = "factures" }\n',
                 'attachments { dir = "%s" attach_invoice_pdf = true }\n' % tmp_path):
        env = make_env(smtp=False, extra_conf=conf)
        r = env.daemon('--check-config')
        assert r.returncode == 0 and 'configuration OK' in r.stdout, r.stderr
