/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * leanmilter.c - the floor any policy milter pays in a Postfix: a
 * libmilter milter that does nothing and asks the MTA for no reply it
 * does not need (SMFIP_NR_CONN, NR_HDR, NR_BODY) and for no step it does
 * not use (NOHELO, NOUNKNOWN).  It answers MAIL, RCPT, DATA, end of
 * headers and end of message, as a milter that decides at those points
 * must.  With -d it also leaves DATA out (SMFIP_NODATA), which Postfix 3.7
 * turns into a slower acceptance, not a faster one: postfixbench shows
 * both.  tests/bench/postfixbench measures esmtp-inspect-milter against
 * them.
 *
 *	leanmilter [-d] inet:PORT@127.0.0.1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

static int lean_nodata;		/* -d */

static sfsistat
lean_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx;
	(void)f0;
	(void)f2;
	(void)f3;
	*pf0 = 0;
	*pf1 = f1 & (SMFIP_NR_CONN | SMFIP_NR_HDR | SMFIP_NR_BODY |
	    SMFIP_NOHELO | SMFIP_NOUNKNOWN | (lean_nodata ? SMFIP_NODATA : 0));
	*pf2 = 0;
	*pf3 = 0;
	return (SMFIS_CONTINUE);
}

static sfsistat
lean_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
	(void)ctx;
	(void)host;
	(void)sa;
	return (SMFIS_NOREPLY);
}

static sfsistat
lean_envelope(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return (SMFIS_CONTINUE);
}

static sfsistat
lean_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return (SMFIS_NOREPLY);
}

static sfsistat
lean_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return (SMFIS_NOREPLY);
}

static sfsistat
lean_continue(SMFICTX *ctx)
{
	(void)ctx;
	return (SMFIS_CONTINUE);
}

static char lean_name[] = "leanmilter";

static struct smfiDesc lean = {
	.xxfi_name = lean_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = lean_connect,
	.xxfi_envfrom = lean_envelope,
	.xxfi_envrcpt = lean_envelope,
	.xxfi_header = lean_header,
	.xxfi_eoh = lean_continue,
	.xxfi_body = lean_body,
	.xxfi_eom = lean_continue,
	.xxfi_negotiate = lean_negotiate,
};

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-d") == 0) {
		lean_nodata = 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: leanmilter [-d] inet:PORT@HOST\n");
		return (64);
	}
	if (smfi_setconn(argv[1]) != MI_SUCCESS ||
	    smfi_register(lean) != MI_SUCCESS) {
		fprintf(stderr, "leanmilter: cannot set up %s\n", argv[1]);
		return (70);
	}
	return (smfi_main() == MI_SUCCESS ? 0 : 70);
}
