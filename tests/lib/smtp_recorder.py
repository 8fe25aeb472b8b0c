#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) that records every message it accepts.

Each accepted message is appended to --out as one JSON line:
{"mail_from", "rcpt_tos", "data", "received_at"}.  Recipients matching
--reject-rcpt get a 550, those matching --tempfail-rcpt a 451, so tests can
drive the daemon's failure paths against a real SMTP conversation.
With --tls-cert/--tls-key it requires STARTTLS; with --auth USER:PASSWORD it
requires AUTH (PLAIN or LOGIN, over TLS only when TLS is on).
Prints "READY host:port" on stdout once it listens.
"""
import argparse
import asyncio
import json
import re
import signal
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


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
        record = {
            'mail_from': envelope.mail_from,
            'rcpt_tos': envelope.rcpt_tos,
            'data': envelope.original_content.decode('utf-8', 'replace'),
            'received_at': time.time(),
        }
        with open(self.out, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record) + '\n')
        return '250 2.0.0 Ok: queued'


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
    args = ap.parse_args()
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
            return AuthResult(success=ok)
        extra.update(authenticator=authenticate, auth_required=True,
                     auth_require_tls=bool(args.tls_cert))
    controller = Controller(handler, hostname=args.host, port=args.port,
                            decode_data=False, enable_SMTPUTF8=True,
                            data_size_limit=10 * 1024 * 1024, **extra)
    controller.start()
    print('READY %s:%d' % (args.host, args.port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
