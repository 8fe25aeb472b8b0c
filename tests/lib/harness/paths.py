"""Where the programs, the sources and PostgreSQL's binaries are.

The programs' paths come only from the environment meson test sets
(tests/meson.build: DUNNINGD, DUNNINGCTL, DUNNING_MIME_CHECK,
DUNNING_SOURCE_ROOT): a test never guesses a build directory, so it never
runs a stale binary from another tree.  DUNNING_MIME_CHECK is read by its
one user (tests/e2e/test_month.py), so that bench/ needs only the daemon's
two programs.
"""
import os
import sys


def from_meson(name):
    """The value of the variable NAME that meson test passes, or a clear
    failure when the tests were started some other way."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError('%s is not set: run the tests through meson test '
                           '(meson test -C BUILDDIR --suite lib|sql|e2e), which passes '
                           'the paths of the programs (tests/meson.build)' % name)
    return value


PG_BIN = os.environ.get('PG_BIN', '/usr/lib/postgresql/15/bin')
# The interpreter running the tests, which sees aiosmtpd (Debian's python3).
PYTHON = sys.executable

SOURCE_ROOT = from_meson('DUNNING_SOURCE_ROOT')
DUNNINGD = from_meson('DUNNINGD')
DUNNINGCTL = from_meson('DUNNINGCTL')
# dunningweb (issue 19): read by its tests only, so that bench/ needs none.
DUNNINGWEB = os.environ.get('DUNNINGWEB', '')
# The SMTP recorder is a script next to this package (scripts/lib.sh runs it too).
RECORDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        'smtp_recorder.py')
# The OAuth 2.0 token endpoint of the XOAUTH2 tests, beside it.
TOKEN_SERVER = os.path.join(os.path.dirname(RECORDER), 'token_server.py')
TEMPLATES = os.path.join(SOURCE_ROOT, 'templates')

PROGRAM_TIMEOUT = 60
