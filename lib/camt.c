/*
 * camt — ISO 20022 bank-to-customer statements (camt.053, BkToCstmrStmt)
 * and debit/credit notifications (camt.054, BkToCstmrDbtCdtNtfctn), any
 * version of the message (001.02 to 001.08 and later: the elements read
 * here kept their names and places), read with libxml2.
 *
 * Safe with a file from anywhere: no network (XML_PARSE_NONET), no entity
 * substitution (no XML_PARSE_NOENT), no DTD loaded, and a document that
 * declares one refused; libxml2's own limits (depth, text size) stay on
 * (no XML_PARSE_HUGE); the size is bounded by stmt_parse.
 *
 * Each booked credit entry (CdtDbtInd CRDT, Sts BOOK, not a reversal) is
 * one credit, or one per transaction when it carries several (a batch),
 * each with its own amount; the reference is the bank's (AcctSvcrRef, else
 * NtryRef, else the statement's Id and the entry's rank), a transaction's
 * suffixed with its own.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "money.h"
#include "statement.h"

#define NS_PREFIX "urn:iso:std:iso:20022:tech:xsd:"

/* The first element child of N called NAME (local name), or NULL. */
static xmlNode *
child(const xmlNode *n, const char *name)
{
	if (n == NULL)
		return NULL;
	for (xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* The element at the PATH of names under N ("A/B/C"), or NULL. */
static xmlNode *
path(const xmlNode *n, const char *p)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", p);
	for (char *tok = strtok_r(buf, "/", &save); tok != NULL && n != NULL;
	    tok = strtok_r(NULL, "/", &save))
		n = child(n, tok);
	return (xmlNode *)n;
}

/* The cleaned text of N (stmt_text), or NULL. */
static char *
text(const xmlNode *n)
{
	xmlChar *t;
	char *s;

	if (n == NULL || (t = xmlNodeGetContent(n)) == NULL)
		return NULL;
	s = stmt_text((const char *)t, strlen((const char *)t));
	xmlFree(t);
	return s;
}

/* Does the text of N equal WANT? */
static bool
text_is(const xmlNode *n, const char *want)
{
	char *t = text(n);
	bool is = t != NULL && strcmp(t, want) == 0;

	free(t);
	return is;
}

/* Append the text of N to *ACC, a space between. */
static void
append(char **acc, const xmlNode *n)
{
	char *t = text(n), *both;

	if (t == NULL)
		return;
	if (*acc == NULL) {
		*acc = t;
		return;
	}
	if ((both = malloc(strlen(*acc) + strlen(t) + 2)) != NULL) {
		sprintf(both, "%s %s", *acc, t);
		free(*acc);
		*acc = both;
	}
	free(t);
}

/* The texts of every Ref and Nb under N (structured remittance: the
 * creditor's reference, the referred documents' numbers), into *ACC. */
static void
append_refs(char **acc, const xmlNode *n)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)c->name, "Ref") == 0 ||
		    strcmp((const char *)c->name, "Nb") == 0)
			append(acc, c);
		else
			append_refs(acc, c);
	}
}

/* An amount element: its cents (> 0) and currency; -1 when malformed. */
static int
amount(const xmlNode *n, int64_t *cents, char cur[4])
{
	char *t = text(n);
	xmlChar *ccy;
	int rc = -1;

	if (t != NULL && money_parse(t, cents) == 0 && *cents > 0 &&
	    (ccy = xmlGetProp(n, (const xmlChar *)"Ccy")) != NULL) {
		if (strlen((const char *)ccy) == 3 &&
		    strspn((const char *)ccy, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3) {
			memcpy(cur, ccy, 4);
			rc = 0;
		}
		xmlFree(ccy);
	}
	free(t);
	return rc;
}

/* The details of transaction TX (may be NULL) into E. */
static void
tx_details(const xmlNode *tx, const xmlNode *ntry, struct stmt_entry *e)
{
	const xmlNode *rmt, *dbtr;
	char *iban;

	append(&e->remittance, child(ntry, "AddtlNtryInf"));
	if (tx == NULL)
		return;
	e->end_to_end = text(path(tx, "Refs/EndToEndId"));
	if (e->end_to_end != NULL && strcmp(e->end_to_end, "NOTPROVIDED") == 0) {
		free(e->end_to_end);
		e->end_to_end = NULL;
	}
	dbtr = path(tx, "RltdPties/Dbtr");
	/* 001.08 puts the party under Pty */
	e->debtor_name = text(child(dbtr, "Nm") ? child(dbtr, "Nm") : path(dbtr, "Pty/Nm"));
	if ((iban = text(path(tx, "RltdPties/DbtrAcct/Id/IBAN"))) != NULL) {
		e->debtor_iban = stmt_iban(iban);
		free(iban);
	}
	if ((rmt = child(tx, "RmtInf")) != NULL) {
		for (xmlNode *c = rmt->children; c != NULL; c = c->next)
			if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "Ustrd") == 0)
				append(&e->remittance, c);
		for (xmlNode *c = rmt->children; c != NULL; c = c->next)
			if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "Strd") == 0)
				append_refs(&e->remittance, c);
	}
	append(&e->remittance, child(tx, "AddtlTxInf"));
}

/* One entry NTRY, the K-th of statement STMT_ID: its credits into ST. */
static int
entry(const xmlNode *ntry, const char *stmt_id, size_t k, struct stmt *st)
{
	const xmlNode *txs[512], *booked;
	size_t ntx = 0;
	char *ref, *d;
	struct stmt_entry base = { 0 };

	if (!text_is(child(ntry, "CdtDbtInd"), "CRDT") || text_is(child(ntry, "RvslInd"), "true") ||
	    !text_is(child(ntry, "Sts"), "BOOK")) {
		st->debits++;
		return 0;
	}
	if (amount(child(ntry, "Amt"), &base.cents, base.currency) < 0) {
		snprintf(st->err, sizeof(st->err), "entry %zu of statement %s: no positive "
		    "amount with its currency (Amt Ccy=\"EUR\")", k, stmt_id);
		return -1;
	}
	booked = path(ntry, "BookgDt/Dt") ? path(ntry, "BookgDt/Dt") : path(ntry, "BookgDt/DtTm");
	if (booked == NULL)
		booked = path(ntry, "ValDt/Dt");
	d = text(booked);
	if (d == NULL || strlen(d) < 10 || d[4] != '-' || d[7] != '-') {
		free(d);
		snprintf(st->err, sizeof(st->err), "entry %zu of statement %s: no booking date",
		    k, stmt_id);
		return -1;
	}
	memcpy(base.booked_on, d, 10);
	base.booked_on[10] = '\0';
	free(d);
	if ((ref = text(child(ntry, "AcctSvcrRef"))) == NULL &&
	    (ref = text(child(ntry, "NtryRef"))) == NULL) {
		if ((ref = malloc(strlen(stmt_id) + 24)) == NULL)
			return -1;
		sprintf(ref, "%s/%zu", stmt_id, k);
	}
	for (xmlNode *dt = ntry->children; dt != NULL; dt = dt->next) {
		if (dt->type != XML_ELEMENT_NODE || strcmp((const char *)dt->name, "NtryDtls") != 0)
			continue;
		for (xmlNode *tx = dt->children; tx != NULL; tx = tx->next)
			if (tx->type == XML_ELEMENT_NODE &&
			    strcmp((const char *)tx->name, "TxDtls") == 0 &&
			    ntx < sizeof(txs) / sizeof(txs[0]))
				txs[ntx++] = tx;
	}
	/* A batch: one credit per transaction, each with its own amount;
	 * one without its amount makes the whole entry one credit. */
	if (ntx > 1) {
		bool all = true;
		int64_t c;
		char cur[4];

		for (size_t i = 0; i < ntx && all; i++)
			all = amount(path(txs[i], "AmtDtls/TxAmt/Amt"), &c, cur) == 0 ||
			    amount(child(txs[i], "Amt"), &c, cur) == 0;
		if (all) {
			for (size_t i = 0; i < ntx; i++) {
				struct stmt_entry e = base;
				char *own = text(path(txs[i], "Refs/AcctSvcrRef"));

				if (amount(path(txs[i], "AmtDtls/TxAmt/Amt"), &e.cents, e.currency) < 0)
					amount(child(txs[i], "Amt"), &e.cents, e.currency);
				if ((e.ref = malloc(strlen(ref) + (own ? strlen(own) : 20) + 2)) == NULL) {
					free(own);
					free(ref);
					return -1;
				}
				if (own != NULL)
					sprintf(e.ref, "%s/%s", ref, own);
				else
					sprintf(e.ref, "%s/%zu", ref, i + 1);
				free(own);
				tx_details(txs[i], ntry, &e);
				if (stmt_add(st, &e) < 0) {
					free(ref);
					return -1;
				}
			}
			free(ref);
			return 0;
		}
	}
	base.ref = ref;
	tx_details(ntx == 1 ? txs[0] : NULL, ntry, &base);
	return stmt_add(st, &base);
}

/* Read a camt.053 or camt.054 document: see statement.h. */
int
stmt_parse_camt(const char *buf, size_t len, struct stmt *out)
{
	xmlParserCtxtPtr ctx;
	xmlDoc *doc;
	xmlNode *root, *msg;
	const char *ns, *box, *item;
	int rc = -1;

	if ((ctx = xmlNewParserCtxt()) == NULL) {
		strcpy(out->err, "out of memory");
		return -1;
	}
	doc = xmlCtxtReadMemory(ctx, buf, (int)len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctx);

		snprintf(out->err, sizeof(out->err), "not well-formed XML (line %d: %s)",
		    e ? e->line : 0, e && e->message ? e->message : "?");
		out->err[strcspn(out->err, "\n")] = '\0';
		xmlFreeParserCtxt(ctx);
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		strcpy(out->err, "a DOCTYPE in a bank statement: refused (ISO 20022 has none)");
		goto out;
	}
	ns = root != NULL && root->ns != NULL ? (const char *)root->ns->href : "";
	if (root == NULL || strcmp((const char *)root->name, "Document") != 0 ||
	    strncmp(ns, NS_PREFIX, strlen(NS_PREFIX)) != 0) {
		strcpy(out->err, "XML, but not an ISO 20022 Document");
		goto out;
	}
	ns += strlen(NS_PREFIX);
	if (strncmp(ns, "camt.053.", 9) == 0) {
		out->format = "camt.053";
		box = "BkToCstmrStmt";
		item = "Stmt";
	} else if (strncmp(ns, "camt.054.", 9) == 0) {
		out->format = "camt.054";
		box = "BkToCstmrDbtCdtNtfctn";
		item = "Ntfctn";
	} else {
		snprintf(out->err, sizeof(out->err), "ISO 20022 %.40s: only camt.053 and camt.054 "
		    "are bank statements read here", ns);
		goto out;
	}
	if ((msg = child(root, box)) == NULL) {
		snprintf(out->err, sizeof(out->err), "%s without %s", out->format, box);
		goto out;
	}
	for (xmlNode *s = msg->children; s != NULL; s = s->next) {
		char *id;
		size_t k = 0;

		if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name, item) != 0)
			continue;
		if ((id = text(child(s, "Id"))) == NULL) {
			snprintf(out->err, sizeof(out->err), "a %s without its Id", item);
			goto out;
		}
		for (xmlNode *n = s->children; n != NULL; n = n->next) {
			if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Ntry") != 0)
				continue;
			if (entry(n, id, ++k, out) < 0) {
				if (out->err[0] == '\0')
					strcpy(out->err, "out of memory");
				free(id);
				goto out;
			}
		}
		free(id);
	}
	rc = 0;
out:
	if (rc < 0)
		stmt_free(out);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctx);
	return rc;
}
