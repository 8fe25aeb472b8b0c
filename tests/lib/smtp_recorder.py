#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) that records every message it accepts.

Each accepted message is appended to --out as one JSON line:
{"mail_from", "rcpt_tos", "data", "received_at", "message_id"} (message_id is
the Message-ID header's value, or null when the message has none).
Recipients matching --reject-rcpt get a 550, those matching --tempfail-rcpt a
451, so tests can drive the daemon's failure paths against a real SMTP
conversation.
With --tls-cert/--tls-key it requires STARTTLS; with --auth USER:PASSWORD it
requires AUTH (PLAIN or LOGIN, over TLS only when TLS is on).  With
--xoauth2 USER:TOKEN it requires AUTH XOAUTH2 (the only mechanism offered
unless --auth is given too) and accepts only the exact initial response
base64("user=" USER "\x01auth=Bearer " TOKEN "\x01\x01"), on the AUTH line
or after the empty 334 challenge; anything else gets Microsoft 365's
"535 5.7.3 Authentication unsuccessful".  Lines up to 16 KiB are read then
(a real token is a JWT of one or two kilobytes).
Prints "READY host:port" on stdout once it listens.

Fault injection that a test can change while the server runs
------------------------------------------------------------
--control FILE names a JSON file that is re-read at every step of every
conversation (no restart, no signal needed).  All keys are optional:

    {"reply": {"STEP": "CODE text", ...},
     "delay": {"STEP": seconds, ...},
     "drop":  "STEP"   (or a list of steps)}

STEP is one of
    connect  the greeting (before "220")
    helo     the answer to EHLO / HELO
    mail     the answer to MAIL FROM
    rcpt     the answer to RCPT TO
    data     the answer to the DATA command itself (before "354")
    eom      the answer after the message body's final dot

For a step, in this order:
  * delay: sleep that long (asyncio, other connections are not held up)
    before answering.  For eom the message is recorded after the delay, and
    its received_at is taken just before the 250 is sent; a client that
    disconnects during the delay ends the conversation there, so its message
    is not recorded.
  * drop: abort the TCP connection instead of answering.  For eom the message
    is NOT recorded: the client sent the data and never gets an answer.
  * reply: answer with this one line instead of doing the step (no state
    changes: a replied MAIL does not open a transaction, a replied RCPT adds
    no recipient, a replied eom records nothing).  A 421 reply is followed by
    closing the connection (RFC 5321 3.8).  Any other reply at connect (e.g.
    554) is followed by the RFC 5321 3.1 behaviour: every command but QUIT
    gets 503, QUIT gets 221 and the connection is closed.
  The control file wins over --reject-rcpt/--tempfail-rcpt.

A missing control file means no faults.  A file that is empty or not valid
JSON (e.g. caught in the middle of being rewritten) leaves the last valid
settings in force; write it atomically (write a temporary file, then
os.replace) and write "{}" (or delete it) to clear the faults.  Entries
that make no sense (unknown step, malformed reply, negative delay) are
ignored with a warning on stderr.

--events FILE appends one JSON line per connection event:
    {"event": "connect"|"mail"|"rcpt"|"data"|"eom"|"quit"|"rset"|"auth",
     "at": time.time(), "conn": N}
and, for "auth", "mechanism" and "ok" (with XOAUTH2, "response" too: the
initial response decoded, as text).
N numbers the connections from 1.  An event is written when the command is
received (for eom: when the final dot is received), before any delay, reply
or drop from the control file, so "data" without "eom" means the client is
mid-DATA.  "connect" is written when the TCP connection is accepted.
"""
import argparse
import asyncio
import base64
import binascii
import email.parser
import email.policy
import itertools
import json
import re
import signal
import ssl
import sys
import time

from aiosmtpd.controller import UnthreadedController
from aiosmtpd.smtp import MISSING, SMTP, AuthResult

STEPS = ('connect', 'helo', 'mail', 'rcpt', 'data', 'eom')
REPLY_RE = re.compile(r'^[2-5][0-9][0-9]([ -][^\r\n]*)?$')


def warn(msg):
    print('smtp_recorder: %s' % msg, file=sys.stderr, flush=True)


class Control:
    """The --control file, re-read on every lookup (it is tiny)."""

    def __init__(self, path):
        self.path = path
        self.current = {'reply': {}, 'delay': {}, 'drop': set()}
        self._last_text = None

    def settings(self):
        if not self.path:
            return self.current
        try:
            with open(self.path, encoding='utf-8') as f:
                text = f.read()
        except FileNotFoundError:
            self._last_text = None
            self.current = {'reply': {}, 'delay': {}, 'drop': set()}
            return self.current
        except OSError as e:
            warn('cannot read control file %s: %s' % (self.path, e))
            return self.current
        if text == self._last_text or not text.strip():
            return self.current
        try:
            raw = json.loads(text)
        except ValueError as e:
            warn('control file %s is not valid JSON (%s); keeping the '
                 'previous settings' % (self.path, e))
            return self.current
        self._last_text = text
        self.current = self._validate(raw)
        return self.current

    @staticmethod
    def _validate(raw):
        out = {'reply': {}, 'delay': {}, 'drop': set()}
        if not isinstance(raw, dict):
            warn('control file: top level must be an object; ignored')
            return out
        for key in raw:
            if key not in ('reply', 'delay', 'drop'):
                warn('control file: unknown key %r ignored' % key)
        replies = raw.get('reply') or {}
        if isinstance(replies, dict):
            for step, line in replies.items():
                if step not in STEPS:
                    warn('control file: unknown reply step %r ignored' % step)
                elif not isinstance(line, str) or not REPLY_RE.match(line):
                    warn('control file: reply %r for %s is not "CODE text"; '
                         'ignored' % (line, step))
                else:
                    out['reply'][step] = line
        else:
            warn('control file: "reply" must be an object; ignored')
        delays = raw.get('delay') or {}
        if isinstance(delays, dict):
            for step, secs in delays.items():
                if step not in STEPS:
                    warn('control file: unknown delay step %r ignored' % step)
                elif (isinstance(secs, bool) or not isinstance(secs, (int, float))
                      or secs < 0):
                    warn('control file: delay %r for %s ignored' % (secs, step))
                else:
                    out['delay'][step] = float(secs)
        else:
            warn('control file: "delay" must be an object; ignored')
        drops = raw.get('drop')
        if drops is None:
            drops = []
        elif isinstance(drops, str):
            drops = [drops]
        if isinstance(drops, list):
            for step in drops:
                if step in STEPS:
                    out['drop'].add(step)
                else:
                    warn('control file: unknown drop step %r ignored' % (step,))
        else:
            warn('control file: "drop" must be a step or a list; ignored')
        return out


class Events:
    """The --events file: one JSON line per connection event."""

    def __init__(self, path):
        self.path = path

    def log(self, event, conn, **more):
        if not self.path:
            return
        line = json.dumps(dict({'event': event, 'at': time.time(), 'conn': conn}, **more))
        with open(self.path, 'a', encoding='utf-8') as f:
            f.write(line + '\n')


def _same_syntax(name):
    """Keep HELP working for an overridden smtp_* method."""
    base = getattr(SMTP, name)

    def decorator(f):
        for attr in ('__smtp_syntax__', '__smtp_syntax_extended__',
                     '__smtp_syntax_when__'):
            if hasattr(base, attr):
                setattr(f, attr, getattr(base, attr))
        return f
    return decorator


class FaultSMTP(SMTP):
    """aiosmtpd's SMTP with the --control faults and the --events log.

    One instance per connection (the controller's factory makes one for each
    connection), so conn is the connection's number.
    """

    _conn_ids = itertools.count(1)

    def __init__(self, handler, *, control, events, long_lines=False, **kwargs):
        if long_lines:
            # Read before the base class makes its stream reader.
            self.line_length_limit = 16384
        super().__init__(handler, **kwargs)
        if long_lines:
            self.command_size_limits['AUTH'] = 12288       # RFC 4954 §4
        self.control = control
        self.events = events
        self.conn = next(self._conn_ids)
        self.close_after_reply = False

    def event(self, name, **more):
        self.events.log(name, self.conn, **more)

    def _close(self):
        # As smtp_QUIT does: stop reading commands, flush and close.
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()
        if self.transport is not None:
            self.transport.close()

    async def fault(self, step):
        """Apply the control file's delay/drop/reply for step.

        Returns the reply line to send instead of doing the step, or None to
        go on normally.  A drop aborts the connection and raises
        asyncio.CancelledError, which ends this connection's handler task the
        same way a client disconnect does.  A 421 reply sets
        close_after_reply."""
        cfg = self.control.settings()
        delay = cfg['delay'].get(step)
        if delay:
            await asyncio.sleep(delay)
            cfg = self.control.settings()
        if step in cfg['drop']:
            if self.transport is not None:
                self.transport.abort()
            raise asyncio.CancelledError('dropped at %s by the control file' % step)
        reply = cfg['reply'].get(step)
        if reply is not None and reply.startswith('421'):
            self.close_after_reply = True
        return reply

    async def _faulted(self, step):
        """fault() for a command step: True if it answered for the step."""
        reply = await self.fault(step)
        if reply is None:
            return False
        await self.push(reply)
        if self.close_after_reply:
            self._close()
        return True

    async def _handle_client(self):
        self.event('connect')
        reply = await self.fault('connect')
        if reply is None:
            return await super()._handle_client()
        await self.push(reply)
        if self.close_after_reply:
            self._close()
            return
        # RFC 5321 3.1: after a refusing greeting, wait for QUIT and answer
        # 503 to anything else.
        while self.transport is not None:
            try:
                line = await self._reader.readuntil()
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                self._close()
                return
            if line.strip().upper() == b'QUIT':
                self.event('quit')
                await self.push('221 Bye')
                self._close()
                return
            await self.push('503 5.5.1 Error: no service, only QUIT')

    @_same_syntax('smtp_HELO')
    async def smtp_HELO(self, hostname):
        if await self._faulted('helo'):
            return
        await super().smtp_HELO(hostname)

    @_same_syntax('smtp_EHLO')
    async def smtp_EHLO(self, hostname):
        if await self._faulted('helo'):
            return
        await super().smtp_EHLO(hostname)

    @_same_syntax('smtp_MAIL')
    async def smtp_MAIL(self, arg):
        self.event('mail')
        if await self._faulted('mail'):
            return
        await super().smtp_MAIL(arg)

    @_same_syntax('smtp_RCPT')
    async def smtp_RCPT(self, arg):
        self.event('rcpt')
        if await self._faulted('rcpt'):
            return
        await super().smtp_RCPT(arg)

    @_same_syntax('smtp_DATA')
    async def smtp_DATA(self, arg):
        self.event('data')
        if await self._faulted('data'):
            return
        # The eom faults are applied by Recorder.handle_DATA, after the dot.
        await super().smtp_DATA(arg)
        if self.close_after_reply:
            self._close()

    @_same_syntax('smtp_RSET')
    async def smtp_RSET(self, arg):
        self.event('rset')
        await super().smtp_RSET(arg)

    @_same_syntax('smtp_QUIT')
    async def smtp_QUIT(self, arg):
        self.event('quit')
        await super().smtp_QUIT(arg)


def message_id(content):
    msg = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(content)
    value = msg['Message-ID']
    return str(value).strip() if value is not None else None


class Recorder:
    def __init__(self, out, reject, tempfail):
        self.out = out
        self.reject = re.compile(reject) if reject else None
        self.tempfail = re.compile(tempfail) if tempfail else None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject.search(address):
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        if self.tempfail and self.tempfail.search(address):
            return '451 4.3.0 <%s>: Temporary failure, try again later' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        # Runs once the final dot is in: the "eom" step.
        server.event('eom')
        reply = await server.fault('eom')
        if reply is not None:
            return reply
        content = envelope.original_content
        try:
            mid = message_id(content)
        except Exception as e:  # a test relay must not choke on odd headers
            warn('cannot parse Message-ID: %s' % e)
            mid = None
        record = {
            'mail_from': envelope.mail_from,
            'rcpt_tos': envelope.rcpt_tos,
            'data': content.decode('utf-8', 'replace'),
            'received_at': time.time(),
            'message_id': mid,
        }
        with open(self.out, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record) + '\n')
        return '250 2.0.0 Ok: queued'


class XOAuth2Recorder(Recorder):
    """The Recorder with AUTH XOAUTH2 (aiosmtpd takes a handler's auth_*
    methods as mechanisms), accepting one user and one token."""

    def __init__(self, out, reject, tempfail, user, token):
        super().__init__(out, reject, tempfail)
        self.expected = ('user=%s\x01auth=Bearer %s\x01\x01' % (user, token)).encode()

    async def auth_XOAUTH2(self, server, args):
        if len(args) == 1:
            blob = await server.challenge_auth('', encode_to_b64=False)
            if blob is MISSING:             # answered already ("*", bad base64)
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        ok = blob == self.expected
        server.event('auth', mechanism='XOAUTH2', ok=ok,
                     response=blob.decode('utf-8', 'replace'))
        # handled=False and a message, as for --auth: aiosmtpd 1.4.3 never
        # answers a failure it takes as handled.
        return AuthResult(success=ok, handled=False, message=None if ok else
                          '535 5.7.3 Authentication unsuccessful')


class FaultController(UnthreadedController):
    """Runs on the main thread's loop.  Unlike the threaded Controller it does
    not open a trigger connection at start, which would show up as an extra
    connection in --events and consume a "connect" fault."""

    def __init__(self, handler, *, control, events, long_lines=False, **kwargs):
        super().__init__(handler, **kwargs)
        self.control = control
        self.events = events
        self.long_lines = long_lines

    def factory(self):
        return FaultSMTP(self.handler, control=self.control, events=self.events,
                         long_lines=self.long_lines, loop=self.loop, **self.SMTP_kwargs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--reject-rcpt')
    ap.add_argument('--tempfail-rcpt')
    ap.add_argument('--tls-cert')
    ap.add_argument('--tls-key')
    ap.add_argument('--auth')
    ap.add_argument('--xoauth2', metavar='USER:TOKEN',
                    help='require AUTH XOAUTH2 with exactly this user and token')
    ap.add_argument('--control', help='JSON fault-injection file, re-read at every step')
    ap.add_argument('--events', help='append one JSON line per connection event')
    args = ap.parse_args()
    if args.xoauth2:
        user, token = args.xoauth2.split(':', 1)
        handler = XOAuth2Recorder(args.out, args.reject_rcpt, args.tempfail_rcpt, user, token)
    else:
        handler = Recorder(args.out, args.reject_rcpt, args.tempfail_rcpt)
    extra = {}
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        extra.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(':', 1)

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login.decode() == user and
                  auth_data.password.decode() == password)
            server.event('auth', mechanism=mechanism, ok=ok)
            # handled=False said: aiosmtpd 1.4.3's AuthResult takes a failure
            # as handled by default and never answers (the client waits
            # until it times out).  Postfix's words.
            return AuthResult(success=ok, handled=False, message=None if ok else
                              '535 5.7.8 Error: authentication failed: bad credentials')
        extra.update(authenticator=authenticate, auth_required=True,
                     auth_require_tls=bool(args.tls_cert))
    if args.xoauth2:
        extra.update(auth_required=True, auth_require_tls=bool(args.tls_cert))
        if not args.auth:
            extra.update(auth_exclude_mechanism=['PLAIN', 'LOGIN'])
    loop = asyncio.new_event_loop()
    controller = FaultController(handler, hostname=args.host, port=args.port,
                                 loop=loop, control=Control(args.control),
                                 events=Events(args.events),
                                 decode_data=False, enable_SMTPUTF8=True,
                                 data_size_limit=10 * 1024 * 1024,
                                 long_lines=bool(args.xoauth2), **extra)
    controller.begin()
    print('READY %s:%d' % (args.host, args.port), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.end()
    # Cancel the conversations still open so that they end quietly.
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
