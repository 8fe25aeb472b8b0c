"""The SMTP password file (SPEC §3.2 smtp.password_file): a secret every
user of the machine can read is refused, at --check-config and at start,
as is an empty one (it would log in with nothing)."""
import os

from harness import at

DAY = '2026-03-05'


def secret(tmp_path, value, mode=0o600):
    path = os.path.join(str(tmp_path), 'smtp_password')
    with open(path, 'w') as f:
        f.write(value)
    os.chmod(path, mode)
    return path


def conf(path):
    return '  username = "relances"\n  password_file = "%s"\n' % path


def test_a_password_every_user_can_read_is_refused(make_env, tmp_path):
    path = secret(tmp_path, 'le-bon-mot-de-passe\n', 0o644)
    env = make_env(smtp_conf=conf(path))
    r = env.daemon('--check-config')
    assert r.returncode != 0 and 'readable by every user (mode 0644)' in r.stderr, r.stderr
    r = env.cycle(at(DAY), check=None)
    assert r.returncode != 0 and 'readable by every user' in r.stderr, r.stderr
    os.chmod(path, 0o640)               # the service's group may read it
    env.daemon('--check-config', check=0)


def test_an_empty_password_is_refused(make_env, tmp_path):
    env = make_env(smtp_conf=conf(secret(tmp_path, '\n')))
    r = env.cycle(at(DAY), check=None)
    assert r.returncode != 0 and 'empty' in r.stderr, r.stderr
    assert env.mails() == []

