/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - esmtp-inspect-asa2conf: an ASA configuration (FILE, or the
 * standard input) in, the equivalent esmtp-inspect.conf on the standard
 * output (SPEC 10, esmtp-inspect-asa2conf(8)).
 *
 * The translation is common/asaconf.c; this file reads the input (at
 * most ASACONF_MAX_INPUT octets, so a FIFO or a device cannot make it
 * read for ever), writes the configuration, tells each line not
 * translated on stderr as "FILE:LINE: not translated: ...", and maps the
 * result to the exit status: 0 all translated, 1 some lines not
 * translated, 65 no ESMTP inspection in the input, 66 input unreadable
 * or not a configuration text, 64 usage, 71 out of memory, 74 output
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "asaconf.h"

#define PROGNAME	"esmtp-inspect-asa2conf"

static void
usage(FILE *fp)
{
	(void)fprintf(fp, "usage: %s [FILE]\n"
	    "  FILE           an ASA configuration (show running-config); "
	    "default: standard input\n"
	    "  -V, --version  print the version and exit\n"
	    "  -h, --help     print this help and exit\n"
	    "The esmtp-inspect.conf goes to standard output.  Exit 0: all "
	    "translated;\n1: some lines written as \"# not translated:\" "
	    "comments; 65: no ESMTP\ninspection in the input; 66: input "
	    "unreadable.\n", PROGNAME);
}

/* All of ${fp}, at most ASACONF_MAX_INPUT + 1 octets; NULL with errno. */
static char *
read_input(FILE *fp, size_t *len)
{
	char   *buf = NULL, *nb;
	size_t	cap = 0, n = 0, r;

	do {
		if (n == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > (size_t)ASACONF_MAX_INPUT + 1)
				cap = (size_t)ASACONF_MAX_INPUT + 1;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				errno = ENOMEM;
				return (NULL);
			}
			buf = nb;
		}
		n += (r = fread(buf + n, 1, cap - n, fp));
	} while (r > 0 && n <= ASACONF_MAX_INPUT);
	if (ferror(fp)) {
		free(buf);
		if (errno == 0)
			errno = EIO;
		return (NULL);
	}
	*len = n;
	return (buf);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct asaconf_result res;
	const char *path = "-", *name;
	char	ebuf[256], *text;
	size_t	len = 0, i;
	FILE   *fp;
	int	ch, status;

	while ((ch = getopt_long(argc, argv, "Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			(void)printf("%s %s\n", PROGNAME, VERSION);
			return (0);
		case 'h':
			usage(stdout);
			return (0);
		default:
			usage(stderr);
			return (EX_USAGE);
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return (EX_USAGE);
	}
	if (optind < argc)
		path = argv[optind];
	name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "r")) == NULL) {
		(void)fprintf(stderr, "%s: %s: %s\n", PROGNAME, name,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return (EX_NOINPUT);
	}
	errno = 0;
	text = read_input(fp, &len);
	if (fp != stdin)
		(void)fclose(fp);
	if (text == NULL) {
		(void)fprintf(stderr, "%s: %s: %s\n", PROGNAME, name,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return (errno == ENOMEM ? EX_OSERR : EX_NOINPUT);
	}
	if (asaconf_translate(text, len, &res) != 0) {
		free(text);
		asaconf_free(&res);
		(void)fprintf(stderr, "%s: out of memory\n", PROGNAME);
		return (EX_OSERR);
	}
	free(text);
	switch (res.status) {
	case ASACONF_REFUSED:
		(void)fprintf(stderr, "%s: %s: %s\n", PROGNAME, name, res.err);
		status = EX_NOINPUT;
		break;
	case ASACONF_NO_ESMTP:
		(void)fprintf(stderr, "%s: %s: no ESMTP inspection in the "
		    "input (no inspect esmtp, policy-map type inspect esmtp "
		    "or exemption)\n", PROGNAME, name);
		status = EX_DATAERR;
		break;
	default:
		(void)fwrite(res.conf, 1, res.conflen, stdout);
		for (i = 0; i < res.nuntr; i++)
			(void)fprintf(stderr, "%s:%d: not translated: %s (%s)\n",
			    name, res.untr[i].line, res.untr[i].text,
			    res.untr[i].why);
		status = res.status == ASACONF_OK ? 0 : 1;
		break;
	}
	asaconf_free(&res);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		(void)fprintf(stderr, "%s: standard output: %s\n", PROGNAME,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return (EX_IOERR);
	}
	return (status);
}
