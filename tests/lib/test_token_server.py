"""Tests of tests/lib/token_server.py, the OAuth 2.0 token endpoint of the
XOAUTH2 tests: it answers as a real endpoint (RFC 6749 §4.4, §6, §5.2) and
records what it received.

Run with: meson test -C build --suite lib
"""
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness.token import TokenServer


@pytest.fixture
def token(tmp_path):
    srv = TokenServer(str(tmp_path), client_id='cid', client_secret='sec',
                      refresh_token='r1', rotate=['r2'], access_tokens=['t1', 't2'],
                      expires_in=3599).start()
    yield srv
    srv.stop()


def post(url, fields, ctype='application/x-www-form-urlencoded'):
    """(status, JSON answer) of a POST of FIELDS."""
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(url, data=data, headers={'Content-Type': ctype})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_client_credentials(token):
    status, answer = post(token.url, {'grant_type': 'client_credentials', 'client_id': 'cid',
                                      'client_secret': 'sec', 'scope': 'a b'})
    assert status == 200
    assert answer == {'access_token': 't1', 'token_type': 'Bearer', 'expires_in': 3599}
    reqs = token.requests()
    assert len(reqs) == 1
    assert reqs[0]['form'] == {'grant_type': 'client_credentials', 'client_id': 'cid',
                               'client_secret': 'sec', 'scope': 'a b'}
    assert reqs[0]['content_type'] == 'application/x-www-form-urlencoded'
    assert reqs[0]['path'] == '/token' and reqs[0]['status'] == 200


def test_wrong_secret_and_wrong_client(token):
    assert post(token.url, {'grant_type': 'client_credentials', 'client_id': 'cid',
                            'client_secret': 'bad'}) == (401, {
        'error': 'invalid_client', 'error_description': 'Invalid client secret provided'})
    assert post(token.url, {'grant_type': 'client_credentials', 'client_id': 'x',
                            'client_secret': 'sec'})[1]['error'] == 'invalid_client'
    assert post(token.url, {'grant_type': 'password', 'client_id': 'cid',
                            'client_secret': 'sec'})[1]['error'] == 'unsupported_grant_type'
    assert post(token.url, {'grant_type': 'client_credentials'},
                ctype='text/plain')[0] == 400


def test_refresh_rotates_and_spends_the_old_token(token):
    grant = {'grant_type': 'refresh_token', 'client_id': 'cid', 'client_secret': 'sec'}
    status, answer = post(token.url, dict(grant, refresh_token='r1'))
    assert status == 200 and answer['refresh_token'] == 'r2' and answer['access_token'] == 't1'
    status, answer = post(token.url, dict(grant, refresh_token='r1'))
    assert (status, answer['error']) == (400, 'invalid_grant')
    status, answer = post(token.url, dict(grant, refresh_token='r2'))
    assert status == 200 and 'refresh_token' not in answer and answer['access_token'] == 't2'


def test_refuse_and_settings_changed_while_running(token):
    token.configure(refuse={'error': 'invalid_client', 'error_description': 'AADSTS7000215'},
                    status=401)
    assert post(token.url, {'grant_type': 'client_credentials'}) == (
        401, {'error': 'invalid_client', 'error_description': 'AADSTS7000215'})
    token.configure(client_id='cid', client_secret=None, refresh_token='r1', expires_in=None)
    status, answer = post(token.url, {'grant_type': 'refresh_token', 'client_id': 'cid',
                                      'refresh_token': 'r1'})
    assert status == 200 and 'expires_in' not in answer
    assert [r['status'] for r in token.requests()] == [401, 200]
