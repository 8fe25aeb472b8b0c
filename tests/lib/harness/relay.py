"""A real relay for the SMTP transport's tests: a private Postfix 3.7
instance on loopback ports, with TLS certificates of a private CA, SMTP
AUTH against a Cyrus sasldb of its own, and every accepted message
delivered into a Maildir that the test reads back.

    with Relay(tmp_path) as relay:
        relay.wait_banners()  # done by start()
        ... point the daemon at relay.host, relay.port('submission') ...
        relay.wait_for(1)

It never touches the system's Postfix: its own config_directory,
queue_directory, data_directory and log file, all in a directory of its own
that stop() removes (after copying the log and the Maildir into WORKDIR, for
a failed test's post-mortem).  Nothing leaves the machine: only the test
domains are accepted (reject_unauth_destination) and every other transport
is error(8).

The listeners (relay.port(NAME)):
    submission  STARTTLS required, AUTH required, TLS 1.2 and 1.3
    smtps       implicit TLS (smtpd_tls_wrappermode), AUTH required
    tls12       as submission, but TLS 1.2 only
    wrong_name  as submission, with a certificate for other.example only
    deferral    as submission; each recipient's first RCPT TO gets
                '451 4.3.0', its later ones are accepted (a policy server)
    plain_only  as submission, offering AUTH PLAIN only
    login_only  as submission, offering AUTH LOGIN only
"""
import email
import email.policy
import os
import pwd
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time

from .programs import free_port, wait_until
from .smtp import Mail

LISTENERS = ('submission', 'smtps', 'tls12', 'wrong_name', 'deferral', 'plain_only',
             'login_only')
# The one SASL mechanism each single-mechanism listener offers.
MECHANISMS = {'plain_only': 'PLAIN', 'login_only': 'LOGIN'}
# The domains the relay delivers; a message to any other is refused at RCPT.
DOMAINS = ('client.example', 'cabinet.example', 'example.com', 'example.org', 'example.net')
USERNAME = 'dunning'
PASSWORD = 'relay-secret-7'
# The realm Cyrus gives a user name without one (smtpd_sasl_local_domain).
REALM = 'relay.test'
# The deliveries run as nobody: virtual(8) refuses root, and neither the
# queue owner nor root should own what a test reads.
MAIL_USER = 'nobody'
DEFERRAL_TEXT = 'Deferred once by the test relay, try again'
DEFERRAL_REPLY = '451 4.3.0 ' + DEFERRAL_TEXT

TIMEOUT = 60
# Debian's (scripts/lib.sh), by path: /usr/sbin may be missing from PATH.
POSTFIX = '/usr/sbin/postfix'
SASLPASSWD2 = '/usr/sbin/saslpasswd2'


def _run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=TIMEOUT, **kw)
    if r.returncode != 0:
        raise RuntimeError('%s exited %d:\n%s' % (' '.join(argv), r.returncode, r.stdout))
    return r.stdout


class _Pki:
    """Certificates made with openssl: a CA, server certificates it signs,
    and an unrelated CA that signs nothing the relay shows."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _key(self, name):
        # P-256: a key in milliseconds, where RSA would take a good part of
        # a second per test.
        _run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
              '-out', self.path(name + '.key')])
        os.chmod(self.path(name + '.key'), 0o600)

    def ca(self, name, cn):
        """A self-signed CA; its certificate's path."""
        self._key(name)
        _run(['openssl', 'req', '-new', '-x509', '-key', self.path(name + '.key'),
              '-out', self.path(name + '.crt'), '-days', '30', '-subj', '/CN=' + cn,
              '-addext', 'basicConstraints=critical,CA:TRUE',
              '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
              '-addext', 'subjectKeyIdentifier=hash'])
        return self.path(name + '.crt')

    def server(self, name, ca, cn, sans):
        """A server certificate for SANS ('DNS:x', 'IP:y') signed by CA;
        (key path, certificate path)."""
        self._key(name)
        ext = self.path(name + '.ext')
        with open(ext, 'w') as f:
            # The extensions a strict verifier (X509_V_FLAG_X509_STRICT, as
            # Python 3.13 and curl may use) wants of a leaf certificate.
            f.write('basicConstraints = critical, CA:FALSE\n'
                    'keyUsage = critical, digitalSignature\n'
                    'extendedKeyUsage = serverAuth\n'
                    'subjectKeyIdentifier = hash\n'
                    'authorityKeyIdentifier = keyid\n'
                    'subjectAltName = %s\n' % ', '.join(sans))
        csr = self.path(name + '.csr')
        _run(['openssl', 'req', '-new', '-key', self.path(name + '.key'), '-out', csr,
              '-subj', '/CN=' + cn])
        _run(['openssl', 'x509', '-req', '-in', csr, '-CA', self.path(ca + '.crt'),
              '-CAkey', self.path(ca + '.key'), '-set_serial', str(time.time_ns()),
              '-days', '30', '-extfile', ext, '-out', self.path(name + '.crt')])
        return self.path(name + '.key'), self.path(name + '.crt')


class _DeferOnce(socketserver.ThreadingTCPServer):
    """A Postfix policy server (SMTPD_POLICY_README): '451 4.3.0' for a
    recipient's first RCPT TO, DUNNO (go on) for its later ones.  Postfix
    itself has no state that changes between two attempts; a policy
    service is its own way to get one."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []          # every recipient asked about, in order
        super().__init__(('127.0.0.1', 0), _PolicyHandler)
        self.port = self.server_address[1]

    def decide(self, recipient):
        with self.lock:
            first = recipient not in self.seen
            self.seen.append(recipient)
        return DEFERRAL_REPLY if first else 'DUNNO'


class _PolicyHandler(socketserver.StreamRequestHandler):
    """One smtpd's connection: name=value lines, an empty line ends a
    request, 'action=...' and an empty line answer it."""

    def handle(self):
        attrs = {}
        for raw in self.rfile:
            line = raw.decode('utf-8', 'replace').rstrip('\r\n')
            if line:
                name, _, value = line.partition('=')
                attrs[name] = value
                continue
            action = 'DUNNO'
            if attrs.get('protocol_state') == 'RCPT':
                action = self.server.decide(attrs.get('recipient', '').lower())
            self.wfile.write(('action=%s\n\n' % action).encode())
            self.wfile.flush()
            attrs = {}


class Relay:
    """A private Postfix instance on loopback (see the module's doc)."""

    host = '127.0.0.1'
    username = USERNAME
    password = PASSWORD

    def __init__(self, workdir):
        if os.geteuid() != 0 or not all(os.access(p, os.X_OK) for p in (POSTFIX, SASLPASSWD2)):
            raise RuntimeError('the relay runs a Postfix instance of its own: it needs root '
                               'and Debian\'s postfix and sasl2-bin (scripts/lib.sh)')
        self.workdir = str(workdir)
        # Postfix's unprivileged processes (smtpd reading the sasldb as
        # postfix, virtual writing the Maildir as nobody) open these files
        # by absolute path: the directory must be traversable by them,
        # which pytest's tmp_path (mode 0700) is not.  Same reason as
        # pg.Cluster's directory.
        self.dir = tempfile.mkdtemp(prefix='dunning-relay-')
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, 'conf')
        self.queue = os.path.join(self.dir, 'queue')
        self.data = os.path.join(self.dir, 'data')
        self.mail = os.path.join(self.dir, 'mail')
        self.maildir = os.path.join(self.mail, 'inbox')
        self.maillog = os.path.join(self.dir, 'maillog')
        self.sasldb = os.path.join(self.dir, 'sasldb2')
        self.ports = {}
        self._mark = 0
        self.proc = None
        self.master_pid = None
        self.policy = None
        self._policy_thread = None
        try:
            self.pki = _Pki(os.path.join(self.dir, 'tls'))
            self.ca_file = self.pki.ca('ca', 'dunningd test CA')
            # An unrelated CA: given to a client, the relay's certificate
            # does not verify ("unknown CA").
            self.other_ca_file = self.pki.ca('other-ca', 'unrelated test CA')
            self.localhost_chain = self.pki.server('localhost', 'ca', 'localhost',
                                                   ['DNS:localhost', 'IP:127.0.0.1'])
            self.other_chain = self.pki.server('other', 'ca', 'other.example',
                                               ['DNS:other.example'])
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    # life cycle -------------------------------------------------------------
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self, deadline=30):
        """Start Postfix and wait until every listener answers its banner."""
        try:
            self.policy = _DeferOnce()
            self._policy_thread = threading.Thread(target=self.policy.serve_forever,
                                                   daemon=True)
            self._policy_thread.start()
            self._make_sasldb()
            for attempt in range(5):
                self.ports = {name: free_port() for name in LISTENERS}
                self._write_config()
                self._start_postfix()
                try:
                    self._wait_banners(deadline)
                    return self
                except RuntimeError as e:
                    # A free port taken meanwhile: master exits at its bind.
                    if attempt == 4 or 'Address already in use' not in str(e):
                        raise
                    self._stop_postfix()
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stop Postfix and the policy server, leaving no process behind;
        keep the log and the Maildir in WORKDIR; remove the instance."""
        try:
            self._stop_postfix()
        finally:
            if self.policy is not None:
                self.policy.shutdown()
                self.policy.server_close()
                self.policy = None
            if os.path.isdir(self.workdir):
                keep = os.path.join(self.workdir, 'relay')
                os.makedirs(keep, exist_ok=True)
                if os.path.exists(self.maillog):
                    shutil.copy(self.maillog, keep)
                if os.path.isdir(self.maildir):
                    shutil.copytree(self.maildir, os.path.join(keep, 'inbox'),
                                    dirs_exist_ok=True)
            shutil.rmtree(self.dir, ignore_errors=True)

    def _make_sasldb(self):
        subprocess.run([SASLPASSWD2, '-f', self.sasldb, '-p', '-c', '-u', REALM, USERNAME],
                       input=PASSWORD, text=True, check=True, timeout=TIMEOUT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        pf = pwd.getpwnam('postfix')
        os.chown(self.sasldb, 0, pf.pw_gid)
        os.chmod(self.sasldb, 0o640)

    def _start_postfix(self):
        for d in (self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        pf = pwd.getpwnam('postfix')
        os.chown(self.data, pf.pw_uid, pf.pw_gid)   # data_directory: the mail_owner's
        mu = pwd.getpwnam(MAIL_USER)
        os.makedirs(self.mail, exist_ok=True)
        os.chown(self.mail, mu.pw_uid, mu.pw_gid)
        # start-fg keeps master(8) a child of ours: we know when it is gone,
        # and it is never handed to init as `postfix start` would.  An
        # instance of our own needs no alternate_config_directories nor
        # postmulti: those only matter to the set-gid postdrop/postqueue run
        # by other users, and to `postfix` run from the default instance.
        self.errors = open(os.path.join(self.dir, 'postfix.out'), 'w')
        self.proc = subprocess.Popen([POSTFIX, '-c', self.conf, 'start-fg'],
                                     stdin=subprocess.DEVNULL, stdout=self.errors,
                                     stderr=subprocess.STDOUT)

    def _wait_banners(self, deadline):
        end = time.monotonic() + deadline
        for name in LISTENERS:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError('postfix exited %d at start:\n%s'
                                       % (self.proc.returncode, self._start_output()))
                try:
                    banner = self._banner(name)
                    if banner.startswith('220 '):
                        break
                except OSError:
                    pass
                if time.monotonic() > end:
                    raise RuntimeError('postfix listener %s (port %d) not answering after %ds:\n%s'
                                       % (name, self.ports[name], deadline,
                                          self._start_output()))
                time.sleep(0.05)
        self.master_pid = self._read_master_pid()
        # The probes' sessions are logged a moment later (postlogd): wait
        # for their ends, then start log() after them, so that what a test
        # reads there is its own sessions only.
        wait_until('the relay to log its probes\' sessions', lambda: (
            len(re.findall(r'smtpd\[\d+\]: disconnect from', self.full_log()))
            == len(re.findall(r'smtpd\[\d+\]: connect from', self.full_log()))
            >= len(LISTENERS)), deadline=deadline, interval=0.02)
        self._mark = len(self.full_log())

    def _banner(self, name):
        with socket.create_connection((self.host, self.ports[name]), timeout=5) as s:
            if name == 'smtps':
                ctx = ssl.create_default_context(cafile=self.ca_file)
                with ctx.wrap_socket(s, server_hostname='localhost') as t:
                    return t.recv(512).decode('ascii', 'replace')
            return s.recv(512).decode('ascii', 'replace')

    def _start_output(self):
        self.errors.flush()
        with open(self.errors.name) as f:
            out = f.read()
        return out + self.full_log()

    def _stop_postfix(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # What `postfix stop` does, without its one-second polls: master
            # takes its process group down with it on SIGTERM.
            pid = self.master_pid or self._read_master_pid()
            if pid:
                _signal(pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                if pid:
                    _signal(-pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait(20)
        if self.master_pid:
            # smtpd, qmgr... exit as soon as they see master gone; wait for
            # them, so that the next test's ports and files are free.
            try:
                wait_until('the relay\'s processes to exit',
                           lambda: not processes_left(self.master_pid), deadline=10)
            except AssertionError:
                _signal(-self.master_pid, signal.SIGKILL)
        self.errors.close()
        self.proc = None
        self.master_pid = None

    def _read_master_pid(self):
        try:
            with open(os.path.join(self.queue, 'pid', 'master.pid')) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    # configuration ------------------------------------------------------------
    def port(self, name):
        return self.ports[name]

    def _write_config(self):
        os.makedirs(self.conf, exist_ok=True)
        key, cert = self.localhost_chain
        okey, ocert = self.other_chain
        main = """\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
# Postfix >= 3.4 logs to a file through postlogd(8) (in master.cf), not
# to syslog; the prefixes guard is per instance.
maillog_file = {maillog}
maillog_file_prefixes = {dir}
myhostname = relay.test
mydomain = relay.test
myorigin = relay.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
biff = no

# Nothing leaves the machine: the test domains are delivered here, the
# rest is refused at RCPT and has no transport anyway.
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {mail}
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
default_transport = error:5.7.1 the test relay delivers nowhere else
relay_transport = error:5.7.1 the test relay delivers nowhere else

# No throttling of fast clients: a test sends fifty messages in a row, and
# an error must not make smtpd pause.
in_flow_delay = 0
smtpd_error_sleep_time = 0

smtpd_tls_chain_files = {key}, {cert}
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
# "... TLS connection established from ...: TLSv1.3 with cipher ..." lines,
# and the protocol in each message's Received: header.
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes

smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
# Debian's smtpd reads CONFIG_DIRECTORY/sasl/smtpd.conf whatever this says
# (its patch 07_sasl_config); upstream's reads this directory.
cyrus_sasl_config_path = {conf}/sasl
smtpd_sasl_local_domain = {realm}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
# AUTH is required: a client that did not authenticate is refused at RCPT
# (smtpd_delay_reject), whatever the recipient.
smtpd_client_restrictions = permit_sasl_authenticated, reject
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =

# Used by master.cf's -o options.
tls12_only = >=TLSv1.2, <=TLSv1.2
wrong_name_chain = {okey}, {ocert}
deferral_policy = check_policy_service inet:127.0.0.1:{policy_port}
""".format(queue=self.queue, data=self.data, maillog=self.maillog, dir=self.dir,
           domains=', '.join(DOMAINS), mail=self.mail, uid=pwd.getpwnam(MAIL_USER).pw_uid,
           gid=pwd.getpwnam(MAIL_USER).pw_gid, key=key, cert=cert, conf=self.conf,
           realm=REALM, okey=okey, ocert=ocert, policy_port=self.policy.port)
        p = self.ports
        # No chroot (column 5 'n'): a chrooted smtpd could not read the sasldb.
        master = """\
127.0.0.1:{submission} inet n - n - - smtpd
127.0.0.1:{smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
127.0.0.1:{tls12} inet n - n - - smtpd
  -o smtpd_tls_protocols=$tls12_only -o smtpd_tls_mandatory_protocols=$tls12_only
127.0.0.1:{wrong_name} inet n - n - - smtpd -o smtpd_tls_chain_files=$wrong_name_chain
127.0.0.1:{deferral} inet n - n - - smtpd -o smtpd_recipient_restrictions=$deferral_policy
127.0.0.1:{plain_only} inet n - n - - smtpd -o smtpd_sasl_path=smtpd-plain
127.0.0.1:{login_only} inet n - n - - smtpd -o smtpd_sasl_path=smtpd-login
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
showq     unix  n - n - - showq
virtual   unix  - n n - - virtual
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
postlog   unix-dgram n - n - 1 postlogd
""".format(**p)
        # Cyrus SASL reads sasl/APP.conf, APP being smtpd_sasl_path: smtpd
        # passes it to sasl_server_init() as the application's name, once
        # per process, and the processes of one master.cf line serve that
        # listener only.  Debian's patch chooses the directory
        # (CONFIG_DIRECTORY/sasl), not the file's name: '-o
        # smtpd_sasl_path=smtpd-plain' reads sasl/smtpd-plain.conf there.
        # So plain_only and login_only get a mech_list of their own, the
        # same sasldb behind it, and the other mechanism is not loaded at
        # all: AUTH LOGIN to plain_only is answered 535 "no mechanism
        # available".  smtpd_sasl_mechanism_filter would not do: it only
        # trims the EHLO list, and Postfix 3.7 still accepts AUTH LOGIN
        # with the filter set to plain.
        sasl = ('pwcheck_method: auxprop\n'
                'auxprop_plugin: sasldb\n'
                'sasldb_path: %s\n'
                'mech_list: %%s\n' % self.sasldb)
        os.makedirs(os.path.join(self.conf, 'sasl'), exist_ok=True)
        for name, text in (('main.cf', main), ('master.cf', master),
                           ('sasl/smtpd.conf', sasl % 'PLAIN LOGIN'),
                           ('sasl/smtpd-plain.conf', sasl % 'PLAIN'),
                           ('sasl/smtpd-login.conf', sasl % 'LOGIN')):
            with open(os.path.join(self.conf, name), 'w') as f:
                f.write(text)

    # what the relay did ------------------------------------------------------
    def full_log(self):
        """The instance's log so far (maillog_file), its start included."""
        try:
            with open(self.maillog, encoding='utf-8', errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def log(self):
        """The log since start() returned: the test's sessions only."""
        return self.full_log()[self._mark:]

    def log_lines(self, pattern):
        rx = re.compile(pattern)
        return [line for line in self.log().splitlines() if rx.search(line)]

    def wait_log(self, pattern, n=1, deadline=30):
        """The log lines matching PATTERN, once there are at least N (the
        log is written by postlogd a moment after the event)."""
        return wait_until('%d log line(s) matching %r in the relay\'s log' % (n, pattern),
                          lambda: (lambda got: got if len(got) >= n else None)(
                              self.log_lines(pattern)), deadline=deadline, interval=0.05)

    def tls_protocols(self):
        """The TLS protocol of each connection smtpd accepted, in order."""
        return re.findall(r'smtpd\[\d+\]: \S+ TLS connection established from \S+: '
                          r'(TLSv[\d.]+)', self.log())

    def queued(self):
        """The queue files not yet delivered (or deferred, or held)."""
        n = 0
        for sub in ('maildrop', 'incoming', 'active', 'deferred', 'hold'):
            for _, _, files in os.walk(os.path.join(self.queue, sub)):
                n += len(files)
        return n

    def messages(self):
        """Every message delivered, oldest first, as harness.smtp.Mail
        (rcpt: the envelope recipient, from the Delivered-To: header)."""
        new = os.path.join(self.maildir, 'new')
        if not os.path.isdir(new):
            return []
        paths = [os.path.join(new, n) for n in os.listdir(new)]
        paths.sort(key=lambda p: (os.stat(p).st_mtime_ns, p))
        mails = []
        for p in paths:
            with open(p, 'rb') as f:
                raw = f.read()
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            mails.append(Mail({'data': raw.decode('utf-8', 'replace'), 'bytes': raw,
                               'rcpt_tos': [str(msg['Delivered-To'])],
                               'mail_from': str(msg['Return-Path'] or '').strip('<>')}))
        return mails

    def wait_idle(self, deadline=30):
        """Wait until the queue is empty: everything accepted is delivered."""
        try:
            wait_until('the relay\'s queue to empty', lambda: self.queued() == 0,
                       deadline=deadline, interval=0.05)
        except AssertionError:
            raise AssertionError('the relay still holds %d message(s) after %ds; its log:\n%s'
                                 % (self.queued(), deadline, self.log())) from None

    def wait_for(self, n, timeout=30):
        """The messages delivered, once there are at least N and nothing
        more is in the queue; a clear failure after TIMEOUT s."""
        end = time.monotonic() + timeout
        while True:
            got = self.messages()
            if len(got) >= n and self.queued() == 0:
                return got
            if time.monotonic() > end:
                raise AssertionError('%d message(s) delivered and %d queued after %ds, '
                                     'expected %d; the relay\'s log:\n%s'
                                     % (len(got), self.queued(), timeout, n, self.log()))
            time.sleep(0.05)

    def deferred_once(self):
        """The recipients the deferral listener answered 451, in order."""
        seen = []
        with self.policy.lock:
            for r in self.policy.seen:
                if r not in seen:
                    seen.append(r)
        return seen


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def processes_left(pgid):
    """Is a process of group PGID still running (zombies not counted)?"""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces.
        fields = stat[stat.rindex(')') + 2:].split()
        if fields[0] != 'Z' and int(fields[2]) == pgid:
            return True
    return False
