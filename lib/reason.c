/*
 * reason — the reasons' table (see reason.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"

static const struct {
	const char *code, *fr, *en;
} reasons[REASON_COUNT] = {
	[REASON_NONE] = { "", "", "" },
	[REASON_DUE] = { "due", "étape due", "stage due" },
	[REASON_NOT_DUE] = { "not_due", "étape pas encore due", "stage not due yet" },
	[REASON_MIN_GAP] = { "min_gap", "délai minimal après l'étape précédente",
	    "minimum gap after the previous stage" },
	[REASON_DISPUTE_CLEARED_GAP] = { "dispute_cleared_gap",
	    "délai minimal après la levée de la contestation",
	    "minimum gap after the dispute was cleared" },
	[REASON_PAUSED] = { "paused", "en pause", "paused" },
	[REASON_PAYMENT_GRACE] = { "payment_grace", "paiement reçu récemment (délai de grâce)",
	    "payment received recently (grace period)" },
	[REASON_SEND_WINDOW] = { "send_window", "hors de la plage d'envoi",
	    "outside the send window" },
	[REASON_STRATEGIC] = { "strategic_client", "client stratégique", "strategic client" },
	[REASON_THRESHOLD] = { "approval_threshold",
	    "montant égal ou supérieur au seuil d'approbation",
	    "balance at or above the approval threshold" },
	[REASON_STAGE_APPROVAL] = { "stage_requires_approval", "étape soumise à approbation",
	    "stage requires approval" },
	[REASON_NO_THRESHOLD] = { "no_threshold_for_currency",
	    "devise sans seuil d'approbation configuré",
	    "no approval threshold configured for the currency" },
	[REASON_AWAITING_APPROVAL] = { "awaiting_approval", "en attente de l'approbation d'un avocat",
	    "awaiting a lawyer's approval" },
	[REASON_APPROVED] = { "approved", "approuvée par un avocat", "approved by a lawyer" },
	[REASON_PAID] = { "paid", "payée", "paid" },
	[REASON_DISPUTED] = { "disputed", "contestée", "disputed" },
	[REASON_INVOICE_CANCELLED] = { "invoice_cancelled", "facture annulée",
	    "invoice cancelled" },
	[REASON_WRITTEN_OFF] = { "written_off", "facture passée en perte",
	    "invoice written off" },
	[REASON_BEING_SENT] = { "being_sent", "une relance est en cours d'envoi",
	    "a reminder is being sent" },
	[REASON_IN_DOUBT] = { "in_doubt",
	    "une relance est incertaine : l'exploitant doit trancher",
	    "a reminder is in doubt: the operator must resolve it" },
	[REASON_FAILED] = { "failed", "une relance a échoué : un avocat doit agir",
	    "a reminder failed: a lawyer must act" },
	[REASON_UNKNOWN_STAGE] = { "unknown_stage",
	    "une relance porte une étape que la configuration ne connaît plus",
	    "a reminder has a stage the configuration no longer knows" },
	[REASON_SEQUENCE_DONE] = { "sequence_done",
	    "toutes les étapes faites ; délai avant transmission à l'avocat",
	    "all stages done; waiting for the escalation delay" },
	[REASON_ESCALATION_DUE] = { "escalation_due",
	    "aucun paiement après la dernière étape : transmission à l'avocat",
	    "no payment after the last stage: hand over to the lawyer" },
	[REASON_REPORTED] = { "reported",
	    "le client a signalé un problème : un avocat doit décider",
	    "the client reported a problem: a lawyer must decide" },
	[REASON_ESCALATED] = { "escalated", "déjà transmise à l'avocat",
	    "already handed over to the lawyer" },
	[REASON_RETRY_BACKOFF] = { "retry_backoff",
	    "nouvel essai après un échec temporaire, pas avant son délai",
	    "retry after a temporary failure, not before its backoff" },
	[REASON_REJECTED] = { "rejected", "refusée par un avocat", "rejected by a lawyer" },
	[REASON_RESEND_REQUESTED] = { "resend_requested", "nouvel envoi demandé",
	    "sent again on request" },
	[REASON_MARKED_SENT] = { "marked_sent", "marquée envoyée par l'exploitant",
	    "marked sent by the operator" },
	[REASON_NO_EMAIL] = { "no_email", "le client n'a pas d'adresse électronique",
	    "the client has no e-mail address" },
	[REASON_INVALID_EMAIL] = { "invalid_email", "l'adresse électronique du client est invalide",
	    "the client's e-mail address is invalid" },
	[REASON_NO_POSTAL_ADDRESS] = { "no_postal_address", "le client n'a pas d'adresse postale",
	    "the client has no postal address" },
	[REASON_CONTROL_IN_NAME] = { "control_in_name", "un nom contient un caractère de contrôle",
	    "a name contains a line break or a control character" },
	[REASON_CONTROL_IN_ADDRESS] = { "control_in_address",
	    "l'adresse postale contient un caractère de contrôle",
	    "the postal address contains a line break or a control character" },
	[REASON_CONTROL_IN_NUMBER] = { "control_in_number",
	    "un numéro de facture ou une référence contient un caractère de contrôle",
	    "an invoice number or reference contains a control character" },
	[REASON_INVALID_TEXT] = { "invalid_text",
	    "un nom, une adresse ou un numéro n'est pas du texte UTF-8 valide",
	    "a name, an address or a number is not valid UTF-8 text" },
	[REASON_PAYMENT_URL_REFUSED] = { "payment_url_refused",
	    "le lien de paiement de la facture n'est pas une adresse https:// sûre",
	    "the invoice's payment link is not a safe https:// address" },
	[REASON_NOT_COMPOSED] = { "not_composed", "le message n'a pas pu être composé",
	    "the message could not be composed" },
	[REASON_ATTACHMENT_REFUSED] = { "attachment_refused",
	    "le PDF de la facture ne peut pas être joint",
	    "the invoice's PDF cannot be attached" },
	[REASON_NO_CHANNEL] = { "no_channel", "aucun moyen d'envoi pour le canal de l'étape",
	    "no driver for the stage's channel" },
	[REASON_RELAY_REFUSED] = { "relay_refused", "refus du serveur de messagerie",
	    "refused by the mail server" },
	[REASON_SESSION_REFUSED] = { "session_refused",
	    "le serveur de messagerie refuse la session du cabinet (identifiants ou "
	    "expéditeur), rien n'est parti",
	    "the mail server refuses the firm's session (credentials or sender): "
	    "nothing was sent" },
	[REASON_GAVE_UP] = { "gave_up", "abandon après plusieurs tentatives",
	    "gave up after repeated attempts" },
	[REASON_NO_ANSWER_AFTER_DATA] = { "no_answer_after_data",
	    "pas de réponse du serveur après l'envoi du message",
	    "no answer from the mail server after the message was handed over" },
	[REASON_LEASE_EXPIRED] = { "lease_expired",
	    "l'expéditeur s'est arrêté pendant l'envoi",
	    "the sender stopped while sending" },
	[REASON_SIGNATURE_URL_REFUSED] = { "signature_url_refused",
	    "le lien de signature de la convention n'est pas une adresse https:// sûre",
	    "the agreement's signature link is not a safe https:// address" },
	[REASON_AGREEMENT_SIGNED] = { "agreement_signed", "la convention a été signée",
	    "the agreement was signed" },
	[REASON_STAGE_SKIPPED] = { "stage_skipped",
	    "l'étape suivante était déjà due : une seule relance part",
	    "the next stage was already due: only one reminder leaves" },
	/* Payment plans (rule 11). */
	[REASON_PLAN_ACTIVE] = { "plan_active",
	    "échéancier en cours : relances suspendues",
	    "payment plan in progress: reminders suspended" },
	[REASON_PLAN_ENDED_GAP] = { "plan_ended_gap",
	    "délai minimal après la rupture ou l'annulation de l'échéancier",
	    "minimum gap after the payment plan was broken or cancelled" },
};

/* The code stored for R. */
const char *
reason_code(enum reason r)
{
	return r > REASON_NONE && r < REASON_COUNT ? reasons[r].code : "";
}

/* The reason whose code is CODE. */
enum reason
reason_of(const char *code)
{
	for (int r = REASON_NONE + 1; code != NULL && r < REASON_COUNT; r++)
		if (strcmp(code, reasons[r].code) == 0)
			return (enum reason)r;
	return REASON_NONE;
}

/* R in words, English or French. */
const char *
reason_text(enum reason r, bool en)
{
	if (r <= REASON_NONE || r >= REASON_COUNT)
		return "";
	return en ? reasons[r].en : reasons[r].fr;
}

/* R in words, with the attempts and the detail: see reason.h. */
char *
reason_say(enum reason r, bool en, int attempts, const char *detail)
{
	char head[256], *out;
	const char *sep = en ? ": " : " : ";

	if (r == REASON_GAVE_UP)
		snprintf(head, sizeof(head), en ? "gave up after %d attempts" :
		    "abandon après %d tentatives", attempts);
	else
		snprintf(head, sizeof(head), "%s", reason_text(r, en));
	if (detail == NULL || *detail == '\0')
		return strdup(head);
	if (head[0] == '\0')
		return strdup(detail);
	if (asprintf(&out, "%s%s%s", head, sep, detail) < 0)
		return NULL;
	return out;
}
