/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_asaconf.c - libFuzzer target for asaconf_translate(), the ASA
 * configuration reader of esmtp-inspect-asa2conf.  Beyond not crashing:
 * the status and the result agree (a configuration exactly for OK and
 * PARTIAL, not-translated lines exactly for PARTIAL), the configuration
 * is printable ASCII, and it loads through config_load() (what -n does)
 * whenever it names only rules the loader of this build knows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asaconf.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
remove_file(void)
{
	(void)unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct asaconf_result res;
	struct config *cfg;
	char	err[CONFIG_ERR_MAX];
	size_t	i;
	FILE   *fp;

	if (path[0] == '\0') {
		int	fd;

		(void)snprintf(path, sizeof(path), "/tmp/fuzz_asaconf.XXXXXX");
		if ((fd = mkstemp(path)) < 0)
			abort();
		close(fd);
		(void)atexit(remove_file);
	}
	if (asaconf_translate((const char *)data, size, &res) != 0)
		abort();			/* no allocation fails here */
	switch (res.status) {
	case ASACONF_OK:
	case ASACONF_PARTIAL:
		if (res.conf == NULL || strlen(res.conf) != res.conflen ||
		    (res.nuntr > 0) != (res.status == ASACONF_PARTIAL))
			abort();
		break;
	case ASACONF_NO_ESMTP:
		if (res.conf != NULL || res.nuntr != 0)
			abort();
		break;
	case ASACONF_REFUSED:
		if (res.conf != NULL || res.err[0] == '\0')
			abort();
		break;
	default:
		abort();
	}
	if (res.conf == NULL) {
		asaconf_free(&res);
		return (0);
	}
	for (i = 0; i < res.conflen; i++)
		if (res.conf[i] != '\n' && (res.conf[i] < 0x20 ||
		    res.conf[i] > 0x7e))
			abort();
	if ((fp = fopen(path, "w")) == NULL ||
	    fwrite(res.conf, 1, res.conflen, fp) != res.conflen ||
	    fclose(fp) != 0)
		abort();
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "the output does not load: %s\n%s", err,
		    res.conf);
		abort();
	}
	config_unref(cfg);
	asaconf_free(&res);
	return (0);
}
