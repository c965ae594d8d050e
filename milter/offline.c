/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * offline.c - esmtp-inspect-milter -t: a message file checked offline
 * through the daemon's own callbacks (SPEC 9).
 *
 * Interface: offline_main().
 *
 * Nothing here decides about a message: milter.c does, exactly as in the
 * daemon.  This file stands in for the two programs around it.  For
 * libmilter it is a second backend of mfwrap.h (a context of its own:
 * private data, macro "i" = TEST, the reply set) and the rules libmilter
 * applies to answers (a reply is used by the next refusal of its class;
 * nothing is sent at a no-reply step).  For Postfix 3.x it offers what
 * milter8 offers in negotiation, then sends the events Postfix would, in
 * its order, skipping those negotiation left out: connect, HELO, MAIL,
 * one RCPT per recipient, DATA, each header field as msgfile.c reads it
 * (its leading space kept or not, as negotiated), end of headers, the
 * body in chunks of at most 65535 octets (until SMFIS_SKIP), end of
 * message, then abort (smtpd's mail_reset()) and close.  A refusal at
 * MAIL or of the message ends the transaction there; a refused
 * recipient is only that recipient, and with none left there is no DATA.
 * A message Postfix refuses before milters see its header (too big, too
 * many hops: msgfile.c) gets Postfix's reply after DATA.
 *
 * The message is read in pieces into msgfile.c, never whole: memory is
 * what msgfile.c keeps, at most about Postfix's message_size_limit, and
 * reading stops there (Postfix refuses the message whatever follows).
 *
 * The daemon's log lines come here through audit_set_sink() and are
 * printed on standard output as they are logged, each with the id TEST;
 * the reply of each refusal follows the lines of its step, and "250
 * 2.0.0 accepted" ends the output of a message that got through.  No
 * thread, socket or libmilter call is made, and nothing is sent to
 * syslog.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "audit.h"
#include "cmdline.h"
#include "config.h"
#include "mime.h"
#include "msgfile.h"

#include "mfwrap.h"
#include "milter.h"
#include "offline.h"

#define OFFLINE_PROG		"esmtp-inspect-milter"
#define OFFLINE_ID		"TEST"		/* macro "i", the queue id */
#define OFFLINE_CLIENT		"127.0.0.1"
#define OFFLINE_ACCEPT		"250 2.0.0 accepted"
/* Postfix's milter8: the body chunk size, the replies without a text. */
#define OFFLINE_CHUNK		65535
#define OFFLINE_REJECT		"550 5.7.1 Command rejected"
#define OFFLINE_TEMPFAIL	"451 4.7.1 Service unavailable - try again later"
/* libmilter's longest reply text (MAXREPLYLEN). */
#define OFFLINE_TEXT_MAX	980

/* What Postfix 3.x (milter_protocol = 6) offers; libmilter adds nothing. */
#define OFFLINE_ACTIONS	(SMFIF_ADDHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT | \
	SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_QUARANTINE | SMFIF_CHGFROM | \
	SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST)
#define OFFLINE_STEPS	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | \
	SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | \
	SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | SMFIP_RCPT_REJ | \
	SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | SMFIP_NR_EOH | \
	SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)

/* The context handed to the callbacks: libmilter's, played here. */
struct offline {
	void   *priv;			/* smfi_setpriv() */
	char	reply[1024];		/* smfi_setreply(), until used; "" none */
	unsigned long steps;		/* SMFIP_* negotiated */
	int	refused;		/* some step was refused */
	FILE   *out;
};

/* What a step's answer makes the MTA do. */
enum offline_next { OFFLINE_GO, OFFLINE_SKIP, OFFLINE_ACCEPTS, OFFLINE_REFUSES };

static struct offline *
offline_of(SMFICTX *ctx)
{

	return ((struct offline *)(void *)ctx);
}

static void *
offline_getpriv(SMFICTX *ctx)
{

	return (offline_of(ctx)->priv);
}

static int
offline_setpriv(SMFICTX *ctx, void *priv)
{

	offline_of(ctx)->priv = priv;
	return (0);
}

/* Only the queue id is known, at every step. */
static const char *
offline_getsymval(SMFICTX *ctx, const char *name)
{

	(void)ctx;
	return (strcmp(name, "i") == 0 || strcmp(name, "{i}") == 0 ?
	    OFFLINE_ID : NULL);
}

/* An enhanced status code as libmilter checks it: class.subject.detail. */
static int
offline_xcode_ok(const char *x)
{
	size_t	n;
	int	part;

	if (x[0] != '2' && x[0] != '4' && x[0] != '5')
		return (0);
	x++;
	for (part = 0; part < 2; part++) {
		if (*x++ != '.')
			return (0);
		n = strspn(x, "0123456789");
		if (n < 1 || n > 3)
			return (0);
		x += n;
	}
	return (*x == '\0');
}

/* smfi_setreply(): the same checks, then kept until a refusal uses it. */
static int
offline_setreply(SMFICTX *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	struct offline *o = offline_of(ctx);

	if (rcode == NULL || strlen(rcode) != 3 ||
	    (rcode[0] != '4' && rcode[0] != '5') ||
	    rcode[1] < '0' || rcode[1] > '9' || rcode[2] < '0' || rcode[2] > '9')
		return (-1);
	if (xcode != NULL && !offline_xcode_ok(xcode))
		return (-1);
	if (text != NULL && (strpbrk(text, "\r\n") != NULL ||
	    strlen(text) > OFFLINE_TEXT_MAX))
		return (-1);
	(void)snprintf(o->reply, sizeof(o->reply), "%s%s%s%s%s", rcode,
	    xcode != NULL || text != NULL ? " " : "", xcode != NULL ? xcode : "",
	    xcode != NULL && text != NULL ? " " : "", text != NULL ? text : "");
	return (0);
}

static int
offline_setsymlist(SMFICTX *ctx, int stage, const char *macros)
{

	(void)ctx;
	(void)stage;
	(void)macros;
	return (0);
}

static const struct mfwrap_ops offline_ops = {
	offline_getpriv, offline_setpriv, offline_getsymval, offline_setreply,
	offline_setsymlist,
};

/*
 * audit.c's sink: each line the daemon would log, as it is logged.  The
 * id is TEST on every line, also where the daemon has no queue id yet
 * (NOQUEUE: an exempt client's event=exempt at connect).
 */
static void
offline_print(void *arg, int level, const char *line)
{
	static const char noqueue[] = "NOQUEUE: ";
	struct offline *o = arg;

	(void)level;
	if (strncmp(line, noqueue, sizeof(noqueue) - 1) == 0)
		(void)fprintf(o->out, "%s: %s\n", OFFLINE_ID,
		    line + sizeof(noqueue) - 1);
	else
		(void)fprintf(o->out, "%s\n", line);
}

/* A refusal of class ${cls}: the reply set for it, else ${dflt}. */
static enum offline_next
offline_refuse(struct offline *o, char cls, const char *dflt)
{
	if (o->reply[0] == cls) {
		(void)fprintf(o->out, "%s\n", o->reply);
		o->reply[0] = '\0';
	} else
		(void)fprintf(o->out, "%s\n", dflt);
	o->refused = 1;
	return (OFFLINE_REFUSES);
}

/*
 * What libmilter and Postfix make of answer ${r} of the step ${what}, at
 * which negotiation may have asked for no reply (${nr}, SMFIP_NR_*; 0:
 * always answered).  A step without a reply has none, whatever the
 * callback said (libmilter sends nothing).
 */
static enum offline_next
offline_answer(struct offline *o, sfsistat r, unsigned long nr,
    const char *what)
{
	if (nr != 0 && (o->steps & nr) != 0)
		return (OFFLINE_GO);
	switch (r) {
	case SMFIS_CONTINUE:
		return (OFFLINE_GO);
	case SMFIS_SKIP:
		return ((o->steps & SMFIP_SKIP) != 0 ? OFFLINE_SKIP : OFFLINE_GO);
	case SMFIS_ACCEPT:
	case SMFIS_DISCARD:		/* never ours: SPEC 4 discards nothing */
		return (OFFLINE_ACCEPTS);
	case SMFIS_REJECT:
		return (offline_refuse(o, '5', OFFLINE_REJECT));
	case SMFIS_TEMPFAIL:
		return (offline_refuse(o, '4', OFFLINE_TEMPFAIL));
	default:
		/* Postfix would wait for a reply that never comes, then
		 * apply milter_default_action = tempfail. */
		(void)fprintf(stderr, "%s: no answer at %s (%d), where the MTA "
		    "waits for one\n", OFFLINE_PROG, what, (int)r);
		return (offline_refuse(o, '4', OFFLINE_TEMPFAIL));
	}
}

/* A step the MTA sends: not left out in negotiation, and a callback. */
#define OFFLINE_SENDS(o, fn, no)	((fn) != NULL && ((o)->steps & (no)) == 0)

/* The envelope and message of one run. */
struct offline_msg {
	char	hostname[256];
	struct sockaddr_storage addr;
	char   *sender;			/* "<...>" */
	char  **rcpt;			/* "<...>" each */
	size_t	nrcpt;
	const struct msgfile *m;
};

/* The content of the message: DATA to end of message.  Returns what ends it. */
static enum offline_next
offline_content(struct offline *o, const struct smfiDesc *d, SMFICTX *ctx,
    const struct offline_msg *msg)
{
	const struct msgfile *m = msg->m;
	const struct msgfile_field *f;
	enum offline_next next;
	char   *value;
	size_t	i, off, n;

	if (OFFLINE_SENDS(o, d->xxfi_data, SMFIP_NODATA) &&
	    (next = offline_answer(o, d->xxfi_data(ctx), SMFIP_NR_DATA,
	    "DATA")) != OFFLINE_GO)
		return (next);
	if (m->refused != NULL) {
		(void)fprintf(o->out, "%s\n", m->refused);
		o->refused = 1;
		return (OFFLINE_REFUSES);
	}
	if (OFFLINE_SENDS(o, d->xxfi_header, SMFIP_NOHDRS))
		for (i = 0; i < m->nfield; i++) {
			f = &m->field[i];
			if (f->dropped)
				continue;
			/* Without SMFIP_HDR_LEADSPC, Postfix eats one space. */
			value = f->value;
			if ((o->steps & SMFIP_HDR_LEADSPC) == 0 && *value == ' ')
				value++;
			if ((next = offline_answer(o, d->xxfi_header(ctx, f->name,
			    value), SMFIP_NR_HDR, "header")) != OFFLINE_GO)
				return (next);
		}
	if (OFFLINE_SENDS(o, d->xxfi_eoh, SMFIP_NOEOH) &&
	    (next = offline_answer(o, d->xxfi_eoh(ctx), SMFIP_NR_EOH,
	    "end of headers")) != OFFLINE_GO)
		return (next);
	if (OFFLINE_SENDS(o, d->xxfi_body, SMFIP_NOBODY))
		for (off = 0; off < m->bodylen; off += n) {
			n = m->bodylen - off < OFFLINE_CHUNK ? m->bodylen - off :
			    OFFLINE_CHUNK;
			next = offline_answer(o, d->xxfi_body(ctx,
			    (unsigned char *)m->body + off, n), SMFIP_NR_BODY,
			    "body");
			if (next == OFFLINE_SKIP)
				break;
			if (next != OFFLINE_GO)
				return (next);
		}
	if (d->xxfi_eom != NULL)
		return (offline_answer(o, d->xxfi_eom(ctx), 0, "end of message"));
	return (OFFLINE_GO);
}

/*
 * One SMTP session with one transaction, as Postfix would hold it: each
 * refusal's reply is printed at its step, "250 2.0.0 accepted" when the
 * message got through to a recipient.
 */
static void
offline_session(struct offline *o, struct offline_msg *msg)
{
	const struct smfiDesc *d = &milter_desc;
	SMFICTX *ctx = (SMFICTX *)(void *)o;
	unsigned long f0 = 0, f1 = 0, f2 = 0, f3 = 0;
	enum offline_next next = OFFLINE_GO;
	char   *argv[2];
	size_t	i, nrcpt = 0;
	int	mail = 0, delivered = 0;

	if (d->xxfi_negotiate != NULL) {
		if (d->xxfi_negotiate(ctx, OFFLINE_ACTIONS, OFFLINE_STEPS, 0, 0,
		    &f0, &f1, &f2, &f3) != SMFIS_CONTINUE) {
			/* libmilter drops the connection; Postfix tempfails. */
			(void)offline_refuse(o, '4', OFFLINE_TEMPFAIL);
			goto close;
		}
		o->steps = f1 & OFFLINE_STEPS;
	}
	if (OFFLINE_SENDS(o, d->xxfi_connect, SMFIP_NOCONNECT))
		next = offline_answer(o, d->xxfi_connect(ctx, msg->hostname,
		    (struct sockaddr *)(void *)&msg->addr), SMFIP_NR_CONN,
		    "connect");
	if (next == OFFLINE_GO && OFFLINE_SENDS(o, d->xxfi_helo, SMFIP_NOHELO))
		next = offline_answer(o, d->xxfi_helo(ctx, msg->hostname),
		    SMFIP_NR_HELO, "HELO");
	if (next != OFFLINE_GO) {
		/* Accepted here: no more milter events for the connection. */
		delivered = next == OFFLINE_ACCEPTS;
		goto end;
	}

	mail = 1;			/* smtpd's mail_reset() aborts from here */
	if (OFFLINE_SENDS(o, d->xxfi_envfrom, SMFIP_NOMAIL)) {
		argv[0] = msg->sender;
		argv[1] = NULL;
		next = offline_answer(o, d->xxfi_envfrom(ctx, argv),
		    SMFIP_NR_MAIL, "MAIL");
		if (next != OFFLINE_GO) {
			delivered = next == OFFLINE_ACCEPTS;
			goto end;
		}
	}
	for (i = 0; i < msg->nrcpt; i++) {
		if (OFFLINE_SENDS(o, d->xxfi_envrcpt, SMFIP_NORCPT)) {
			argv[0] = msg->rcpt[i];
			argv[1] = NULL;
			next = offline_answer(o, d->xxfi_envrcpt(ctx, argv),
			    SMFIP_NR_RCPT, "RCPT");
			if (next == OFFLINE_ACCEPTS) {
				/* The message, without more milter events. */
				delivered = 1;
				goto end;
			}
			if (next != OFFLINE_GO)
				continue;	/* this recipient only */
		}
		nrcpt++;
	}
	/* With no recipient left, Postfix refuses the client's DATA. */
	if (nrcpt > 0)
		delivered = offline_content(o, d, ctx, msg) != OFFLINE_REFUSES;
end:
	if (delivered)
		(void)fprintf(o->out, "%s\n", OFFLINE_ACCEPT);
close:
	if (mail && d->xxfi_abort != NULL)
		(void)d->xxfi_abort(ctx);
	if (d->xxfi_close != NULL)
		(void)d->xxfi_close(ctx);
}

/*
 * -a: "ADDR", "[ADDR]", "NAME[ADDR]" or "NAME[ADDR]:PORT" (the client=
 * field of a log line) into ${msg}; the name is "unknown" when not
 * given, the port 0.  Returns 0, or -1 if ${spec} is none of those.
 */
static int
offline_client(const char *spec, struct offline_msg *msg)
{
	struct sockaddr_in *sin = (void *)&msg->addr;
	struct sockaddr_in6 *sin6 = (void *)&msg->addr;
	const char *open, *close, *p;
	char	addr[INET6_ADDRSTRLEN + 1];
	size_t	namelen, addrlen;
	unsigned long port = 0;
	char   *end;

	if ((open = strchr(spec, '[')) != NULL) {
		if ((close = strchr(open, ']')) == NULL)
			return (-1);
		namelen = (size_t)(open - spec);
		p = open + 1;
		addrlen = (size_t)(close - p);
		if (close[1] == ':') {
			if (close[2] < '0' || close[2] > '9')
				return (-1);
			errno = 0;
			port = strtoul(close + 2, &end, 10);
			if (errno != 0 || *end != '\0' || port > 65535)
				return (-1);
		} else if (close[1] != '\0')
			return (-1);
	} else {
		namelen = 0;
		p = spec;
		addrlen = strlen(spec);
	}
	if (namelen >= sizeof(msg->hostname) || addrlen >= sizeof(addr))
		return (-1);
	memcpy(msg->hostname, spec, namelen);
	msg->hostname[namelen] = '\0';
	if (namelen == 0)
		(void)snprintf(msg->hostname, sizeof(msg->hostname), "unknown");
	memcpy(addr, p, addrlen);
	addr[addrlen] = '\0';
	memset(&msg->addr, 0, sizeof(msg->addr));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
	} else
		return (-1);
	return (0);
}

/*
 * An envelope address as the MTA passes it to MAIL and RCPT: as given
 * when it starts with "<" (so "<a@x> SIZE=1" is possible), else inside
 * "<" ">".  NULL without memory.
 */
static char *
offline_path(const char *addr)
{
	char   *p;
	size_t	len = strlen(addr);

	if (addr[0] == '<')
		return (strdup(addr));
	if ((p = malloc(len + 3)) == NULL)
		return (NULL);
	p[0] = '<';
	memcpy(p + 1, addr, len);
	p[len + 1] = '>';
	p[len + 2] = '\0';
	return (p);
}

/* Read chunk for offline_load(). */
#define OFFLINE_READ	65536

/*
 * Read ${path} ("-": standard input) into ${m} as msgfile.c reads a
 * message, in pieces, up to its end or until msgfile_full().  Returns 0;
 * -1 with errno on a read error; -2 with *${err} without memory.
 */
static int
offline_load(const char *path, struct msgfile *m, const char **err)
{
	struct msgfile_reader *r;
	char   *buf;
	ssize_t	n;
	int	fd, saved = 0;

	memset(m, 0, sizeof(*m));
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return (-1);
	*err = NULL;
	if ((buf = malloc(OFFLINE_READ)) == NULL || (r = msgfile_open()) == NULL) {
		if (fd != STDIN_FILENO)
			(void)close(fd);
		free(buf);
		*err = "out of memory";
		return (-2);
	}
	while (*err == NULL && !msgfile_full(r)) {
		if ((n = read(fd, buf, OFFLINE_READ)) < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			break;
		}
		if (n == 0)
			break;
		*err = msgfile_feed(r, buf, (size_t)n);
	}
	if (fd != STDIN_FILENO)
		(void)close(fd);
	free(buf);
	if (saved != 0) {
		(void)msgfile_close(r, m);
		msgfile_free(m);
		errno = saved;
		return (-1);
	}
	if ((*err = msgfile_close(r, m)) != NULL)
		return (-2);
	return (0);
}

/* The message's name for errors. */
static const char *
offline_name(const char *path)
{

	return (strcmp(path, "-") == 0 ? "standard input" : path);
}

/**
 * offline_main(cl): check the message ${cl}->test offline through the
 * daemon's callbacks; print the log lines and the replies.  Returns the
 * exit status (offline.h).
 */
int
offline_main(const struct cmdline *cl)
{
	struct offline o;
	struct offline_msg msg;
	struct msgfile m;
	struct msgfile_env env;
	struct config *cfg;
	const char *err;
	char	ebuf[CONFIG_ERR_MAX];
	size_t	i;
	int	status = EX_OSERR;

	memset(&o, 0, sizeof(o));
	memset(&msg, 0, sizeof(msg));
	memset(&m, 0, sizeof(m));
	memset(&env, 0, sizeof(env));
	o.out = stdout;
	if (offline_client(cl->client != NULL ? cl->client : OFFLINE_CLIENT,
	    &msg) != 0) {
		(void)fprintf(stderr, "%s: -a %s: not ADDR, NAME[ADDR] or "
		    "NAME[ADDR]:PORT\n", OFFLINE_PROG, cl->client);
		return (EX_USAGE);
	}
	/* The user and group are not looked up: -t runs as its caller. */
	if ((cfg = config_load(cl->path, ebuf, sizeof(ebuf))) == NULL) {
		(void)fprintf(stderr, "%s\n", ebuf);
		return (CONFIG_EX);
	}
	switch (offline_load(cl->test, &m, &err)) {
	case -1:
		(void)fprintf(stderr, "%s: %s: %s\n", OFFLINE_PROG,
		    offline_name(cl->test), strerror_r(errno, ebuf, sizeof(ebuf)));
		config_unref(cfg);
		return (OFFLINE_NOINPUT);
	case -2:
		(void)fprintf(stderr, "%s: %s\n", OFFLINE_PROG, err);
		goto done;
	}
	if ((err = msgfile_envelope(&m, &env)) != NULL) {
		(void)fprintf(stderr, "%s: %s\n", OFFLINE_PROG, err);
		goto done;
	}

	/* The envelope: -s and -r, else what the message implies. */
	msg.m = &m;
	msg.nrcpt = cl->rcpt != NULL ? cl->nrcpt : env.nrcpt;
	if (msg.nrcpt == 0) {
		(void)fprintf(stderr, "%s: %s: no recipient: the message has no "
		    "To: or Cc: address; give -r RCPT\n", OFFLINE_PROG,
		    offline_name(cl->test));
		status = EX_USAGE;
		goto done;
	}
	if ((msg.sender = offline_path(cl->sender != NULL ? cl->sender :
	    env.sender)) == NULL ||
	    (msg.rcpt = calloc(msg.nrcpt, sizeof(*msg.rcpt))) == NULL)
		goto nomem;
	for (i = 0; i < msg.nrcpt; i++)
		if ((msg.rcpt[i] = offline_path(cl->rcpt != NULL ?
		    cl->rcpt[i] : env.rcpt[i])) == NULL)
			goto nomem;

	/* As main.c does before the daemon's first connection. */
	mime_init();
	config_install(cfg);
	cfg = NULL;
	audit_set_sink(offline_print, &o);
	mfwrap_set_ops(&offline_ops);
	offline_session(&o, &msg);
	mfwrap_set_ops(NULL);
	audit_set_sink(NULL, NULL);
	status = o.refused ? OFFLINE_REFUSED : OFFLINE_ACCEPTED;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		(void)fprintf(stderr, "%s: standard output: %s\n",
		    OFFLINE_PROG, strerror_r(errno, ebuf, sizeof(ebuf)));
		status = EX_IOERR;
	}
	goto done;
nomem:
	(void)fprintf(stderr, "%s: out of memory\n", OFFLINE_PROG);
	status = EX_OSERR;
done:
	free(msg.sender);
	for (i = 0; msg.rcpt != NULL && i < msg.nrcpt; i++)
		free(msg.rcpt[i]);
	free(msg.rcpt);
	msgfile_env_free(&env);
	msgfile_free(&m);
	config_unref(cfg);
	return (status);
}
