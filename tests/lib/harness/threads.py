"""Threads of the concurrency tests: a function run in a thread whose
exception comes back to the test, and the watchers of the audit chain that
run beside the writers."""
import threading


class Worker(threading.Thread):
    """FN() in a thread, started at once; its result or its exception
    afterwards (outcome())."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None
        self.start()

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as e:    # noqa: B902 (re-raised by outcome())
            self.error = e

    def outcome(self, timeout=30):
        self.join(timeout)
        assert not self.is_alive(), 'worker still running after %ds' % timeout
        if self.error is not None:
            raise self.error
        return self.result


def audit_watchers(env, running, seen):
    """Two Workers that run while RUNNING is set: a reader that never sees a
    row of dunning.audit_log without its hash or position, nor a hole or a
    repeated position in the chain (it connects as the superuser, whom
    row-level security shows every row); and `dunningctl audit verify` in a
    loop, which must always pass.  They count their rounds in SEEN
    ('reads', 'nonempty', 'verify')."""
    for k in ('reads', 'nonempty', 'verify'):
        seen.setdefault(k, 0)

    def reader():
        conn = env.connect()
        try:
            with conn.cursor() as cur:
                while running.is_set():
                    cur.execute('SELECT count(*) FILTER (WHERE hash IS NULL '
                                '  OR chain_seq IS NULL), count(*), '
                                'coalesce(max(chain_seq), 0), count(DISTINCT chain_seq) '
                                'FROM dunning.audit_log')
                    unchained, n, last, distinct = cur.fetchone()
                    assert unchained == 0, 'a row without its hash or chain_seq was visible'
                    assert n == last == distinct, ('a hole in the chain', n, last, distinct)
                    seen['reads'] += 1
                    seen['nonempty'] += n > 0
        finally:
            conn.close()

    def verifier():
        while running.is_set():
            r = env.ctl('audit', 'verify')
            assert r.returncode == 0 and 'OK' in r.stdout, (r.returncode, r.stdout, r.stderr)
            seen['verify'] += 1

    return [Worker(reader), Worker(verifier)]
