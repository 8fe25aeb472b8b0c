"""The real SMTP server of the tests (tests/lib/smtp_recorder.py) as a
subprocess on its own port, and the messages it recorded."""
import email
import email.policy
import json
import os
import select
import smtplib
import subprocess
import time

from .paths import PYTHON, RECORDER
from .programs import free_port, stop_process
from .text import norm_spaces


class SmtpRecorder:
    """tests/lib/smtp_recorder.py as a subprocess on its own port, its
    control file (faults switched while it runs) and its events log.
    EXTRA: more options of the recorder (--tls-cert, --auth...)."""

    def __init__(self, workdir, port=None, reject=None, tempfail=None, extra=()):
        self.out = os.path.join(workdir, 'mails-%d.jsonl' % time.monotonic_ns())
        self.control_path = os.path.join(workdir, 'smtp-control.json')
        self.events_path = os.path.join(workdir, 'smtp-events.jsonl')
        self.port = port or free_port()
        self.reject = reject
        self.tempfail = tempfail
        self.extra = list(extra)
        self.proc = None

    def start(self, deadline=20):
        args = [PYTHON, RECORDER, '--port', str(self.port), '--out', self.out,
                '--control', self.control_path, '--events', self.events_path]
        if self.reject:
            args += ['--reject-rcpt', self.reject]
        if self.tempfail:
            args += ['--tempfail-rcpt', self.tempfail]
        args += self.extra
        # stderr to a file: a pipe nobody reads could fill and stall the relay.
        self.err_path = self.out + '.stderr'
        self.errfile = open(self.err_path, 'w')
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.errfile,
                                     text=True)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError('smtp recorder exited: ' + self.stderr())
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith('READY'):
                    assert line.split()[1] == '127.0.0.1:%d' % self.port, line
                    return self
        self.stop()
        raise RuntimeError('smtp recorder not READY within %ds: %s'
                           % (deadline, self.stderr()))

    def stderr(self):
        """What the recorder wrote on stderr so far (its warnings)."""
        if not self.errfile.closed:
            self.errfile.flush()
        with open(self.err_path) as f:
            return f.read()

    def stop(self):
        stop_process(self.proc, self.errfile)
        self.proc = None

    def control(self, settings):
        """Replace the control file (smtp_recorder.py's --control)
        atomically: the relay answers by SETTINGS from its next step on."""
        tmp = self.control_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(settings, f)
        os.replace(tmp, self.control_path)

    def faults(self, reply=None, delay=None, drop=None):
        """Change how the relay answers, while it runs."""
        ctl = {}
        if reply:
            ctl['reply'] = reply
        if delay:
            ctl['delay'] = delay
        if drop:
            ctl['drop'] = drop
        self.control(ctl)

    def events(self):
        if not os.path.exists(self.events_path):
            return []
        with open(self.events_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def records(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out, encoding='utf-8') as f:
            return [json.loads(line) for line in f if line.strip()]

    def client(self, timeout=5):
        """An smtplib client connected to the relay, after EHLO."""
        s = smtplib.SMTP('127.0.0.1', self.port, timeout=timeout)
        s.ehlo('client.test')
        return s


class Mail:
    """One message the relay accepted, parsed with email.policy.default."""

    def __init__(self, record):
        self.record = record
        self.raw = record['data']
        self.envelope_rcpt = record['rcpt_tos']
        self.mail_from = record['mail_from']
        # A record from a Maildir (harness.relay) keeps its bytes: parsed as
        # bytes, an 8bit part decodes by its own charset.
        if 'bytes' in record:
            self.msg = email.message_from_bytes(record['bytes'], policy=email.policy.default)
        else:
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
