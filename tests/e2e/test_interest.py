"""The late-interest figure in the messages (SPEC §2.1, issue 5 item 4):
what the client reads at J+30, computed by hand below."""
from harness import at, norm_spaces


def j30_text(env, number):
    (m,) = [m for m in env.mails() if number in m.subject and 'Relance' in m.subject]
    return norm_spaces(m.text)


def test_j30_states_the_interest_accrued_on_the_balance_per_period(env):
    """Issued 15 January 2026, due 14 February, 4 000,00 € (below the
    approval threshold), professional client; 1 000,00 € paid on 1 March.
    Interest runs from issue + 30 days = 14 February, at 1.5 × 2.62 %
    (2026 H1, the issue date's half-year) = 3.93 % a year, actual/365,
    until the day of the j30 message (16 March, not counted):
      14 Feb – 28 Feb: 15 days on 4 000,00 € = 400 000 c × 15 = 6 000 000 c·d
       1 Mar – 15 Mar: 15 days on 3 000,00 € = 300 000 c × 15 = 4 500 000 c·d
      10 500 000 × 0.0393 / 365 = 1 130.55 c → 11,31 € (half-up, once)."""
    c = env.client('compta@interets.example', company='Intérêts SARL')
    agr = env.agreement(c)              # signed, with the clause, default terms
    env.invoice('F-INT-1', c, '2026-02-14', amount='4000.00', issued_on='2026-01-15',
                agreement_id=agr)
    env.cycle(at('2026-02-17'))            # j3
    env.cycle(at('2026-02-24'))            # j10
    env.pay('F-INT-1', '1000.00', at('2026-03-01', '11:00'))
    env.cycle(at('2026-03-16'))            # j30
    assert env.reminders('F-INT-1')['j30']['state'] == 'sent'
    text = j30_text(env, 'F-INT-1')
    assert ("À ce jour, les intérêts de retard courus s'élèvent à 11,31 € "
            "(taux annuel de 3,93 %).") in text, text
    assert 'reste dû 3 000,00 €' in text


def test_no_interest_figure_when_the_half_year_has_no_legal_rate(env):
    """Issued in 2022 H2, a half-year absent from the shipped table: the
    j30 states the contractual clause but no figure."""
    c = env.client('compta@ancien.example', company='Ancien SARL')
    env.invoice('F-INT-2', c, '2026-02-14', amount='4000.00', issued_on='2022-12-15',
                agreement_id=env.agreement(c, signed_on='2022-11-01'))
    env.cycle(at('2026-02-17'))
    env.cycle(at('2026-02-24'))
    env.cycle(at('2026-03-16'))
    text = j30_text(env, 'F-INT-2')
    assert "fois et demie le taux de l'intérêt légal" in text
    assert 'intérêts de retard courus' not in text, text


def test_missing_half_year_is_said_once_a_day(make_env):
    """The shipped rate table stops at 2026-H1.  A daemon running on
    1 July 2026 says at start that 2026-H2 is missing; it says it again
    once on the next local day (2 July), however many cycles run that
    day — not at every cycle."""
    env = make_env(extra_conf='schedule { poll_interval = 1 }\n')
    d = env.start_daemon(now='2026-07-01T23:59:57+02:00')
    rx = r'no legal_rate "2026-H2" in the interest section'
    first = d.wait_log(rx)
    assert d.log().count('no legal_rate') == 1
    second = d.wait_log(rx, after=first + 1)
    # Cycles of 2 July (local) after the warning (logged in UTC): none
    # repeats it.
    third = d.wait_log(r'cycle 2026-07-01T22:', after=second + 1)
    d.wait_log(r'cycle 2026-07-01T22:', after=third + 1)
    assert d.log().count('no legal_rate') == 2, d.log()
    d.signal(15)
    assert d.wait() == 0
