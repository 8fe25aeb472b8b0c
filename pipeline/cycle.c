/*
 * cycle — the passes of the daemon, shared by --once and its threads (see
 * cycle.h).
 */
#include <string.h>

#include "chase.h"
#include "log.h"
#include "cycle.h"
#include "plans.h"

/* Milliseconds elapsed since T0 (CLOCK_MONOTONIC). */
static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The session, usable and on the one clock: dunning.now only when --now
 * replays a date; otherwise SQL reads the real clock itself, instant by
 * instant. */
static int
session(struct cycle *c, time_t now)
{
	return store_ready(c->store) < 0 ||
	    store_set_now(c->store, c->clock->set ? now : 0) < 0 ? -1 : 0;
}

/* SPEC §2.1: while the legal-rate table lacks the current half-year, say
 * so once a local day (loading the configuration said it for the first). */
static void
warn_rates(struct cycle *c, time_t now)
{
	struct config_diag diag = { 0 };
	cal_day today = cal_local_day(now);

	if (today == c->rates_warned)
		return;
	config_check_date(c->cfg, now, &diag);
	for (size_t i = 0; i < diag.nwarnings; i++)
		log_warnx("%s", diag.warnings[i]);
	if (diag.nwarnings > 0)
		c->rates_warned = today;
	config_diag_free(&diag);
}

/* The audit chain's head after a pass, for its log line (SPEC §3.5: the
 * head published in the journal); one row, one cheap query. */
static int
read_head(struct cycle *c, struct plan_stats *ps)
{
	ps->head_read = store_audit_head(c->store, &ps->head) == 0;
	return ps->head_read ? 0 : -1;
}

/* A full pass: leases, then every candidate; *MS (may be NULL) gets the
 * time of the pass over the candidates itself. */
static int
plan_at(struct cycle *c, time_t now, struct plan_stats *ps, double *ms)
{
	struct chase_stats cs;
	struct timespec t0;
	int expired;

	memset(ps, 0, sizeof(*ps));
	if (session(c, now) < 0 || store_publish_settings(c->store, c->cfg) < 0)
		return -1;
	if ((expired = plan_expire_leases(c->store, now)) < 0)
		return -1;
	if (expired > 0)
		log_warnx("%d reminder(s) left in 'sending' by a stopped sender are now in_doubt: "
		    "see dunningctl in-doubt", expired);
	/* SPEC §2 rule 11: the plans first, so that an invoice whose plan
	 * ended or began is decided in this very pass (its bookmark). */
	if (plans_pass(c->store, c->cfg, &(struct plans_stats){ 0 }) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (plan_pass(c->store, c->cfg, now, c->read_all, ps) < 0)
		return -1;
	if (ms != NULL)
		*ms = ms_since(&t0);
	/* SPEC §2 rule 13: the fee agreements' chase, planned with the
	 * invoices; a failure is logged and tried again at the next pass. */
	if (chase_plan(c->store, c->cfg, now, &cs) < 0)
		log_warnx("planning the fee agreements' reminders: %s", store_error(c->store));
	else if (cs.planned + cs.skipped > 0)
		log_info("fee agreements: %d reminder(s) planned, %d stage(s) skipped", cs.planned,
		    cs.skipped);
	warn_rates(c, now);
	return read_head(c, ps);
}

/* The daemon's full pass (see cycle.h). */
int
cycle_plan(struct cycle *c, struct plan_stats *ps, double *ms)
{
	return plan_at(c, clock_now(c->clock), ps, ms);
}

/* The invoices a notification named. */
int
cycle_plan_some(struct cycle *c, const int64_t *ids, size_t n, struct plan_stats *ps)
{
	time_t now = clock_now(c->clock);

	memset(ps, 0, sizeof(*ps));
	if (session(c, now) < 0)
		return -1;
	return plan_invoices(c->store, c->cfg, now, ids, n, ps) < 0 ? -1 : 0;
}

/* The clients' mail, then the lawyers'. */
int
cycle_send(struct cycle *c, struct send_stats *ss, struct notify_stats *ns)
{
	struct send_pass snd = { .cfg = c->cfg, .ms = c->ms, .store = c->store,
	    .password = c->password, .seed = c->seed, .refusals = c->refusals, .stop = c->stop,
	    .quit = c->quit, .stop_arg = c->stop_arg };
	struct notify_pass nt = { .cfg = c->cfg, .ms = c->ms, .store = c->store,
	    .password = c->password, .stop = c->stop, .stop_arg = c->stop_arg };
	int rc;

	memset(ss, 0, sizeof(*ss));
	memset(ns, 0, sizeof(*ns));
	if (store_ready(c->store) < 0)
		return -1;
	rc = send_run(&snd, c->clock, ss);
	c->seed = snd.seed;
	c->refusals = snd.refusals;
	if (rc < 0)
		return -1;
	/* SPEC §2 rule 13: the fee agreements' reminders, after the
	 * invoices', on the same outbox; a failure is logged, the next pass
	 * tries again. */
	if (snd.refused_until == 0) {
		struct chase_pass ch = { .cfg = c->cfg, .ms = c->ms, .store = c->store,
		    .password = c->password, .seed = c->seed, .stop = c->stop,
		    .stop_arg = c->stop_arg };
		struct chase_stats cs = { 0 };

		if (chase_send(&ch, c->clock, &cs) < 0)
			ss->errors++;
		c->seed = ch.seed;
		ss->sent += cs.sent;
		ss->retried += cs.retried;
		ss->failed += cs.failed;
		ss->in_doubt += cs.in_doubt;
		ss->errors += cs.errors;
		if (cs.sent + cs.retried + cs.failed + cs.in_doubt + cs.withheld + cs.errors > 0)
			log_info("fee agreements: %d sent, %d retried, %d failed, %d in doubt, "
			    "%d withheld, %d errors", cs.sent, cs.retried, cs.failed, cs.in_doubt,
			    cs.withheld, cs.errors);
	}
	/* SPEC §2 rule 11: the plans' instalment reminders, client mail too,
	 * unless the relay refused the session. */
	if (snd.refused_until == 0) {
		struct plans_send ps = { .cfg = c->cfg, .ms = c->ms, .store = c->store,
		    .password = c->password, .seed = c->seed };
		struct plans_stats pst = { 0 };

		if (plans_send(&ps, c->clock, &pst) < 0) {
			log_warnx("payment plan reminders: %s", store_error(c->store));
			rc = 1;
		}
		c->seed = ps.seed;
		if (pst.sent + pst.retried + pst.failed + pst.in_doubt + pst.cancelled > 0)
			log_info("payment plan reminders: %d sent, %d retried, %d failed, "
			    "%d in doubt, %d withheld", pst.sent, pst.retried, pst.failed,
			    pst.in_doubt, pst.cancelled);
	}
	/* The clients' mail went first: a failure here is the lawyers' mail's,
	 * logged, and tried again by the next pass; a session the relay
	 * refused would refuse it too. */
	nt.seed = c->seed;
	nt.prescription_day = c->prescription_day;
	if (snd.refused_until == 0 && notify_run(&nt, c->clock, ns) < 0) {
		ns->errors++;
		rc = 1;
	}
	c->seed = nt.seed;
	c->prescription_day = nt.prescription_day;
	if (ns->alerts + ns->digests + ns->retried + ns->failed + ns->errors > 0)
		log_info("lawyers: %d alerts, %d digests sent, %d retried, %d failed, %d errors",
		    ns->alerts, ns->digests, ns->retried, ns->failed, ns->errors);
	/* The mark of a pass that found everything done (tests wait for it). */
	log_debug("send pass: %d sent, %d letters, %d retried, %d failed, %d in doubt; "
	    "lawyers: %d alerts, %d digests", ss->sent, ss->letters, ss->retried, ss->failed,
	    ss->in_doubt, ns->alerts, ns->digests);
	return rc;
}

/* One log line for a pass, ending with the audit chain's head. */
void
cycle_log(const char *what, time_t now, const struct plan_stats *ps,
    const struct send_stats *ss, double plan_ms)
{
	char at[32], head[STORE_AUDIT_HEAD_TEXT] = "audit head unknown";

	cal_format_instant(now, at);
	if (ps->head_read)
		store_audit_head_format(&ps->head, head);
	if (ss == NULL)
		log_info("%s %s: %d invoices examined; %d planned, %d held, %d rescheduled, "
		    "%d cancelled, %d escalated; %d errors; %.1f ms; %s", what, at, ps->invoices,
		    ps->planned, ps->held, ps->rescheduled, ps->cancelled, ps->escalated,
		    ps->errors, plan_ms, head);
	else
		log_info("%s %s: %d invoices examined; %d planned, %d held, %d rescheduled, "
		    "%d cancelled, %d escalated; %d sent, %d letters, %d retried, %d failed, "
		    "%d in doubt; %d errors; %s", what, at, ps->invoices, ps->planned, ps->held,
		    ps->rescheduled, ps->cancelled, ps->escalated, ss->sent, ss->letters,
		    ss->retried, ss->failed, ss->in_doubt, ps->errors + ss->errors, head);
}

/* `--once` and `--plan-only`. */
int
cycle_once(struct cycle *c, bool plan_only)
{
	time_t now = clock_now(c->clock);
	struct cycle_stats st;
	struct timespec t0;
	double plan_ms;

	if (plan_at(c, now, &st.plan, &plan_ms) < 0) {
		log_warnx("planning: %s", store_error(c->store));
		return -1;
	}
	if (plan_only) {
		cycle_log("planning pass", now, &st.plan, NULL, plan_ms);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cycle_send(c, &st.send, &st.notify) < 0)
		return -1;
	/* The head the sends moved the chain to (read after the pass: a
	 * failure there is the database's, the pass itself ran). */
	if (read_head(c, &st.plan) < 0)
		log_warnx("audit head: %s", store_error(c->store));
	log_debug("planning %.1f ms, sending %.1f ms", plan_ms, ms_since(&t0));
	cycle_log("cycle", now, &st.plan, &st.send, plan_ms);
	return 0;
}
