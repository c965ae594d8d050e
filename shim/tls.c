/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tls.c - TLS in the shim (SPEC 5.4): the contexts, STARTTLS under
 * starttls = allow (the MTA's own TLS, relayed blind) and terminate (the
 * shim's, inspected above a filter), and the shim's own STARTTLS towards
 * the MTA (upstream-tls).
 *
 * Interface: shim.h, "tls.c".  Calls session.c and pipe.c only; the
 * client's handshake and the upstream's are reported by their pipes to
 * relay.c, which calls back in here (tls_client_event()) or greets the
 * client (upstream-tls done).
 *
 * Invariants:
 * - Nothing the client sent before it could have seen a STARTTLS's 220
 *   reaches anyone (the CVE-2011-0411 class): discard_pipelined() throws
 *   it away, from our buffer and the kernel's, before the 220 is written.
 * - A session keeps the contexts of its start; SIGHUP loads new ones for
 *   sessions to come (server.c).
 * - Under upstream-tls the client is greeted only once the upstream's
 *   handshake is done; any refusal on the way is a 421 to the client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "ehlo.h"
#include "shim.h"
#include "smtpframe.h"

/* The first OpenSSL error, for the log. */
static const char *
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		(void)snprintf(buf, len, "handshake failed");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return (buf);
}

/*
 * The MTA accepted STARTTLS, or the shim will answer it: throw away
 * whatever the client sent before it could have seen the 220 (SPEC 5.4).
 * Bytes still in the kernel's socket buffer were sent before the 220 too,
 * because the 220 is only written after this, so they are read and
 * discarded here as well.  Returns -1 when the session was closed.
 */
int
discard_pipelined(struct session *s)
{
	struct evbuffer *in = pipe_in(&s->c);
	unsigned long long discard;
	char	junk[4096];
	ssize_t	r;

	discard = evbuffer_get_length(in);
	(void)evbuffer_drain(in, discard);
	while (discard < SESSION_DISCARD_MAX &&
	    (r = recv(s->c.fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0) {
		discard += (unsigned long long)r;
		s->c.in += (unsigned long long)r;
	}
	if (discard > 0)
		ev_log(s, LOG_WARNING, "event=starttls-discard value=%llu",
		    NULL, 0, 0, discard);
	if (discard >= SESSION_DISCARD_MAX) {
		session_reason(s, COUNTERS_POLICY);
		close_with(s, NULL);
		return (-1);
	}
	return (0);
}

/*
 * starttls = allow: the MTA answered STARTTLS 220.  Relay the 220 and go
 * blind: no more SMTP to parse, so the framer and the reply parser go.
 */
void
starttls_allow(struct session *s, const char *reply, size_t len)
{
	if (discard_pipelined(s) != 0)
		return;
	to_client(s, reply, len);
	session_enter(s, S_BLIND);
	ev_log(s, LOG_INFO, "event=tls-started", NULL, 0, 0);
	smtpframe_free(s->fr);
	s->fr = NULL;
	free(s->rp);
	s->rp = NULL;
	(void)pipe_relay(&s->u, &s->c);
	(void)pipe_relay(&s->c, &s->u);
}

/*
 * starttls = terminate: the client's STARTTLS, now that every earlier
 * reply is out.  Pipelined plaintext goes (as with allow), "220" goes out
 * in plain text, then an OpenSSL filter takes over the client's pipe and
 * the session goes on being inspected, decrypted.
 */
void
starttls_terminate(struct session *s)
{
	SSL	*ssl;

	s->hold = 0;
	if (discard_pipelined(s) != 0)
		return;
	to_client(s, shim_reply(SR_TLS_READY), shim_reply_len(SR_TLS_READY));
	if ((ssl = SSL_new(s->tls_ctx)) == NULL ||
	    pipe_tls(&s->c, s->base, ssl, 1) != 0) {
		internal_error(s, "cannot start TLS");
		return;
	}
	session_arm(s);
}

/*
 * The client's TLS filter reports its handshake done (logged with the
 * protocol and cipher) or failed (logged with OpenSSL's reason, before
 * relay.c drops the session).
 */
void
tls_client_event(struct session *s, short what)
{
	struct bufferevent *bev = s->c.bev;
	unsigned long e, why = 0;
	const char *r = NULL;
	char	d[128];
	SSL	*ssl;

	if (what & BEV_EVENT_CONNECTED) {
		ssl = bufferevent_openssl_get_ssl(bev);
		(void)snprintf(d, sizeof(d), "%s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
		s->tls_up = 1;
		ev_log(s, LOG_INFO, "event=tls-started", d, strlen(d), 0);
		return;
	}
	if (!(what & BEV_EVENT_ERROR) || !s->c.tls || s->tls_up)
		return;
	/* libevent queues OpenSSL's errors; the first with a library is
	 * the reason, e.g. "unsupported protocol". */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (why == 0 && ERR_GET_LIB(e) != 0)
			why = e;
	if (why != 0)
		r = ERR_reason_error_string(why);
	if (r == NULL)
		r = "handshake failed";
	ev_log(s, LOG_WARNING, "event=tls-error", r, strlen(r), 0);
}

/*
 * upstream-tls: after the upstream's greeting (held back), EHLO and
 * STARTTLS of the shim's own, then a TLS handshake towards the upstream;
 * only then does the client get the greeting (relay.c, when the pipe
 * reports the handshake).  Returns 1 while this is in progress (the
 * reply was consumed here).
 */
int
uptls_reply(struct session *s, const char *buf, size_t len, int code)
{
	char	line[300], eb[256];
	const char *why = NULL;
	SSL	*ssl;

	switch (s->uptls) {
	case U_NONE:
		if (code != 220 || (s->greet = malloc(len)) == NULL)
			return (0);	/* a refusal reaches the client */
		memcpy(s->greet, buf, len);
		s->greet_len = len;
		(void)snprintf(line, sizeof(line), "EHLO %s\r\n",
		    s->hostname[0] != '\0' ? s->hostname : "localhost");
		(void)evbuffer_add(pipe_out(&s->u), line, strlen(line));
		s->uptls = U_EHLO;
		return (1);
	case U_EHLO:
		if (code != 250 || !ehlo_offers(buf, len, "STARTTLS")) {
			why = "no STARTTLS offered";
			break;
		}
		(void)evbuffer_add(pipe_out(&s->u), "STARTTLS\r\n", 10);
		s->uptls = U_STARTTLS;
		return (1);
	case U_STARTTLS:
		if (code != 220) {
			why = "STARTTLS refused";
			break;
		}
		if ((ssl = SSL_new(s->tls_uctx)) == NULL ||
		    pipe_tls(&s->u, s->base, ssl, 0) != 0) {
			why = tls_error(eb, sizeof(eb));
			break;
		}
		s->uptls = U_HANDSHAKE;
		return (1);
	default:
		return (0);
	}
	(void)snprintf(line, sizeof(line), "%s: %s", s->cfg->shim.upstream,
	    why);
	ev_log(s, LOG_ERR, "event=upstream-error", line, strlen(line), 0);
	session_reason(s, COUNTERS_ERROR_CLOSE);
	close_with(s, shim_reply(SR_UNAVAILABLE));
	return (1);
}

/* A server context: TLS 1.2 at least, the configured certificate and key. */
static SSL_CTX *
tls_server_ctx(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char	eb[256];

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx,
	    cfg->shim.tls_certificate) != 1) {
		(void)snprintf(err, errlen, "%s: tls-certificate %s: %s",
		    cfg->path, cfg->shim.tls_certificate, tls_error(eb,
		    sizeof(eb)));
		SSL_CTX_free(ctx);
		return (NULL);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->shim.tls_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		(void)snprintf(err, errlen, "%s: tls-key %s: %s", cfg->path,
		    cfg->shim.tls_key, tls_error(eb, sizeof(eb)));
		SSL_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
fail:
	(void)snprintf(err, errlen, "%s: TLS: %s", cfg->path,
	    tls_error(eb, sizeof(eb)));
	SSL_CTX_free(ctx);
	return (NULL);
}

/*
 * A client context for upstream-tls: TLS 1.2 at least, no certificate
 * check (the upstream is the MTA on the loopback or a private network:
 * this is encryption on the wire, not authentication).
 */
static SSL_CTX *
tls_client_ctx(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char	eb[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		(void)snprintf(err, errlen, "%s: TLS: %s", cfg->path,
		    tls_error(eb, sizeof(eb)));
		SSL_CTX_free(ctx);
		return (NULL);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return (ctx);
}

/**
 * tls_contexts(cfg, server, client, err, errlen): the contexts ${cfg} asks
 * for (starttls = terminate: the certificate and key; upstream-tls: a
 * client context), NULL where none is asked for.  Returns 0, or -1 with
 * "FILE: message" in ${err} and nothing allocated.
 */
int
tls_contexts(const struct config *cfg, SSL_CTX **server, SSL_CTX **client,
    char *err, size_t errlen)
{
	*server = *client = NULL;
	if (cfg->shim.starttls != CONFIG_TLS_TERMINATE)
		return (0);
	if ((*server = tls_server_ctx(cfg, err, errlen)) == NULL)
		return (-1);
	if (cfg->shim.upstream_tls &&
	    (*client = tls_client_ctx(cfg, err, errlen)) == NULL) {
		SSL_CTX_free(*server);
		*server = NULL;
		return (-1);
	}
	return (0);
}
