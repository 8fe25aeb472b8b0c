"""The long-running daemon (no --once): its clock advances in real time
from --now, it sends what falls due, reloads on SIGHUP (refusing an
invalid file) and stops on SIGTERM, auditing each (SPEC §2 rule 10, §3.2,
§3.3)."""
import contextlib
import select
import signal
import subprocess
import time

from harness import DUNNINGD, at, instant, wait_until

LOOP_CONF = 'schedule { poll_interval = 1 }\n'


@contextlib.contextmanager
def running(env, now):
    p = subprocess.Popen([DUNNINGD, '-c', env.config, '--now', now],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=30)


def read_cycles(p, n, deadline=15):
    """Read the daemon's log until N more cycles are reported."""
    end = time.monotonic() + deadline
    seen = 0
    while seen < n:
        left = end - time.monotonic()
        if left <= 0 or not select.select([p.stderr], [], [], left)[0]:
            raise AssertionError('the daemon did not report %d cycles in %ds' % (n, deadline))
        line = p.stderr.readline()
        if not line:
            raise AssertionError('the daemon exited')
        seen += 'cycle ' in line


def test_daemon_loop_sends_as_its_clock_advances_and_stops_on_sigterm(make_env):
    """Started two seconds before the window opens, the daemon sends the
    due j3 once its clock reaches 09:00, exactly once over the next cycles,
    and stops cleanly on SIGTERM with daemon_started / daemon_stopped audit
    rows."""
    env = make_env(extra_conf=LOOP_CONF)
    c = env.client('boucle@client.example')
    env.invoice('D-1', c, '2026-03-05')             # j3 due Sunday 8 → Monday 9
    env.invoice('D-0', env.client('avant@client.example'), '2026-03-02')
    with running(env, '2026-03-09T08:59:58+01:00') as p:
        read_cycles(p, 1)
        assert env.mails() == []                    # 08:59:58: window closed
        wait_until('the j3 messages', lambda: len(env.mails()) == 2)
        read_cycles(p, 3)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)
        assert p.returncode == 0
    assert sorted(m.rcpt for m in env.mails()) == ['avant@client.example',
                                                   'boucle@client.example']
    sent_at = env.reminders('D-1')['j3']['sent_at']
    assert instant('2026-03-09', '09:00') <= sent_at < instant('2026-03-09', '09:01')
    actions = [a['action'] for a in env.audit()]
    assert actions[0] == 'daemon_started' and actions[-1] == 'daemon_stopped'
    assert actions.count('sent') == 2


def test_sighup_reload_is_audited_and_invalid_file_refused(make_env):
    """SIGHUP reloads the configuration (an audit row 'config_reloaded');
    an invalid new file is refused and the running configuration kept: the
    daemon goes on sending."""
    env = make_env(extra_conf=LOOP_CONF)
    a = env.client('avant@client.example')
    env.invoice('D-2', a, '2026-03-02')
    with running(env, '2026-03-05T10:00:00+01:00') as p:
        wait_until('the first message', lambda: env.mails())
        p.send_signal(signal.SIGHUP)
        wait_until('the config_reloaded audit row',
                 lambda: env.audit('config_reloaded'), deadline=10)
        # An invalid file: refused, the daemon keeps running and sending.
        with open(env.config, 'a') as f:
            f.write('schedule { min_gap_days = "beaucoup" }\n')
        p.send_signal(signal.SIGHUP)
        b = env.client('apres@client.example')
        env.invoice('D-3', b, '2026-03-02')
        wait_until('the message sent after the refused reload', lambda: len(env.mails()) == 2)
        assert p.poll() is None
        assert len(env.audit('config_reloaded')) == 1
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=15)
        assert p.returncode == 0
    assert 'refused' in err


def test_daemon_speaks_the_systemd_notify_protocol(make_env, tmp_path):
    """Type=notify: READY=1 once the database is up, STATUS= per cycle,
    RELOADING=1 with MONOTONIC_USEC then READY=1 around a reload, and
    STOPPING=1 on SIGTERM, WATCHDOG=1 when systemd asks for it — read from
    a real NOTIFY_SOCKET."""
    import os
    import socket
    env = make_env(extra_conf=LOOP_CONF)
    path = str(tmp_path / 'notify.sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    got = []

    def receive(pred, deadline=15):
        end = time.monotonic() + deadline
        while not any(pred(m) for m in got):
            left = end - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                raise AssertionError('no notification matching; got %r' % got)
            got.append(sock.recv(4096).decode())
        return next(m for m in got if pred(m))

    p = subprocess.Popen([DUNNINGD, '-c', env.config, '--now', at('2026-03-09', '10:00')],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC='400000'))
    try:
        receive(lambda m: 'READY=1' in m)
        # WatchdogSec=: the loop pings at half the period.
        receive(lambda m: m == 'WATCHDOG=1')
        receive(lambda m: m.startswith('STATUS=last cycle'))
        p.send_signal(signal.SIGHUP)
        reload_msg = receive(lambda m: 'RELOADING=1' in m)
        assert 'MONOTONIC_USEC=' in reload_msg
        receive(lambda m: 'READY=1' in m and 'reloaded' in m)
        p.send_signal(signal.SIGTERM)
        receive(lambda m: 'STOPPING=1' in m)
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=30)
        sock.close()
