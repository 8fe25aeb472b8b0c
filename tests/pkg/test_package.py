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
import importlib.util
import os
import pathlib
import pwd
import re
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
    # dunningweb's account, in the group that reads the configuration
    web = pwd.getpwnam('dunningweb')
    assert web.pw_uid < 1000
    assert 'dunningweb' in grp.getgrnam('dunningd').gr_mem


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
    r = run(['systemd-analyze', 'verify', '/lib/systemd/system/dunningweb.service'])
    assert r.returncode == 0, r.stdout
    assert [ln for ln in r.stdout.splitlines() if 'dunningweb' in ln] == [], r.stdout


def test_installed_man_pages_render(pkg):
    for name in ('dunningd', 'dunningd.conf', 'dunningweb', 'dunningctl'):
        r = subprocess.run(['man', '--warnings', name], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60,
                           env=dict(os.environ, MANWIDTH='80'))
        assert r.returncode == 0 and r.stderr == '', (name, r.stderr)


PG_BIN = '/usr/lib/postgresql/15/bin'
AS_PG = ['runuser', '-u', 'postgres', '--']


@pytest.fixture(scope='module')
def database(pkg):
    """A private PostgreSQL 15 with peer authentication (PGHOST names its
    socket), given its dunning database by the three commands of
    dunningd(8) and README.Debian, run as written: the environment to
    reach it."""
    # Not under pytest's tmp_path, which postgres may not enter.
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix='dunningd-pg-'))
    os.chown(tmp_path, pwd.getpwnam('postgres').pw_uid, -1)
    os.chmod(tmp_path, 0o755)
    r = run(AS_PG + [PG_BIN + '/initdb', '-D', str(tmp_path / 'data'), '--auth-local=peer',
                     '--auth-host=reject', '-U', 'postgres'])
    assert r.returncode == 0, r.stdout
    env = dict(os.environ, PGHOST=str(tmp_path), PGPORT='55433')
    r = run(AS_PG + [PG_BIN + '/pg_ctl', '-D', str(tmp_path / 'data'), '-w', '-l',
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
        yield {'env': env, 'dir': tmp_path}
    finally:
        run(AS_PG + [PG_BIN + '/pg_ctl', '-D', str(tmp_path / 'data'), '-m', 'immediate',
                     'stop'])
        subprocess.run(['rm', '-rf', str(tmp_path)])


def test_documented_database_commands_give_the_service_its_database(database):
    """The service's user, with the shipped configuration, runs a planning
    pass on the database the documented commands made."""
    r = run(['runuser', '-u', 'dunningd', '--', '/usr/sbin/dunningd', '--plan-only'],
            env=database['env'])
    assert r.returncode == 0, r.stdout
    assert 'planning pass' in r.stdout and '0 errors' in r.stdout, r.stdout


def e2e_import():
    """tests/e2e/test_import.py, for its sample export and statements."""
    spec = importlib.util.spec_from_file_location(
        'e2e_import', os.path.join(SOURCE_ROOT, 'tests', 'e2e', 'test_import.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_installed_programs_import_an_export_and_statements(database):
    """Issue 20's scenario on the installed package: the firm's export of
    50 invoices with three bad rows (their lines named), its clients'
    IBANs, a camt.053 and a CFONB 120 statement that pay some (one transfer
    left unmatched), each imported twice; then the service's planning pass
    plans a reminder for every unpaid invoice and none for the paid ones."""
    imp = e2e_import()
    env = database['env']
    work = database['dir'] / 'import'
    work.mkdir()
    # The shipped file with its import block describing the firm's export,
    # as the administrator would edit it; readable by postgres.
    conf = work / 'dunningd.conf'
    with open(CONF, encoding='utf-8') as f:
        shipped = f.read()
    assert re.search(r'^import \{$', shipped, re.M), 'no import block in ' + CONF
    conf.write_text(re.sub(r'^import \{\n.*?^\}\n', imp.EXPORT_CONF.lstrip('\n'), shipped,
                           flags=re.M | re.S), encoding='utf-8')
    invoices = str(work / 'factures.csv')
    rows = imp.export_rows()
    rows.insert(3, 'F-2026-901;CL901;;Inconnu;Paul;;D-901;01/12/2025;01/01/2026;100,00')
    rows.insert(18, 'F-2026-902;CL001;Société Élan 01;;;client01@exemple.fr;D-902;'
                    '01/12/2025;01/01/2026;-120,00')
    rows.insert(39, 'F-2026-903;CL001;Société Élan 01;;;client01@exemple.fr;D-903;'
                    '01/12/2025;31/02/2026;"2 000,00"')
    imp.write_export(invoices, rows)
    ib = imp.ibans()
    clients = work / 'clients.csv'
    clients.write_bytes(('Code client;Courriel;IBAN\r\nCL003;client03@exemple.fr;%s\r\n'
                         'CL007;client07@exemple.fr;%s\r\n' % (ib['CL003'], ib['CL007']))
                        .encode('cp1252'))
    for p in work.iterdir():
        os.chmod(p, 0o644)
    os.chmod(work, 0o755)
    ctl = AS_PG + ['/usr/bin/dunningctl', '-c', str(conf), '-U', 'postgres']

    r = run(ctl + ['import', 'invoices', invoices], env=env)
    print(r.stdout)
    assert r.returncode == 1, r.stdout
    assert sorted(imp.refused_lines(r.stdout)) == [5, 20, 41], r.stdout
    assert 'invoices: 53 rows, 50 new' in r.stdout, r.stdout
    r = run(ctl + ['import', 'clients', str(clients)], env=env)
    assert r.returncode == 0 and '2 updated' in r.stdout, r.stdout
    for name, paid in (('camt053.xml', '5 paid'), ('cfonb120.txt', '2 paid')):
        r = run(ctl + ['import-statement', imp.sample(name)], env=env)
        print(r.stdout)
        assert paid in r.stdout, r.stdout
    r = run(ctl + ['import-statement', '--unmatched'], env=env)
    print(r.stdout)
    assert re.search(r'^unmatched BQ260113-0004 ', r.stdout, re.M), r.stdout
    for name in ('camt053.xml', 'cfonb120.txt'):
        r = run(ctl + ['import-statement', imp.sample(name)], env=env)
        assert ' 0 paid (0 by number, 0 by amount and IBAN), 0 unmatched' in r.stdout, r.stdout

    r = run(['runuser', '-u', 'dunningd', '--', '/usr/sbin/dunningd', '--plan-only',
             '--now', '2026-03-10T10:00:00+01:00'], env=env)
    print(r.stdout)
    assert r.returncode == 0 and '0 errors' in r.stdout, r.stdout
    psql = AS_PG + ['psql', '-XAtq', '-d', 'dunning', '-c']
    paid = run(psql + ['SELECT number FROM dunning.invoice WHERE paid_total >= amount '
                       'ORDER BY number'], env=env).stdout.split()
    reminded = run(psql + ['SELECT DISTINCT i.number FROM dunning.reminder r '
                           'JOIN dunning.invoice i ON i.id = r.invoice_id ORDER BY 1'],
                   env=env).stdout.split()
    print('paid:', paid)
    print('planned:', len(reminded), 'invoices')
    assert paid == ['F-2026-%03d' % i for i in range(1, 8)], paid
    assert not set(paid) & set(reminded)
    assert len(reminded) == 50 - len(paid), reminded


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
    assert pwd.getpwnam('dunningweb')
