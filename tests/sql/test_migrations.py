"""The migration runner (sql/README.md): numbered migrations for the state,
repeatable files for the functions and views, run again when their text
changes; a database of the old layout (functions and views inside the
numbered migrations) migrates to the same schema as a new one."""
import hashlib
import os
import re
import subprocess

import psycopg2
import pytest

from harness import SOURCE_ROOT, at

# The last commit whose numbered migrations still held the functions and
# views: a database built from its sql/ is what every database at version
# 14 was before the repeatable files.
OLD_LAYOUT = '9f61b4f4ea7be3c175f2023c2c54d3f5275b1043'
SQL = os.path.join(SOURCE_ROOT, 'sql')
NOW = '2026-03-10T12:00:00+01:00'
# The numbered migrations this program carries, in order (NNN_name).
NUMBERED = sorted(f[:-len('.sql')] for f in os.listdir(SQL) if re.match(r'\d{3}_.+\.sql$', f))
# The last one of the old layout; those after it came later.
OLD_LAST = 14
# What the schema gained on purpose since the old layout: 015 keeps the
# retry and the letter's path in columns, a reason is a code, and the
# digest reads a failure's code and detail apart.
SINCE_OLD = {
    'columns': {('reminder', 'retrying'), ('reminder', 'letter_path'),
                ('audit_log_unchained_idx', 'id'),
                ('invoice_next_action', 'invoice_id'), ('invoice_next_action', 'next_action_at'),
                ('invoice_next_action_pkey', 'invoice_id'),
                ('invoice_next_action_at_idx', 'next_action_at'),
                # 018: the sender's claim, numbered by a sequence
                ('reminder', 'claim'), ('reminder_claim_seq', 'is_called'),
                ('reminder_claim_seq', 'last_value'), ('reminder_claim_seq', 'log_cnt'),
                # issue 17 (020): the daemon's private wake-up queue and the
                # send locks as rows only the owner and the daemon can lock
                ('wake_queue', 'id'), ('wake_queue', 'event'), ('wake_queue', 'invoice_id'),
                ('wake_queue', 'client_id'), ('wake_queue_pkey', 'id'),
                ('wake_queue_id_seq', 'is_called'), ('wake_queue_id_seq', 'last_value'),
                ('wake_queue_id_seq', 'log_cnt'),
                ('send_lock', 'invoice_id'), ('send_lock_pkey', 'invoice_id'),
                # issue 17 (021): the audit log's free texts in a side table
                ('audit_text', 'audit_id'), ('audit_text', 'key'), ('audit_text', 'salt'),
                ('audit_text', 'text'), ('audit_text_pkey', 'audit_id'),
                ('audit_text_pkey', 'key'),
                # issue 18 (022): fee agreements and the invoice's agreement
                ('fee_agreement', 'id'),
                ('fee_agreement', 'client_id'),
                ('fee_agreement', 'matter_ref'),
                ('fee_agreement', 'sent_on'),
                ('fee_agreement', 'signed_on'),
                ('fee_agreement', 'signature_url'),
                ('fee_agreement', 'interest_clause'),
                ('fee_agreement', 'interest_multiplier'),
                ('fee_agreement', 'interest_start_days'),
                ('fee_agreement', 'legal_aid'),
                ('fee_agreement', 'batonnier_filed_on'),
                ('fee_agreement', 'mission_ended_on'),
                ('invoice', 'agreement_id'), ('fee_agreement_pkey', 'id'),
                ('fee_agreement_id_client_key', 'id'),
                ('fee_agreement_id_client_key', 'client_id'),
                ('fee_agreement_client_idx', 'client_id'),
                ('invoice_agreement_idx', 'agreement_id'),
                ('fee_agreement_id_seq', 'is_called'), ('fee_agreement_id_seq', 'last_value'),
                ('fee_agreement_id_seq', 'log_cnt'),
                # issue 18 (023): the prescription watch's acknowledgements
                ('debt_acknowledgement', 'id'), ('debt_acknowledgement', 'invoice_id'),
                ('debt_acknowledgement', 'on_date'), ('debt_acknowledgement', 'recorded_at'),
                ('debt_acknowledgement', 'recorded_by'), ('debt_acknowledgement_pkey', 'id'),
                ('debt_acknowledgement_invoice_idx', 'invoice_id'),
                ('debt_acknowledgement_invoice_idx', 'on_date'),
                ('debt_acknowledgement_id_seq', 'is_called'),
                ('debt_acknowledgement_id_seq', 'last_value'),
                ('debt_acknowledgement_id_seq', 'log_cnt'),
                ('prescription', 'invoice_number'), ('prescription', 'client_name'),
                ('prescription', 'kind'), ('prescription', 'starts_on'),
                ('prescription', 'prescribes_on'), ('prescription', 'days_left'),
                ('prescription', 'last_interruption'),
                # issue 18 (024): a lawyer's alert may name a fee agreement
                # instead of an invoice (partial legal aid, rule 13)
                ('lawyer_alert', 'invoice_id'), ('lawyer_alert', 'agreement_id'),
                ('lawyer_alert_agreement_idx', 'agreement_id'),
                ('fee_agreement_to_file_idx', 'signed_on'),
                # issue 18 (025): the chase of unsigned fee agreements
                ('agreement_reminder', 'id'),
                ('agreement_reminder', 'agreement_id'),
                ('agreement_reminder', 'stage'),
                ('agreement_reminder', 'state'),
                ('agreement_reminder', 'scheduled_for'),
                ('agreement_reminder', 'created_at'),
                ('agreement_reminder', 'sent_at'),
                ('agreement_reminder', 'message_id'),
                ('agreement_reminder', 'attempts'),
                ('agreement_reminder', 'lease_until'),
                ('agreement_reminder', 'reason'),
                ('agreement_reminder', 'last_error'),
                ('agreement_reminder_pkey', 'id'),
                ('agreement_reminder_once', 'agreement_id'), ('agreement_reminder_once', 'stage'),
                ('agreement_reminder_due_idx', 'scheduled_for'),
                ('agreement_reminder_sending_idx', 'lease_until'),
                ('fee_agreement_to_chase_idx', 'sent_on'),
                ('agreement_reminder_id_seq', 'is_called'),
                ('agreement_reminder_id_seq', 'last_value'),
                ('agreement_reminder_id_seq', 'log_cnt'),
                # issue 20 (028): a client's code in the practice software and
                # IBAN, the bank statements' credit entries
                ('client', 'client_ref'), ('client', 'iban'),
                ('client_ref_key', 'client_ref'), ('client_iban_idx', 'iban'),
                ('client_email_idx', 'lower'),
                ('statement_entry', 'id'),
                ('statement_entry', 'entry_ref'),
                ('statement_entry', 'format'),
                ('statement_entry', 'booked_on'),
                ('statement_entry', 'amount'),
                ('statement_entry', 'currency'),
                ('statement_entry', 'debtor_name'),
                ('statement_entry', 'debtor_iban'),
                ('statement_entry', 'remittance'),
                ('statement_entry', 'end_to_end_id'),
                ('statement_entry', 'invoice_id'),
                ('statement_entry', 'payment_id'),
                ('statement_entry', 'matched_by'),
                ('statement_entry', 'imported_at'),
                ('statement_entry_pkey', 'id'), ('statement_entry_ref_key', 'entry_ref'),
                ('statement_entry_unmatched_idx', 'booked_on'),
                ('statement_entry_invoice_idx', 'invoice_id'),
                ('statement_entry_id_seq', 'is_called'), ('statement_entry_id_seq', 'last_value'),
                ('statement_entry_id_seq', 'log_cnt')},
    'constraints': {('dunning.reminder', 'reminder_reason_is_a_code'),
                    ('dunning.invoice_next_action', 'invoice_next_action_pkey'),
                    ('dunning.invoice_next_action', 'invoice_next_action_invoice_id_fkey'),
                    # issue 17 (020)
                    ('dunning.wake_queue', 'wake_queue_pkey'),
                    ('dunning.send_lock', 'send_lock_pkey'),
                    # issue 17 (021): the audit log's free texts
                    ('dunning.audit_text', 'audit_text_pkey'),
                    ('dunning.audit_text', 'audit_text_key_check'),
                    ('dunning.audit_text', 'audit_text_salt_check'),
                    # issue 18 (022): fee agreements
                    ('dunning.fee_agreement', 'fee_agreement_pkey'),
                    ('dunning.fee_agreement', 'fee_agreement_client_id_fkey'),
                    ('dunning.fee_agreement', 'fee_agreement_multiplier_check'),
                    ('dunning.fee_agreement', 'fee_agreement_start_days_check'),
                    ('dunning.fee_agreement', 'fee_agreement_legal_aid_check'),
                    ('dunning.fee_agreement', 'fee_agreement_legal_aid_no_clause'),
                    ('dunning.fee_agreement', 'fee_agreement_signed_after_sent'),
                    ('dunning.fee_agreement', 'fee_agreement_id_client_key'),
                    ('dunning.invoice', 'invoice_agreement_fkey'),
                    # issue 18 (023): acknowledgements of debt
                    ('dunning.debt_acknowledgement', 'debt_acknowledgement_pkey'),
                    ('dunning.debt_acknowledgement', 'debt_acknowledgement_invoice_id_fkey'),
                    # issue 18 (024): the partial legal-aid alerts
                    ('dunning.lawyer_alert', 'lawyer_alert_kind_check'),
                    ('dunning.lawyer_alert', 'lawyer_alert_names_its_subject'),
                    ('dunning.lawyer_alert', 'lawyer_alert_agreement_id_fkey'),
                    # issue 18 (025): the agreements' reminders
                    ('dunning.agreement_reminder', 'agreement_reminder_pkey'),
                    ('dunning.agreement_reminder', 'agreement_reminder_once'),
                    ('dunning.agreement_reminder', 'agreement_reminder_state_check'),
                    ('dunning.agreement_reminder', 'agreement_reminder_agreement_id_fkey'),
                    # issue 20 (028): client_ref, iban, the statements' entries
                    ('dunning.client', 'client_ref_check'), ('dunning.client', 'client_iban_check'),
                    ('dunning.statement_entry', 'statement_entry_pkey'),
                    ('dunning.statement_entry', 'statement_entry_ref_key'),
                    ('dunning.statement_entry', 'statement_entry_entry_ref_check'),
                    ('dunning.statement_entry', 'statement_entry_format_check'),
                    ('dunning.statement_entry', 'statement_entry_amount_check'),
                    ('dunning.statement_entry', 'statement_entry_currency_check'),
                    ('dunning.statement_entry', 'statement_entry_matched_by_check'),
                    ('dunning.statement_entry', 'statement_entry_placed'),
                    ('dunning.statement_entry', 'statement_entry_invoice_id_fkey'),
                    ('dunning.statement_entry', 'statement_entry_payment_id_fkey')},
    'functions': {'dunning.digest_items(bigint,integer)', 'dunning.letter_sent(bigint,text)',
                  'dunning.resend(bigint,text)',
                  # 016: the audit chain sealed once per transaction
                  'dunning.audit_guard()',
                  'dunning.audit_chain_at_commit()', 'dunning.audit_seal()',
                  'dunning.audit_chain_check()',
                  # 017: the planner's bookmark
                  'dunning.invoice_look_again()', 'dunning.client_look_again()',
                  # issue 17 (020): wake queues and NOTIFYs an empty payload,
                  # lock_invoice locks a row of dunning.send_lock, both run
                  # as the owner and only the owner's functions and the
                  # triggers (now SECURITY DEFINER) call them
                  'dunning.wake(text,bigint,bigint)', 'dunning.lock_invoice(bigint)',
                  'dunning.invoice_wake()', 'dunning.payment_wake()', 'dunning.client_wake()',
                  'dunning.payment_before()', 'dunning.invoice_update_lock()',
                  'dunning.payment_change_lock()', 'dunning.invoice_send_lock_row()',
                  # issue 17 (021): the audit log's free texts moved aside and
                  # read back; the purge forgets them and sweeps the letters
                  'dunning.audit_texts_move()', 'dunning.audit_details(bigint,jsonb)',
                  'dunning.audit_text_matches(dunning.audit_text)',
                  'dunning.purge(integer,boolean)', 'dunning.purge_allowed()',
                  'dunning.purge_text_rows(bigint)', 'dunning.purge_letters(bigint[])',
                  'dunning.purge_letters_done(bigint[],bigint[],bigint[])',
                  # issue 17: the actor is the session's, a replayed row
                  # says its real instant (audit_stamp; audit ignores its
                  # actor), and 019 guards the chain's head
                  'dunning.audit_stamp()',
                  'dunning.audit(text,text,bigint,bigint,jsonb)',
                  'dunning.audit_head_guard()',
                  # issue 18 (functions/agreements.sql): rule 13
                  'dunning.agreement_signed(bigint,date)', 'dunning.agreement_filed(bigint,date)',
                  'dunning.agreement_for_update(bigint)', 'dunning.check_record_date(date,text)',
                  # issue 18 (functions/prescription.sql): rule 14
                  'dunning.acknowledge_debt(text,date,text)',
                  'dunning.prescription_alerts(integer[])',
                  'dunning.prescription_digest_items(bigint)',
                  # issue 18 (024): the partial legal-aid filing deadline
                  'dunning.legal_aid_deadline(date)', 'dunning.legal_aid_alerts_queue(bigint)',
                  'dunning.legal_aid_pending(bigint)',
                  # issue 18 (025): the chase of unsigned fee agreements
                  'dunning.agreement_chase_stop()',
                  'dunning.agreement_chase_candidates(text[],integer[],integer)',
                  'dunning.agreement_chase_plan(bigint[],text[],text[],timestamp with time zone[])',
                  'dunning.agreement_chase_hold(bigint)',
                  'dunning.agreement_unsigned_alerts_queue(integer)',
                  'dunning.agreement_chase_failed_alert(bigint,text,text,text)',
                  # issue 20 (functions/import.sql): the imports' audit rows,
                  # a statement's entry placed by hand
                  'dunning.import_audit(text,bigint,jsonb)',
                  'dunning.payment_assign(text,text)'},
    'relations': {'audit_log_unchained_idx', 'invoice_next_action',
                  'invoice_next_action_pkey', 'invoice_next_action_at_idx',
                  'reminder_claim_seq',
                  # issue 17 (020)
                  'wake_queue', 'wake_queue_pkey', 'wake_queue_id_seq',
                  'send_lock', 'send_lock_pkey',
                  # issue 17 (021)
                  'audit_text', 'audit_text_pkey',
                  # issue 18 (022)
                  'fee_agreement', 'fee_agreement_pkey', 'fee_agreement_id_seq',
                  'fee_agreement_id_client_key', 'fee_agreement_client_idx',
                  'invoice_agreement_idx',
                  # issue 18 (023): the prescription watch
                  'debt_acknowledgement', 'debt_acknowledgement_pkey',
                  'debt_acknowledgement_id_seq', 'debt_acknowledgement_invoice_idx',
                  'prescription',
                  # issue 18 (024)
                  'lawyer_alert_agreement_idx', 'fee_agreement_to_file_idx',
                  # issue 18 (025)
                  'agreement_reminder', 'agreement_reminder_pkey', 'agreement_reminder_id_seq',
                  'agreement_reminder_once', 'agreement_reminder_due_idx',
                  'agreement_reminder_sending_idx', 'fee_agreement_to_chase_idx',
                  # issue 20 (028)
                  'client_ref_key', 'client_iban_idx', 'client_email_idx',
                  'statement_entry', 'statement_entry_pkey', 'statement_entry_id_seq',
                  'statement_entry_ref_key', 'statement_entry_unmatched_idx',
                  'statement_entry_invoice_idx'},
    'indexes': {'audit_log_unchained_idx', 'invoice_next_action_pkey',
                'invoice_next_action_at_idx',
                'wake_queue_pkey', 'send_lock_pkey',      # issue 17 (020)
                'audit_text_pkey',                        # issue 17 (021)
                # issue 18 (022)
                'fee_agreement_pkey', 'fee_agreement_id_client_key',
                'fee_agreement_client_idx', 'invoice_agreement_idx',
                # issue 18 (023)
                'debt_acknowledgement_pkey', 'debt_acknowledgement_invoice_idx',
                # issue 18 (024)
                'lawyer_alert_agreement_idx', 'fee_agreement_to_file_idx',
                # issue 18 (025)
                'agreement_reminder_pkey', 'agreement_reminder_once',
                'agreement_reminder_due_idx', 'agreement_reminder_sending_idx',
                'fee_agreement_to_chase_idx',
                # issue 20 (028)
                'client_ref_key', 'client_iban_idx', 'client_email_idx',
                'statement_entry_pkey', 'statement_entry_ref_key',
                'statement_entry_unmatched_idx', 'statement_entry_invoice_idx'},
    'triggers': {('dunning.audit_log', 'audit_log_chain_check_update'),
                 ('dunning.invoice', 'invoice_look_again'),
                 ('dunning.invoice', 'invoice_look_first'),
                 ('dunning.client', 'client_look_again'),
                 ('dunning.invoice', 'invoice_send_lock_row'),     # issue 17 (020)
                 ('dunning.audit_log', 'audit_log_texts'),      # issue 17 (021)
                 # issue 17 (019): the chain's head guarded like the log
                 ('dunning.audit_head', 'audit_head_guard'),
                 ('dunning.audit_head', 'audit_head_no_truncate'),
                 # issue 18 (025): a signature stops the chase at once
                 ('dunning.fee_agreement', 'fee_agreement_signed_stops_chase')},
    'policies': {# issue 18 (023): acknowledgements of debt under need-to-know
                 ('debt_acknowledgement', 'debt_acknowledgement_lawyer'),
                 ('debt_acknowledgement', 'debt_acknowledgement_read'),
                 ('debt_acknowledgement', 'debt_acknowledgement_owner'),
                 ('invoice_next_action', 'next_action_read'),
                 ('invoice_next_action', 'next_action_daemon'),
                 ('invoice_next_action', 'next_action_owner'),
                 # issue 17 (021): the audit log's free texts, read as the log
                 ('audit_text', 'audit_text_lawyer'), ('audit_text', 'audit_text_read'),
                 ('audit_text', 'audit_text_owner'),
                 # issue 18 (022): fee agreements, need to know as in 009
                 ('fee_agreement', 'fee_agreement_lawyer'),
                 ('fee_agreement', 'fee_agreement_read'),
                 ('fee_agreement', 'fee_agreement_admin'),
                 ('fee_agreement', 'fee_agreement_owner'),
                 # issue 18 (025): the agreements' reminders, read as the agreements
                 ('agreement_reminder', 'agreement_reminder_lawyer'),
                 ('agreement_reminder', 'agreement_reminder_read'),
                 ('agreement_reminder', 'agreement_reminder_daemon'),
                 ('agreement_reminder', 'agreement_reminder_owner'),
                 # issue 20 (028): bank statements' entries: the accountant
                 # reads, the administrator writes
                 ('statement_entry', 'statement_entry_read'),
                 ('statement_entry', 'statement_entry_admin'),
                 ('statement_entry', 'statement_entry_owner')},
    'data': {'setting'},        # 017: plan_rules
}

# Issue 19 (026, functions/plans.sql, base/plans.sql, views/reports.sql):
# payment plans — their tables, outbox of instalment reminders, functions,
# the view dunning.plans, need to know as in 009.
_PLAN_TABLES = {
    'payment_plan': ['accepted_at', 'breached_at', 'client_id', 'created_at', 'created_by',
                     'currency', 'decided_at', 'decided_by', 'ended_at', 'id', 'proposed_by',
                     'state', 'total'],
    'payment_plan_client_idx': ['client_id'], 'payment_plan_open_idx': ['id'],
    'payment_plan_pkey': ['id'],
    'plan_instalment': ['amount', 'due_on', 'plan_id', 'seq'],
    'plan_instalment_pkey': ['plan_id', 'seq'],
    'plan_invoice': ['invoice_id', 'open', 'plan_id'],
    'plan_invoice_invoice_idx': ['invoice_id'], 'plan_invoice_one_open': ['invoice_id'],
    'plan_invoice_pkey': ['invoice_id', 'plan_id'],
    'plan_message': ['attempts', 'created_at', 'id', 'kind', 'last_error', 'lease_until',
                     'message_id', 'plan_id', 'reason', 'scheduled_for', 'sent_at', 'seq',
                     'state'],
    'plan_message_once': ['kind', 'plan_id', 'seq'], 'plan_message_open_idx': ['scheduled_for'],
    'plan_message_pkey': ['id'],
    'payment_plan_id_seq': ['is_called', 'last_value', 'log_cnt'],
    'plan_message_id_seq': ['is_called', 'last_value', 'log_cnt'],
    'plans': ['client_name', 'currency', 'late_amount', 'next_amount', 'next_due_on', 'paid',
              'plan_id', 'state', 'total'],
}
SINCE_OLD['columns'] |= {(t, c) for t, cols in _PLAN_TABLES.items() for c in cols}
SINCE_OLD['relations'] |= set(_PLAN_TABLES)
SINCE_OLD['indexes'] |= {t for t in _PLAN_TABLES if t.endswith(('_idx', '_pkey', '_once',
                                                                 '_one_open'))}
SINCE_OLD['constraints'] |= {('dunning.' + t, t + '_' + c) for t, cs in {
    'payment_plan': ['active_was_accepted', 'broken_has_time', 'client_id_fkey',
                     'ended_has_time', 'pkey', 'proposed_by_check', 'state_check',
                     'total_check'],
    'plan_instalment': ['amount_check', 'pkey', 'plan_id_fkey', 'seq_check'],
    'plan_invoice': ['invoice_id_fkey', 'pkey', 'plan_id_fkey'],
    'plan_message': ['attempts_check', 'kind_check', 'once', 'pkey', 'plan_id_fkey',
                     'plan_id_seq_fkey', 'reason_is_a_code', 'sent_has_time', 'state_check'],
}.items() for c in cs}
SINCE_OLD['functions'] |= {
    'dunning.approve_plan(bigint)', 'dunning.cancel_plan(bigint,text)',
    'dunning.payment_plan_open()', 'dunning.plan_active(bigint)',
    'dunning.plan_auto_accept_max(text)', 'dunning.plan_digest_items(bigint)',
    'dunning.plan_disputed(bigint)',
    'dunning.plan_first_invoice(bigint)', 'dunning.plan_for_update(bigint,text[])',
    'dunning.plan_paid(bigint)',
    'dunning.plan_propose_for(bigint,bigint[],integer,date,text,text)',
    'dunning.plan_resumed_at(bigint)', 'dunning.plan_schedule(bigint,numeric)',
    'dunning.plan_setting_int(text,integer)', 'dunning.plan_wake(dunning.payment_plan,text)',
    'dunning.plans_pass(integer,integer,integer)',
    'dunning.propose_plan(text[],integer,date,text)', 'dunning.reject_plan(bigint,text)'}
SINCE_OLD['triggers'] |= {('dunning.payment_plan', 'payment_plan_open')}
SINCE_OLD['policies'] |= {(t, t + '_' + p) for t in ('payment_plan', 'plan_instalment',
                                                     'plan_invoice', 'plan_message')
                          for p in ('lawyer', 'owner', 'read')} \
    | {('plan_message', 'plan_message_daemon_update')}


def repeatable_files():
    """{name: text} of the repeatable files, in sql/meson.build's order."""
    with open(os.path.join(SQL, 'meson.build'), encoding='utf-8') as f:
        build = f.read()
    names = re.findall(r"'((?:base|functions|views)/[a-z0-9_]+)\.sql'", build)
    on_disk = sorted('%s/%s' % (d, f[:-4]) for d in ('base', 'functions', 'views')
                     for f in os.listdir(os.path.join(SQL, d)) if f.endswith('.sql'))
    assert sorted(names) == on_disk, 'sql/meson.build lists every repeatable file once'
    out = {}
    for n in names:
        with open(os.path.join(SQL, n + '.sql'), encoding='utf-8') as f:
            out[n] = f.read()
    return out


def old_layout_files(below=None):
    """[(version, name, text)] of the numbered migrations of OLD_LAYOUT
    (those numbered below BELOW), read from the repository's history."""
    r = subprocess.run(['git', '-C', SOURCE_ROOT, 'ls-tree', '--name-only', OLD_LAYOUT,
                        'sql/'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        pytest.skip('the old layout needs the git history: %s' % r.stderr.strip())
    out = []
    for path in sorted(r.stdout.split()):
        m = re.match(r'sql/(\d{3})_[a-z0-9_]+\.sql$', path)
        if not m or (below is not None and int(m.group(1)) >= below):
            continue
        text = subprocess.run(['git', '-C', SOURCE_ROOT, 'show', OLD_LAYOUT + ':' + path],
                              stdout=subprocess.PIPE, check=True, text=True).stdout
        out.append((int(m.group(1)), os.path.basename(path)[:-4], text))
    return out


def build_old_layout(env, below=None):
    """Migrate ENV's empty database as the old dunningctl did: each numbered
    file of OLD_LAYOUT in its transaction, recorded in schema_migration."""
    conn = env.connect(autocommit=False)
    try:
        cur = conn.cursor()
        cur.execute('CREATE SCHEMA IF NOT EXISTS dunning')
        cur.execute('CREATE TABLE dunning.schema_migration (version integer PRIMARY KEY, '
                    'name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())')
        conn.commit()
        for version, name, text in old_layout_files(below):
            cur.execute(text)
            cur.execute('INSERT INTO dunning.schema_migration (version, name) VALUES (%s, %s)',
                        (version, name))
            conn.commit()
    finally:
        conn.close()


CATALOG = {
    'functions': """
        SELECT p.oid::regprocedure::text, pg_get_function_result(p.oid),
               pg_get_function_arguments(p.oid), l.lanname, p.prosrc, p.prosecdef,
               p.provolatile, p.proconfig, p.proleakproof, p.proisstrict,
               ARRAY(SELECT a::text FROM unnest(coalesce(p.proacl, '{}')) a ORDER BY 1),
               obj_description(p.oid, 'pg_proc')
        FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
        WHERE p.pronamespace = 'dunning'::regnamespace ORDER BY 1""",
    'relations': """
        SELECT c.relname, c.relkind, c.reloptions, c.relrowsecurity, c.relforcerowsecurity,
               CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END,
               ARRAY(SELECT a::text FROM unnest(coalesce(c.relacl, '{}')) a ORDER BY 1),
               obj_description(c.oid, 'pg_class')
        FROM pg_class c WHERE c.relnamespace = 'dunning'::regnamespace
          AND c.relname <> 'schema_repeatable' AND c.relname NOT LIKE 'schema_repeatable%%'
        ORDER BY 1""",
    'columns': """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum),
               ARRAY(SELECT x::text FROM unnest(coalesce(a.attacl, '{}')) x ORDER BY 1)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'dunning'::regnamespace AND a.attnum > 0
          AND NOT a.attisdropped AND c.relname NOT LIKE 'schema_repeatable%%'
        ORDER BY 1, 2""",
    'constraints': """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'dunning'::regnamespace
          AND conrelid::regclass::text NOT LIKE 'dunning.schema_repeatable%%'
        ORDER BY 1, 2""",
    'indexes': """
        SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'dunning'
          AND tablename <> 'schema_repeatable' ORDER BY 1""",
    'triggers': """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), tgenabled
        FROM pg_trigger WHERE NOT tgisinternal
          AND tgrelid IN (SELECT oid FROM pg_class
                          WHERE relnamespace = 'dunning'::regnamespace)
        ORDER BY 1, 2""",
    'policies': """
        SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
        FROM pg_policies WHERE schemaname = 'dunning' ORDER BY 1, 2""",
    'data': """
        SELECT 'setting', jsonb_agg(s ORDER BY key)::text FROM dunning.setting s
        UNION ALL SELECT 'head', jsonb_agg(h)::text FROM dunning.audit_head h""",
}


def catalog(env):
    """What the schema is made of, object by object, as comparable rows."""
    return {k: env.sql(q) for k, q in CATALOG.items()}


def assert_same(got, want):
    for k in want:
        extra = [r for r in got[k] if r not in want[k]]
        missing = [r for r in want[k] if r not in got[k]]
        assert (extra, missing) == ([], []), k


def recorded(env):
    return dict(env.sql('SELECT name, checksum FROM dunning.schema_repeatable'))


def compiled():
    return {n: hashlib.sha256(t.encode('utf-8')).hexdigest()
            for n, t in repeatable_files().items()}


# ------------------------------------------------------------------ fresh --

def test_fresh_database_has_every_repeatable_object_and_records_the_set(make_env):
    env = make_env(smtp=False, empty=True)
    r = env.ctl('migrate', check=0)
    files = repeatable_files()
    for name in files:
        assert 'applied %s (new)' % name in r.stdout, r.stdout
    assert '%d migrations applied' % len(NUMBERED) in r.stdout, r.stdout
    assert '(%d repeatable files applied)' % len(files) in r.stdout, r.stdout
    # base/ ran before 001 (the tables' defaults and triggers need it), the
    # others after the numbered migrations.
    lines = r.stdout.splitlines()
    first = lines.index('applied ' + NUMBERED[0])
    last = lines.index('applied ' + NUMBERED[-1])
    for name in files:
        i = lines.index('applied %s (new)' % name)
        assert (i < first) if name.startswith('base/') else (i > last), (name, r.stdout)
    assert recorded(env) == compiled()
    for name, text in files.items():
        for fn in re.findall(r'^CREATE OR REPLACE FUNCTION (dunning\.[a-z_]+)\(', text, re.M):
            assert env.one("SELECT count(*) FROM pg_proc WHERE oid::regproc::text = %s",
                           (fn,)) == 1, (name, fn)
        for v in re.findall(r'^CREATE (?:OR REPLACE )?VIEW (dunning\.[a-z_]+)', text, re.M):
            assert env.one('SELECT to_regclass(%s) IS NOT NULL', (v,)), (name, v)
    # Every function and view of the schema is in a repeatable file, except
    # audit_canonical (006: its text holds the chain's boundary).
    defined = {m for t in files.values() for m in re.findall(
        r'^CREATE (?:OR REPLACE )?(?:FUNCTION|VIEW) dunning\.([a-z_]+)', t, re.M)}
    present = {x[0] for x in env.sql(
        "SELECT proname FROM pg_proc WHERE pronamespace = 'dunning'::regnamespace "
        "UNION SELECT relname FROM pg_class WHERE relnamespace = 'dunning'::regnamespace "
        "AND relkind = 'v'")}
    assert present - defined == {'audit_canonical'}
    assert defined <= present


def test_numbered_migrations_hold_no_function_or_view():
    for f in sorted(os.listdir(SQL)):
        if not f.endswith('.sql'):
            continue
        with open(os.path.join(SQL, f), encoding='utf-8') as fh:
            text = fh.read()
        found = re.findall(r'^\s*CREATE (?:OR REPLACE )?(?:FUNCTION|VIEW) (\S+)', text, re.M)
        # 006 writes audit_canonical through EXECUTE format(...): state.
        assert found == ([] if f != '006_audit_commit_chain.sql'
                         else ['dunning.audit_canonical(a']), (f, found)

# issue 19 (027, functions/selfservice.sql): the clients' reports from their
# page, their acknowledgements, and the self-service functions.
_WEB_TABLES = {
    'client_report': ('id', 'client_id', 'received_at', 'category', 'message', 'state',
                      'outcome', 'handled_by', 'handled_at'),
    'client_report_invoice': ('report_id', 'invoice_id', 'handled'),
    'client_ack': ('report_id', 'state', 'attempts', 'next_try_at', 'lease_until', 'sent_at',
                   'message_id', 'last_error'),
    'client_report_pkey': ('id',), 'client_report_client_idx': ('client_id',),
    'client_report_open_idx': ('received_at',),
    'client_report_id_seq': ('is_called', 'last_value', 'log_cnt'),
    'client_report_invoice_pkey': ('report_id', 'invoice_id'),
    'client_report_invoice_open': ('invoice_id',),
    'client_ack_pkey': ('report_id',), 'client_ack_open_idx': ('report_id',),
}
SINCE_OLD['columns'] |= {(t, c) for t, cols in _WEB_TABLES.items() for c in cols}
SINCE_OLD['constraints'] |= {
    ('dunning.client_report', c) for c in (
        'client_report_pkey', 'client_report_client_id_fkey', 'client_report_category_check',
        'client_report_message_length', 'client_report_state_check',
        'client_report_outcome_check', 'client_report_handled')} | {
    ('dunning.client_report_invoice', c) for c in (
        'client_report_invoice_pkey', 'client_report_invoice_report_id_fkey',
        'client_report_invoice_invoice_id_fkey')} | {
    ('dunning.client_ack', c) for c in (
        'client_ack_pkey', 'client_ack_report_id_fkey', 'client_ack_state_check',
        'client_ack_attempts_check')}
SINCE_OLD['functions'] |= {'dunning.web_invoices(bigint,bigint[])',
                           'dunning.web_report(bigint,bigint[],text,text)',
                           'dunning.handle_report(bigint,text,text)',
                           'dunning.no_answer_digest_items(bigint,text)'}
SINCE_OLD['relations'] |= set(_WEB_TABLES)
SINCE_OLD['indexes'] |= {'client_report_pkey', 'client_report_client_idx',
                         'client_report_open_idx', 'client_report_invoice_pkey',
                         'client_report_invoice_open', 'client_ack_pkey', 'client_ack_open_idx'}
SINCE_OLD['policies'] |= {(t, t + s) for t in ('client_report', 'client_report_invoice')
                          for s in ('_lawyer', '_read', '_owner')} | {
    ('client_ack', 'client_ack_daemon'), ('client_ack', 'client_ack_read'),
    ('client_ack', 'client_ack_owner')}


# issue 19 items 1/3 (029, functions/selfservice.sql): the client proposes a
# payment plan from their page (web_plan, web_plan_schedule), its
# acknowledgement's outbox row (plan_ack).
SINCE_OLD['columns'] |= {('plan_ack', c) for c in (
    'plan_id', 'state', 'attempts', 'next_try_at', 'lease_until', 'sent_at', 'message_id',
    'last_error')} | {('plan_ack_pkey', 'plan_id'), ('plan_ack_open_idx', 'plan_id')}
SINCE_OLD['constraints'] |= {('dunning.plan_ack', c) for c in (
    'plan_ack_pkey', 'plan_ack_plan_id_fkey', 'plan_ack_state_check', 'plan_ack_attempts_check')}
SINCE_OLD['functions'] |= {'dunning.web_plan(bigint,bigint[],integer,date)',
                           'dunning.web_plan_schedule(bigint,bigint[])'}
SINCE_OLD['relations'] |= {'plan_ack', 'plan_ack_pkey', 'plan_ack_open_idx'}
SINCE_OLD['indexes'] |= {'plan_ack_pkey', 'plan_ack_open_idx'}
SINCE_OLD['policies'] |= {('plan_ack', 'plan_ack_daemon'), ('plan_ack', 'plan_ack_read'),
                          ('plan_ack', 'plan_ack_owner')}


# What SINCE_OLD names that the old layout has too, changed in place (so
# not among the added names): issue 18, a lawyer's alert has the kinds
# 'prescription' (023), 'legal_aid' (024) and 'agreement_unsigned' (025),
# and may name a fee agreement instead of an invoice (024).
CHANGED_SINCE_OLD = {
    'columns': {('lawyer_alert', 'invoice_id')},
    'constraints': {('dunning.lawyer_alert', 'lawyer_alert_kind_check')},
}


def without_since_old(cat):
    """CAT without what SINCE_OLD names (on purpose different)."""
    key = {'columns': lambda r: (r[0], r[1]), 'constraints': lambda r: (r[0], r[1]),
           'functions': lambda r: r[0], 'relations': lambda r: r[0],
           'indexes': lambda r: r[0], 'triggers': lambda r: (r[0], r[1]),
           'policies': lambda r: (r[0], r[1]), 'data': lambda r: r[0]}
    return {k: [r for r in rows if k not in SINCE_OLD or key[k](r) not in SINCE_OLD[k]]
            for k, rows in cat.items()}


def pg_temp_last_as_old(cat):
    """CAT with the definer functions' search_path as the old layout wrote
    it: since issue 17 each names pg_temp last (on purpose different)."""
    def old(r):
        conf = [c.replace(', pg_temp', '') if c.startswith('search_path=') else c
                for c in (r[7] or [])] or r[7]
        return r[:7] + (conf,) + r[8:]
    return dict(cat, functions=[old(r) for r in cat['functions']])


def test_fresh_database_is_the_old_layouts_schema(make_env):
    """Same functions (text, rights, settings, grants, comments), views,
    tables, constraints, indexes, triggers and policies as a database built
    from the numbered migrations of the old layout — but for what later
    migrations changed on purpose (SINCE_OLD), and that much exactly."""
    old = make_env(smtp=False, empty=True)
    build_old_layout(old)
    new = make_env(smtp=False, empty=True)
    new.ctl('migrate', check=0)
    got, want = pg_temp_last_as_old(catalog(new)), catalog(old)
    assert_same(without_since_old(got), without_since_old(want))
    assert {(r[0], r[1]) for r in got['columns']} - {(r[0], r[1]) for r in want['columns']} \
        == SINCE_OLD['columns'] - CHANGED_SINCE_OLD['columns']
    assert {(r[0], r[1]) for r in got['constraints']} - \
        {(r[0], r[1]) for r in want['constraints']} == \
        SINCE_OLD['constraints'] - CHANGED_SINCE_OLD['constraints']
    for k, names in CHANGED_SINCE_OLD.items():     # changed in place, and really changed
        assert not [r for r in got[k] if (r[0], r[1]) in names and r in want[k]], names
    assert {r[0] for r in got['functions'] if r not in want['functions']} == \
        SINCE_OLD['functions']


# ---------------------------------------------------------------- twice --

def test_migrating_twice_changes_nothing(env):
    before = env.sql('SELECT name, checksum, applied_at FROM dunning.schema_repeatable '
                     'ORDER BY name')
    cat = catalog(env)
    oids = env.sql("SELECT oid, xmin::text FROM pg_proc "
                   "WHERE pronamespace = 'dunning'::regnamespace ORDER BY 1")
    r = env.ctl('migrate', check=0)
    assert '0 migrations applied' in r.stdout, r.stdout
    assert '(0 repeatable files applied)' in r.stdout, r.stdout
    assert 'applied' not in r.stdout.replace('migrations applied', '').replace(
        'files applied', ''), r.stdout
    assert env.sql('SELECT name, checksum, applied_at FROM dunning.schema_repeatable '
                   'ORDER BY name') == before
    assert catalog(env) == cat
    assert env.sql("SELECT oid, xmin::text FROM pg_proc "
                   "WHERE pronamespace = 'dunning'::regnamespace ORDER BY 1") == oids
    env.ctl('status', check=0)


# -------------------------------------------------------------- changed --

def test_a_changed_function_file_is_applied_again(make_env):
    """A database whose record says another text of lawyer_actions (an older
    dunningctl's): the daemon refuses to start, migrate runs that file again
    (and the views, dropped and re-created), the daemon starts."""
    env = make_env()
    cat = catalog(env)
    env.sql("UPDATE dunning.schema_repeatable SET checksum = 'older' "
            "WHERE name = 'functions/lawyer_actions'")
    # What the older text would have left: another body.
    env.sql("CREATE OR REPLACE FUNCTION dunning.require_text(p_text text, p_what text) "
            "RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'stale' $$")
    c = env.client('changed@client.example')
    env.invoice('C-1', c, '2026-03-02')
    r = env.cycle(at('2026-03-05'), check=None)
    assert r.returncode != 0
    assert 'functions and views' in r.stderr and 'run dunningctl migrate' in r.stderr, r.stderr
    assert env.count('dunning.reminder') == 0
    r = env.ctl('status')
    assert r.returncode != 0 and 'dunningctl migrate' in r.stdout, r.stdout
    r = env.ctl('migrate', check=0)
    assert 'applied functions/lawyer_actions (changed)' in r.stdout, r.stdout
    assert 're-created views/reports (its views were dropped)' in r.stdout, r.stdout
    assert 'applied base/' not in r.stdout and '0 migrations applied' in r.stdout, r.stdout
    assert '(2 repeatable files applied)' in r.stdout, r.stdout
    assert recorded(env) == compiled()
    assert catalog(env) == cat
    with pytest.raises(psycopg2.Error, match='the dispute reason must not be empty'):
        env.sql("SELECT dunning.flag_dispute('C-1', ' ')", now=NOW)
    env.cycle(at('2026-03-05'))
    assert env.count('dunning.reminder') == 1


def test_a_view_whose_columns_changed_is_dropped_and_created_again(env):
    """A report view left with other columns by an older text: CREATE OR
    REPLACE VIEW could not change them; the runner drops every view of the
    set and the file creates them again, with their comments and grants."""
    cat = catalog(env)
    env.sql('DROP VIEW dunning.kpi')
    env.sql('CREATE VIEW dunning.kpi AS SELECT 1 AS old_column')
    env.sql("UPDATE dunning.schema_repeatable SET checksum = 'older' WHERE name = 'views/reports'")
    r = env.ctl('migrate', check=0)
    assert 'applied views/reports (changed)' in r.stdout, r.stdout
    assert '(1 repeatable file applied)' in r.stdout, r.stdout
    assert catalog(env) == cat
    assert env.one("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                "'dunning' AND table_name = 'kpi' AND column_name = 'recovery_j45_pct'") == 1


def test_a_file_no_longer_compiled_in_is_forgotten(make_env):
    env = make_env()
    env.sql("INSERT INTO dunning.schema_repeatable (name, checksum) "
            "VALUES ('functions/gone', 'x')")
    assert env.cycle(at('2026-03-05'), check=None).returncode != 0
    r = env.ctl('migrate', check=0)
    assert 'forgot functions/gone' in r.stdout, r.stdout
    assert '(0 repeatable files applied)' in r.stdout, r.stdout
    assert recorded(env) == compiled()
    env.cycle(at('2026-03-05'))


# -------------------------------------------------------------- upgrade --

def fill_old(env):
    """Some history written through the old layout's own functions and
    triggers: a dispute, a payment, a held reminder approved, audit rows."""
    lw = env.lawyer()
    c = env.client('old@client.example', lawyer=lw)
    env.invoice('O-1', c, '2026-02-02')
    env.invoice('O-2', c, '2026-02-02')
    i3 = env.invoice('O-3', c, '2026-02-02', amount='9000.00')
    env.sql("SELECT dunning.flag_dispute('O-1', 'contestation')", now=NOW)
    env.pay('O-2', '1000.00', NOW)
    rem = env.one("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for) "
                  "VALUES (%s, 'j45', 'held', %s) RETURNING id", (i3, NOW))
    env.sql('SELECT dunning.approve(%s)', (rem,), now=NOW)


def test_upgrade_from_the_old_layout_at_version_14(make_env):
    """A database built and used by the old layout: migrate applies every
    repeatable file, no numbered one; the schema is then a new database's,
    the data and the audit chain are kept, the daemon runs."""
    env = make_env(empty=True)
    build_old_layout(env)
    fill_old(env)
    r = env.cycle(at('2026-03-16'), check=None)
    assert r.returncode != 0 and 'run dunningctl migrate' in r.stderr, r.stderr
    audit = env.sql('SELECT id, chain_seq, hash FROM dunning.audit_log ORDER BY id')
    totals = env.sql('SELECT number, paid_total, disputed_at IS NOT NULL '
                     'FROM dunning.invoice ORDER BY number')
    r = env.ctl('migrate', check=0)
    assert '%d migration' % (len(NUMBERED) - OLD_LAST) in r.stdout, r.stdout
    for name in NUMBERED[OLD_LAST:]:
        assert 'applied %s\n' % name in r.stdout, r.stdout
    for name in repeatable_files():
        assert 'applied %s (new)' % name in r.stdout, r.stdout
    assert recorded(env) == compiled()
    fresh = make_env(smtp=False, empty=True)
    fresh.ctl('migrate', check=0)
    want = catalog(fresh)
    got = catalog(env)
    want.pop('data')
    got.pop('data')
    # audit_canonical holds the boundary of the chain's two forms: the old
    # database's rows before 006 (none: it was built at once) are under it.
    assert_same(got, want)
    assert env.sql('SELECT id, chain_seq, hash FROM dunning.audit_log ORDER BY id') == audit
    assert env.sql('SELECT number, paid_total, disputed_at IS NOT NULL '
                   'FROM dunning.invoice ORDER BY number') == totals
    env.verify_audit()
    env.cycle(at('2026-03-16'))
    env.sql("SELECT dunning.clear_dispute('O-1', 'accord')", now=NOW)
    env.verify_audit()
    r = env.ctl('migrate', check=0)
    assert '(0 repeatable files applied)' in r.stdout, r.stdout


def test_upgrade_from_an_old_layout_before_the_chain_at_commit(make_env):
    """A database of the old layout at version 5, with audit rows chained at
    INSERT: base/ runs first (its triggers' functions replace those of the
    old 003), then 006 to 014 (006 drops the old chain's triggers and keeps
    their hashes), then the other repeatable files."""
    env = make_env(empty=True)
    build_old_layout(env, below=6)
    fill_old(env)
    old = env.sql('SELECT id, prev_hash, hash FROM dunning.audit_log ORDER BY id')
    assert old and all(h is not None for _, _, h in old)
    r = env.ctl('migrate', check=0)
    lines = r.stdout.splitlines()
    assert lines.index('applied base/audit (new)') < lines.index('applied 006_audit_commit_chain')
    assert '%d migrations applied' % (len(NUMBERED) - 5) in r.stdout, r.stdout
    assert env.sql('SELECT id, prev_hash, hash FROM dunning.audit_log ORDER BY id') == old
    env.verify_audit()
    fresh = make_env(smtp=False, empty=True)
    fresh.ctl('migrate', check=0)
    want, got = catalog(fresh), catalog(env)
    want.pop('data')
    got.pop('data')
    # Only audit_canonical differs: its boundary is this database's last
    # row chained before 006.
    canonical = 'dunning.audit_canonical(dunning.audit_log)'
    assert [f[0] for f in got['functions']] == [f[0] for f in want['functions']]
    assert [f[0] for f in got['functions'] if f not in want['functions']] == [canonical]
    assert ' > %d THEN' % old[-1][0] in env.one(
        "SELECT prosrc FROM pg_proc WHERE oid = %s::regprocedure", (canonical,))
    got['functions'] = [f for f in got['functions'] if f[0] != canonical]
    want['functions'] = [f for f in want['functions'] if f[0] != canonical]
    assert_same(got, want)
    env.cycle(at('2026-03-16'))
    env.verify_audit()


def test_upgrade_turns_the_old_reasons_into_codes(make_env):
    """015: rows the old daemon wrote with prose in reminder.reason (the
    policy's English, "letter written to PATH", a failure's English in
    last_error, 'retry_backoff' as a state) come out as codes, with the
    retry and the letter's path in their columns, and the relay's answers
    kept."""
    env = make_env(smtp=False, empty=True)
    build_old_layout(env)
    c = env.client('old@client.example')
    rows = {
        # number: (stage, state, reason, last_error)
        'P-1': ('j3', 'planned', 'stage not due yet', None),
        'P-2': ('j3', 'planned', 'retry_backoff', '451 4.3.0 try later'),
        'P-3': ('j45', 'sent', 'letter written to /var/spool/dunningd/2026-03-10-j45-3.pdf', None),
        'P-4': ('j3', 'sent', '250 2.0.0 Ok: queued as 4F2', None),
        'P-5': ('j3', 'failed', 'failed', 'the client has no postal address'),
        'P-6': ('j3', 'failed', 'failed', 'gave up after 12 attempts: 451 4.3.0 try later'),
        'P-7': ('j3', 'failed', 'failed', '550 5.1.1 <x@y>: Recipient address rejected'),
        'P-8': ('j3', 'held', 'strategic_client', None),
    }
    for number, (stage, state, reason, error) in rows.items():
        inv = env.invoice(number, c, '2026-02-02')
        env.sql("INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, "
                "sent_at, reason, last_error) VALUES (%s, %s, %s, %s, "
                "CASE WHEN %s = 'sent' THEN %s::timestamptz END, %s, %s)",
                (inv, stage, state, NOW, state, NOW, reason, error))
    env.ctl('migrate', check=0)
    got = {r['number']: (r['reason'], r['last_error'], r['retrying'], r['letter_path'])
           for r in env.reminders()}
    assert got == {
        'P-1': ('not_due', None, False, None),
        'P-2': ('retry_backoff', '451 4.3.0 try later', True, None),
        'P-3': (None, None, False, '/var/spool/dunningd/2026-03-10-j45-3.pdf'),
        'P-4': (None, None, False, None),
        'P-5': ('no_postal_address', None, False, None),
        'P-6': ('gave_up', '451 4.3.0 try later', False, None),
        'P-7': ('relay_refused', '550 5.1.1 <x@y>: Recipient address rejected', False, None),
        'P-8': ('strategic_client', None, False, None),
    }
    with pytest.raises(psycopg2.Error, match='reminder_reason_is_a_code'):
        env.sql("UPDATE dunning.reminder SET reason = 'the client has no e-mail address' "
                "WHERE stage = 'j3' AND state = 'held'")
