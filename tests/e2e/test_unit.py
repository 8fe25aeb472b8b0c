"""The systemd unit (systemd/dunningd.service) and its spool (issue 17, item 7).

- `systemd-analyze security` rates the unit at most 1.0 (it was 1.6 "OK"
  before ProtectProc=invisible, ProcSubset=pid, PrivateUsers=yes,
  IPAddressDeny=any with IPAddressAllow=localhost, RemoveIPC=,
  PrivateMounts=), and `systemd-analyze verify` finds nothing to say of it
  nor of the generator's drop-in.
- spool.dir is configurable, so the unit no longer hard-codes its
  ReadWritePaths=: systemd/dunningd-spool-generator asks
  `dunningd --print-spool-dir` and writes dunningd.service.d/50-spool-dir.conf;
  it writes nothing (and never fails) for a configuration that does not
  parse or a path a unit file would read otherwise.
- A spool on a read-only file system (what ProtectSystem=strict makes of a
  path the unit does not list) is refused at --check-config and at start,
  naming the drop-in to add; a letter could never be written there."""
import os
import re
import shutil
import subprocess

import pytest

from harness import DUNNINGD, at

ROOT = os.environ.get('DUNNING_SOURCE_ROOT', os.getcwd())
UNIT = os.path.join(ROOT, 'systemd', 'dunningd.service')
GENERATOR = os.path.join(ROOT, 'systemd', 'dunningd-spool-generator')
ANALYZE = shutil.which('systemd-analyze')


def set_spool(env, path):
    """ENV's configuration with spool.dir = PATH."""
    with open(env.config, encoding='utf-8') as f:
        text = f.read()
    text, n = re.subn(r'spool \{ dir = "[^"]*" \}', 'spool { dir = "%s" }' % path, text)
    assert n == 1
    with open(env.config, 'w', encoding='utf-8') as f:
        f.write(text)


def generate(env, tmp_path, conf=None, program=DUNNINGD):
    """Run the generator as systemd would (three directories); the drop-in
    it wrote (None when none) and its stderr."""
    out = tmp_path / 'generator'
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([GENERATOR, str(out), str(tmp_path / 'early'), str(tmp_path / 'late')],
                       env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
                            'DUNNINGD_BIN': program, 'DUNNINGD_CONF': conf or env.config},
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0, r.stderr        # a generator never fails the boot
    path = out / 'dunningd.service.d' / '50-spool-dir.conf'
    return (path.read_text() if path.exists() else None), r.stderr


@pytest.mark.skipif(ANALYZE is None, reason='systemd-analyze is not installed')
def test_unit_exposure_is_at_most_1_0_with_the_new_directives():
    r = subprocess.run([ANALYZE, 'security', '--offline=true', '--no-pager', UNIT],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    out = r.stdout
    m = re.search(r'Overall exposure level for dunningd.service: ([0-9.]+) (\w+)', out)
    assert m, out
    assert float(m.group(1)) <= 1.0 and m.group(2) in ('OK', 'SAFE'), m.group(0)
    for ok in ('ProtectProc=', 'ProcSubset=', 'PrivateUsers=', 'RemoveIPC=', 'PrivateMounts='):
        assert re.search(r'(?m)^✓ %s ' % re.escape(ok), out), (ok, out)
    assert re.search(r'(?m)^✗ IPAddressDeny= .*only localhost entries', out), out
    with open(UNIT, encoding='utf-8') as f:
        unit = f.read()
    assert not re.search(r'(?m)^ReadWritePaths=', unit), 'spool.dir comes from the configuration'


def test_generator_writes_the_configured_spool(env, tmp_path):
    set_spool(env, '/srv/cabinet/lettres-recommandees')
    text, err = generate(env, tmp_path)
    assert text is not None, err
    assert re.findall(r'(?m)^[^#].*$', text) == ['[Service]',
                                               'ReadWritePaths=-/srv/cabinet/lettres-recommandees']
    # The default, too: the unit names no spool of its own.
    set_spool(env, '/var/spool/dunningd')
    text, err = generate(env, tmp_path)
    assert 'ReadWritePaths=-/var/spool/dunningd\n' in text


@pytest.mark.parametrize('path', ['/srv/mes lettres', '/srv/%h/lettres', 'relatif/lettres',
                                  '/srv/"quoted"'])
def test_generator_writes_nothing_for_a_path_a_unit_would_misread(env, tmp_path, path):
    set_spool(env, path)
    text, err = generate(env, tmp_path)
    assert text is None, text
    assert 'spool.dir' in err


def test_generator_writes_nothing_for_a_broken_configuration(env, tmp_path):
    with open(env.config, 'a', encoding='utf-8') as f:
        f.write('schedule { no_such_key = 1 }\n')
    text, err = generate(env, tmp_path)
    assert text is None and 'does not parse' in err, err
    text, err = generate(env, tmp_path, conf=str(tmp_path / 'absent.conf'))
    assert text is None


@pytest.mark.skipif(ANALYZE is None, reason='systemd-analyze is not installed')
def test_unit_and_generated_drop_in_verify_clean(env, tmp_path):
    """systemd-analyze verify on the unit as installed (its programs pointed
    at the build) with the generator's drop-in: not a word."""
    units = tmp_path / 'units'
    units.mkdir()
    with open(UNIT, encoding='utf-8') as f:
        text = f.read()
    (units / 'dunningd.service').write_text(
        text.replace('/usr/sbin/dunningd', DUNNINGD)
            .replace('/etc/dunningd/dunningd.conf', env.config))
    set_spool(env, '/srv/lettres')
    dropin, err = generate(env, tmp_path)
    assert dropin is not None, err
    r = subprocess.run([ANALYZE, 'verify', 'dunningd.service'],
                       env=dict(os.environ, SYSTEMD_UNIT_PATH='%s:%s:' % (
                           units, tmp_path / 'generator')),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    ours = [ln for ln in r.stdout.splitlines() if 'dunningd' in ln]
    assert ours == [], r.stdout


def readonly(path, argv):
    """Run ARGV with PATH bind-mounted read-only in a mount namespace of
    its own: what ProtectSystem=strict makes of a path the unit does not
    list in ReadWritePaths=."""
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'
    return subprocess.run(['unshare', '-m', 'sh', '-c', script, 'sh', path] + argv,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def can_mount():
    if os.geteuid() != 0 or shutil.which('unshare') is None:
        return False
    r = subprocess.run(['unshare', '-m', 'true'], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return r.returncode == 0


@pytest.mark.skipif(not can_mount(), reason='needs root and mount namespaces')
def test_read_only_spool_refused_at_check_config_and_start(env, tmp_path):
    spool = tmp_path / 'lettres'
    spool.mkdir()
    set_spool(env, str(spool))
    r = readonly(str(spool), [DUNNINGD, '--check-config', '-c', env.config])
    assert r.returncode != 0, r.stdout
    assert 'configuration OK' not in r.stdout
    assert 'spool.dir %s is on a read-only file system' % spool in r.stderr, r.stderr
    assert 'ReadWritePaths=%s' % spool in r.stderr and '50-spool-dir.conf' in r.stderr
    # Not yet created: the nearest directory above it is what counts.
    set_spool(env, str(spool / 'a' / 'b'))
    r = readonly(str(spool), [DUNNINGD, '--once', '--now', at('2026-03-05'), '-c', env.config])
    assert r.returncode != 0 and 'read-only file system' in r.stderr, r.stderr
    assert env.audit('daemon_started') == []
    # Writable: OK, and nothing to say.
    r = subprocess.run([DUNNINGD, '--check-config', '-c', env.config],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0 and 'configuration OK' in r.stdout, r.stderr
    assert 'spool.dir' not in r.stderr



# Many firms on one host (issue 21, item 2): systemd/dunningd@.service, one
# configuration per firm (/etc/dunningd/firms/NAME.conf), hardened as
# dunningd.service, and the generator's drop-in for each firm's spool.
TEMPLATE = os.path.join(ROOT, 'systemd', 'dunningd@.service')
# The directives the template has of its own: the firm's file, password,
# state directory and name.
PER_FIRM = ('Description', 'ExecStartPre', 'ExecStart', 'LoadCredential', 'StateDirectory')


def directives(path):
    """[(section, line)] of the unit file's directives, comments left out."""
    out, section = [], None
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('['):
                section = line
                continue
            out.append((section, line))
    return out


def test_template_unit_is_the_units_hardening_line_for_line():
    unit, tpl = directives(UNIT), directives(TEMPLATE)

    def shared(ds):
        return [d for d in ds if d[1].split('=', 1)[0] not in PER_FIRM]
    assert shared(tpl) == shared(unit)
    own = dict(d[1].split('=', 1) for d in tpl if d[1].split('=', 1)[0] in PER_FIRM)
    assert own['ExecStart'] == '/usr/sbin/dunningd -c /etc/dunningd/firms/%i.conf'
    assert own['ExecStartPre'] == '/usr/sbin/dunningd --check-config -c /etc/dunningd/firms/%i.conf'
    assert own['LoadCredential'] == 'smtp_password:/etc/dunningd/firms/%i.smtp_password'
    assert own['StateDirectory'] == 'dunningd/%i'


@pytest.mark.skipif(ANALYZE is None, reason='systemd-analyze is not installed')
def test_template_instance_exposure_is_at_most_1_0(tmp_path):
    path = tmp_path / 'dunningd@cabinet-durand.service'
    shutil.copy(TEMPLATE, path)
    r = subprocess.run([ANALYZE, 'security', '--offline=true', '--no-pager', str(path)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    m = re.search(r'Overall exposure level for dunningd@cabinet-durand.service: ([0-9.]+) (\w+)',
                  r.stdout)
    assert m, r.stdout
    assert float(m.group(1)) <= 1.0 and m.group(2) in ('OK', 'SAFE'), m.group(0)


def firm(env, firms, name, spool):
    """FIRMS/NAME.conf: ENV's configuration with spool.dir = SPOOL."""
    firms.mkdir(exist_ok=True)
    set_spool(env, spool)
    shutil.copy(env.config, firms / (name + '.conf'))
    return str(firms / (name + '.conf'))


def generate_firms(env, tmp_path, firms):
    out = tmp_path / 'generator'
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([GENERATOR, str(out), str(tmp_path / 'early'), str(tmp_path / 'late')],
                       env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
                            'DUNNINGD_BIN': DUNNINGD, 'DUNNINGD_CONF': env.config,
                            'DUNNINGD_FIRMS': str(firms)},
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return out, r.stderr


def test_generator_writes_each_firms_spool(env, tmp_path):
    """One drop-in per firm, from its own file; a name its unit could not
    carry unescaped, or a file that does not parse, gets none (the others
    theirs all the same); dunningd.service keeps its own."""
    firms = tmp_path / 'firms'
    firm(env, firms, 'durand', '/var/spool/dunningd/durand')
    firm(env, firms, 'martin_associes', '/var/spool/dunningd/martin_associes')
    firm(env, firms, 'mes lettres', '/var/spool/dunningd/x')
    (firms / 'casse.conf').write_text('schedule { no_such_key = 1 }\n')
    set_spool(env, '/var/spool/dunningd')
    out, err = generate_firms(env, tmp_path, firms)
    got = sorted(p.parent.name for p in out.glob('*/50-spool-dir.conf'))
    assert got == ['dunningd.service.d', 'dunningd@durand.service.d',
                   'dunningd@martin_associes.service.d'], (got, err)
    text = (out / 'dunningd@durand.service.d' / '50-spool-dir.conf').read_text()
    assert 'ReadWritePaths=-/var/spool/dunningd/durand\n' in text
    assert 'firms/durand.conf' in text
    assert 'mes lettres.conf: a firm' in err and 'casse.conf does not parse' in err, err


@pytest.mark.skipif(ANALYZE is None, reason='systemd-analyze is not installed')
def test_template_instance_and_its_drop_in_verify_clean(env, tmp_path):
    """systemd-analyze verify of dunningd@durand.service (the template's
    programs and firms' directory pointed at the build and the test's), with
    the generator's drop-in for the firm: not a word."""
    firms = tmp_path / 'firms'
    firm(env, firms, 'durand', '/srv/lettres/durand')
    units = tmp_path / 'units'
    units.mkdir()
    with open(TEMPLATE, encoding='utf-8') as f:
        text = f.read()
    (units / 'dunningd@.service').write_text(
        text.replace('/usr/sbin/dunningd', DUNNINGD)
            .replace('/etc/dunningd/firms/', str(firms) + '/'))
    out, err = generate_firms(env, tmp_path, firms)
    assert (out / 'dunningd@durand.service.d' / '50-spool-dir.conf').exists(), err
    r = subprocess.run([ANALYZE, 'verify', 'dunningd@durand.service'],
                       env=dict(os.environ, SYSTEMD_UNIT_PATH='%s:%s:' % (units, out)),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    ours = [ln for ln in r.stdout.splitlines() if 'dunningd' in ln]
    assert ours == [], r.stdout
    # The instance's configuration is the firm's file, and it is sound.
    r = subprocess.run([DUNNINGD, '--check-config', '-c', str(firms / 'durand.conf')],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
