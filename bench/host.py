"""The machine and the processes the benchmarks watch, for bench/bench.py
and bench/service.py: what ran where (CPU, load, commit) and a process's
memory and CPU time read from /proc."""
import glob
import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def say(*a):
    print(*a, flush=True)


def load_avg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def git_head():
    try:
        return subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'],
                              stdout=subprocess.PIPE, text=True,
                              check=True).stdout.strip() or 'unknown'
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def proc_status(pid):
    """{'VmRSS': kB, 'VmHWM': kB, 'Threads': n} of PID."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('VmRSS', 'VmHWM', 'Threads'):
                out[k] = int(v.split()[0])
    return out


def cpu_ticks(pid):
    """utime + stime of the whole process (every thread), in clock ticks."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])


def sched_ns(pid):
    """On-CPU time of PID's live threads, in ns (schedstat, first field)."""
    total = 0
    for p in glob.glob('/proc/%d/task/*/schedstat' % pid):
        try:
            with open(p) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def filesystem(path):
    """'SOURCE (FSTYPE)' of the filesystem holding PATH."""
    r = subprocess.run(['findmnt', '-n', '-o', 'SOURCE,FSTYPE', '-T', path],
                       stdout=subprocess.PIPE, text=True)
    parts = r.stdout.split()
    return '%s (%s)' % (parts[0], parts[1]) if len(parts) == 2 else 'unknown'


def fdatasync_rate(directory, pg_bin):
    """fdatasync of one 8 kB write per second in DIRECTORY, the way the WAL
    is flushed at each commit (pg_test_fsync -s 1); None if unknown."""
    test = os.path.join(directory, 'pg_test_fsync.out')
    try:
        r = subprocess.run([os.path.join(pg_bin, 'pg_test_fsync'), '-s', '1', '-f', test],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        if os.path.exists(test):
            os.unlink(test)
    for line in r.stdout.split('\n'):
        f = line.split()
        if len(f) >= 2 and f[0] == 'fdatasync':
            try:
                return float(f[1])
            except ValueError:
                return None
    return None


def cpu_jiffies():
    """(busy, total) clock ticks of every CPU of the machine since boot,
    from /proc/stat (idle and iowait are not busy)."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    total = sum(v[:8])          # guest time is already in user
    return total - v[3] - v[4], total
