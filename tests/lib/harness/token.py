"""The OAuth 2.0 token endpoint of the tests (tests/lib/token_server.py) as
a subprocess on a port of its own, its settings changed while it runs, and
the requests it received."""
import json
import os
import select
import subprocess
import time

from .paths import PYTHON, TOKEN_SERVER
from .programs import stop_process


class TokenServer:
    """tests/lib/token_server.py; SETTINGS as its --config file says."""

    def __init__(self, workdir, **settings):
        self.config_path = os.path.join(workdir, 'token-config.json')
        self.out = os.path.join(workdir, 'token-requests.jsonl')
        self.port = None
        self.proc = None
        self.configure(**settings)

    @property
    def url(self):
        return 'http://127.0.0.1:%d/token' % self.port

    def configure(self, **settings):
        """Replace the settings atomically: the next request follows them."""
        tmp = self.config_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(settings, f)
        os.replace(tmp, self.config_path)

    def start(self, deadline=20):
        self.errfile = open(self.out + '.stderr', 'w')
        self.proc = subprocess.Popen([PYTHON, TOKEN_SERVER, '--config', self.config_path,
                                      '--out', self.out],
                                     stdout=subprocess.PIPE, stderr=self.errfile, text=True)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError('token server exited')
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith('READY'):
                    self.port = int(line.split()[1].rsplit(':', 1)[1])
                    return self
        self.stop()
        raise RuntimeError('token server not READY within %ds' % deadline)

    def requests(self):
        """Every request received, in order (token_server.py's records)."""
        if not os.path.exists(self.out):
            return []
        with open(self.out, encoding='utf-8') as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        stop_process(self.proc, self.errfile)
        self.proc = None
