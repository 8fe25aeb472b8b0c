/*
 * template_int — what the template's files share and nobody else sees: the
 * parsed tree (built by template.c, walked by template_render.c), the
 * limits, and two small helpers both use.
 */
#ifndef DUNNING_TEMPLATE_INT_H
#define DUNNING_TEMPLATE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "template.h"

#define TEMPLATE_MAX_NESTING		100	/* sections in sections */
#define TEMPLATE_MAX_PARTIAL_DEPTH	32	/* partials in partials */
/* One render's work: sections over lists nested in each other (or a
 * partial recursing over one) multiply, and an operator's template must
 * never render for ever nor fill the memory.  A lawyer's digest of 5 000
 * items takes about 300 000 steps and writes about 2 MiB. */
#define TEMPLATE_MAX_LIST_NESTING	3	/* template_check: lists in lists */
#define TEMPLATE_MAX_STEPS		(8 << 20)	/* nodes visited */
#define TEMPLATE_MAX_OUTPUT		(16 << 20)	/* bytes written */

enum template_node_kind {
	TEMPLATE_TEXT,
	TEMPLATE_VAR,		/* {{name}}: escaped in HTML mode */
	TEMPLATE_RAW,		/* {{{name}}} and {{&name}} */
	TEMPLATE_SECTION,
	TEMPLATE_INVERTED,
	TEMPLATE_PARTIAL
};

struct template_node {
	enum template_node_kind	 kind;
	unsigned		 line;
	const char		*text;		/* text: into template->src */
	size_t			 len;		/* text: bytes; else name length */
	char			*name;		/* as written, then the dot-split parts */
	size_t			 nparts;	/* 0 for the implicit iterator "." */
	char			*indent;	/* standalone partial: its indentation */
	struct template_node	*kids;		/* sections: the body */
	size_t			 nkids, capkids;
};

struct template {
	char			*src;
	struct template_node	 root;
};

/* Fill ERR, if not NULL, with KIND at LINE about the name S (N bytes; S
 * NULL: none). */
void template_fail(struct template_error *err, enum template_error_kind kind,
    unsigned line, const char *s, size_t n);

/* Return the array P of SIZE-byte items grown to hold more than N of them,
 * or NULL (P untouched) when out of memory. */
void *template_grow(void *p, size_t *cap, size_t n, size_t size);

#endif
