"""One test's world (Env): its database cloned from the migrated template,
its relay, its configuration; the programs run against it with a simulated
clock, and what they did read back."""
import datetime as dt
import json
import os
import re
import socket
import subprocess
import time

import psycopg2

from .clock import D, at, days
from .paths import DUNNINGCTL, DUNNINGD, PROGRAM_TIMEOUT, TEMPLATES
from .programs import Daemon, free_port
from .smtp import Mail, SmtpRecorder
from .text import pdf_words


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


def point_smtp(text, host, tls):
    """BASE_CONFIG's text (formatted) with the smtp block's host and tls set
    to HOST and TLS.  BASE_CONFIG keeps the recorder's literal values, so
    that its other users (bench/rig.py) need no new keys."""
    for key, value in (('host', host), ('tls', tls)):
        text, n = re.subn(r'(?m)^(  %s = )"[^"\n]*"$' % key,
                          lambda m: '%s"%s"' % (m.group(1), value), text, count=1)
        assert n == 1, 'BASE_CONFIG has no smtp %s line' % key
    return text


class Env:
    """One test's world: its database, its relay, its configuration.

    By default the relay is the SMTP recorder (SMTP true), or a port that
    refuses connections (SMTP false).  A test with a relay of its own
    (harness.Relay) gives SMTP_PORT, and SMTP_HOST and SMTP_TLS as the
    daemon should reach it; no recorder is started then; its other keys
    (ca_file, username, password_file...) go in SMTP_CONF."""

    def __init__(self, cluster, template, workdir, extra_conf='', reject=None, tempfail=None,
                 smtp=True, db_user='postgres', empty=False, smtp_conf='', firm_conf='',
                 smtp_args=(), smtp_host='127.0.0.1', smtp_port=None, smtp_tls='none'):
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
        self.smtp_host = smtp_host
        self.smtp_tls = smtp_tls
        if smtp_port is None and smtp:
            for attempt in range(5):
                try:
                    self.smtp = SmtpRecorder(workdir, reject=reject, tempfail=tempfail,
                                             extra=smtp_args).start()
                    break
                except RuntimeError:        # the free port was taken meanwhile
                    if attempt == 4:
                        raise
            smtp_port = self.smtp.port
        elif smtp_port is None:
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
                                  firm_extra=self.firm_conf)
        text = point_smtp(text, self.smtp_host, self.smtp_tls) + self.extra_conf
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

    @property
    def daemon_actor(self):
        """The actor of the audit rows the programs write with this
        configuration: the session's role (sql/base/audit.sql), 'daemon' for
        a login member of dunning_daemon that is not a superuser, else the
        login's own name — 'postgres' for the harness's default superuser
        login (production connects the daemon as a dunning_daemon login)."""
        return self.one("SELECT CASE WHEN pg_has_role(rolname, 'dunning_daemon', 'MEMBER') "
                        "AND NOT rolsuper THEN 'daemon' ELSE rolname::text END "
                        "FROM pg_roles WHERE rolname = %s", (self.db_user,))

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

    def agreement(self, client, clause=True, signed_on='2025-12-01', multiplier=None,
                  start_days=None, legal_aid='none', sent_on=None, **cols):
        """A fee agreement of CLIENT (SPEC §2 rule 13): signed on SIGNED_ON
        (None: not signed), with the interest CLAUSE or not."""
        values = dict(client_id=client, interest_clause=clause, signed_on=signed_on,
                      interest_multiplier=multiplier, interest_start_days=start_days,
                      legal_aid=legal_aid, sent_on=sent_on)
        values.update(cols)
        keys = list(values)
        return self.one('INSERT INTO dunning.fee_agreement (%s) VALUES (%s) RETURNING id' % (
            ', '.join(keys), ', '.join(['%s'] * len(keys))), [values[k] for k in keys])

    def pay(self, number, amount, received_at, reference=None):
        return self.one('INSERT INTO dunning.payment (invoice_id, amount, received_at, reference) '
                        'SELECT id, %s, %s, %s FROM dunning.invoice WHERE number = %s '
                        'RETURNING id', (amount, received_at, reference, number),
                        now=received_at)

    def reminders(self, number=None):
        """{stage: row dict} of an invoice, or a list of every reminder."""
        q = ('SELECT r.id, i.number, r.stage, r.state, r.scheduled_for, r.sent_at, '
             'r.message_id, r.reason, r.attempts, r.last_error, r.retrying, r.letter_path '
             'FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id ')
        cols = ['id', 'number', 'stage', 'state', 'scheduled_for', 'sent_at', 'message_id',
                'reason', 'attempts', 'last_error', 'retrying', 'letter_path']
        if number is None:
            return [dict(zip(cols, r)) for r in self.sql(q + 'ORDER BY r.id')]
        rows = self.sql(q + 'WHERE i.number = %s ORDER BY r.id', (number,))
        return {r[2]: dict(zip(cols, r)) for r in rows}

    def audit(self, action=None, invoice=None):
        """The audit rows (of ACTION, of INVOICE's number), their details with
        the free texts put back from dunning.audit_text (021) beside their
        KEY_sha256, as a reader sees them."""
        q = ('SELECT a.id, a.at, a.actor, a.action, i.number, a.reminder_id, '
             'dunning.audit_details(a.id, a.details) '
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


def migrate_template(cluster, workdir):
    """Create the database every test's is cloned from, migrated by
    dunningctl migrate; its name."""
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
