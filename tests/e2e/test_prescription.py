"""The prescription watch (SPEC §2 rule 14, issue 18): the lawyer is told
at 90 and 30 days before an unpaid invoice prescribes, at once and in the
digest, each threshold once per period; an acknowledgement recorded with
`dunningctl acknowledge` starts the period again; a lawyer cannot record
one on another lawyer's invoice.  Dates computed by hand."""
from harness import at
from harness.clock import allow_simulated_clock
from lawyer_mails import ALICE, alerts, digests, lines

NBSP = '\u00a0'


def prescription_alerts(env):
    return [m for m in alerts(env, ALICE) if 'Prescription' in (m.subject or '')]


def professional(env, role=None):
    """A professional client's invoice due 2022-03-03: it prescribes on
    2027-03-03 (5 years, art. 2224 C. civ.); 90 days before is 2026-12-03
    (a Thursday: 28 days of December + 31 + 28 + 3 = 90), 30 days before is
    2027-02-01 (a Monday: 27 + 3 = 30).  Its reminders are over (escalated
    long ago: a registered letter does not interrupt)."""
    la = env.lawyer('Maître Alice Martin', ALICE, db_role=role)
    c = env.client('pro@client.example', company='Société Pro', lawyer=la)
    env.invoice('P-1', c, '2022-03-03', amount='1000.00', issued_on='2022-02-01',
                escalated_at='2022-05-01T10:00:00+02:00')
    return la


def test_alerts_at_90_and_30_days_once_each(env):
    professional(env)
    env.cycle(at('2026-12-02'))                     # 91 days left
    assert prescription_alerts(env) == []
    env.cycle(at('2026-12-03'))                     # 90 days left
    got = prescription_alerts(env)
    assert len(got) == 1
    m = got[0]
    assert m.subject == 'Prescription proche' + NBSP + ': facture n°' + NBSP + 'P-1'
    assert ('Prescription' + NBSP + ': la note d\'honoraires n°' + NBSP + 'P-1') in m.body
    text = ' '.join(lines(m))
    assert ("Prescription : la note d'honoraires n° P-1 (client Société Pro, dossier D-P-1), "
            "dont il reste dû 1 000,00 €, sera prescrite le 3 mars 2027, dans 90 jours. "
            "Une reconnaissance de dette écrite ou un paiement interrompt la prescription "
            "(article 2240 du code civil) ; une lettre recommandée ne l'interrompt pas.") in text
    # the digest of the same day lists it, once
    d = [x for x in digests(env, ALICE) if 'Prescription proche' in x.body]
    assert len(d) == 1
    assert "note d'honoraires n° P-1 (dossier D-P-1), Société Pro, reste dû 1 000,00 € ; " \
        "prescrite le 3 mars 2027, dans 90 jours" in ' '.join(lines(d[0]))
    for day in ('2026-12-04', '2026-12-07', '2027-01-29'):
        env.cycle(at(day))
    assert len(prescription_alerts(env)) == 1      # told once
    assert [x.message_id for x in digests(env, ALICE) if 'Prescription proche' in x.body] \
        == [d[0].message_id]
    env.cycle(at('2027-02-01'))                     # 30 days left
    got = prescription_alerts(env)
    assert len(got) == 2 and 'dans 30 jours' in ' '.join(lines(got[1]))
    env.cycle(at('2027-02-02'))
    assert len(prescription_alerts(env)) == 2
    assert env.count('dunning.lawyer_alert', "kind = 'prescription'") == 2


def test_english_alert(make_env):
    env = make_env(firm_conf='  language = "en"\n')
    professional(env)
    env.cycle(at('2026-12-03'))
    m = [x for x in alerts(env, ALICE) if 'Limitation' in (x.subject or '')]
    assert len(m) == 1
    assert ('Limitation: fee note no. P-1 (client Société Pro, file D-P-1), balance due '
            in m[0].body and 'becomes time-barred on' in m[0].body and 'in 90 days.' in m[0].body)


def test_acknowledgement_restarts_the_period_and_its_alerts(env):
    role = env.cluster.ensure_role('maitre_presc', 'dunning_lawyer')
    professional(env, role=role)
    allow_simulated_clock(env)
    env.cycle(at('2026-12-03'))
    assert len(prescription_alerts(env)) == 1
    r = env.ctl('-U', role, 'acknowledge', 'P-1', '2026-12-10', '--note', 'lettre signée',
                now=at('2026-12-11'))
    assert r.returncode == 0, r.stderr
    assert 'acknowledgement of the debt on 2026-12-10 recorded' in r.stdout
    # 2026-12-10 + 5 years = 2031-12-10; from 2027-02-01: far from 30 days
    assert env.one("SELECT prescribes_on::text FROM dunning.prescription "
                   "WHERE invoice_number = 'P-1'") == '2031-12-10'
    env.cycle(at('2027-02-01'))
    assert len(prescription_alerts(env)) == 1
    assert len(env.audit('debt_acknowledged')) == 1
    env.verify_audit()


def test_a_lawyer_cannot_acknowledge_another_lawyers_invoice(env):
    ra = env.cluster.ensure_role('maitre_a_presc', 'dunning_lawyer')
    rb = env.cluster.ensure_role('maitre_b_presc', 'dunning_lawyer')
    professional(env, role=ra)
    env.lawyer('Maître B', 'b@cabinet.example', db_role=rb)
    allow_simulated_clock(env)
    r = env.ctl('-U', rb, 'acknowledge', 'P-1', '2026-12-10', now=at('2026-12-11'))
    assert r.returncode == 1 and r.stderr == 'dunningctl: no invoice numbered "P-1"\n'
    r = env.ctl('-U', ra, 'acknowledge', 'P-1', '2026-12-12', now=at('2026-12-11'))
    assert r.returncode == 1 and 'in the future' in r.stderr
    r = env.ctl('-U', ra, 'acknowledge', 'P-1', 'hier', now=at('2026-12-11'))
    assert r.returncode == 2 and 'not a date' in r.stderr
    assert env.count('dunning.debt_acknowledgement') == 0


def test_check_config_refuses_bad_alert_days(env):
    """prescription.alert_days: positive whole numbers of days, checked at
    --check-config with the line and what to write."""
    env.write_config(extra_conf='prescription {\n  alert_days = { 90, 0 }\n}\n')
    r = env.daemon('--check-config')
    assert r.returncode != 0
    assert 'alert_days 0 is not positive: write positive whole numbers of days' in r.stderr
    env.write_config(extra_conf='prescription {\n  alert_days = { 60 }\n}\n')
    assert env.daemon('--check-config').returncode == 0
