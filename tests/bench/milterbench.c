/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * milterbench - drive a milter over the real milter protocol and time it.
 *
 *   milterbench [-n COUNT] [-s BODYSIZE] [-W] [-p PID] [-q] SOCKET
 *
 * SOCKET is a libmilter spec: inet:PORT@HOST, inet6:PORT@ADDR or
 * unix:/path (local:/path).  One connection per run, one core, no threads:
 * OPTNEG (version 6, every action, protocol 0x1fffff: all skips, all
 * no-reply flags, SMFIP_HDR_LEADSPC), CONNECT, then COUNT messages of
 * MACRO i, MAIL, RCPT, ~15 HEADERs (one a folded DKIM-Signature), EOH,
 * BODY in chunks of 65535 octets and EOM, then QUIT.  The body is
 * multipart/mixed: a text part and a base64 attachment that fills it to
 * exactly BODYSIZE octets (CRLF line ends, as an MTA sends it).
 *
 * The driver obeys the milter's OPTNEG reply: steps it skips are not sent,
 * steps with an NR flag are not answered, SMFIP_HDR_LEADSPC keeps the space
 * after the colon in header values, and an 's' (skip) reply to a body chunk
 * ends the body early.  Any reply other than continue/accept (or skip)
 * counts the message as refused; the run goes on with the next MAIL.
 *
 * -W sends one untimed warm-up message of 4096 octets first; -p PID reads
 * VmRSS and VmHWM of PID from /proc after the warm-up and after the last
 * message, on the same open connection.  Output: a human line on stderr
 * (unless -q) and one key=value line on stdout for scripts.  Exit 0 when
 * the protocol exchange worked (refused messages included), 1 otherwise.
 */

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Milter protocol constants (libmilter/mfdef.h), copied to stay standalone. */
#define MB_VERSION	6
#define MB_ACTIONS	0x1ffUL		/* SMFIF_ADDHDRS .. SMFIF_SETSYMLIST */
#define MB_PROTOCOL	0x1fffffUL	/* all NO*, NR_*, SKIP, RCPT_REJ, HDR_LEADSPC */
#define P_NOCONNECT	0x00000001UL
#define P_NOHELO	0x00000002UL
#define P_NOMAIL	0x00000004UL
#define P_NORCPT	0x00000008UL
#define P_NOBODY	0x00000010UL
#define P_NOHDRS	0x00000020UL
#define P_NOEOH		0x00000040UL
#define P_NR_HDR	0x00000080UL
#define P_NR_CONN	0x00001000UL
#define P_NR_MAIL	0x00004000UL
#define P_NR_RCPT	0x00008000UL
#define P_NR_EOH	0x00040000UL
#define P_NR_BODY	0x00080000UL
#define P_HDR_LEADSPC	0x00100000UL

#define CHUNK		65535		/* MILTER_CHUNK_SIZE */
#define MAXREPLY	(1024 * 1024)
#define IO_TIMEOUT	120		/* seconds per read or write */

enum reply { R_CONTINUE, R_ACCEPT, R_SKIP, R_REFUSE, R_ERROR };

struct hdr {
	const char *name;
	const char *value;		/* without the leading space */
};

struct bench {
	int	fd;
	unsigned long proto;		/* the milter's protocol flags */
	unsigned long long refused;	/* messages refused by the milter */
	unsigned long long bodyskips;	/* body cut short by 's' */
	unsigned long long bodysent;	/* body octets actually sent */
	char	*pkt;			/* outgoing packet buffer */
	size_t	pktcap;
	unsigned char *rbuf;		/* incoming reply buffer */
	int	quiet;
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("milterbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Write all of buf; -1 on error or timeout. */
static int
writeall(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Read exactly len octets; -1 on error, timeout or EOF. */
static int
readall(int fd, void *buf, size_t len)
{
	char	*p = buf;
	ssize_t	n;

	while (len > 0) {
		if ((n = read(fd, p, len)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Send packet cmd with data (len octets). */
static void
sendpkt(struct bench *b, char cmd, const void *data, size_t len)
{
	unsigned char head[5];

	put32(head, (uint32_t)(len + 1));
	head[4] = (unsigned char)cmd;
	/* Small packets go out in one write, big body chunks in two. */
	if (len <= 4096) {
		memcpy(b->pkt, head, 5);
		if (len > 0)
			memcpy(b->pkt + 5, data, len);
		if (writeall(b->fd, b->pkt, len + 5) != 0)
			die("write '%c': %s", cmd, strerror(errno));
		return;
	}
	if (writeall(b->fd, head, 5) != 0 || writeall(b->fd, data, len) != 0)
		die("write '%c': %s", cmd, strerror(errno));
}

/*
 * Read one reply packet; returns its command octet and sets *len and the
 * data in b->rbuf.
 */
static int
readpkt(struct bench *b, size_t *len)
{
	unsigned char head[5];
	uint32_t n;

	if (readall(b->fd, head, 5) != 0)
		die("read reply: %s", errno ? strerror(errno) : "EOF");
	n = get32(head);
	if (n < 1 || n > MAXREPLY)
		die("reply length %" PRIu32 " out of range", n);
	*len = n - 1;
	if (*len > 0 && readall(b->fd, b->rbuf, *len) != 0)
		die("read reply data: %s", errno ? strerror(errno) : "EOF");
	return (head[4]);
}

/*
 * Read replies up to a final one.  At EOM modifications (h, m, i, ...)
 * and progress (p) come first; they are read and ignored.
 */
static enum reply
reply(struct bench *b, const char *what)
{
	size_t	len;
	int	c;

	for (;;) {
		switch ((c = readpkt(b, &len))) {
		case 'c':
			return (R_CONTINUE);
		case 'a':
			return (R_ACCEPT);
		case 's':
			return (R_SKIP);
		case 'r': case 't': case 'd': case 'y': case '4': case 'f':
			if (!b->quiet)
				fprintf(stderr, "milterbench: %s refused: '%c' "
				    "%.*s\n", what, c, (int)(len > 200 ? 200 : len),
				    (const char *)b->rbuf);
			return (R_REFUSE);
		case 'p': case '+': case '-': case '2': case 'b': case 'e':
		case 'h': case 'i': case 'm': case 'q':
			continue;
		default:
			die("%s: unexpected reply '%c'", what, c);
		}
	}
}

static int
connectspec(const char *spec)
{
	struct sockaddr_un sun;
	struct addrinfo hints, *res, *ai;
	char	port[32], host[256];
	const char *at, *p;
	int	fd = -1, one = 1;
	struct timeval tv = { IO_TIMEOUT, 0 };

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		p = strchr(spec, ':') + 1;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(p) >= sizeof(sun.sun_path))
			die("socket path too long");
		strcpy(sun.sun_path, p);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			die("connect %s: %s", spec, strerror(errno));
	} else {
		if (strncmp(spec, "inet:", 5) == 0)
			p = spec + 5;
		else if (strncmp(spec, "inet6:", 6) == 0)
			p = spec + 6;
		else
			die("socket %s: want inet:PORT@HOST or unix:/path", spec);
		if ((at = strchr(p, '@')) == NULL || (size_t)(at - p) >= sizeof(port))
			die("socket %s: want inet:PORT@HOST", spec);
		memcpy(port, p, (size_t)(at - p));
		port[at - p] = '\0';
		snprintf(host, sizeof(host), "%s", at + 1);
		if (host[0] == '[') {
			memmove(host, host + 1, strlen(host));
			host[strcspn(host, "]")] = '\0';
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, port, &hints, &res) != 0)
			die("socket %s: cannot resolve", spec);
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0)
				continue;
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				break;
			close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
		if (fd < 0)
			die("connect %s: %s", spec, strerror(errno));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return (fd);
}

/* Append "name\0value\0" pairs to a macro packet. */
static void
macro(struct bench *b, char stage, const char *const *kv)
{
	char	buf[1024];
	size_t	n = 0, l;

	buf[n++] = stage;
	for (; *kv != NULL; kv++) {
		l = strlen(*kv) + 1;
		if (n + l > sizeof(buf))
			die("macro too long");
		memcpy(buf + n, *kv, l);
		n += l;
	}
	sendpkt(b, 'D', buf, n);
}

/* Build a body of exactly size octets: text part, base64 part, end. */
static char *
mkbody(size_t size, const char *boundary)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char	head[2048], tail[128];
	size_t	hl, tl, pos, rem, i, l;
	uint32_t x = 2463534242U;
	char	*body, line[80];

	hl = (size_t)snprintf(head, sizeof(head),
	    "This is a multi-part message in MIME format.\r\n"
	    "\r\n"
	    "--%s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "Hello,\r\n"
	    "\r\n"
	    "please find the quarterly figures attached.  The totals on page\r\n"
	    "three include the adjustments we discussed on the phone.\r\n"
	    "\r\n"
	    "Regards,\r\n"
	    "Alice\r\n"
	    "\r\n"
	    "--%s\r\n"
	    "Content-Type: application/octet-stream;\r\n"
	    "\tname=\"quarterly-figures-2024-Q3.bin\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment;\r\n"
	    "\tfilename=\"quarterly-figures-2024-Q3.bin\"\r\n"
	    "\r\n", boundary, boundary);
	tl = (size_t)snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
	if (size < hl + tl + 1)
		die("body size %zu too small (minimum %zu)", size, hl + tl + 1);
	if ((body = malloc(size)) == NULL)
		die("out of memory for a %zu-octet body", size);
	memcpy(body, head, hl);
	pos = hl;
	/*
	 * Pseudo-random base64 lines of 76 characters joined by CRLF; the last
	 * line (1..78 characters) takes up the slack so that the body is exact.
	 * Its CRLF is the one that starts the closing delimiter.
	 */
	rem = size - hl - tl;
	while (rem > 0) {
		l = rem > 78 ? 76 : rem;
		for (i = 0; i < l; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			line[i] = b64[x & 63];
		}
		memcpy(body + pos, line, l);
		pos += l;
		rem -= l;
		if (rem > 0) {
			body[pos++] = '\r';
			body[pos++] = '\n';
			rem -= 2;
		}
	}
	memcpy(body + pos, tail, tl);
	pos += tl;
	if (pos != size)
		die("internal: body is %zu octets, not %zu", pos, size);
	return (body);
}

/* Read VmRSS and VmHWM (KiB) of pid; 0 when unknown. */
static void
memof(long pid, unsigned long *rss, unsigned long *hwm)
{
	char	path[64], line[256];
	FILE	*f;

	*rss = *hwm = 0;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtoul(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = strtoul(line + 6, NULL, 10);
	}
	fclose(f);
}

/* One transaction; returns 1 when the milter let it through. */
static int
message(struct bench *b, unsigned long long seq, const struct hdr *hdrs,
    size_t nhdrs, const char *body, size_t bodylen)
{
	char	qid[32], buf[4096];
	const char *qkv[3];
	size_t	i, n, nl, vl, off;
	enum reply r = R_CONTINUE;
	int	lead = (b->proto & P_HDR_LEADSPC) != 0;

	snprintf(qid, sizeof(qid), "4Bench%010llX", seq);
	qkv[0] = "i";
	qkv[1] = qid;
	qkv[2] = NULL;
	macro(b, 'M', qkv);
	if (!(b->proto & P_NOMAIL)) {
		static const char mail[] = "<alice@sender.example>\0BODY=8BITMIME";
		sendpkt(b, 'M', mail, sizeof(mail));
		if (!(b->proto & P_NR_MAIL) &&
		    (r = reply(b, "MAIL")) != R_CONTINUE)
			goto early;
	}
	macro(b, 'R', qkv);
	if (!(b->proto & P_NORCPT)) {
		static const char rcpt[] = "<bob@recipient.example>";
		sendpkt(b, 'R', rcpt, sizeof(rcpt));
		if (!(b->proto & P_NR_RCPT) &&
		    (r = reply(b, "RCPT")) != R_CONTINUE)
			goto early;
	}
	if (!(b->proto & P_NOHDRS)) {
		for (i = 0; i < nhdrs; i++) {
			nl = strlen(hdrs[i].name);
			vl = strlen(hdrs[i].value);
			if (nl + vl + 3 > sizeof(buf))
				die("header too long");
			memcpy(buf, hdrs[i].name, nl + 1);
			n = nl + 1;
			if (lead)
				buf[n++] = ' ';
			memcpy(buf + n, hdrs[i].value, vl + 1);
			n += vl + 1;
			sendpkt(b, 'L', buf, n);
			if (!(b->proto & P_NR_HDR) &&
			    (r = reply(b, "HEADER")) != R_CONTINUE)
				goto early;
		}
	}
	if (!(b->proto & P_NOEOH)) {
		sendpkt(b, 'N', NULL, 0);
		if (!(b->proto & P_NR_EOH) && (r = reply(b, "EOH")) != R_CONTINUE)
			goto early;
	}
	if (!(b->proto & P_NOBODY)) {
		for (off = 0; off < bodylen; off += n) {
			n = bodylen - off > CHUNK ? CHUNK : bodylen - off;
			sendpkt(b, 'B', body + off, n);
			b->bodysent += n;
			if (b->proto & P_NR_BODY)
				continue;
			if ((r = reply(b, "BODY")) == R_SKIP) {
				b->bodyskips++;
				break;
			}
			if (r != R_CONTINUE)
				goto early;
		}
	}
	macro(b, 'E', qkv);
	sendpkt(b, 'E', NULL, 0);
	r = reply(b, "EOM");
	if (r == R_CONTINUE || r == R_ACCEPT)
		return (1);
	b->refused++;
	return (0);
early:
	/* Accepted or refused before EOM: the MTA ends the transaction. */
	if (r == R_REFUSE || r == R_SKIP)
		b->refused++;
	sendpkt(b, 'A', NULL, 0);
	return (r == R_ACCEPT);
}

static void
usage(void)
{
	fprintf(stderr, "usage: milterbench [-n COUNT] [-s BODYSIZE] [-W] "
	    "[-p PID] [-q] SOCKET\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const char boundary[] = "----=_Part_4711_1284620983.1718000000000";
	static const char dkim[] =
	    "v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.example;\n"
	    "\ts=sel2024; t=1718000000; x=1718604800;\n"
	    "\th=from:to:cc:subject:date:message-id:mime-version:content-type:\n"
	    "\t reply-to:in-reply-to:references;\n"
	    "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"
	    "\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR"
	    "\n\t 8ZL8iTkMbJV2aGnM0WWOSmCFTTyCQFtpwOU5hIjGqw3XwW0nzcDhjmNc9nDiNj"
	    "\n\t OQ0pKxaUz2gkiGkqtaebbhvPC6mLEXDFSyVw9GJD5o4jJ5trwtm7Ms=";
	char	ctype[256];
	struct hdr hdrs[16];
	struct bench b;
	unsigned char opt[12];
	unsigned long long count = 1, seq, ok = 0, sent_bytes;
	unsigned long rss0 = 0, hwm0 = 0, rss1 = 0, hwm1 = 0;
	size_t	size = 4096, len, nh = 0, wlen = 0;
	char	*body, *wbody = NULL, *end;
	double	t0, t1, secs;
	long	pid = 0;
	int	c, warm = 0;
	static const char conn[] = "mail.sender.example\0" "4" "\xa3\x4a"
	    "127.0.0.1";

	memset(&b, 0, sizeof(b));
	while ((c = getopt(argc, argv, "n:s:p:Wq")) != -1) {
		switch (c) {
		case 'n':
			count = strtoull(optarg, &end, 10);
			if (*end != '\0' || count == 0)
				usage();
			break;
		case 's':
			size = (size_t)strtoull(optarg, &end, 10);
			if (*end != '\0')
				usage();
			break;
		case 'p':
			pid = strtol(optarg, &end, 10);
			if (*end != '\0' || pid <= 0)
				usage();
			break;
		case 'W':
			warm = 1;
			break;
		case 'q':
			b.quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();

	snprintf(ctype, sizeof(ctype), "multipart/mixed;\n\tboundary=\"%s\"",
	    boundary);
	hdrs[nh++] = (struct hdr){ "Return-Path", "<alice@sender.example>" };
	hdrs[nh++] = (struct hdr){ "Received", "from mail.sender.example "
	    "(mail.sender.example [192.0.2.25])\n\tby mx.recipient.example "
	    "(Postfix) with ESMTPS id 4Bench0000\n\tfor <bob@recipient.example>;"
	    " Mon, 10 Jun 2024 08:13:20 +0000 (UTC)" };
	hdrs[nh++] = (struct hdr){ "Received", "from [10.0.0.7] (unknown "
	    "[10.0.0.7])\n\tby mail.sender.example (Postfix) with ESMTPSA;\n\t"
	    "Mon, 10 Jun 2024 08:13:19 +0000 (UTC)" };
	hdrs[nh++] = (struct hdr){ "DKIM-Signature", dkim };
	hdrs[nh++] = (struct hdr){ "Message-ID",
	    "<20240610081319.4711@mail.sender.example>" };
	hdrs[nh++] = (struct hdr){ "Date", "Mon, 10 Jun 2024 08:13:19 +0000" };
	hdrs[nh++] = (struct hdr){ "MIME-Version", "1.0" };
	hdrs[nh++] = (struct hdr){ "User-Agent", "Mozilla Thunderbird" };
	hdrs[nh++] = (struct hdr){ "From", "Alice Example <alice@sender.example>" };
	hdrs[nh++] = (struct hdr){ "To", "Bob Example <bob@recipient.example>" };
	hdrs[nh++] = (struct hdr){ "Cc", "Carol <carol@recipient.example>" };
	hdrs[nh++] = (struct hdr){ "Subject", "Quarterly figures, with the "
	    "adjustments" };
	hdrs[nh++] = (struct hdr){ "Reply-To", "alice@sender.example" };
	hdrs[nh++] = (struct hdr){ "Content-Type", ctype };
	hdrs[nh++] = (struct hdr){ "X-Mailer-Queue", "bench" };

	body = mkbody(size, boundary);
	if (warm) {
		wlen = 4096;
		wbody = mkbody(wlen, boundary);
	}
	b.pktcap = 4096 + 5;
	if ((b.pkt = malloc(b.pktcap)) == NULL ||
	    (b.rbuf = malloc(MAXREPLY)) == NULL)
		die("out of memory");
	b.fd = connectspec(argv[optind]);

	/* OPTNEG: version, actions, protocol; the reply may add macro lists. */
	put32(opt, MB_VERSION);
	put32(opt + 4, (uint32_t)MB_ACTIONS);
	put32(opt + 8, (uint32_t)MB_PROTOCOL);
	sendpkt(&b, 'O', opt, sizeof(opt));
	if ((c = readpkt(&b, &len)) != 'O' || len < 12)
		die("OPTNEG: unexpected reply '%c' (%zu octets)", c, len);
	if (get32(b.rbuf) < 2 || get32(b.rbuf) > MB_VERSION)
		die("OPTNEG: milter protocol version %" PRIu32, get32(b.rbuf));
	b.proto = get32(b.rbuf + 8);
	if (b.proto & ~MB_PROTOCOL)
		die("OPTNEG: milter asks for protocol flags 0x%lx we did not "
		    "offer", b.proto & ~MB_PROTOCOL);

	{
		static const char *const ckv[] = { "j", "mx.recipient.example",
		    "{daemon_name}", "smtpd", "v", "Postfix 3.7", NULL };
		enum reply r;

		macro(&b, 'C', ckv);
		if (!(b.proto & P_NOCONNECT)) {
			sendpkt(&b, 'C', conn, sizeof(conn));
			if (!(b.proto & P_NR_CONN) &&
			    (r = reply(&b, "CONNECT")) != R_CONTINUE)
				die("CONNECT: the milter answered '%s'",
				    r == R_ACCEPT ? "accept (client exempt?)" :
				    "refuse");
		}
	}

	seq = 0;
	if (warm)
		(void)message(&b, seq++, hdrs, nh, wbody, wlen);
	if (pid > 0)
		memof(pid, &rss0, &hwm0);
	b.refused = 0;
	b.bodyskips = 0;
	b.bodysent = 0;
	t0 = now();
	for (unsigned long long k = 0; k < count; k++)
		ok += (unsigned long long)message(&b, seq++, hdrs, nh, body,
		    size);
	t1 = now();
	if (pid > 0)
		memof(pid, &rss1, &hwm1);
	sendpkt(&b, 'Q', NULL, 0);
	close(b.fd);

	secs = t1 - t0 > 1e-9 ? t1 - t0 : 1e-9;
	sent_bytes = (unsigned long long)count * size;
	if (!b.quiet)
		fprintf(stderr, "milterbench: %llu messages of %zu octets in "
		    "%.3f s: %.1f msgs/s, %.1f MB/s of body (%llu refused, "
		    "body %s)\n", count, size, secs, (double)count / secs,
		    (double)sent_bytes / secs / 1e6, b.refused,
		    (b.proto & P_NOBODY) ? "not requested" :
		    b.bodyskips ? "skipped by milter" : "sent");
	printf("messages=%llu size=%zu seconds=%.6f msgs_per_s=%.3f "
	    "mb_per_s=%.3f accepted=%llu refused=%llu body_sent=%llu "
	    "body_skips=%llu proto=0x%lx", count, size, secs,
	    (double)count / secs, (double)sent_bytes / secs / 1e6, ok,
	    b.refused, b.bodysent, b.bodyskips, b.proto);
	if (pid > 0)
		printf(" rss_before=%lu rss_after=%lu hwm_before=%lu "
		    "hwm_after=%lu", rss0, rss1, hwm0, hwm1);
	printf("\n");
	free(body);
	free(wbody);
	free(b.pkt);
	free(b.rbuf);
	return (0);
}
