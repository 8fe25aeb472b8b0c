/*
 * template_int — what the template's files share and nobody else sees: the
 * parsed tree (built by template.c, walked by template_render.c) and two
 * small helpers both use.
 */
#ifndef DUNNING_TEMPLATE_INT_H
#define DUNNING_TEMPLATE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "template.h"

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

/* Write a formatted message into the caller's error buffer, if any. */
__attribute__((format(printf, 3, 4)))
void template_seterr(char *err, size_t errlen, const char *fmt, ...);

/* Return the array P of SIZE-byte items grown to hold more than N of them,
 * or NULL (P untouched) when out of memory. */
void *template_grow(void *p, size_t *cap, size_t n, size_t size);

#endif
