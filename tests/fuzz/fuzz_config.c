/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_config.c - libFuzzer target for config_load(): the input is written
 * to a temporary file (config_load() reads a path, as the daemons do) and
 * loaded; a valid configuration is also printed, and the printed text must
 * load again (the -n round trip).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
remove_file(void)
{
	(void)unlink(path);
}

static int
write_file(const void *buf, size_t len)
{
	FILE   *fp = fopen(path, "w");

	if (fp == NULL)
		return (-1);
	if (len > 0 && fwrite(buf, 1, len, fp) != len) {
		fclose(fp);
		return (-1);
	}
	return (fclose(fp));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	err[CONFIG_ERR_MAX], *out = NULL;
	struct config *cfg;
	size_t	len = 0;
	FILE   *fp;

	if (path[0] == '\0') {
		int	fd;

		(void)snprintf(path, sizeof(path), "/tmp/fuzz_config.XXXXXX");
		if ((fd = mkstemp(path)) < 0)
			abort();
		close(fd);
		(void)atexit(remove_file);
	}
	if (write_file(data, size) != 0)
		abort();
	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL) {
		if (strncmp(err, path, strlen(path)) != 0)
			abort();		/* every error names the file */
		return (0);
	}
	if ((fp = open_memstream(&out, &len)) == NULL)
		abort();
	config_print(cfg, fp);
	fclose(fp);
	config_unref(cfg);
	if (write_file(out, len) != 0)
		abort();
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "-n output does not load: %s\n%s", err, out);
		abort();
	}
	config_unref(cfg);
	free(out);
	return (0);
}
