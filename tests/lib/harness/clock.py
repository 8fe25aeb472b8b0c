"""The simulated clock: instants of Paris local time, runs of days, and the
operator's switch that lets a lawyer's functions follow dunning.now."""
import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo('Europe/Paris')


def at(day, hhmm='10:00'):
    """ISO 8601 instant (with the Paris offset of that day) of local time
    HHMM on DAY ('2026-03-10' or a date)."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    h, m = (int(x) for x in hhmm.split(':'))
    return dt.datetime(day.year, day.month, day.day, h, m, tzinfo=PARIS).isoformat()


def instant(day, hhmm='10:00'):
    """The aware datetime of local time HHMM on DAY."""
    return dt.datetime.fromisoformat(at(day, hhmm))


def days(first, last):
    """Every date from FIRST to LAST inclusive."""
    d = dt.date.fromisoformat(first) if isinstance(first, str) else first
    e = dt.date.fromisoformat(last) if isinstance(last, str) else last
    while d <= e:
        yield d
        d += dt.timedelta(days=1)


def D(s):
    return dt.date.fromisoformat(s)


def allow_simulated_clock(env, allowed=True):
    """Switch the operator's replay switch (dunning.setting simulated_clock)
    on or off.  Off, the default, only the staff's dunning.now moves the
    clock (sql/009): a lawyer's functions take the real time.  A test that
    replays a lawyer's actions at simulated instants switches it on."""
    if allowed:
        env.sql("INSERT INTO dunning.setting (key, value) VALUES ('simulated_clock', 'allowed') "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    else:
        env.sql("DELETE FROM dunning.setting WHERE key = 'simulated_clock'")
