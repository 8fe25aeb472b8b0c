"""The Debian package, as an administrator meets it: built by
scripts/build-deb, installed with apt-get install ./dunningd_*.deb, checked
(the shipped configuration passes --check-config as the service's user, the
units verify, dpkg -L names every piece, the conffile is root:dunningd
0640), then removed and purged: nothing of it is left but the account
dunningd, which Debian keeps.

It installs into /usr and /etc of this machine: meson test runs it only with
--setup package (scripts/test runs it last), it refuses to run where
dunningd is installed already or without root, and whatever happens it
purges the package at the end.  The database is never created (the package
does not create it).
"""
import glob
import grp
import os
import pathlib
import pwd
import stat
import subprocess
import tempfile
import time

import pytest

SOURCE_ROOT = os.environ.get('DUNNING_SOURCE_ROOT') or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DEB = os.path.join(SOURCE_ROOT, 'scripts', 'build-deb')
APT_ENV = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
CONF = '/etc/dunningd/dunningd.conf'

# Paths the package creates besides its files (maintainer scripts, systemd).
CREATED = ['/etc/dunningd', '/var/spool/dunningd', '/var/lib/dunningd']


def run(argv, timeout=600, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, **kw)


def status():
    """dpkg's status of dunningd: 'ii', 'rc', or '' when unknown."""
    r = run(['dpkg-query', '-W', '-f=${db:Status-Abbrev}', 'dunningd'])
    return r.stdout.strip() if r.returncode == 0 else ''


def purge():
    return run(['apt-get', 'purge', '-y', '-q', 'dunningd'], env=APT_ENV)


@pytest.fixture(scope='module')
def pkg():
    """The package built and installed; purged at the end, whatever happens."""
    if os.geteuid() != 0:
        pytest.skip('installing a package needs root')
    if status() not in ('', 'un'):
        pytest.skip('dunningd is installed on this machine (%s): this test would remove it'
                    % status())
    before = {p: os.path.exists(p) for p in CREATED}
    out = tempfile.mkdtemp(prefix='dunningd-deb-')
    try:
        start = time.monotonic()
        r = run([BUILD_DEB, out], timeout=3000)
        built = time.monotonic() - start
        assert r.returncode == 0, r.stdout[-6000:]
        debs = glob.glob(os.path.join(out, 'dunningd_*.deb'))
        assert len(debs) == 1, os.listdir(out)
        print('package built in %.0f s: %s (%d kB)' % (built, os.path.basename(debs[0]),
                                                       os.path.getsize(debs[0]) // 1024))
        r = run(['apt-get', 'install', '-y', '-q', './' + os.path.basename(debs[0])],
                cwd=out, env=APT_ENV)
        assert r.returncode == 0, r.stdout
        assert status() == 'ii'
        files = run(['dpkg', '-L', 'dunningd']).stdout.split('\n')
        yield {'out': out, 'files': [f for f in files if f.startswith('/')],
               'before': before, 'lintian': os.path.join(out, 'lintian.txt'),
               'install_log': r.stdout}
    finally:
        if status() not in ('', 'un'):
            purge()
        subprocess.run(['rm', '-rf', out])


def test_installed_size_and_lintian(pkg):
    size = run(['dpkg-query', '-W', '-f=${Installed-Size}', 'dunningd']).stdout
    print('installed size: %s kB' % size)
    with open(pkg['lintian'], encoding='utf-8') as f:
        tags = [ln for ln in f.read().splitlines() if ln[:2] in ('E:', 'W:')]
    assert tags == []


def test_dpkg_lists_every_piece(pkg):
    files = set(pkg['files'])
    for path in ['/usr/sbin/dunningd', '/usr/bin/dunningctl',
                 '/lib/systemd/system/dunningd.service', '/lib/systemd/system/dunningd@.service',
                 '/lib/systemd/system-generators/dunningd-spool-generator',
                 '/usr/lib/sysusers.d/dunningd.conf', '/usr/lib/tmpfiles.d/dunningd.conf',
                 '/usr/share/man/man8/dunningd.8.gz', '/usr/share/man/man5/dunningd.conf.5.gz',
                 '/usr/share/man/man1/dunningctl.1.gz',
                 '/usr/share/dunningd/templates/fr/j03.txt',
                 '/usr/share/dunningd/templates/en/j03.txt',
                 '/usr/share/doc/dunningd/README.md',
                 '/usr/share/doc/dunningd/copyright',
                 '/usr/share/doc/dunningd/examples/dunningd.conf', CONF]:
        assert path in files, path
    # dh_compress leaves a small file as it is
    assert files & {'/usr/share/doc/dunningd/README.Debian',
                    '/usr/share/doc/dunningd/README.Debian.gz'}
    # A program of the source tree is in the package (dunningweb once it
    # exists: debian/ installs whatever meson installs).
    if os.path.exists(os.path.join(SOURCE_ROOT, 'web', 'meson.build')):
        assert any(os.path.basename(f) == 'dunningweb' for f in files)
    conffiles = run(['dpkg-query', '-W', '-f=${Conffiles}', 'dunningd']).stdout
    assert CONF in conffiles


def test_conffile_is_root_dunningd_0640(pkg):
    st = os.stat(CONF)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_uid == 0
    assert grp.getgrgid(st.st_gid).gr_name == 'dunningd'
    with open(CONF, encoding='utf-8') as f:
        assert '  conninfo = "dbname=dunning user=dunningd"\n' in f.read()


def test_account_and_spool(pkg):
    user = pwd.getpwnam('dunningd')
    assert user.pw_uid < 1000 and user.pw_dir == '/var/lib/dunningd'
    st = os.stat('/var/spool/dunningd')
    assert stat.S_IMODE(st.st_mode) == 0o750
    assert st.st_uid == user.pw_uid and st.st_gid == user.pw_gid


def test_shipped_configuration_checks_as_the_service(pkg):
    """The unit's ExecStartPre=, as the unit's user: the shipped file, its
    templates under /usr/share/dunningd, its spool."""
    r = run(['runuser', '-u', 'dunningd', '--', '/usr/sbin/dunningd', '--check-config',
             '-c', CONF])
    assert r.returncode == 0, r.stdout
    assert 'configuration OK' in r.stdout


def test_units_verify_and_the_generator_writes_the_spool(pkg, tmp_path):
    r = run(['/lib/systemd/system-generators/dunningd-spool-generator', str(tmp_path)])
    assert r.returncode == 0, r.stdout
    with open(tmp_path / 'dunningd.service.d' / '50-spool-dir.conf', encoding='utf-8') as f:
        assert 'ReadWritePaths=-/var/spool/dunningd\n' in f.read()
    r = run(['systemd-analyze', 'verify', '/lib/systemd/system/dunningd.service'],
            env=dict(os.environ, SYSTEMD_UNIT_PATH='%s:' % tmp_path))
    assert r.returncode == 0, r.stdout
    assert [ln for ln in r.stdout.splitlines() if 'dunningd' in ln] == [], r.stdout


def test_installed_man_pages_render(pkg):
    for name in ('dunningd', 'dunningd.conf', 'dunningctl'):
        r = subprocess.run(['man', '--warnings', name], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60,
                           env=dict(os.environ, MANWIDTH='80'))
        assert r.returncode == 0 and r.stderr == '', (name, r.stderr)


def test_documented_database_commands_give_the_service_its_database(pkg):
    """The three commands of dunningd(8) and README.Debian, run as written
    against a private PostgreSQL 15 with peer authentication (PGHOST names
    its socket); then the service's user, with the shipped configuration,
    runs a planning pass."""
    pg_bin = '/usr/lib/postgresql/15/bin'
    # Not under pytest's tmp_path, which postgres may not enter.
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix='dunningd-pg-'))
    os.chown(tmp_path, pwd.getpwnam('postgres').pw_uid, -1)
    os.chmod(tmp_path, 0o755)
    as_pg = ['runuser', '-u', 'postgres', '--']
    r = run(as_pg + [pg_bin + '/initdb', '-D', str(tmp_path / 'data'), '--auth-local=peer',
                     '--auth-host=reject', '-U', 'postgres'])
    assert r.returncode == 0, r.stdout
    env = dict(os.environ, PGHOST=str(tmp_path), PGPORT='55433')
    r = run(as_pg + [pg_bin + '/pg_ctl', '-D', str(tmp_path / 'data'), '-w', '-l',
                     str(tmp_path / 'log'), '-o', "-k %s -p 55433 -c listen_addresses=''"
                     % tmp_path, 'start'])
    assert r.returncode == 0, r.stdout
    try:
        with open('/usr/share/doc/dunningd/README.Debian', encoding='utf-8') as f:
            commands = [ln.strip() for ln in f if ln.startswith('  runuser -u postgres')]
        assert len(commands) == 3, commands
        for command in commands:
            r = run(['sh', '-c', command], env=env)
            assert r.returncode == 0, (command, r.stdout)
        r = run(['runuser', '-u', 'dunningd', '--', '/usr/sbin/dunningd', '--plan-only'],
                env=env)
        assert r.returncode == 0, r.stdout
        assert 'planning pass' in r.stdout and '0 errors' in r.stdout, r.stdout
    finally:
        run(as_pg + [pg_bin + '/pg_ctl', '-D', str(tmp_path / 'data'), '-m', 'immediate',
                     'stop'])
        subprocess.run(['rm', '-rf', str(tmp_path)])


def test_remove_keeps_the_configuration_then_purge_leaves_nothing(pkg):
    r = run(['apt-get', 'remove', '-y', '-q', 'dunningd'], env=APT_ENV)
    assert r.returncode == 0, r.stdout
    assert status() == 'rc'
    assert not os.path.exists('/usr/sbin/dunningd')
    assert os.path.exists(CONF)

    r = purge()
    assert r.returncode == 0, r.stdout
    assert status() in ('', 'un')
    # Every file the package had, and what its scripts created, is gone;
    # directories it shares with others (/usr/share/man…) stay.
    left = [f for f in pkg['files'] if os.path.lexists(f) and not os.path.isdir(f)]
    assert left == []
    left = [p for p in CREATED if os.path.exists(p) and not pkg['before'][p]]
    assert left == []
    for d in ('/etc/systemd', '/var/lib/systemd'):
        r = run(['find', d, '-name', '*dunningd*'])
        assert r.stdout.strip() == '', r.stdout
    # What Debian keeps: the system account (files it owned may remain
    # elsewhere, e.g. in a backup).
    assert pwd.getpwnam('dunningd')
