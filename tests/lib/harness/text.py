"""Text as a test reads it: French spaces made plain, PDF letters as words."""
import subprocess

from .paths import PROGRAM_TIMEOUT


def norm_spaces(s):
    """Narrow and ordinary no-break spaces as plain spaces, for matching
    amounts formatted the French way ("1 234,56 €")."""
    return s.replace('\u202f', ' ').replace('\u00a0', ' ')


def pdf_text(path, *args):
    """The text of the PDF at PATH, by poppler's pdftotext (ARGS: -layout...)."""
    r = subprocess.run(['pdftotext'] + list(args) + [path, '-'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=PROGRAM_TIMEOUT)
    assert r.returncode == 0, 'pdftotext %s: %s' % (path, r.stderr)
    return r.stdout


def pdf_words(path):
    """The words of the PDF at PATH in reading order, one space between
    them (line breaks and columns gone, French spaces plain), so that a
    phrase can be looked for wherever the lines wrap."""
    return ' '.join(pdf_text(path, '-layout').split())
