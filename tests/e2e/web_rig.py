"""dunningweb for the tests (issue 19): a test's Env configured with
web { … } and a key, dunningweb started against it as a login granted
dunning_web, and the links signed here exactly as lib/token.c signs them,
to make expired, foreign, altered and revoked ones."""
import base64
import hashlib
import hmac
import http.client
import os
import re
import subprocess
import time
import urllib.parse

from harness import wait_until
from harness.paths import DUNNINGWEB
from harness.programs import free_port, stop_process

KEY = 'web-test-key-0123456789abcdef0123456789abcdef'
OLD_KEY = 'web-test-old-key-fedcba9876543210fedcba98765'
WEB_LOGIN = 'dunningweb_login'


def kid(key):
    return hashlib.sha256(b'dunning-link-kid|' + key.encode()).hexdigest()[:8]


def sign(client, invoices, rights=3, expires=4102444800, key=KEY):
    """A link token: 1.KID.CLIENT.INV-INV.RIGHTS.EXPIRES.MAC (lib/token.h)."""
    body = '1.%s.%d.%s.%d.%d' % (kid(key), client, '-'.join(str(i) for i in invoices),
                                 rights, expires)
    mac = hmac.new(key.encode(), b'link|' + body.encode(), hashlib.sha256).digest()
    return body + '.' + base64.urlsafe_b64encode(mac).decode().rstrip('=')


class Web:
    """dunningweb on a free loopback port, for ENV."""

    def __init__(self, env, now, keys=(KEY,)):
        self.env = env
        self.port = free_port()
        self.secret = os.path.join(env.workdir, 'web_secret')
        with open(self.secret, 'w') as f:
            f.write(''.join(k + '\n' for k in keys))
        os.chmod(self.secret, 0o600)
        env.cluster.ensure_role(WEB_LOGIN, 'dunning_web')
        self.base = 'http://127.0.0.1:%d' % self.port
        env.write_config(extra_conf=env.extra_conf + (
            'web {\n  listen = "127.0.0.1:%d"\n  conninfo = "%s"\n  base_url = "%s"\n'
            '  secret_file = "%s"\n}\n' % (self.port, env.cluster.conninfo(env.dbname, WEB_LOGIN),
                                           self.base, self.secret)))
        self.now = now
        self.proc = None

    def start(self, check_ready=True):
        self.err = open(os.path.join(self.env.workdir, 'dunningweb.log'), 'w+')
        self.proc = subprocess.Popen([DUNNINGWEB, '-c', self.env.config, '--now', self.now],
                                     stdout=subprocess.PIPE, stderr=self.err)
        if check_ready:
            wait_until('dunningweb listening', self._listening)
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError('dunningweb exited %d: %s' % (self.proc.returncode, self.log()))
        try:
            c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=2)
            c.request('GET', '/')
            c.getresponse().read()
            c.close()
            return True
        except OSError:
            return False

    def log(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, self.err)
            self.proc = None

    def request(self, method, path, body=None, headers=None, forwarded_for=None):
        """(status, text) of one request; FORWARDED_FOR sets X-Forwarded-For
        (dunningweb's peer is the loopback: it takes it as the client's)."""
        h = dict(headers or {})
        if forwarded_for:
            h['X-Forwarded-For'] = forwarded_for
        if isinstance(body, str):
            body = body.encode()
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        text = r.read().decode('utf-8', 'replace')
        c.close()
        return r.status, text

    def get(self, token, **kw):
        return self.request('GET', '/r/' + token, **kw)

    def post(self, token, fields=None, raw=None, content_type='application/x-www-form-urlencoded',
             action='report', **kw):
        """POST FIELDS (or RAW) to /r/TOKEN/ACTION (report, plan)."""
        body = raw if raw is not None else urllib.parse.urlencode(fields or {})
        return self.request('POST', '/r/%s/%s' % (token, action), body=body,
                            headers={'Content-Type': content_type}, **kw)


def csrf_of(page):
    m = re.search(r'name="csrf" value="([A-Za-z0-9_-]{43})"', page)
    assert m, page
    return m.group(1)


def link_in(text):
    """The page's link in a mail's text: (base URL, token)."""
    m = re.search(r'(http://127\.0\.0\.1:\d+)/r/([A-Za-z0-9._-]+)', text)
    assert m, text
    return m.group(1), m.group(2)
