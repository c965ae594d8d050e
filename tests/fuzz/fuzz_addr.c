/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_addr.c - libFuzzer target for the untrusted-address path: the input
 * is a MAIL/RCPT argument, fed to addr_strip(), addr_badchars(),
 * audit_escape() and audit_format_rule() as the milter does, checking the
 * invariants each one promises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "audit.h"
#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy so ASan sees any read past the length. */
	char   *arg = malloc(size ? size : 1);
	const char *addr;
	size_t	addrlen, bad, n, i, small;
	unsigned char first = 0;
	char	esc[AUDIT_VALUE_MAX * 4 + 4], line[AUDIT_LINE_MAX], tiny[16];
	struct audit_rule ev;

	if (arg == NULL)
		return (0);
	memcpy(arg, data, size);

	addr_strip(arg, size, &addr, &addrlen);
	if (size > 0 && (addr < arg || addr + addrlen > arg + size))
		abort();

	bad = addr_badchars(arg, size, &first);
	if (bad > size)
		abort();

	n = audit_escape(esc, sizeof(esc), arg, size);
	if (n != strlen(esc) || n >= sizeof(esc))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)esc[i] < 0x20 || (unsigned char)esc[i] > 0x7e ||
		    esc[i] == '"')
			abort();

	/* A small buffer sized by the input: still terminated, never overrun. */
	small = 1 + (size ? data[0] % sizeof(tiny) : 0);
	n = audit_escape(tiny, small, arg, size);
	if (n >= small || n != strlen(tiny))
		abort();

	memset(&ev, 0, sizeof(ev));
	ev.id = NULL;
	ev.rule = bad ? POLICY_ADDRESS_CHARACTERS : POLICY_SENDER_LENGTH;
	ev.action = (enum policy_action)(size % POLICY_NACTIONS);
	ev.value = bad ? (long long)bad : (long long)addrlen;
	ev.limit = 320;
	ev.stage = "mail";
	ev.client_name = size > 0 && arg[0] == 'x' ? NULL : "unknown";
	ev.client_addr = "192.0.2.1";
	ev.client_port = 25;
	ev.from = addr;
	ev.from_len = addrlen;
	ev.rcpt = arg;
	ev.rcpt_len = size;
	ev.header = arg;
	ev.header_len = size;
	ev.monitor = (int)(size & 1);
	if (bad) {
		ev.detail = (const char *)&first;
		ev.detail_len = 1;
	}
	n = audit_format_rule(line, sizeof(line), &ev);
	if (n != strlen(line) || n >= sizeof(line))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			abort();
	(void)audit_format_rule(tiny, small, &ev);
	if (strlen(tiny) >= small)
		abort();

	free(arg);
	return (0);
}
