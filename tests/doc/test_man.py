"""The manual pages: each renders with man -l without a warning, and
dunningd.conf(5) names every key of lib/config_table.c, no other, each with
the type, range, default and reload-or-restart the table gives it.

tests/unit/config_keys prints the table's rows as the page must write
them; a key added to the table without its entry in doc/dunningd.conf.5.scd
(or one documented and gone from the table) fails here, the message giving
the line to write.  The pages and the program come from meson test
(tests/meson.build: DUNNING_MAN_PAGES, DUNNING_CONFIG_KEYS).
"""
import os
import re
import subprocess

import pytest

from harness.paths import from_meson

PAGES = from_meson('DUNNING_MAN_PAGES').split(os.pathsep)
CONFIG_KEYS = from_meson('DUNNING_CONFIG_KEYS')

# A key's entry in the rendered page: at the paragraph's indent, its path,
# then its attributes in parentheses, alone on the line.
ENTRY = re.compile(r'^ {7}([a-z][a-z_]*(?:\.[A-Za-z_]+)+) (\((?:[^()]|\([^()]*\))*\))$')
HEADING = re.compile(r'^ {3}(\S.*)$')


def page(name):
    found = [p for p in PAGES if os.path.basename(p) == name]
    assert found, '%s is not among the built pages %s' % (name, PAGES)
    return found[0]


def render(path, width):
    r = subprocess.run(['man', '--warnings', '-l', path],
                       env=dict(os.environ, MANWIDTH=str(width), LC_ALL='C.UTF-8',
                                MAN_KEEP_FORMATTING=''),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return r


def table_keys():
    """{path: "(attributes)"} of every row of config_table.c."""
    out = subprocess.run([CONFIG_KEYS], stdout=subprocess.PIPE, check=True, text=True,
                         timeout=60).stdout
    keys = {}
    for line in out.splitlines():
        path, attrs = line.split('\t')
        assert path not in keys, 'config_table.c declares %s twice' % path
        keys[path] = attrs
    return keys


def page_keys():
    """{path: "(attributes)"} of every entry of the rendered dunningd.conf(5),
    and its headings with whether an example follows each."""
    r = render(page('dunningd.conf.5'), 250)
    assert r.returncode == 0, r.stderr
    keys, headings, current = {}, {}, None
    in_keys = False
    for line in r.stdout.splitlines():
        if line.startswith('KEYS'):
            in_keys = True
        elif re.match(r'^[A-Z]', line):
            in_keys = False
            current = None
        if not in_keys:
            continue
        m = HEADING.match(line)
        if m:
            current = m.group(1)
            headings[current] = False
            continue
        m = ENTRY.match(line)
        if m:
            assert m.group(1) not in keys, 'dunningd.conf(5) documents %s twice' % m.group(1)
            keys[m.group(1)] = m.group(2)
        elif current is not None and re.match(r'^ {7}Example\b.*:$', line):
            headings[current] = True
    return keys, headings


@pytest.mark.parametrize('name', ['dunningd.8', 'dunningd.conf.5', 'dunningweb.8', 'dunningctl.1'])
def test_page_renders_without_warnings(name):
    r = render(page(name), 80)
    assert r.returncode == 0 and r.stderr == '', r.stderr
    assert 'NAME' in r.stdout and 'SEE ALSO' in r.stdout


def test_conf_page_documents_every_key_of_the_table():
    table = table_keys()
    documented, _ = page_keys()
    missing = ['%s %s' % (k, a) for k, a in table.items() if k not in documented]
    extra = [k for k in documented if k not in table]
    wrong = ['%s: the page says %s, the table %s' % (k, documented[k], a)
             for k, a in table.items() if k in documented and documented[k] != a]
    assert not missing, ('keys of lib/config_table.c that doc/dunningd.conf.5.scd does not '
                         'document; add under their section:\n*%s' % '\n*'.join(
                             m.replace(' ', '* ', 1) for m in missing))
    assert not extra, 'documented keys that lib/config_table.c does not declare: %s' % extra
    assert not wrong, '\n'.join(wrong)


def test_conf_page_has_a_heading_and_an_example_per_section():
    table = table_keys()
    _, headings = page_keys()
    sections = []
    for path in table:
        parts = path.split('.')[:-1]
        if parts[-1].isupper():
            # a titled section's heading: its path, then its title (the
            # heading macro drops the quotes of ## stage "NAME")
            name = '%s %s' % ('.'.join(parts[:-1]), parts[-1])
        else:
            name = '.'.join(parts)
        if name not in sections:
            sections.append(name)
    assert [s for s in sections if s not in headings] == []
    assert [h for h, example in headings.items() if not example] == []


def test_daemon_page_gives_the_database_commands():
    r = render(page('dunningd.8'), 200)
    text = r.stdout
    for command in ('createdb --encoding=UTF8 --template=template0 dunning',
                    'dunningctl -U postgres migrate',
                    'createuser --role=dunning_daemon dunningd'):
        assert command in text, command
