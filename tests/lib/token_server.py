#!/usr/bin/python3
"""A real OAuth 2.0 token endpoint (RFC 6749 §4.4 client credentials, §6
refresh token) on loopback, for the tests of smtp.auth = "xoauth2".

POST /token with an application/x-www-form-urlencoded body.  Each request
is appended to --out as one JSON line:
    {"at", "path", "content_type", "form": {name: value}, "answer": {...},
     "status": N}
(form: the fields as decoded; a field given twice is listed as a list.)

How it answers is read from --config, a JSON file re-read at every request
(write it atomically: temporary file, then os.replace).  All keys optional:

    {"client_id": "ID",             the client expected
     "client_secret": "S" | null,   expected with client_credentials, and with
                                    refresh_token when set; null: a public
                                    client (no secret expected)
     "refresh_token": "R" | null,   the refresh token accepted; null: the
                                    refresh grant is refused
     "scope": "SC" | null,          expected when set
     "access_tokens": ["T1", ...],  the Nth good request gets the Nth token
                                    (the last one again after the end)
     "expires_in": 3600 | null,     null: not in the answer
     "rotate": ["R2", ...],         the Nth refresh grant answers with the
                                    Nth new refresh token, which replaces
                                    the accepted one (the old one is then
                                    refused); past the end: no rotation
     "refuse": {"error": "...", "error_description": "..."},
                                    every request gets this, HTTP 401
     "status": 401}                 the HTTP status of "refuse"

A request that does not match gets 400/401 with {"error": "invalid_client"}
or {"error": "invalid_grant"} as a real endpoint would.
Prints "READY 127.0.0.1:PORT" on stdout once it listens.
"""
import argparse
import json
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    """The config file, and what has been handed out so far."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.tokens_given = 0
        self.rotations = 0
        self.refresh = None     # the refresh token accepted, once rotated

    def config(self):
        try:
            with open(self.path, encoding='utf-8') as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def answer(self, form):
        """(HTTP status, JSON answer) for the decoded FORM."""
        cfg = self.config()
        if cfg.get('refuse'):
            return cfg.get('status', 401), cfg['refuse']
        grant = form.get('grant_type')
        if form.get('client_id') != cfg.get('client_id'):
            return 401, {'error': 'invalid_client',
                         'error_description': 'unknown client_id'}
        secret = cfg.get('client_secret')
        if secret is not None and form.get('client_secret') != secret:
            return 401, {'error': 'invalid_client',
                         'error_description': 'Invalid client secret provided'}
        if secret is None and 'client_secret' in form:
            return 401, {'error': 'invalid_client',
                         'error_description': 'a public client has no secret'}
        if cfg.get('scope') is not None and form.get('scope') != cfg['scope']:
            return 400, {'error': 'invalid_scope', 'error_description': 'wrong scope'}
        rotated = None
        with self.lock:
            if grant == 'client_credentials':
                if secret is None:
                    return 401, {'error': 'invalid_client',
                                 'error_description': 'client_credentials needs a secret'}
            elif grant == 'refresh_token':
                accepted = self.refresh or cfg.get('refresh_token')
                if accepted is None or form.get('refresh_token') != accepted:
                    return 400, {'error': 'invalid_grant',
                                 'error_description': 'refresh token unknown or spent'}
                rotate = cfg.get('rotate') or []
                if self.rotations < len(rotate):
                    rotated = rotate[self.rotations]
                    self.rotations += 1
                    self.refresh = rotated
            else:
                return 400, {'error': 'unsupported_grant_type'}
            tokens = cfg.get('access_tokens') or ['token-%d' % (self.tokens_given + 1)]
            token = tokens[min(self.tokens_given, len(tokens) - 1)]
            self.tokens_given += 1
        out = {'access_token': token, 'token_type': 'Bearer'}
        if cfg.get('expires_in', 3600) is not None:
            out['expires_in'] = cfg.get('expires_in', 3600)
        if rotated is not None:
            out['refresh_token'] = rotated
        return 200, out


class Handler(BaseHTTPRequestHandler):
    server_version = 'token-server/1'

    def log_message(self, fmt, *args):     # quiet: the requests are in --out
        pass

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8', 'replace')
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=False)
        form = {}
        for k, v in pairs:
            if k in form:
                form[k] = form[k] if isinstance(form[k], list) else [form[k]]
                form[k].append(v)
            else:
                form[k] = v
        ctype = self.headers.get('Content-Type', '')
        if not ctype.startswith('application/x-www-form-urlencoded'):
            status, answer = 400, {'error': 'invalid_request',
                                   'error_description': 'not a form'}
        else:
            status, answer = self.server.state.answer(form)
        record = {'at': time.time(), 'path': self.path, 'content_type': ctype,
                  'body': body, 'form': form, 'status': status, 'answer': answer}
        with self.server.out_lock:
            with open(self.server.out, 'a', encoding='utf-8') as f:
                f.write(json.dumps(record) + '\n')
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json; charset=utf-8')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        self.wfile.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--config', required=True)
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(('127.0.0.1', args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args.config)
    srv.out = args.out
    srv.out_lock = threading.Lock()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print('READY 127.0.0.1:%d' % srv.server_address[1], flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
