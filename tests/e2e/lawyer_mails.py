"""What the tests of the lawyers' mail (tests/e2e/test_lawyer_mail.py,
test_lawyer_digest.py) read of it: the alerts and the digests the SMTP
recorder got, and the lines of their bodies."""
from harness import norm_spaces

ALICE = 'alice.martin@cabinet.example'      # the harness's default lawyer


def lawyer_mails(env, to=None):
    return [m for m in env.lawyer_mails() if to is None or m.rcpt == to]


def digests(env, to=None):
    return [m for m in lawyer_mails(env, to) if '.digest.' in m.message_id]


def alerts(env, to=None):
    return [m for m in lawyer_mails(env, to) if '.alert.' in m.message_id]


def lines(m):
    """The body's lines, French spaces made plain."""
    return norm_spaces(m.body).split('\n')


def item_lines(m):
    return [x.strip() for x in lines(m) if x.startswith('  - ')]
