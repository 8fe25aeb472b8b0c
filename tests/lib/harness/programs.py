"""Running programs and waiting on them: free ports, polling with a
deadline (never a sleep and hope), dunningd as a service."""
import os
import re
import socket
import subprocess
import threading
import time

from .paths import DUNNINGD


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


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


def stop_process(proc, errfile):
    """Stop a server started with stdout piped and stderr to ERRFILE:
    SIGTERM, SIGKILL after 10 s; its pipe and file closed.  PROC may be
    None or already gone."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    proc.stdout.close()
    errfile.close()


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
