"""Test harness of dunningd, shared by the lib, sql and e2e suites (and by
bench/): a throwaway PostgreSQL 15 cluster, a fresh database per test
(cloned from a migrated template), a real SMTP server
(tests/lib/smtp_recorder.py, aiosmtpd) and helpers to run the programs with
a simulated clock and to read what they did.

No mocks: the daemon talks to a real PostgreSQL and a real SMTP server.
Every wait polls with a deadline; every server started here is stopped by
a fixture finalizer, even when the test fails.

meson test puts tests/lib on PYTHONPATH and passes the programs' paths
(tests/meson.build); a test module imports what it uses from here
(`from harness import at, wait_until`), a conftest.py the fixtures from
harness.fixtures.

    paths.py     the programs and sources, from meson's environment only
    clock.py     instants of Paris time, runs of days, the simulated clock
    text.py      French spaces, the words of a PDF letter
    programs.py  free ports, polling with a deadline, dunningd as a service
    pg.py        the private PostgreSQL cluster
    smtp.py      the SMTP recorder as a subprocess, the mails it recorded
    token.py     the OAuth 2.0 token endpoint as a subprocess, its requests
    relay.py     a private Postfix relay: TLS, AUTH, a Maildir (the SMTP transport)
    env.py       one test's world: database, relay, configuration, programs
    asserts.py   tables of messages compared with a readable diff
    threads.py   a function in a thread, the audit chain's watchers
    fixtures.py  the pytest fixtures
"""
from .asserts import assert_table
from .clock import PARIS, D, allow_simulated_clock, at, days, instant
from .env import BASE_CONFIG, Env, migrate_template
from .paths import (DUNNINGCTL, DUNNINGD, PG_BIN, PROGRAM_TIMEOUT, PYTHON, RECORDER,
                    SOURCE_ROOT, TEMPLATES, TOKEN_SERVER, from_meson)
from .pg import Cluster
from .programs import Daemon, free_port, wait_until
from .relay import Relay
from .smtp import Mail, SmtpRecorder
from .text import norm_spaces, pdf_text, pdf_words
from .token import TokenServer
from .threads import Worker, audit_watchers

__all__ = [
    'assert_table', 'PARIS', 'D', 'allow_simulated_clock', 'at', 'days', 'instant',
    'BASE_CONFIG', 'Env', 'migrate_template', 'DUNNINGCTL', 'DUNNINGD', 'PG_BIN', 'PROGRAM_TIMEOUT', 'PYTHON', 'RECORDER', 'SOURCE_ROOT', 'TEMPLATES', 'TOKEN_SERVER',
    'Cluster', 'Daemon', 'free_port', 'wait_until', 'Mail', 'SmtpRecorder', 'Relay',
    'norm_spaces', 'pdf_text', 'pdf_words', 'TokenServer', 'from_meson', 'Worker', 'audit_watchers',
]
