"""Test harness for dunningd: a throwaway PostgreSQL 15 cluster, a fresh
database per test (cloned from a migrated template), a real SMTP server
(tests/lib/smtp_recorder.py, aiosmtpd) and helpers to run the programs with
a simulated clock and to read what they did.

No mocks: the daemon talks to a real PostgreSQL and a real SMTP server.
Every wait polls with a deadline; every server started here is stopped by
a fixture finalizer, even when the test fails.
"""
import datetime as dt
import email
import email.policy
import itertools
import json
import os
import pwd
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from zoneinfo import ZoneInfo

import psycopg2
import psycopg2.extensions
import pytest

PARIS = ZoneInfo('Europe/Paris')
PG_BIN = os.environ.get('PG_BIN', '/usr/lib/postgresql/15/bin')
PYTHON = '/usr/bin/python3'


def _default(env, rel):
    if os.environ.get(env):
        return os.environ[env]
    return os.path.join('/work/main', rel)


SOURCE_ROOT = os.environ.get('DUNNING_SOURCE_ROOT') or os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..'))
DUNNINGD = _default('DUNNINGD', 'build/daemon/dunningd')
DUNNINGCTL = _default('DUNNINGCTL', 'build/daemon/dunningctl')
RECORDER = os.path.join(SOURCE_ROOT, 'tests', 'lib', 'smtp_recorder.py')
TEMPLATES = os.path.join(SOURCE_ROOT, 'templates')

PROGRAM_TIMEOUT = 60


# ---------------------------------------------------------------- time --

def at(day, hhmm='10:00'):
    """ISO 8601 instant (with the Paris offset of that day) of local time
    HHMM on DAY ('2026-03-10' or a date)."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    h, m = (int(x) for x in hhmm.split(':'))
    return dt.datetime(day.year, day.month, day.day, h, m, tzinfo=PARIS).isoformat()


def instant(day, hhmm='10:00'):
    """The aware datetime of local time HHMM on DAY."""
    return dt.datetime.fromisoformat(at(day, hhmm))


def days(first, last):
    """Every date from FIRST to LAST inclusive."""
    d = dt.date.fromisoformat(first) if isinstance(first, str) else first
    e = dt.date.fromisoformat(last) if isinstance(last, str) else last
    while d <= e:
        yield d
        d += dt.timedelta(days=1)


def D(s):
    return dt.date.fromisoformat(s)


def norm_spaces(s):
    """Narrow and ordinary no-break spaces as plain spaces, for matching
    amounts formatted the French way ("1 234,56 €")."""
    return s.replace('\u202f', ' ').replace('\u00a0', ' ')


def pdf_text(path, *args):
    """The text of the PDF at PATH, by poppler's pdftotext (ARGS: -layout...)."""
    r = subprocess.run(['pdftotext'] + list(args) + [path, '-'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=PROGRAM_TIMEOUT)
    assert r.returncode == 0, 'pdftotext %s: %s' % (path, r.stderr)
    return r.stdout


def pdf_words(path):
    """The words of the PDF at PATH in reading order, one space between
    them (line breaks and columns gone, French spaces plain), so that a
    phrase can be looked for wherever the lines wrap."""
    return ' '.join(pdf_text(path, '-layout').split())


# --------------------------------------------------------------- ports --

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# ------------------------------------------------------------- cluster --

class Cluster:
    """A private PostgreSQL 15 cluster, reached over a unix socket."""

    def __init__(self, durable=False):
        # DURABLE: commits survive a crash (pg_ctl restart -m immediate);
        # otherwise synchronous_commit is off, for speed.
        self.durable = durable
        self.dir = tempfile.mkdtemp(prefix='dunning-pg-')
        pw = pwd.getpwnam('postgres')
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, 'data')
        self.log = os.path.join(self.dir, 'server.log')
        self.port = free_port()
        self.host = self.dir
        self.started = False
        self._dbs = itertools.count(1)

    def _pg(self, *args, timeout=120):
        return subprocess.run(['runuser', '-u', 'postgres', '--'] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, cwd=self.dir)

    def start(self):
        r = self._pg(os.path.join(PG_BIN, 'initdb'), '-D', self.data, '-A', 'trust',
                     '--nosync', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8')
        if r.returncode != 0:
            raise RuntimeError('initdb failed:\n' + r.stdout)
        opts = ("-k %s -p %d -c listen_addresses='' -c fsync=off -c synchronous_commit=%s "
                "-c full_page_writes=off -c max_connections=100 -c log_min_messages=warning"
                % (self.dir, self.port, 'on' if self.durable else 'off'))
        r = self._pg(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-l', self.log, '-w',
                     '-t', '60', '-o', opts, 'start')
        if r.returncode != 0:
            log = open(self.log).read() if os.path.exists(self.log) else ''
            raise RuntimeError('pg_ctl start failed:\n' + r.stdout + log)
        self.started = True

    def stop(self):
        if self.started:
            self._pg(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-m', 'immediate',
                     '-w', 'stop', timeout=60)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self):
        """pg_ctl restart -m immediate: every session dies at once."""
        r = self._pg(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-l', self.log,
                     '-m', 'immediate', '-w', '-t', '60', 'restart')
        if r.returncode != 0:
            raise RuntimeError('pg_ctl restart failed:\n' + r.stdout)

    def conninfo(self, dbname, user='postgres'):
        return 'host=%s port=%d dbname=%s user=%s' % (self.host, self.port, dbname, user)

    def connect(self, dbname='postgres', user='postgres', autocommit=True):
        conn = psycopg2.connect(host=self.host, port=self.port, dbname=dbname, user=user)
        conn.autocommit = autocommit
        return conn

    def admin(self, sql, params=None, dbname='postgres'):
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def ensure_role(self, name, member_of=None):
        """A LOGIN role (cluster-wide, so created once), member of MEMBER_OF."""
        rows = self.admin('SELECT 1 FROM pg_roles WHERE rolname = %s', (name,))
        if not rows:
            self.admin('CREATE ROLE %s LOGIN%s' % (
                name, ' IN ROLE %s' % member_of if member_of else ''))
        return name

    def new_db_name(self, prefix='t'):
        return '%s_%d_%d' % (prefix, os.getpid(), next(self._dbs))


# ----------------------------------------------------------------- smtp --

class SmtpRecorder:
    """tests/lib/smtp_recorder.py as a subprocess on its own port."""

    def __init__(self, workdir, port=None, reject=None, tempfail=None):
        self.out = os.path.join(workdir, 'mails-%d.jsonl' % time.monotonic_ns())
        self.control = os.path.join(workdir, 'smtp-control.json')
        self.events_file = os.path.join(workdir, 'smtp-events.jsonl')
        self.port = port or free_port()
        self.reject = reject
        self.tempfail = tempfail
        self.proc = None

    def start(self, deadline=20):
        args = [PYTHON, RECORDER, '--port', str(self.port), '--out', self.out,
                '--control', self.control, '--events', self.events_file]
        if self.reject:
            args += ['--reject-rcpt', self.reject]
        if self.tempfail:
            args += ['--tempfail-rcpt', self.tempfail]
        # stderr to a file: a pipe nobody reads could fill and stall the relay.
        self.errfile = open(self.out + '.stderr', 'w')
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.errfile,
                                     text=True)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self.errfile.flush()
                with open(self.out + '.stderr') as f:
                    raise RuntimeError('smtp recorder exited: ' + f.read())
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith('READY'):
                    return self
        self.stop()
        raise RuntimeError('smtp recorder not READY within %ds' % deadline)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None:
            self.proc.stdout.close()
            self.errfile.close()
        self.proc = None

    def faults(self, reply=None, delay=None, drop=None):
        """Change how the relay answers, while it runs (written atomically)."""
        ctl = {}
        if reply:
            ctl['reply'] = reply
        if delay:
            ctl['delay'] = delay
        if drop:
            ctl['drop'] = drop
        tmp = self.control + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(ctl, f)
        os.replace(tmp, self.control)

    def events(self):
        if not os.path.exists(self.events_file):
            return []
        with open(self.events_file) as f:
            return [json.loads(line) for line in f if line.strip()]

    def records(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out, encoding='utf-8') as f:
            return [json.loads(line) for line in f if line.strip()]


def wait_until(what, fn, deadline=15, interval=0.02):
    """Poll FN until it returns something true; fail after DEADLINE s."""
    end = time.monotonic() + deadline
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError('timed out after %ss waiting for %s' % (deadline, what))
        time.sleep(interval)


class Daemon:
    """dunningd without --once; its log read line by line by a thread."""

    def __init__(self, config, now=None, args=(), extra_env=None):
        argv = [DUNNINGD, '-c', config] + (['--now', now] if now else []) + list(args)
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env=dict(os.environ, **(extra_env or {})))
        self.lines = []
        self.cv = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cv:
                self.lines.append(line)
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def wait_log(self, pattern, deadline=15, after=0):
        """Index of the first log line from AFTER on matching PATTERN."""
        rx = re.compile(pattern)
        end = time.monotonic() + deadline
        with self.cv:
            while True:
                for i in range(after, len(self.lines)):
                    if rx.search(self.lines[i]):
                        return i
                left = end - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError('no log line matching %r in %ss; log:\n%s'
                                         % (pattern, deadline, ''.join(self.lines)))
                self.cv.wait(min(left, 0.2))

    def mark(self):
        with self.cv:
            return len(self.lines)

    def log(self):
        with self.cv:
            return ''.join(self.lines)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=60):
        """The exit status, once it exits by itself."""
        rc = self.proc.wait(timeout)
        self.reader.join(10)
        return rc

    def stop(self, timeout=60):
        """SIGTERM, then the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(timeout)
        self.reader.join(10)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        self.reader.join(10)


class Mail:
    """One message the relay accepted, parsed with email.policy.default."""

    def __init__(self, record):
        self.record = record
        self.raw = record['data']
        self.envelope_rcpt = record['rcpt_tos']
        self.mail_from = record['mail_from']
        self.msg = email.message_from_string(self.raw, policy=email.policy.default)
        self.rcpt = self.envelope_rcpt[0] if self.envelope_rcpt else None
        self.to = self.msg['To']
        self.subject = str(self.msg['Subject']) if self.msg['Subject'] is not None else None
        self.date = self.msg['Date'].datetime if self.msg['Date'] is not None else None
        self.message_id = str(self.msg['Message-ID']).strip() if self.msg['Message-ID'] else None
        self.reply_to = self.msg['Reply-To']
        part = self.msg.get_body(preferencelist=('plain',))
        self.body = (part.get_content() if part is not None else '').replace('\r\n', '\n')
        self.text = norm_spaces(self.body)
        # The lawyers' alerts and digests (sql/010), not messages to clients.
        self.internal = bool(self.message_id and self.message_id.startswith('<dunning-lawyer.'))

    def __repr__(self):
        return '<Mail to=%s subject=%r id=%s>' % (self.rcpt, self.subject, self.message_id)


# -------------------------------------------------------------- env ----

BASE_CONFIG = """\
database {{ conninfo = "{conninfo}" }}
smtp {{
  host = "127.0.0.1"
  port = {smtp_port}
  tls = "none"
  from = "Cabinet Test <relances@cabinet.example>"
{smtp_extra}}}
firm {{
  name = "Cabinet Test"
  address = "1 rue de la Paix, 75002 Paris"
  phone = "01 23 45 67 89"
{firm_extra}}}
templates {{ dir = "{templates}" }}
spool {{ dir = "{spool}" }}
"""


class Env:
    """One test's world: its database, its relay, its configuration."""

    def __init__(self, cluster, template, workdir, extra_conf='', reject=None, tempfail=None,
                 smtp=True, db_user='postgres', empty=False, smtp_conf='', firm_conf=''):
        self.cluster = cluster
        self.workdir = workdir
        self.dbname = cluster.new_db_name()
        if empty:       # not migrated
            cluster.admin('CREATE DATABASE %s' % self.dbname)
        else:
            cluster.admin('CREATE DATABASE %s TEMPLATE %s' % (self.dbname, template))
        self.spool = os.path.join(workdir, 'spool')
        self.smtp = None
        self._dead = None
        if smtp:
            for attempt in range(5):
                try:
                    self.smtp = SmtpRecorder(workdir, reject=reject, tempfail=tempfail).start()
                    break
                except RuntimeError:        # the free port was taken meanwhile
                    if attempt == 4:
                        raise
            smtp_port = self.smtp.port
        else:
            # A port bound but not listening: connections are refused, and
            # no other process can take it while the test runs.
            self._dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._dead.bind(('127.0.0.1', 0))
            smtp_port = self._dead.getsockname()[1]
        self.smtp_port = smtp_port
        self.extra_conf = extra_conf
        self.smtp_conf = smtp_conf       # keys inside the smtp block
        self.firm_conf = firm_conf       # keys inside the firm block
        self.db_user = db_user
        self.config = os.path.join(workdir, 'dunningd.conf')
        self.write_config()
        self._conn = None
        self._seen_mails = 0
        self._seen_letters = set()
        self.log = []		# (now, CompletedProcess) of every program run
        self.daemons = []	# Daemon processes started, stopped by close()

    # configuration --------------------------------------------------------
    def write_config(self, extra_conf=None, db_user=None):
        if extra_conf is not None:
            self.extra_conf = extra_conf
        if db_user is not None:
            self.db_user = db_user
        text = BASE_CONFIG.format(conninfo=self.cluster.conninfo(self.dbname, self.db_user),
                                  smtp_port=self.smtp_port, templates=TEMPLATES,
                                  spool=self.spool, smtp_extra=self.smtp_conf,
                                  firm_extra=self.firm_conf) + self.extra_conf
        with open(self.config, 'w', encoding='utf-8') as f:
            f.write(text)

    def restart_smtp(self, reject=None, tempfail=None):
        """A new relay on the same port (e.g. one that stopped refusing)."""
        out = self.smtp.out if self.smtp else None
        if self.smtp:
            self.smtp.stop()
        if self._dead is not None:
            self._dead.close()
            self._dead = None
        self.smtp = SmtpRecorder(self.workdir, port=self.smtp_port, reject=reject,
                                 tempfail=tempfail)
        if out:
            self.smtp.out = out
        end = time.monotonic() + 20
        while True:
            try:
                self.smtp.start()
                return
            except RuntimeError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def close(self):
        for d in self.daemons:
            d.kill()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.smtp is not None:
            self.smtp.stop()
        if self._dead is not None:
            self._dead.close()
        try:
            self.cluster.admin('DROP DATABASE IF EXISTS %s WITH (FORCE)' % self.dbname)
        except psycopg2.Error:
            pass

    # programs -------------------------------------------------------------
    def start_daemon(self, now=None, args=(), config=None):
        """dunningd running as a service (no --once)."""
        d = Daemon(config or self.config, now=now, args=args)
        self.daemons.append(d)
        return d

    def run(self, prog, *args, now=None, check=None, timeout=PROGRAM_TIMEOUT, config=None):
        argv = [prog, '-c', config or self.config]
        if now is not None:
            argv += ['--now', now]
        argv += list(args)
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        self.log.append((now, r))
        if check is not None and r.returncode != check:
            raise AssertionError('%s exited %d (expected %d)\nstdout:\n%s\nstderr:\n%s' % (
                ' '.join(argv), r.returncode, check, r.stdout, r.stderr))
        return r

    def daemon(self, *args, now=None, check=None, **kw):
        return self.run(DUNNINGD, *args, now=now, check=check, **kw)

    def ctl(self, *args, now=None, check=None, **kw):
        return self.run(DUNNINGCTL, *args, now=now, check=check, **kw)

    def cycle(self, now, check=0):
        """One daemon cycle (plan, then send) with the clock at NOW."""
        if isinstance(now, dt.datetime):
            now = now.isoformat()
        return self.daemon('--once', now=now, check=check)

    def plan(self, now):
        r = self.ctl('plan', '--json', now=now, check=0)
        return json.loads(r.stdout)

    # mail -----------------------------------------------------------------
    def all_mails(self):
        """Every message the relay accepted, the lawyers' included."""
        return [Mail(r) for r in self.smtp.records()] if self.smtp else []

    def mails(self):
        """The messages to clients (the lawyers' mail: lawyer_mails())."""
        return [m for m in self.all_mails() if not m.internal]

    def lawyer_mails(self):
        """The alerts and digests sent to lawyers."""
        return [m for m in self.all_mails() if m.internal]

    def new_mails(self):
        """The mails received since the last call."""
        all_mails = self.mails()
        new = all_mails[self._seen_mails:]
        self._seen_mails = len(all_mails)
        return new

    def wait_mails(self, n, deadline=10):
        end = time.monotonic() + deadline
        while True:
            m = self.mails()
            if len(m) >= n or time.monotonic() > end:
                return m
            time.sleep(0.05)

    def letters(self):
        """Spool files (formal notices), name -> their words (pdf_words)."""
        if not os.path.isdir(self.spool):
            return {}
        return {name: pdf_words(os.path.join(self.spool, name))
                for name in sorted(os.listdir(self.spool))}

    def new_letters(self):
        cur = self.letters()
        new = {k: v for k, v in cur.items() if k not in self._seen_letters}
        self._seen_letters |= set(new)
        return new

    # sql --------------------------------------------------------------------
    @property
    def conn(self):
        if self._conn is None or self._conn.closed:
            self._conn = self.cluster.connect(self.dbname)
        return self._conn

    def connect(self, user='postgres', autocommit=True):
        return self.cluster.connect(self.dbname, user=user, autocommit=autocommit)

    def sql(self, query, params=None, now=None, conn=None):
        """Run QUERY with dunning.now set to NOW (unset: the real clock);
        the rows, or None for a statement without a result."""
        c = conn or self.conn
        with c.cursor() as cur:
            cur.execute("SELECT set_config('dunning.now', %s, false)",
                        (now.isoformat() if isinstance(now, dt.datetime) else (now or ''),))
            cur.execute(query, params)
            return cur.fetchall() if cur.description else None

    def one(self, query, params=None, now=None, conn=None):
        rows = self.sql(query, params, now=now, conn=conn)
        assert rows is not None and len(rows) == 1, rows
        return rows[0][0] if len(rows[0]) == 1 else rows[0]

    def count(self, table, where='true', params=None):
        return self.one('SELECT count(*) FROM %s WHERE %s' % (table, where), params)

    # data -------------------------------------------------------------------
    def lawyer(self, name='Maître Alice Martin', email='alice.martin@cabinet.example',
               db_role=None):
        return self.one('INSERT INTO dunning.lawyer (full_name, email, db_role) '
                        'VALUES (%s, %s, %s) RETURNING id', (name, email, db_role))

    def client(self, email, kind='professional', company=None, first=None, last=None,
               lawyer=None, strategic=False, address=True, **cols):
        if kind == 'professional' and company is None:
            company = 'Société ' + email.split('@')[0].title()
        if kind == 'individual' and last is None:
            last = email.split('@')[0].title()
            first = first or 'Jean'
        if lawyer is None:
            lawyer = self._default_lawyer()
        values = dict(kind=kind, company_name=company, first_name=first, last_name=last,
                      email=email, lawyer_id=lawyer, strategic=strategic)
        if address:
            values.update(address_line1='12 avenue des Tilleuls', postal_code='69003',
                          city='Lyon')
        values.update(cols)
        keys = list(values)
        return self.one('INSERT INTO dunning.client (%s) VALUES (%s) RETURNING id' % (
            ', '.join(keys), ', '.join(['%s'] * len(keys))), [values[k] for k in keys])

    def _default_lawyer(self):
        rows = self.sql("SELECT id FROM dunning.lawyer WHERE email = 'alice.martin@cabinet.example'")
        return rows[0][0] if rows else self.lawyer()

    def invoice(self, number, client, due_on, amount='1000.00', issued_on=None, **cols):
        due = D(due_on) if isinstance(due_on, str) else due_on
        issued = issued_on or (due - dt.timedelta(days=30))
        values = dict(number=number, client_id=client, due_on=due, issued_on=issued,
                      amount=amount, matter_ref=cols.pop('matter_ref', 'D-' + number))
        values.update(cols)
        keys = list(values)
        return self.one('INSERT INTO dunning.invoice (%s) VALUES (%s) RETURNING id' % (
            ', '.join(keys), ', '.join(['%s'] * len(keys))), [values[k] for k in keys])

    def pay(self, number, amount, received_at, reference=None):
        return self.one('INSERT INTO dunning.payment (invoice_id, amount, received_at, reference) '
                        'SELECT id, %s, %s, %s FROM dunning.invoice WHERE number = %s '
                        'RETURNING id', (amount, received_at, reference, number),
                        now=received_at)

    def reminders(self, number=None):
        """{stage: row dict} of an invoice, or a list of every reminder."""
        q = ('SELECT r.id, i.number, r.stage, r.state, r.scheduled_for, r.sent_at, '
             'r.message_id, r.reason, r.attempts, r.last_error '
             'FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id ')
        cols = ['id', 'number', 'stage', 'state', 'scheduled_for', 'sent_at', 'message_id',
                'reason', 'attempts', 'last_error']
        if number is None:
            return [dict(zip(cols, r)) for r in self.sql(q + 'ORDER BY r.id')]
        rows = self.sql(q + 'WHERE i.number = %s ORDER BY r.id', (number,))
        return {r[2]: dict(zip(cols, r)) for r in rows}

    def audit(self, action=None, invoice=None):
        q = ('SELECT a.id, a.at, a.actor, a.action, i.number, a.reminder_id, a.details '
             'FROM dunning.audit_log a LEFT JOIN dunning.invoice i ON i.id = a.invoice_id '
             'WHERE (%s::text IS NULL OR a.action = %s) AND (%s::text IS NULL OR i.number = %s) '
             'ORDER BY a.id')
        cols = ['id', 'at', 'actor', 'action', 'number', 'reminder_id', 'details']
        return [dict(zip(cols, r)) for r in self.sql(q, (action, action, invoice, invoice))]

    def stage_of(self, message_id):
        """(stage, [invoice numbers]) of the reminders carrying MESSAGE_ID."""
        rows = self.sql('SELECT r.stage, i.number FROM dunning.reminder r '
                        'JOIN dunning.invoice i ON i.id = r.invoice_id '
                        'WHERE r.message_id = %s ORDER BY i.number', (message_id,))
        assert rows, 'no reminder carries Message-ID %s' % message_id
        stages = {r[0] for r in rows}
        assert len(stages) == 1, rows
        return rows[0][0], [r[1] for r in rows]

    # replay -----------------------------------------------------------------
    def replay(self, first, last, hhmm='10:00', events=None, weekends=True):
        """Run one cycle a day at HHMM from FIRST to LAST; EVENTS maps a
        date (or (date, 'HH:MM') for before that day's cycle) to a callable
        run before the cycle.  Returns [(date, recipient, stage, [numbers])]
        for every mail, and ('letter', stage, [numbers]) rows for letters."""
        events = {(D(k) if isinstance(k, str) else k): v for k, v in (events or {}).items()}
        if not weekends and any(k.weekday() >= 5 for k in events):
            raise ValueError('an event falls on a weekend day the replay skips')
        got = []
        self.new_mails()
        self.new_letters()
        for day in days(first, last):
            if not weekends and day.weekday() >= 5:
                continue
            if day in events:
                fn = events[day]
                for f in (fn if isinstance(fn, (list, tuple)) else [fn]):
                    f()
            self.cycle(at(day, hhmm))
            got.extend(self.collect(day))
        return got

    def replay_on(self, dates, hhmm='10:00'):
        """One cycle at HHMM on each of DATES only; the mails as replay()."""
        got = []
        self.new_mails()
        self.new_letters()
        for day in dates:
            day = D(day) if isinstance(day, str) else day
            self.cycle(at(day, hhmm))
            got.extend(self.collect(day))
        return got

    def collect(self, day):
        got = []
        for m in self.new_mails():
            stage, numbers = self.stage_of(m.message_id)
            got.append((day.isoformat(), m.rcpt, stage, numbers))
        for name, text in self.new_letters().items():
            rows = self.sql("SELECT r.stage, i.number FROM dunning.reminder r "
                            "JOIN dunning.invoice i ON i.id = r.invoice_id "
                            "WHERE r.id = %s", (int(re.search(r'-(\d+)\.pdf$', name).group(1)),))
            got.append((day.isoformat(), 'letter', rows[0][0], [rows[0][1]]))
        return got

    def verify_audit(self):
        r = self.ctl('audit', 'verify')
        assert r.returncode == 0 and 'OK' in r.stdout, (r.returncode, r.stdout, r.stderr)
        return r


# ------------------------------------------------------------ fixtures --

def _migrate_template(cluster, workdir):
    name = 'dunning_tpl'
    cluster.admin('CREATE DATABASE %s' % name)
    conf = os.path.join(workdir, 'migrate.conf')
    with open(conf, 'w') as f:
        f.write(BASE_CONFIG.format(conninfo=cluster.conninfo(name), smtp_port=free_port(),
                                   templates=TEMPLATES, spool=os.path.join(workdir, 'spool'),
                                   smtp_extra='', firm_extra=''))
    r = subprocess.run([DUNNINGCTL, '-c', conf, 'migrate'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=PROGRAM_TIMEOUT)
    if r.returncode != 0:
        raise RuntimeError('dunningctl migrate failed: %s %s' % (r.stdout, r.stderr))
    return name


def _started_cluster(tmp_path_factory, durable=False):
    """A cluster started and migrated once; stopped when the generator ends."""
    c = Cluster(durable=durable)
    try:
        c.start()
        c.template = _migrate_template(c, str(tmp_path_factory.mktemp('tpl')))
        yield c
    finally:
        c.stop()


def _env_factory(cluster, tmp_path, prefix):
    """A function making Envs on CLUSTER, each closed when the generator ends."""
    envs = []

    def make(**kw):
        wd = tmp_path / ('%s%d' % (prefix, len(envs)))
        wd.mkdir()
        e = Env(cluster, cluster.template, str(wd), **kw)
        envs.append(e)
        return e

    yield make
    for e in envs:
        e.close()


@pytest.fixture(scope='session')
def cluster(tmp_path_factory):
    for p in (DUNNINGD, DUNNINGCTL):
        if not os.access(p, os.X_OK):
            pytest.exit('program not built: %s' % p, returncode=2)
    yield from _started_cluster(tmp_path_factory)


@pytest.fixture(scope='module')
def private_cluster(tmp_path_factory):
    """A cluster of the module's own, for tests that restart PostgreSQL."""
    yield from _started_cluster(tmp_path_factory, durable=True)


@pytest.fixture
def make_private_env(private_cluster, tmp_path):
    yield from _env_factory(private_cluster, tmp_path, 'penv')


@pytest.fixture
def make_env(cluster, tmp_path):
    yield from _env_factory(cluster, tmp_path, 'env')


@pytest.fixture
def env(make_env):
    return make_env()


# ----------------------------------------------------------- asserts ----

def assert_table(got, expected):
    """GOT and EXPECTED are lists of (day, recipient, stage[, numbers]),
    compared as sets of rows (the order within a day is not meaningful),
    with a readable diff on failure."""
    width = len(expected[0]) if expected else 3
    g = [tuple(x[:width]) if width == 4 else tuple(x[:3]) for x in got]
    e = [tuple(x) for x in expected]
    if width == 4:
        g = [(a, b, c, list(d)) for a, b, c, d in g]
        e = [(a, b, c, list(d)) for a, b, c, d in e]
    g.sort(key=lambda x: (x[0], x[1], x[2]))
    e.sort(key=lambda x: (x[0], x[1], x[2]))
    if g != e:
        lines = ['messages differ from the expected table', '  expected:']
        lines += ['    %r' % (x,) for x in e]
        lines += ['  got:']
        lines += ['    %r' % (x,) for x in g]
        raise AssertionError('\n'.join(lines))


# ------------------------------------------------------- the one clock --

def allow_simulated_clock(env, allowed=True):
    """Switch the operator's replay switch (dunning.setting simulated_clock)
    on or off.  Off, the default, only the staff's dunning.now moves the
    clock (sql/009): a lawyer's functions take the real time.  A test that
    replays a lawyer's actions at simulated instants switches it on."""
    if allowed:
        env.sql("INSERT INTO dunning.setting (key, value) VALUES ('simulated_clock', 'allowed') "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    else:
        env.sql("DELETE FROM dunning.setting WHERE key = 'simulated_clock'")
