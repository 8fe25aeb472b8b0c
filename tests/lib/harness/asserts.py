"""Assertions with a readable diff on failure."""


def assert_table(got, expected):
    """GOT and EXPECTED are lists of (day, recipient, stage[, numbers]),
    compared as sets of rows (the order within a day is not meaningful),
    with a readable diff on failure."""
    width = len(expected[0]) if expected else 3
    g = [tuple(x[:width]) if width == 4 else tuple(x[:3]) for x in got]
    e = [tuple(x) for x in expected]
    if width == 4:
        g = [(a, b, c, list(d)) for a, b, c, d in g]
        e = [(a, b, c, list(d)) for a, b, c, d in e]
    g.sort(key=lambda x: (x[0], x[1], x[2]))
    e.sort(key=lambda x: (x[0], x[1], x[2]))
    if g != e:
        lines = ['messages differ from the expected table', '  expected:']
        lines += ['    %r' % (x,) for x in e]
        lines += ['  got:']
        lines += ['    %r' % (x,) for x in g]
        raise AssertionError('\n'.join(lines))
