"""The parts of bench/bench.py with dunningd running as a service: the
dispute-to-cancel latency while it sends a batch, and its idle CPU."""
import os
import subprocess
import threading
import time

from rig import DUNNINGD, IDLE_S, SEND_DAY, SLOW_POLL, TRIALS, med
from harness import at, free_port
from host import cpu_ticks, proc_status, say, sched_ns
from sending import Sink


# -------------------------------------------------------------- latency --

class Stamped:
    """dunningd as a service, its log read by a thread."""

    def __init__(self, conf, now, args=()):
        self.proc = subprocess.Popen([DUNNINGD, '-c', conf, '--now', now] + list(args),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = []
        self.th = threading.Thread(target=self._read, daemon=True)
        self.th.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(120)
        self.th.join(10)
        return rc


def wait_first_sent(cur, deadline):
    """Poll with CUR until a reminder is 'sent', at most DEADLINE s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        cur.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent'")
        if cur.fetchone()[0] > 0:
            return
        time.sleep(0.01)


def part_latency(b, tpl):
    db = b.clone(tpl)
    sink = Sink(os.path.join(b.work, 'sink'), 'latency')
    conf = b.config(db, sink.port, 'latency', SLOW_POLL)
    now = at(SEND_DAY, '10:00')
    w = b.connect(db)
    o = b.connect(db)
    with w.cursor() as c:
        c.execute("SELECT set_config('dunning.now', %s, false)", (now,))
    oc = o.cursor()
    oc.execute("SELECT i.number, r.id FROM dunning.reminder r JOIN dunning.invoice i "
               "ON i.id = r.invoice_id WHERE r.state = 'held' ORDER BY i.id")
    held = oc.fetchall()
    assert len(held) == TRIALS, held
    d = Stamped(conf, now)
    rss = []
    trials = []
    try:
        wait_first_sent(oc, 120)
        t_first = time.monotonic()
        for number, rid in held:
            with w.cursor() as c:
                c.execute("UPDATE dunning.invoice SET disputed_at = %s, dispute_reason = %s "
                          "WHERE number = %s", (now, 'honoraires contestés', number))
                t0 = time.monotonic()
            while True:
                oc.execute('SELECT state FROM dunning.reminder WHERE id = %s', (rid,))
                if oc.fetchone()[0] == 'cancelled':
                    trials.append((time.monotonic() - t0) * 1000)
                    break
                if time.monotonic() - t0 > 10:
                    trials.append(None)
                    break
                time.sleep(0.002)
            oc.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent'")
            sent_at_trial = oc.fetchone()[0]
            rss.append(proc_status(d.proc.pid)['VmRSS'])
            time.sleep(0.15)
        during = sent_at_trial
        t_trials = time.monotonic() - t_first
        st = proc_status(d.proc.pid)     # the rest of the batch is not waited for
        oc.execute("SELECT count(*) FROM dunning.reminder WHERE state = 'sent' "
                   "AND invoice_id IN (SELECT id FROM dunning.invoice WHERE disputed_at IS NOT NULL)")
        sent_disputed = oc.fetchone()[0]
    finally:
        rc = d.stop()
        w.close()
        o.close()
        sink.stop()
    b.cluster.admin('DROP DATABASE %s WITH (FORCE)' % db)
    ok = [t for t in trials if t is not None]
    res = {'trials': trials, 'median': med(ok), 'worst': max(ok), 'timeouts': trials.count(None),
           'sent_after_trials': during, 't_trials': t_trials, 'rss_load_max': max(rss),
           'hwm': st['VmHWM'], 'rss_end': st['VmRSS'], 'rc': rc, 'sent_disputed': sent_disputed}
    say('== latency under load: median %.1f ms, worst %.1f ms, %d timeouts; %d sent when the '
        'last trial ended; RSS under load max %d kB, HWM %d kB' % (
            res['median'], res['worst'], res['timeouts'], during, res['rss_load_max'],
            res['hwm']))
    return res


# ----------------------------------------------------------------- idle --

def part_idle(b):
    db = b.clone(b.cluster.template)
    conf = b.config(db, free_port(), 'idle')
    d = Stamped(conf, at(SEND_DAY, '10:00'))
    try:
        time.sleep(3)
        rss0 = proc_status(d.proc.pid)
        n0, t0 = sched_ns(d.proc.pid), cpu_ticks(d.proc.pid)
        time.sleep(IDLE_S)
        n1, t1 = sched_ns(d.proc.pid), cpu_ticks(d.proc.pid)
        rss1 = proc_status(d.proc.pid)
    finally:
        rc = d.stop()
    b.cluster.admin('DROP DATABASE %s WITH (FORCE)' % db)
    tick = os.sysconf('SC_CLK_TCK')
    res = {'sched_ms': (n1 - n0) / 1e6, 'ticks_ms': (t1 - t0) * 1000 / tick, 'rss0': rss0,
           'rss1': rss1, 'rc': rc}
    say('== idle: %.2f ms CPU (schedstat) / %.0f ms (ticks) over %d s; RSS %d kB' % (
        res['sched_ms'], res['ticks_ms'], IDLE_S, rss1['VmRSS']))
    return res
