/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_msgfile.c - libFuzzer target for milter -t's reading of a message
 * file (msgfile.c) and of header address lists (addr_list() in addr.c).
 *
 * The input is a message file.  msgfile_parse() must give fields whose
 * names are printable ASCII without white space or colon, whose values
 * hold no NUL and continue only on lines starting with space or tab, no
 * longer than the header limit unless dropped; a body of CRLF lines.
 * Fed to msgfile_feed() in three pieces (cut where the input's first
 * octets say), the message must read the same.
 * msgfile_envelope() must give a sender and non-empty recipients.  Then
 * the whole input is an address list for addr_list(), with a buffer of
 * exactly its length (ASan sees any overrun).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "msgfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t	n;
	size_t	max;			/* the input's length */
};

static int
check_addr(void *arg, const char *addr, size_t len)
{
	struct seen *s = arg;

	if (len > s->max || (len > 0 && addr == NULL))
		abort();
	s->n++;
	return (0);
}

static void
check_field(const struct msgfile_field *f)
{
	size_t	i;

	if (f->namelen == 0 || strlen(f->name) != f->namelen ||
	    strlen(f->value) != f->valuelen)
		abort();
	for (i = 0; i < f->namelen; i++)
		if ((unsigned char)f->name[i] <= ' ' ||
		    (unsigned char)f->name[i] > 0x7e || f->name[i] == ':')
			abort();
	for (i = 0; i < f->valuelen; i++)
		if (f->value[i] == '\n' && (i + 1 == f->valuelen ||
		    (f->value[i + 1] != ' ' && f->value[i + 1] != '\t')))
			abort();
	if (!f->dropped && f->namelen + 1 + f->valuelen > MSGFILE_HEADER_LIMIT)
		abort();
}

/* ${m} and ${n} are the same message. */
static void
check_same(const struct msgfile *m, const struct msgfile *n)
{
	size_t	i;

	if (m->nfield != n->nfield || m->bodylen != n->bodylen ||
	    m->refused != n->refused ||
	    (m->bodylen > 0 && memcmp(m->body, n->body, m->bodylen) != 0))
		abort();
	for (i = 0; i < m->nfield; i++)
		if (strcmp(m->field[i].name, n->field[i].name) != 0 ||
		    strcmp(m->field[i].value, n->field[i].value) != 0 ||
		    m->field[i].dropped != n->field[i].dropped)
			abort();
}

/* ${m} read again from the ${size} octets at ${msg}, in three pieces. */
static void
check_pieces(const struct msgfile *m, const char *msg, size_t size)
{
	struct msgfile_reader *r;
	struct msgfile n;
	size_t	a = 0, b = 0;

	if (size >= 2) {
		a = ((unsigned char)msg[0] * 257u) % (size + 1);
		b = a + ((unsigned char)msg[1] * 131u) % (size - a + 1);
	}
	if ((r = msgfile_open()) == NULL ||
	    msgfile_feed(r, msg, a) != NULL ||
	    msgfile_feed(r, msg + a, b - a) != NULL ||
	    msgfile_feed(r, msg + b, size - b) != NULL ||
	    msgfile_close(r, &n) != NULL)
		abort();
	check_same(m, &n);
	msgfile_free(&n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copies so ASan sees any read or write past the length. */
	char   *msg = malloc(size ? size : 1), *buf = malloc(size ? size : 1);
	struct msgfile m;
	struct msgfile_env env;
	struct seen s = { 0, 0 };
	size_t	i;

	if (msg == NULL || buf == NULL)
		abort();
	memcpy(msg, data, size);
	if (msgfile_parse(&m, msg, size) != NULL)
		abort();
	for (i = 0; i < m.nfield; i++)
		check_field(&m.field[i]);
	check_pieces(&m, msg, size);
	/* Each line gains at most its CRLF. */
	if (m.bodylen > 2 * size + 2 ||
	    (m.bodylen > 0 && (m.bodylen < 2 || m.body[m.bodylen - 2] != '\r' ||
	    m.body[m.bodylen - 1] != '\n')))
		abort();
	if (msgfile_envelope(&m, &env) != NULL || env.sender == NULL)
		abort();
	for (i = 0; i < env.nrcpt; i++)
		if (env.rcpt[i] == NULL || env.rcpt[i][0] == '\0')
			abort();
	msgfile_env_free(&env);
	msgfile_free(&m);

	s.max = size;
	if (addr_list(msg, size, buf, check_addr, &s) != s.n)
		abort();
	free(buf);
	free(msg);
	return (0);
}
