# SPDX-License-Identifier: BSD-2-Clause
"""test_shim - esmtp-inspect-shim in front of a real Postfix (issue 5).

Topology: client -> shim (ctx.shim, 127.0.0.1:free port) -> Postfix's PROXY
smtpd (ctx.proxy_port, smtpd_upstream_proxy_protocol = haproxy) -> the
milter (ctx.milter, started by every test: Postfix's milter_default_action
is tempfail).  The runner gives Postfix STARTTLS, AUTH PLAIN LOGIN (Cyrus
sasldb), XFORWARD for 127.0.0.0/8 and IPv6 when --shim is given; one
Postfix serves the whole run, only the shim is restarted between cases.

What Postfix itself says (greeting, EHLO reply, its own error replies) is
read from its plain port (ctx.smtp_port) in the same test and compared
with what arrives through the shim, so the expected bytes are Postfix's,
never the shim's.  Each case asserts the replies, the exact shim log lines
(regexes only for session ids, ports and octet counts that are not known
beforehand) and the delivered bytes.
"""

import base64
import os
import re
import signal
import socket
import time

import harness
from harness import (LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING, SMTPSession,
                     check_delivered, expect_reply, make_message, poll, swaks)

REQUIRES = ("shim",)

SID = r"S[0-9A-F]+"
N = r"\d+"
MS = r"\d+\.\d{3}"      # duration= of a disconnect line: seconds.millis
REASON = r"\S+"
SENDER = "sender@example.test"
STD = "profile = standard\n"
ASA = "profile = asa\n"
MILTER_CONF = "profile = standard\n"
HOSTNAME = "mx.harness.test"                    # harness.Postfix's myhostname
GREETING = b"220 mx.harness.test ESMTP\r\n"     # its smtpd_banner
XFORWARD = "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT"
DROP_BARE = "4.7.0 Message refused by policy (bare-linefeed)"
ALLOW_NOTICE = "starttls=allow: sessions that start TLS are relayed uninspected"


# ----------------------------------------------------------------------
# helpers

def client(port, addr="127.0.0.1"):
    """The client field of a shim log line (the shim does no DNS)."""
    return "client=unknown[%s]:%d" % (addr, port)


def ensure_milter(ctx, milter_conf=MILTER_CONF):
    """Postfix tempfails every session while its milter is down."""
    if not ctx.milter.running():
        ctx.start_milter(milter_conf)


def start(ctx, conf=STD, shim_opts="", milter_conf=MILTER_CONF):
    """The milter (if not running yet) and ctx.shim with ${conf}."""
    ensure_milter(ctx, milter_conf)
    ctx.shim.start(conf, shim_opts)
    return ctx.shim


def restart(ctx, conf=STD, shim_opts=""):
    ctx.shim.stop()
    ctx.shim.start(conf, shim_opts)


def connect(ctx, shim=None, timeout=15, **kw):
    return SMTPSession((shim or ctx.shim).port, timeout=timeout, **kw)


def consumed(s):
    """Octets of s.received already parsed into replies."""
    return len(s.received) - len(s.buf)


def raw(s, line=None):
    """Send ${line} (None: nothing), read one reply; return (Reply, its bytes)."""
    n = consumed(s)
    r = s.cmd(line) if line is not None else s.reply()
    return r, s.received[n:consumed(s)]




def session_id(ctx, port, since, shim=None, addr="127.0.0.1"):
    """The session id from the event=connect line of the client at ${port}."""
    l = (shim or ctx.shim).expect_log("{SID}: event=connect %s" % client(port, addr),
                                     LOG_INFO, since, variable={"{SID}": SID})
    return l.message.split(":", 1)[0]


def wait_disconnect(ctx, sid, port, since, shim=None, addr="127.0.0.1", reason=None):
    """The disconnect line of session ${sid}; its reason= is ${reason} when
    given."""
    return (shim or ctx.shim).expect_log(
        "%s: event=disconnect %s duration={MS} reason=%s commands={N} messages={N} "
        "in={N} out={N}" % (sid, client(port, addr), reason or "{R}"),
        LOG_INFO, since, variable={"{N}": N, "{MS}": MS, "{R}": REASON})


def ehlo_bytes(lines):
    return b"".join(("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", l)).encode()
                    for i, l in enumerate(lines))


def ehlo_lines(reply_bytes):
    return [l[4:].decode() for l in reply_bytes.split(b"\r\n") if l]


def mask_keyword(line, letter):
    """SPEC 5.2 mask: keyword X'ed but its last character, which becomes the
    counting letter; parameters X'ed octet by octet, spaces kept."""
    kw, _, params = line.partition(" ")
    out = "X" * (len(kw) - 1) + letter
    if params:
        out += " " + "".join(" " if c == " " else "X" for c in params)
    return out


def postfix_reference(ctx, lines):
    """Postfix's own replies on its plain port: (greeting bytes, EHLO reply
    bytes, [Reply for each of ${lines}])."""
    ensure_milter(ctx)
    with SMTPSession(ctx.smtp_port) as s:
        _, greeting = raw(s)
        _, ehlo = raw(s, "EHLO client.harness.test")
        replies = [s.cmd(l) for l in lines]
        s.expect("QUIT", 221)
    return greeting, ehlo, replies


def expected_ehlo(ctx):
    """Postfix's EHLO reply lines (to a client in 127.0.0.0/8), checked
    against its plain port: what the shim's rules are applied to."""
    lines = [HOSTNAME, "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS"]
    if ctx.postfix.sasl_users:
        lines.append("AUTH PLAIN LOGIN")
    lines += [XFORWARD, "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "CHUNKING"]
    greeting, ehlo, _ = postfix_reference(ctx, [])
    assert greeting == GREETING, "Postfix's greeting: %r" % greeting
    assert ehlo_lines(ehlo) == lines, "Postfix's EHLO reply: %r" % ehlo
    return lines


def maillog_line(ctx, regex, timeout=10):
    """Wait for a maillog line matching ${regex} (search) written during this
    test (client ports of earlier tests may come round again); return the
    match."""
    rx = re.compile(regex, re.M)
    at = getattr(ctx, "maillog_at", 0)
    try:
        return poll(lambda: rx.search(ctx.postfix.maillog_text()[at:]), timeout,
                    "maillog line %r" % regex)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, ctx.postfix.maillog_tail(15)))


def postfix_disconnect(ctx, port, addr=r"127\.0\.0\.1"):
    """Postfix's command statistics of the session from port ${port}."""
    m = maillog_line(ctx, r"postfix/smtpd\[\d+\]: disconnect from [^\[]*\[%s\]:%d (.*)$"
                     % (addr, port))
    return m.group(1)


def send_message(s, sender, rcpts, msg):
    """MAIL, RCPT..., DATA with ${msg} on an open session; returns the reply."""
    s.expect("MAIL FROM:<%s>" % sender, 250)
    for rc in rcpts:
        s.expect("RCPT TO:<%s>" % rc, 250)
    r = s.data(msg)
    assert r is not None and r.code == 250, "DATA: %r" % r
    return r


def swaks_ok(r):
    assert r.returncode == 0, "swaks failed (%d):\n%s" % (r.returncode, r.stdout[-2000:])


def shim_session_ports(ctx, since, shim=None):
    """{port: sid} of every event=connect since ${since}."""
    out = {}
    for l in (shim or ctx.shim).log_lines(since):
        m = re.fullmatch(r"(%s): event=connect client=unknown\[127\.0\.0\.1\]:(\d+)" % SID,
                         l.message)
        if m:
            out[int(m.group(2))] = m.group(1)
    return out


# ----------------------------------------------------------------------
# 1. the relay: bytes, real client address and port, PROXY v2 and v1

def test_plain_message_real_client(ctx):
    start(ctx, milter_conf="profile = standard\nrule rcpt-count { limit = 1 action = log }\n")
    for proto in ("v2", "v1"):
        if proto == "v1":
            restart(ctx, STD, "proxy-protocol = v1")
        lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
        to = ["u1@dest.test", "u2@dest.test"]
        msg = make_message(SENDER, to[0], "through the shim, PROXY %s" % proto)
        swaks_ok(swaks(ctx.shim.port, SENDER, to, data=msg))
        for rc in to:
            check_delivered(ctx.postfix.wait_delivered(rc, dm)[0], msg)
        ports = shim_session_ports(ctx, lm)
        assert len(ports) == 1, "one session expected: %r" % ports
        (port, sid), = ports.items()
        # Postfix and the milter see swaks' own address and port
        maillog_line(ctx, r"postfix/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]:%d$"
                     % port)
        qid = ctx.postfix.queue_id_for(port)
        ctx.milter.expect_log("%s: rule=rcpt-count action=log value=2 limit=1 stage=rcpt "
                              "client=localhost[127.0.0.1]:%d from=<%s> rcpt=<%s>"
                              % (qid, port, SENDER, to[1]), LOG_NOTICE, since=lm)
        ctx.shim.expect_log('%s: event=ehlo action=strip value=1 %s detail="XFORWARD"'
                            % (sid, client(port)), LOG_NOTICE, lm)
        # EHLO MAIL RCPT RCPT DATA QUIT
        ctx.shim.expect_log("%s: event=disconnect %s duration={MS} reason=quit commands=6 "
                            "messages=1 in={N} out={N}" % (sid, client(port)), LOG_INFO, lm,
                            variable={"{N}": N, "{MS}": MS})
        ctx.shim.assert_no_log(r"rule=|event=(banner|command|limit|timeout|upstream-error)", lm)


# ----------------------------------------------------------------------
# 2. banner

def test_banner_pass_mask_asterisks(ctx):
    greeting, _, _ = postfix_reference(ctx, [])
    assert greeting == GREETING, greeting
    cases = [
        ("", greeting, None),
        ("banner = asterisks", b"220 " + b"*" * (len(greeting) - 6) + b"\r\n", "asterisks"),
        ('banner = mask\nbanner-text = "mail.example.test ready"',
         b"220 mail.example.test ready\r\n", "mask"),
        ("banner = mask", b"220 %s ESMTP\r\n" % socket.gethostname().encode(), "mask"),
    ]
    start(ctx)
    for i, (opts, want, action) in enumerate(cases):
        if i:
            restart(ctx, STD, opts)
        lm = ctx.syslog.mark()
        with connect(ctx) as s:
            _, got = raw(s)
            assert got == want, "%s: greeting %r, expected %r" % (opts or "pass", got, want)
            s.expect("EHLO client.harness.test", 250)
            s.expect("QUIT", 221)
            port = s.local_port
        sid = session_id(ctx, port, lm)
        wait_disconnect(ctx, sid, port, lm)
        if action:
            ctx.shim.expect_log("%s: event=banner action=%s %s" % (sid, action, client(port)),
                                LOG_NOTICE, lm)
        else:
            ctx.shim.assert_no_log(r"event=banner", lm)


# ----------------------------------------------------------------------
# 3. EHLO reply

def test_ehlo_standard_strip_pass_mask(ctx):
    lines = expected_ehlo(ctx)
    xf = lines.index(XFORWARD)
    cases = [
        # standard: STARTTLS, PIPELINING, CHUNKING ... kept, XFORWARD stripped
        ("", [l for l in lines if l != XFORWARD], "strip", 1, "XFORWARD"),
        ("ehlo-other = pass", lines, None, 0, None),
        ("ehlo-other = mask",
         lines[:xf] + [mask_keyword(XFORWARD, "A")] + lines[xf + 1:], "mask", 1, "XFORWARD"),
    ]
    # counting letters: six keywords not allowed, masked A..F in reply order
    allow = ["PIPELINING", "SIZE", "STARTTLS", "AUTH", "8BITMIME"]
    masked, want, k = [], [lines[0]], 0
    for l in lines[1:]:
        if l.split()[0] in allow:
            want.append(l)
        else:
            want.append(mask_keyword(l, "ABCDEFGH"[k]))
            masked.append(l.split()[0])
            k += 1
    cases.append(("ehlo-other = mask\nehlo-keywords = { %s }"
                  % ", ".join('"%s"' % a for a in allow),
                  want, "mask", len(masked), " ".join(masked)))
    assert " ".join(masked) == "VRFY ETRN XFORWARD ENHANCEDSTATUSCODES DSN CHUNKING"

    start(ctx)
    for i, (opts, want, action, n, detail) in enumerate(cases):
        if i:
            restart(ctx, STD, opts)
        lm = ctx.syslog.mark()
        with connect(ctx) as s:
            s.expect(None, 220)
            _, got = raw(s, "EHLO client.harness.test")
            assert got == ehlo_bytes(want), "%s:\n got  %r\n want %r" % (
                opts or "standard", got, ehlo_bytes(want))
            s.expect("NOOP", 250)
            s.expect("QUIT", 221)
            port = s.local_port
        sid = session_id(ctx, port, lm)
        wait_disconnect(ctx, sid, port, lm)
        if action:
            ctx.shim.expect_log('%s: event=ehlo action=%s value=%d %s detail="%s"'
                                % (sid, action, n, client(port), detail), LOG_NOTICE, lm)
        else:
            ctx.shim.assert_no_log(r"event=ehlo", lm)


def test_asa_profile_session(ctx):
    """The ASA's _default_esmtp_map: 220 ****, STARTTLS masked to XXXXXXXA in
    the EHLO reply and as a command (Postfix answers with its own error),
    and mail still flows."""
    lines = expected_ehlo(ctx)
    _, _, (postfix_says,) = postfix_reference(ctx, ["XXXXXXXX"])
    want, masked = [lines[0]], []
    asa_allowed = {"8BITMIME", "AUTH", "BINARYMIME", "CHECKPOINT", "DSN",
                   "ENHANCEDSTATUSCODES", "ETRN", "PIPELINING", "SIZE", "VRFY"}
    for l in lines[1:]:
        if l.split()[0] in asa_allowed:
            want.append(l)
        else:
            want.append(mask_keyword(l, "ABC"[len(masked)]))
            masked.append(l.split()[0])
    assert masked == ["STARTTLS", "XFORWARD", "CHUNKING"], masked
    assert want[lines.index("STARTTLS")] == "XXXXXXXA"

    start(ctx, ASA)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u3@dest.test", "asa profile")
    with connect(ctx) as s:
        _, got = raw(s)
        assert got == b"220 " + b"*" * (len(GREETING) - 6) + b"\r\n", got
        _, got = raw(s, "EHLO client.harness.test")
        assert got == ehlo_bytes(want), "\n got  %r\n want %r" % (got, ehlo_bytes(want))
        expect_reply(s.cmd("STARTTLS"), postfix_says.code, postfix_says.text)
        send_message(s, SENDER, ["u3@dest.test"], msg)
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u3@dest.test", dm)[0], msg)
    sid = session_id(ctx, port, lm)
    for line, level in (
            ("%s: event=banner action=asterisks %s", LOG_NOTICE),
            ('%s: event=ehlo action=mask value=3 %s detail="STARTTLS XFORWARD CHUNKING"',
             LOG_NOTICE),
            ('%s: event=command action=mask %s detail="STARTTLS"', LOG_WARNING)):
        ctx.shim.expect_log(line % (sid, client(port)), level, lm)
    # Postfix got XXXXXXXX, never a STARTTLS
    assert postfix_disconnect(ctx, port) == \
        "ehlo=1 mail=1 rcpt=1 data=1 quit=1 unknown=0/1 commands=5/6"


# ----------------------------------------------------------------------
# 4. commands

def test_commands_reject_and_mask(ctx):
    _, _, (unrecognized, unrecognized_short) = postfix_reference(ctx, ["XXXXXXXXXX", "XXX"])
    start(ctx)
    lm = ctx.syslog.mark()
    refused = ["XYZZY frob", "QUI", "NO", 'X"Y\\Z']
    details = ["XYZZY", "QUI", "NO", "X\\x22Y\\x5cZ"]
    with connect(ctx) as s:
        s.greet()
        for line in refused:
            expect_reply(s.cmd(line), 502, "5.5.1 Command not permitted")
        # a local reply keeps its place among pipelined upstream replies
        s.send(b"NOOP\r\nXYZZY\r\nRSET\r\n")
        expect_reply(s.reply(), 250, "2.0.0 Ok")
        expect_reply(s.reply(), 502, "5.5.1 Command not permitted")
        expect_reply(s.reply(), 250, "2.0.0 Ok")
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("QUIT", 221)
        port = s.local_port
    sid = session_id(ctx, port, lm)
    for d in details + ["XYZZY"]:
        ctx.shim.expect_log('%s: event=command action=reject %s detail="%s"'
                            % (sid, client(port), d), LOG_WARNING, lm)
    n = [l for l in ctx.shim.log_lines(lm) if "event=command" in l.message]
    assert len(n) == 5, "five event=command lines expected: %r" % n
    # nothing of the refused lines reached Postfix
    assert postfix_disconnect(ctx, port) == "ehlo=1 mail=1 rset=1 noop=1 quit=1 commands=5"

    restart(ctx, STD, "command-other = mask")
    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.greet()
        expect_reply(s.cmd("XYZZY frob"), unrecognized.code, unrecognized.text)
        expect_reply(s.cmd("QUI"), unrecognized_short.code, unrecognized_short.text)
        s.expect("QUIT", 221)
        port = s.local_port
    sid = session_id(ctx, port, lm)
    for d in ("XYZZY", "QUI"):
        ctx.shim.expect_log('%s: event=command action=mask %s detail="%s"'
                            % (sid, client(port), d), LOG_WARNING, lm)
    assert postfix_disconnect(ctx, port) == "ehlo=1 quit=1 unknown=0/2 commands=2/4"


# ----------------------------------------------------------------------
# 5. cmd-line-length

def noop_line(octets):
    """A NOOP command line of ${octets} octets, CRLF included."""
    return "NOOP " + "a" * (octets - 7)


def test_cmd_line_length(ctx):
    auth600 = "AUTH PLAIN " + "QUJD" * 147          # 599 octets + CRLF
    _, _, (noop_says, auth_says) = postfix_reference(ctx, [noop_line(512), auth600])

    # reject: 500, the session goes on and delivers
    start(ctx)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u4@dest.test", "after a long line")
    with connect(ctx) as s:
        s.greet()
        expect_reply(s.cmd(noop_line(512)), noop_says.code, noop_says.text)
        expect_reply(s.cmd(noop_line(513)), 500, "5.5.2 Line too long")
        # AUTH lines are measured against max(limit, 12288) (RFC 4954 4)
        expect_reply(s.cmd(auth600), auth_says.code, auth_says.text)
        send_message(s, SENDER, ["u4@dest.test"], msg)
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u4@dest.test", dm)[0], msg)
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: rule=cmd-line-length action=reject value=513 limit=512 "
                        "stage=command %s" % (sid, client(port)), LOG_WARNING, lm)
    wait_disconnect(ctx, sid, port, lm)
    rules = [l for l in ctx.shim.log_lines(lm) if "rule=" in l.message]
    assert len(rules) == 1, "one rule line expected (log once per decision):\n  %s" % (
        "\n  ".join(map(repr, rules)))

    # drop-connection: 421 and both sides closed
    restart(ctx, STD + "rule cmd-line-length { action = drop-connection }\n")
    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.greet()
        expect_reply(s.cmd(noop_line(513)), 421,
                     "4.7.0 Message refused by policy (cmd-line-length)")
        s.expect_eof()
        port = s.local_port
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: rule=cmd-line-length action=drop-connection value=513 limit=512 "
                        "stage=command %s" % (sid, client(port)), LOG_WARNING, lm)
    got = postfix_disconnect(ctx, port)
    assert got == "ehlo=1 commands=1", got

    # log: forwarded; past the hard cap of 12288 octets always 500
    restart(ctx, STD + "rule cmd-line-length { action = log }\n")
    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.greet()
        expect_reply(s.cmd(noop_line(600)), noop_says.code, noop_says.text)
        expect_reply(s.cmd(noop_line(13000)), 500, "5.5.2 Line too long")
        s.expect("NOOP", 250)
        s.expect("QUIT", 221)
        port = s.local_port
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: rule=cmd-line-length action=log value=600 limit=512 "
                        "stage=command %s" % (sid, client(port)), LOG_NOTICE, lm)
    got = postfix_disconnect(ctx, port)
    assert got == "ehlo=1 noop=2 quit=1 commands=4", got


# ----------------------------------------------------------------------
# 6. bare line feeds, SMTP smuggling

def test_bare_linefeed_command_and_data(ctx):
    start(ctx)
    dm = ctx.postfix.mark()
    for line in (b"NOOP\n", b"NO\rOP\r\n"):
        lm = ctx.syslog.mark()
        with connect(ctx) as s:
            s.greet()
            s.send(line)
            expect_reply(s.reply(), 421, DROP_BARE)
            s.expect_eof()
            port = s.local_port
        sid = session_id(ctx, port, lm)
        ctx.shim.expect_log("%s: rule=bare-linefeed action=drop-connection value=1 limit=0 "
                            "stage=command %s" % (sid, client(port)), LOG_WARNING, lm)
        assert postfix_disconnect(ctx, port) == "ehlo=1 commands=1", line

    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u5@dest.test>", 250)
        s.expect("DATA", 354)
        s.send(b"Subject: bare LF\r\n\r\nline one\nline two\r\n.\r\n")
        expect_reply(s.reply(), 421, DROP_BARE)
        s.expect_eof()
        port = s.local_port
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: rule=bare-linefeed action=drop-connection value=1 limit=0 "
                        "stage=data %s" % (sid, client(port)), LOG_WARNING, lm)
    ctx.postfix.assert_nothing_delivered(dm, port)


SMUGGLED = (b"MAIL FROM:<evil@example.test>\r\nRCPT TO:<u7@dest.test>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n")


def smuggle(port, end):
    """A session whose message holds ${end} (an end of DATA that Postfix
    3.7 accepts and CRLF.CRLF does not) and then SMUGGLED, whose CRLF.CRLF
    ends the message for a reader that ignores ${end}.
    Returns the session (replies after 354 not read yet)."""
    s = SMTPSession(port)
    s.greet()
    s.expect("MAIL FROM:<%s>" % SENDER, 250)
    s.expect("RCPT TO:<u6@dest.test>", 250)
    s.expect("DATA", 354)
    s.send(b"Subject: carrier\r\n\r\ncarrier" + end + SMUGGLED)
    return s


def test_smtp_smuggling(ctx):
    start(ctx)
    # Straight to Postfix 3.7 (no shim): the smuggled message is delivered.
    # This proves that the check below can see smuggling.
    dm = ctx.postfix.mark()
    with smuggle(ctx.smtp_port, b"\r\n.\n") as s:
        for code in (250, 250, 250, 354, 250):
            assert s.reply().code == code, s.transcript
        s.expect("QUIT", 221)
    assert b"\nsmuggled\n" in ctx.postfix.wait_delivered("u7@dest.test", dm)[0]
    ctx.postfix.wait_delivered("u6@dest.test", dm)
    ctx.postfix.wait_queue_empty()

    # Through the shim nothing is delivered, with bare-linefeed on (drop)
    # and with bare-linefeed = log: an ambiguous end of DATA drops whatever
    # the action.
    dm = ctx.postfix.mark()
    for conf in ("", "rule bare-linefeed { action = log }\n"):
        restart(ctx, STD + conf)
        for end, value in ((b"\r\n.\n", "1"), (b"\n.\r\n", "1"), (b"\n.\n", N)):
            lm = ctx.syslog.mark()
            with smuggle(ctx.shim.port, end) as s:
                expect_reply(s.reply(), 421, DROP_BARE)
                s.expect_eof()
                port = s.local_port
            sid = session_id(ctx, port, lm)
            ctx.shim.expect_log('%s: rule=bare-linefeed action=drop-connection value={V} '
                                'limit=0 stage=data %s detail="ambiguous end of data"'
                                % (sid, client(port)), LOG_WARNING, lm,
                                variable={"{V}": value})
            ctx.postfix.assert_nothing_delivered(dm, port)


# ----------------------------------------------------------------------
# 7. STARTTLS

def test_starttls_allow(ctx):
    start(ctx)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u8@dest.test", "over TLS through the shim")
    swaks_ok(swaks(ctx.shim.port, SENDER, ["u8@dest.test"], data=msg, extra=("--tls",)))
    check_delivered(ctx.postfix.wait_delivered("u8@dest.test", dm)[0], msg)
    (port, sid), = shim_session_ports(ctx, lm).items()
    ctx.shim.expect_log("%s: event=tls-started %s" % (sid, client(port)), LOG_INFO, lm)
    maillog_line(ctx, r"postfix/smtpd\[\d+\]: Anonymous TLS connection established from "
                 r"localhost\[127\.0\.0\.1\]:%d: " % port)
    wait_disconnect(ctx, sid, port, lm)


def test_starttls_pipelined_plaintext_discarded(ctx):
    """CVE-2011-0411 class: NOOP sent in the same write as STARTTLS is
    discarded by the shim and logged.  (Postfix 3.7 silently purges such
    plaintext itself, so its side cannot show a leak: the shim's
    event=starttls-discard line and a working TLS session are the checks.)"""
    start(ctx)
    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.greet()
        s.send(b"STARTTLS\r\nNOOP\r\n")
        expect_reply(s.reply(), 220, "2.0.0 Ready to start TLS")
        s.starttls()
        s.expect("EHLO client.harness.test", 250)
        s.expect("QUIT", 221)
        port = s.local_port
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: event=starttls-discard value=6 %s" % (sid, client(port)),
                        LOG_WARNING, lm)
    ctx.shim.expect_log("%s: event=tls-started %s" % (sid, client(port)), LOG_INFO, lm)
    assert postfix_disconnect(ctx, port) == "ehlo=2 starttls=1 quit=1 commands=4"


def test_starttls_strip(ctx):
    lines = expected_ehlo(ctx)
    start(ctx, STD, "starttls = strip")
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    with connect(ctx) as s:
        s.expect(None, 220)
        _, got = raw(s, "EHLO client.harness.test")
        want = [l for l in lines if l not in ("STARTTLS", XFORWARD)]
        assert got == ehlo_bytes(want), "\n got  %r\n want %r" % (got, ehlo_bytes(want))
        expect_reply(s.cmd("STARTTLS"), 502, "5.5.1 Command not permitted")
        s.expect("QUIT", 221)
        port = s.local_port
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log('%s: event=ehlo action=strip value=2 %s detail="STARTTLS XFORWARD"'
                        % (sid, client(port)), LOG_NOTICE, lm)
    ctx.shim.expect_log('%s: event=command action=reject %s detail="STARTTLS"'
                        % (sid, client(port)), LOG_WARNING, lm)
    assert postfix_disconnect(ctx, port) == "ehlo=1 quit=1 commands=2"

    # swaks --tls (TLS required) gives up: STARTTLS is not offered
    msg = make_message(SENDER, "u9@dest.test", "TLS stripped")
    r = swaks(ctx.shim.port, SENDER, ["u9@dest.test"], data=msg, extra=("--tls",))
    assert r.returncode != 0, "swaks --tls succeeded:\n%s" % r.stdout[-1500:]
    assert "STARTTLS" in r.stdout, r.stdout[-1500:]
    ctx.postfix.assert_nothing_delivered(dm)


# ----------------------------------------------------------------------
# 8. pipelining, CHUNKING, AUTH continuation

def test_pipelining_and_bdat(ctx):
    start(ctx)
    dm = ctx.postfix.mark()
    msg = make_message(SENDER, "u10@dest.test", "pipelined")
    swaks_ok(swaks(ctx.shim.port, SENDER, ["u10@dest.test", "u11@dest.test"], data=msg,
                   extra=("--pipeline",)))
    for rc in ("u10@dest.test", "u11@dest.test"):
        check_delivered(ctx.postfix.wait_delivered(rc, dm)[0], msg)

    # BDAT: chunks are counted, never parsed: CRLF.CRLF, command lines and a
    # CRLF split across two chunks (a lone CR / LF in each) pass unchanged.
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u12@dest.test", "chunked",
                       body=b"first\n.\nMAIL FROM:<evil@example.test>\nQUIT\n"
                            b"..dot\nsplit here\nlast\n")
    crlf = msg.replace(b"\n", b"\r\n")
    cut = crlf.index(b"split here\r\n") + len(b"split here\r")
    chunks = [crlf[:40], crlf[40:cut], crlf[cut:]]
    assert chunks[1].endswith(b"\r") and chunks[2].startswith(b"\n")
    assert b"\r\n.\r\n" in chunks[1]
    with connect(ctx) as s:
        ehlo = s.greet()
        assert "CHUNKING" in ehlo.lines, ehlo
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u12@dest.test>", 250)
        s.send(b"BDAT %d\r\n%s" % (len(chunks[0]), chunks[0]))
        expect_reply(s.reply(), 250, "2.0.0 Ok: %d bytes" % len(chunks[0]))
        # the last two chunks pipelined in one write
        s.send(b"BDAT %d\r\n%sBDAT %d LAST\r\n%s" % (len(chunks[1]), chunks[1],
                                                     len(chunks[2]), chunks[2]))
        expect_reply(s.reply(), 250, "2.0.0 Ok: %d bytes" % len(chunks[1]))
        r = s.reply()
        assert r.code == 250 and "queued as" in r.text, r
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u12@dest.test", dm)[0], msg)
    sid = session_id(ctx, port, lm)
    wait_disconnect(ctx, sid, port, lm)
    ctx.shim.assert_no_log(r"rule=|event=command", lm)


def test_pipelined_body_past_the_input_cap(ctx):
    """A client that does not wait for 354 sends its whole message while the
    shim holds its input for the reply to DATA: the shim stops reading at
    64 KiB of unparsed input, and must read on once the framer has drained
    it after the 354, or the session stalls.  1 MiB arrives whole."""
    start(ctx)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    body = b"".join(b"line %06d %s\n" % (i, b"x" * 60) for i in range(15000))
    msg = make_message(SENDER, "u40@dest.test", "past the cap", body=body)
    assert len(msg) > 16 * 64 * 1024
    with connect(ctx, timeout=30) as s:
        s.greet()
        s.send(b"MAIL FROM:<%s>\r\nRCPT TO:<u40@dest.test>\r\nDATA\r\n"
               % SENDER.encode() + msg.replace(b"\n", b"\r\n") + b".\r\n")
        expect_reply(s.reply(), 250, "2.1.0 Ok")
        expect_reply(s.reply(), 250, "2.1.5 Ok")
        expect_reply(s.reply(), 354, "End data with <CR><LF>.<CR><LF>")
        r = s.reply()
        assert r is not None and r.code == 250 and "queued as" in r.text, r
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u40@dest.test", dm)[0], msg)
    sid = session_id(ctx, port, lm)
    line = wait_disconnect(ctx, sid, port, lm)
    assert int(re.search(r" in=(\d+)", line.message).group(1)) > len(msg)
    ctx.shim.assert_no_log(r"rule=|event=command", lm)


def test_bdat_bare_linefeed(ctx):
    """BDAT chunks are counted by size (RFC 3030) and binary-safe
    (BINARYMIME): a bare LF inside one is content, relayed unchanged, and
    bare-linefeed does not fire (SPEC 5.6 names commands and DATA only)."""
    start(ctx)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    chunk = b"Subject: bare\r\n\r\nbare\nLF\r\n"
    with connect(ctx) as s:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u13@dest.test>", 250)
        s.send(b"BDAT %d LAST\r\n%s" % (len(chunk), chunk))
        r = s.reply()
        assert r is not None and r.code == 250 and "queued as" in r.text, r
        s.expect("QUIT", 221)
        port = s.local_port
    data = ctx.postfix.wait_delivered("u13@dest.test", dm)[0]
    assert b"\nbare\nLF\n" in data, data
    sid = session_id(ctx, port, lm)
    ctx.shim.assert_no_log(r"%s: rule=bare-linefeed" % sid, lm)


def test_auth_continuation(ctx):
    """AUTH LOGIN/PLAIN against Postfix's real Cyrus SASL: the lines after
    334 are relayed as data (as commands they would be refused: 502)."""
    if not ctx.postfix.sasl_users:
        raise harness.SkipTest("Postfix has no SASL: saslpasswd2 (Debian sasl2-bin) missing")
    (user, password), = ctx.postfix.sasl_users.items()
    b64 = lambda b: base64.b64encode(b).decode()
    start(ctx)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u14@dest.test", "authenticated")
    with connect(ctx) as s:
        s.greet()
        expect_reply(s.cmd("AUTH LOGIN"), 334, "VXNlcm5hbWU6")
        expect_reply(s.cmd(b64(user.encode())), 334, "UGFzc3dvcmQ6")
        expect_reply(s.cmd(b64(password.encode())), 235, "2.7.0 Authentication successful")
        send_message(s, SENDER, ["u14@dest.test"], msg)
        s.expect("QUIT", 221)
        port1 = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u14@dest.test", dm)[0], msg)
    with connect(ctx) as s:
        s.greet()
        expect_reply(s.cmd("AUTH PLAIN"), 334, "")
        r = s.cmd(b64(b"\0" + user.encode() + b"\0wrong"))
        assert r.code == 535, r
        expect_reply(s.cmd("AUTH PLAIN"), 334, "")
        expect_reply(s.cmd(b64(b"\0" + user.encode() + b"\0" + password.encode())), 235,
                     "2.7.0 Authentication successful")
        s.expect("QUIT", 221)
        port2 = s.local_port
    for port in (port1, port2):
        wait_disconnect(ctx, session_id(ctx, port, lm), port, lm)
    ctx.shim.assert_no_log(r"rule=|event=command", lm)
    assert postfix_disconnect(ctx, port1) == \
        "ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6"
    assert postfix_disconnect(ctx, port2) == "ehlo=1 auth=1/2 quit=1 commands=3/4"


# ----------------------------------------------------------------------
# 9. load: Postfix's smtp-source, 40 parallel sessions

def test_smtp_source_parallel(ctx):
    # 40 sessions at a time from one address, each followed at once by the
    # next: the shim (like Postfix's anvil) counts a session until it has
    # read the client's close, so under load a few closing ones overlap
    # the new ones; the limits are test_limits' business, not this one's.
    start(ctx, shim_opts="max-connections-per-client = 200\n")
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    r = harness.subprocess.run(
        ["/usr/sbin/smtp-source", "-s", "40", "-m", "200", "-f", "a@src.test",
         "-t", "u15@dest.test", "127.0.0.1:%d" % ctx.shim.port],
        stdin=harness.subprocess.DEVNULL, stdout=harness.subprocess.PIPE,
        stderr=harness.subprocess.STDOUT, timeout=60, text=True, errors="replace")
    assert r.returncode == 0, "smtp-source: %d\n%s" % (r.returncode, r.stdout[-2000:])
    ctx.postfix.wait_delivered("u15@dest.test", dm, n=200, timeout=60)
    ctx.shim.assert_no_log(r"rule=|event=(command|limit|timeout|upstream-error)", lm)


# ----------------------------------------------------------------------
# 10. connection limits

def hold(ctx, n, source=None):
    """${n} sessions that got their greeting."""
    out = []
    for _ in range(n):
        s = connect(ctx, source=source)
        s.expect(None, 220)
        out.append(s)
    return out


def refused(ctx, n):
    """${n} new clients, each refused with 421 and closed; their ports."""
    ports = []
    for _ in range(n):
        with connect(ctx) as s:
            expect_reply(s.reply(), 421, "4.7.0 Too many connections")
            s.expect_eof()
            ports.append(s.local_port)
    return ports


def expect_limit(ctx, value, name, port, since, addr="127.0.0.1"):
    """The one event=limit line of a refusal episode: ${name} reached at ${value}."""
    ctx.shim.expect_log('{SID}: event=limit action=reject value=%d limit=%d %s '
                        'detail="%s"' % (value, value, client(port, addr), name),
                        LOG_WARNING, since, variable={"{SID}": SID})


def limit_lines(ctx, since):
    return [l for l in ctx.shim.log_lines(since) if "event=limit" in l.message]


def close_all(ctx, sessions, since):
    for s in sessions:
        s.expect("QUIT", 221)
        s.close()
    for s in sessions:
        wait_disconnect(ctx, session_id(ctx, s.local_port, since), s.local_port, since)


def test_limits(ctx):
    lm0 = ctx.syslog.mark()
    # max-connections = 3: three extra clients refused, one log line
    start(ctx, STD, "max-connections = 3")
    held = hold(ctx, 3)
    lm = ctx.syslog.mark()
    ports = refused(ctx, 3)
    expect_limit(ctx, 3, "max-connections", ports[0], lm)
    for s in held:                      # established sessions are served
        s.expect("EHLO client.harness.test", 250)
        s.expect("NOOP", 250)
    # one closes: the count falls below the limit, a new client is served,
    # and the next refusal starts a new episode (logged again)
    held[0].expect("QUIT", 221)
    held[0].close()
    wait_disconnect(ctx, session_id(ctx, held[0].local_port, lm0), held[0].local_port, lm0)
    assert len(limit_lines(ctx, lm)) == 1, limit_lines(ctx, lm)
    held[0:1] = hold(ctx, 1)
    lm2 = ctx.syslog.mark()
    ports = refused(ctx, 2)
    expect_limit(ctx, 3, "max-connections", ports[0], lm2)
    close_all(ctx, held, lm0)
    assert len(limit_lines(ctx, lm2)) == 1, limit_lines(ctx, lm2)

    # max-connections-per-client = 2: 127.0.0.1 refused, 127.0.0.2 served
    restart(ctx, STD, "max-connections-per-client = 2")
    lm0 = ctx.syslog.mark()
    held = hold(ctx, 2)
    lm = ctx.syslog.mark()
    ports = refused(ctx, 3)
    other = hold(ctx, 1, source="127.0.0.2")[0]
    other.expect("EHLO client.harness.test", 250)
    expect_limit(ctx, 2, "max-connections-per-client", ports[0], lm)
    for s in held:
        s.expect("EHLO client.harness.test", 250)
    other.expect("QUIT", 221)
    other.close()
    close_all(ctx, held, lm0)
    assert len(limit_lines(ctx, lm)) == 1, limit_lines(ctx, lm)

    # max-embryonic = 2: sessions without a 250 to HELO/EHLO
    restart(ctx, STD, "max-embryonic = 2")
    lm0 = ctx.syslog.mark()
    held = hold(ctx, 2)
    lm = ctx.syslog.mark()
    ports = refused(ctx, 3)
    expect_limit(ctx, 2, "max-embryonic", ports[0], lm)
    held[0].expect("EHLO client.harness.test", 250)     # no longer embryonic
    held += hold(ctx, 1)
    for s in held[1:]:
        s.expect("HELO client.harness.test", 250)
    close_all(ctx, held, lm0)
    assert len(limit_lines(ctx, lm)) == 1, limit_lines(ctx, lm)


# ----------------------------------------------------------------------
# 11. timeouts

def test_timeouts(ctx):
    start(ctx, STD, "command-timeout = 1")
    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.greet()
        expect_reply(s.reply(), 421, "4.4.2 Timeout")   # nothing sent: times out
        s.expect_eof()
        port = s.local_port
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: event=timeout stage=command %s" % (sid, client(port)),
                        LOG_WARNING, lm)

    restart(ctx, STD, "command-timeout = 60\ndata-timeout = 1")
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    with connect(ctx) as s:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u16@dest.test>", 250)
        s.expect("DATA", 354)
        s.send(b"Subject: never finished\r\n")
        expect_reply(s.reply(), 421, "4.4.2 Timeout")
        s.expect_eof()
        port = s.local_port
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: event=timeout stage=data %s" % (sid, client(port)),
                        LOG_WARNING, lm)
    ctx.postfix.assert_nothing_delivered(dm, port)


# ----------------------------------------------------------------------
# 12. upstream unreachable

def test_upstream_silent_or_closing(ctx):
    """An upstream that accepts but never greets: connect-timeout (which
    covers the connect and the greeting) gives 421 4.3.0; one that closes
    before its greeting: 421 4.3.0 and event=upstream-error.  The
    "upstream" is a plain listening socket of the test's own: the kernel
    completes the handshake, nothing is ever sent."""
    ensure_milter(ctx)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    try:
        shim = ctx.make_shim(upstream_port=lsock.getsockname()[1])
        shim.start(STD, "connect-timeout = 1")
        lm = ctx.syslog.mark()
        with connect(ctx, shim) as s:
            expect_reply(s.reply(), 421, "4.3.0 Service not available")
            s.expect_eof()
            port = s.local_port
        sid = session_id(ctx, port, lm, shim)
        shim.expect_log("%s: event=timeout stage=connect %s" % (sid, client(port)),
                        LOG_WARNING, lm)
        # now the upstream closes at once
        lm = ctx.syslog.mark()
        s = connect(ctx, shim)
        first, _ = lsock.accept()           # the timed-out session's
        first.close()
        conn, _ = lsock.accept()
        conn.settimeout(10)
        hdr = b""
        while len(hdr) < 28:                # its PROXY v2 header, TCP4
            hdr += conn.recv(28 - len(hdr))
        assert hdr.startswith(b"\r\n\r\n\x00\r\nQUIT\n\x21\x11"), hdr
        conn.close()                        # a FIN, nothing unread: no reset
        expect_reply(s.reply(), 421, "4.3.0 Service not available")
        s.expect_eof()
        port = s.local_port
        s.close()
        sid = session_id(ctx, port, lm, shim)
        shim.expect_log('%s: event=upstream-error %s detail="127.0.0.1:%d: closed '
                        'before its greeting"' % (sid, client(port), lsock.getsockname()[1]),
                        LOG_ERR, lm)
    finally:
        lsock.close()


def test_upstream_down(ctx):
    dead = harness.free_port()
    shim = ctx.make_shim(upstream_port=dead)

    def refused(why):
        """One client gets 421 and the shim logs why it reached no upstream."""
        lm = ctx.syslog.mark()
        with connect(ctx, shim) as s:
            expect_reply(s.reply(), 421, "4.3.0 Service not available")
            s.expect_eof()
            port = s.local_port
        sid = session_id(ctx, port, lm, shim)
        shim.expect_log('%s: event=upstream-error %s detail="connect %s:%d: %s"'
                        % (sid, client(port), shim.upstream_host, dead, why), LOG_ERR, lm)

    start(ctx)                          # the milter, and ctx.shim for comparison
    shim.start(STD)
    refused("Connection refused")
    with connect(ctx) as s:             # the other shim is unaffected
        s.greet()
        s.expect("QUIT", 221)
    # connect() itself fails (a multicast address): the same reply and line
    shim.stop()
    shim.upstream_host = "224.0.0.1"
    shim.start(STD)
    refused("Network is unreachable")


# ----------------------------------------------------------------------
# 13. exempt clients

def test_exempt_clients_relayed_byte_for_byte(ctx):
    long_noop = noop_line(600)
    greeting, ehlo, (unknown_says, noop_says) = postfix_reference(ctx, ["XYZZY", long_noop])
    start(ctx, ASA + 'exempt-clients = { "127.0.0.1/32" }\n')
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u17@dest.test", "exempt")
    with connect(ctx) as s:
        _, got = raw(s)
        assert got == greeting, got             # not 220 ****
        _, got = raw(s, "EHLO client.harness.test")
        assert got == ehlo, "\n got  %r\n want %r" % (got, ehlo)   # STARTTLS visible
        expect_reply(s.cmd("XYZZY"), unknown_says.code, unknown_says.text)
        expect_reply(s.cmd(long_noop), noop_says.code, noop_says.text)
        expect_reply(s.cmd("STARTTLS"), 220, "2.0.0 Ready to start TLS")
        s.starttls()
        s.expect("EHLO client.harness.test", 250)
        send_message(s, SENDER, ["u17@dest.test"], msg)
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u17@dest.test", dm)[0], msg)
    ctx.shim.expect_log("{SID}: event=exempt %s" % client(port), LOG_INFO, lm,
                        variable={"{SID}": SID})
    maillog_line(ctx, r"postfix/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]:%d$" % port)
    ctx.shim.assert_no_log(r"rule=|event=(banner|ehlo|command|starttls-discard)", lm)


# ----------------------------------------------------------------------
# 14. half-close

def test_half_close(ctx):
    start(ctx)
    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.greet()
        s.send(b"QUIT\r\n")
        s.sock.shutdown(socket.SHUT_WR)
        expect_reply(s.reply(), 221, "2.0.0 Bye")
        s.expect_eof()
        port, out = s.local_port, len(s.received)
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: event=disconnect %s duration={MS} reason=quit commands=2 "
                        "messages=0 in=%d out=%d"
                        % (sid, client(port), len(b"EHLO client.harness.test\r\nQUIT\r\n"),
                           out), LOG_INFO, lm, variable={"{MS}": MS})

    # A QUIT pipelined behind DATA, then the half-close: the 221 still
    # makes it a quit (the QUIT had not gone upstream at the EOF).
    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.greet()
        s.send(("MAIL FROM:<%s>\r\nRCPT TO:<to@dest.test>\r\nDATA\r\n" % SENDER).encode()
               + b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        s.sock.shutdown(socket.SHUT_WR)
        assert [s.reply().code for _ in range(5)] == [250, 250, 354, 250, 221]
        s.expect_eof()
        port = s.local_port
    ctx.shim.expect_log("%s: event=disconnect %s duration={MS} reason=quit commands=5 "
                        "messages=1 in={N} out={N}" % (session_id(ctx, port, lm), client(port)),
                        LOG_INFO, lm, variable={"{MS}": MS, "{N}": N})

    # the client's EOF reaches Postfix as EOF after its command, not as a reset
    with connect(ctx) as s:
        s.send(b"NOOP\r\n")
        s.sock.shutdown(socket.SHUT_WR)
        s.expect(None, 220)
        expect_reply(s.reply(), 250, "2.0.0 Ok")
        s.expect_eof()
        port = s.local_port
    assert postfix_disconnect(ctx, port) == "noop=1 commands=1"
    maillog_line(ctx, r"postfix/smtpd\[\d+\]: lost connection after NOOP from "
                 r"localhost\[127\.0\.0\.1\]:%d$" % port)


# ----------------------------------------------------------------------
# 15. IPv6 listener

def test_ipv6_listener(ctx):
    try:
        port6 = harness.free_port("::1")
    except OSError as e:
        raise harness.SkipTest("no IPv6 loopback here: %s" % e)
    ctx.shim.listen.append("[::1]:%d" % port6)
    start(ctx)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u18@dest.test", "over IPv6")
    with SMTPSession(port6, host="::1") as s:
        s.greet()
        send_message(s, SENDER, ["u18@dest.test"], msg)
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u18@dest.test", dm)[0], msg)
    sid = session_id(ctx, port, lm, addr="::1")
    wait_disconnect(ctx, sid, port, lm, addr="::1")
    maillog_line(ctx, r"postfix/smtpd\[\d+\]: connect from [^\[ ]*\[::1\]:%d$" % port)
    with connect(ctx) as s:             # and the IPv4 listener still serves
        s.greet()
        s.expect("QUIT", 221)


# ----------------------------------------------------------------------
# 16. -n, SIGHUP, SIGTERM

SHIM_SECTION_N = """shim {
  listen = { "127.0.0.1:%(port)d" }
  upstream = "127.0.0.1:%(upstream)d"
  proxy-protocol = v2
  accept-proxy-from = {}
  banner = mask
  banner-text = "reloaded banner"
  ehlo-keywords = { "8BITMIME", "AUTH", "BINARYMIME", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "ETRN", "PIPELINING", "SIZE", "SMTPUTF8", "STARTTLS", "VRFY", "DELIVERBY", "HELP" }
  ehlo-other = strip
  commands = { "HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "HELP", "STARTTLS", "AUTH", "ETRN" }
  command-other = reject
  starttls = allow
  tls-certificate = ""
  tls-key = ""
  upstream-tls = no
  max-connections = 1000
  max-connections-per-client = 50
  max-embryonic = 100
  client-ipv6-prefix = 64
  embryonic-timeout = 30
  hard-error-limit = 20
  metrics-listen = ""
  connect-timeout = 10
  command-timeout = 300
  data-timeout = 600
  shutdown-timeout = 30
}
"""


def test_check_reload_stop(ctx):
    shim = ctx.shim
    reloaded = 'banner = mask\nbanner-text = "reloaded banner"'
    # -n: the effective shim section (the milter prints the same)
    shim.write_conf(STD, reloaded)
    r = shim.run(["-n", "-c", shim.conf])
    assert r.returncode == 0, "-n: %d\n%s" % (r.returncode, r.stderr)
    want = SHIM_SECTION_N % {"port": shim.port, "upstream": ctx.proxy_port}
    assert want in r.stdout, "-n output:\n%s\nexpected to contain:\n%s" % (r.stdout, want)
    # no certificate: starttls = auto is allow, which -n warns about
    assert r.stderr == "warning: %s: %s\n" % (shim.conf, ALLOW_NOTICE), r.stderr
    assert "rule cmd-line-length {" in r.stdout and "rule bare-linefeed {" in r.stdout
    m = harness.Milter(ctx.milter_binary, ctx.tmp, ctx.milter_port).run(["-n", "-c", shim.conf])
    assert m.returncode == 0 and want in m.stdout, m.stdout
    # a bad file: FILE:LINE, 78; unknown option: 64
    shim.write_conf(STD, "banner = sideways")
    r = shim.run(["-n", "-c", shim.conf])
    assert r.returncode == 78 and r.stderr.startswith(shim.conf + ":"), (r.returncode, r.stderr)
    shim.write_conf(STD, "starttls = terminate")
    r = shim.run(["-n", "-c", shim.conf])
    assert r.returncode == 78, "starttls = terminate: %d %s" % (r.returncode, r.stderr)
    r = shim.run(["-Z"])
    assert r.returncode == 64, (r.returncode, r.stderr)

    # SIGHUP: new sessions get the new banner, a bad file is refused
    start(ctx)
    lm = ctx.syslog.mark()
    old = connect(ctx)
    _, got = raw(old)
    assert got == GREETING, got
    shim.reload(STD, reloaded)
    shim.expect_log('NOQUEUE: event=reload config=%s profile=standard mode=enforce '
                    'detail="%s"' % (shim.conf, ALLOW_NOTICE), LOG_INFO, lm)
    for bad_reload_before in (False, True):
        if bad_reload_before:
            lm2 = ctx.syslog.mark()
            shim.reload(STD, "banner = sideways")
            shim.expect_log('NOQUEUE: event=config-error config=%s detail="{D}; '
                            'previous configuration kept"' % shim.conf,
                            LOG_ERR, lm2, variable={"{D}": r"[^\"]+"})
        with connect(ctx) as s:
            _, got = raw(s)
            assert got == b"220 reloaded banner\r\n", got
            s.expect("EHLO client.harness.test", 250)
            s.expect("QUIT", 221)
    old.expect("EHLO client.harness.test", 250)          # the open session goes on
    old.expect("QUIT", 221)
    old.close()

    # SIGTERM: listener closed, an idle session gets 421 after
    # shutdown-timeout, exit 0 (asserted by stop()), event=stop.  The
    # lines logged inside the loop are queued until it is idle: those of
    # its last round (the session's end) must still reach syslog.
    restart(ctx, STD, "shutdown-timeout = 1")
    lm = ctx.syslog.mark()
    s = connect(ctx)
    s.greet()
    sid = session_id(ctx, s.local_port, lm)
    shim.proc.send_signal(signal.SIGTERM)
    poll(lambda: not harness.listening(shim.port), 10, "the shim to stop listening")
    expect_reply(s.reply(), 421, "4.3.2 Service shutting down")
    s.expect_eof()
    s.close()
    rc = shim.proc.wait(15)
    assert rc == 0, "exit status %d after SIGTERM" % rc
    shim.stop()                         # stderr clean, port closed
    shim.expect_log("NOQUEUE: event=stopping signal=TERM sessions=1 shutdown-timeout=1",
                    LOG_INFO, lm)
    wait_disconnect(ctx, sid, s.local_port, lm)
    shim.expect_log("NOQUEUE: event=stop", LOG_INFO, lm)
    kinds = [m.split("event=", 1)[1].split(" ", 1)[0]
             for m in (l.message for l in shim.log_lines(lm)) if "event=" in m]
    assert kinds[-3:] == ["stopping", "disconnect", "stop"], kinds


# ----------------------------------------------------------------------
# issue 6: inbound PROXY from accept-proxy-from

def proxy_v1(src, sport, dst="127.0.0.1", dport=25):
    return b"PROXY TCP4 %s %s %d %d\r\n" % (src.encode(), dst.encode(), sport, dport)


def proxy_v2(src, sport, dst="127.0.0.1", dport=25):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    return (sig + b"\x21\x11\x00\x0c" + socket.inet_aton(src) + socket.inet_aton(dst)
            + sport.to_bytes(2, "big") + dport.to_bytes(2, "big"))


def test_inbound_proxy_from_balancer(ctx):
    """A header from an accept-proxy-from address names the real client:
    the shim's log, its limits and exemptions, and the header it sends on
    to Postfix all use it."""
    start(ctx, STD, 'accept-proxy-from = { "127.0.0.1/32" }\n'
          'max-connections-per-client = 1')
    for n, (enc, sport) in enumerate(((proxy_v1, 40001), (proxy_v2, 40002))):
        lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
        rcpt = "u%d@dest.test" % (30 + n)
        msg = make_message(SENDER, rcpt, "behind a balancer %d" % n)
        with connect(ctx) as s:
            s.send(enc("127.0.0.9", sport))
            s.greet()
            send_message(s, SENDER, [rcpt], msg)
            s.expect("QUIT", 221)
        check_delivered(ctx.postfix.wait_delivered(rcpt, dm)[0], msg)
        sid = session_id(ctx, sport, lm, addr="127.0.0.9")
        wait_disconnect(ctx, sid, sport, lm, addr="127.0.0.9")
        maillog_line(ctx, r"postfix/smtpd\[\d+\]: connect from [^\[]*\[127\.0\.0\.9\]:%d$"
                     % sport)
    # the per-client limit counts the real client, not the balancer
    lm = ctx.syslog.mark()
    a = connect(ctx)
    a.send(proxy_v1("127.0.0.9", 40010))
    a.expect(None, 220)
    b = connect(ctx)
    b.send(proxy_v1("127.0.0.10", 40011))
    b.expect(None, 220)
    with connect(ctx) as c:
        c.send(proxy_v1("127.0.0.9", 40012))
        expect_reply(c.reply(), 421, "4.7.0 Too many connections")
        c.expect_eof()
    expect_limit(ctx, 1, "max-connections-per-client", 40012, lm, "127.0.0.9")
    for s in (a, b):
        s.expect("QUIT", 221)
        s.close()
    # exemptions follow the real client too
    restart(ctx, STD + 'exempt-clients = { "127.0.0.9/32" }\n',
            'accept-proxy-from = { "127.0.0.1/32" }\nbanner = asterisks')
    lm = ctx.syslog.mark()
    with connect(ctx) as s:
        s.send(proxy_v2("127.0.0.9", 40020))
        _, greeting = raw(s)
        assert greeting == GREETING, greeting      # relayed byte for byte
        s.expect("QUIT", 221)
    sid = session_id(ctx, 40020, lm, addr="127.0.0.9")
    ctx.shim.expect_log("%s: event=exempt %s" % (sid, client(40020, "127.0.0.9")),
                        LOG_INFO, lm)


def test_inbound_proxy_refused(ctx):
    """No header from a balancer, a broken one, or a header from anyone
    else: the session is closed with an event=proxy-error line, nothing
    reaches Postfix."""
    start(ctx, STD, 'accept-proxy-from = { "127.0.0.1/32" }\nconnect-timeout = 1')
    lm, pm = ctx.syslog.mark(), len(ctx.postfix.maillog_text())
    # a balancer that talks SMTP instead of sending its header
    with connect(ctx) as s:
        s.send(b"EHLO client.harness.test\r\n")
        s.expect_eof()
        port1 = s.local_port
    ctx.shim.expect_log('{SID}: event=proxy-error %s detail="not a PROXY header"'
                        % client(port1), LOG_WARNING, lm, variable={"{SID}": SID})
    # one that sends nothing: connect-timeout
    with connect(ctx) as s:
        s.expect_eof()
        port2 = s.local_port
    ctx.shim.expect_log('{SID}: event=proxy-error %s detail="no PROXY header"'
                        % client(port2), LOG_WARNING, lm, variable={"{SID}": SID})
    # one that stalls half-way through its header: the same timeout
    with connect(ctx) as s:
        s.send(b"PROXY TCP4 192.0.2.7 ")
        s.expect_eof()
        port3 = s.local_port
    ctx.shim.expect_log('{SID}: event=proxy-error %s detail="no PROXY header"'
                        % client(port3), LOG_WARNING, lm, variable={"{SID}": SID})
    # one that floods after a broken header and never reads or closes: the
    # shim reads and drops it for SESSION_LINGER (1 s) at most, then hangs up
    sock = socket.create_connection(("127.0.0.1", ctx.shim.port), timeout=5)
    sock.sendall(b"EHLO client.harness.test\r\n")
    t0, ended = time.monotonic(), False
    while time.monotonic() - t0 < 10:
        try:
            sock.sendall(b"x" * 65536)
        except OSError:
            ended = True
            break
    dt = time.monotonic() - t0
    sock.close()
    assert ended and dt < 4, "a flooding balancer held its connection %.1fs" % dt
    # each is counted as a session that ended (SPEC 8): by policy (not a
    # header: the first and the flood) or timeout; none is open
    ls = ctx.syslog.mark()
    ctx.shim.proc.send_signal(signal.SIGUSR1)
    ctx.shim.expect_log("NOQUEUE: event=stats counter=sessions active=0 quit=0 "
                        "client-close=0 upstream-close=0 timeout=2 limit=0 policy=2 "
                        "desync=0 error=0 shutdown=0", LOG_INFO, ls)
    # a client that is not a balancer sends a header: refused, not relayed
    restart(ctx, STD, "")
    lm = ctx.syslog.mark()
    for enc in (proxy_v1, proxy_v2):
        with connect(ctx) as s:
            s.expect(None, 220)
            s.send(enc("192.0.2.7", 40030))
            s.expect_eof()
            port = s.local_port
        sid = session_id(ctx, port, lm)
        ctx.shim.expect_log('%s: event=proxy-error %s detail="PROXY header from a '
                            'client not in accept-proxy-from"' % (sid, client(port)),
                            LOG_WARNING, lm)
    assert "192.0.2.7" not in ctx.postfix.maillog_text()[pm:]


# ----------------------------------------------------------------------
# issue 6: starttls = terminate

def make_cert(d, name, cn):
    """A self-signed certificate and key under ${d}: (cert path, key path, DER)."""
    import ssl
    import subprocess
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn],
                   check=True, capture_output=True)
    with open(cert) as f:
        return cert, key, ssl.PEM_cert_to_DER_cert(f.read())


def terminate_opts(cert, key, extra=""):
    return 'starttls = terminate\ntls-certificate = "%s"\ntls-key = "%s"\n%s' % (
        cert, key, extra)


def test_starttls_terminate(ctx):
    """The shim offers STARTTLS itself (Postfix's own is taken out of the
    reply), completes TLS 1.2+ with its certificate, discards what was
    pipelined before the handshake, and goes on inspecting the decrypted
    session; the upstream stays plain text."""
    import shutil
    import subprocess
    d = os.path.join(ctx.tmp, "tlsterm")
    os.makedirs(d, exist_ok=True)
    cert, key, der_a = make_cert(d, "a", "shim-a.test")
    start(ctx, STD, terminate_opts(cert, key))
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u40@dest.test", "terminated by the shim")
    with connect(ctx) as s:
        s.expect(None, 220)
        _, ehlo = raw(s, "EHLO client.harness.test")
        lines = ehlo_lines(ehlo)
        assert lines.count("STARTTLS") == 1 and lines[-2] == "STARTTLS", lines
        s.send(b"STARTTLS\r\nNOOP\r\n")
        expect_reply(s.reply(), 220, "2.0.0 Ready to start TLS")
        s.starttls()
        assert s.sock.getpeercert(binary_form=True) == der_a
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3"), s.sock.version()
        _, ehlo2 = raw(s, "EHLO client.harness.test")
        assert "STARTTLS" not in ehlo_lines(ehlo2), ehlo2
        expect_reply(s.cmd("EXPN user"), 502, "5.5.1 Command not permitted")
        expect_reply(s.cmd("STARTTLS"), 503, "5.5.1 TLS already active")
        send_message(s, SENDER, ["u40@dest.test"], msg)
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u40@dest.test", dm)[0], msg)
    sid = session_id(ctx, port, lm)
    ctx.shim.expect_log("%s: event=starttls-discard value=6 %s" % (sid, client(port)),
                        LOG_WARNING, lm)
    ctx.shim.expect_log('%s: event=tls-started %s detail="{V} {C}"' % (sid, client(port)),
                        LOG_INFO, lm, variable={"{V}": r"TLSv1\.[23]", "{C}": r"[A-Z0-9_-]+"})
    ctx.shim.expect_log('%s: event=command action=reject %s detail="EXPN"'
                        % (sid, client(port)), LOG_WARNING, lm)
    # the upstream leg stayed plain text
    assert not re.search(r"TLS connection established from [^\[]*\[127\.0\.0\.1\]:%d" % port,
                         ctx.postfix.maillog_text()[ctx.maillog_at:])

    # below TLS 1.2: refused, logged
    lm = ctx.syslog.mark()
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % ctx.shim.port,
                        "-starttls", "smtp", "-tls1_1"], input=b"QUIT\n",
                       capture_output=True, timeout=20)
    assert b"Cipher is (NONE)" in r.stdout or r.returncode != 0, r.stdout[-500:]
    ctx.shim.expect_log('{SID}: event=tls-error client=unknown[127.0.0.1]:{N} '
                        'detail="unsupported protocol"', LOG_WARNING, lm,
                        variable={"{SID}": SID, "{N}": N})

    # SIGHUP loads a new certificate for new sessions; a broken one is refused
    _, _, der_b = make_cert(d, "b", "shim-b.test")
    shutil.copy(os.path.join(d, "b.pem"), cert)
    shutil.copy(os.path.join(d, "b.key"), key)
    lm = ctx.syslog.mark()
    ctx.shim.reload()
    ctx.shim.expect_log("NOQUEUE: event=reload config={P} profile=standard mode=enforce",
                        LOG_INFO, lm,
                        variable={"{P}": r"\S+"})
    with connect(ctx) as s:
        s.greet()
        s.expect("STARTTLS", 220)
        s.starttls()
        assert s.sock.getpeercert(binary_form=True) == der_b
        s.expect("QUIT", 221)
    with open(key, "w") as f:
        f.write("not a key\n")
    lm = ctx.syslog.mark()
    ctx.shim.reload()
    ctx.shim.expect_log('NOQUEUE: event=config-error config={P} detail="{D}; previous '
                        'configuration kept"', LOG_ERR, lm,
                        variable={"{P}": r"\S+", "{D}": r".*tls-key.*"})
    with connect(ctx) as s:                     # the old certificate still serves
        s.greet()
        s.expect("STARTTLS", 220)
        s.starttls()
        assert s.sock.getpeercert(binary_form=True) == der_b
        s.expect("QUIT", 221)


def test_starttls_terminate_upstream_tls(ctx):
    """upstream-tls = yes: the shim's own EHLO and STARTTLS towards Postfix
    before the client gets the greeting; Postfix logs a TLS session from
    the real client (PROXY header first, in plain text)."""
    d = os.path.join(ctx.tmp, "tlsup")
    os.makedirs(d, exist_ok=True)
    cert, key, _ = make_cert(d, "a", "shim-a.test")
    start(ctx, STD, terminate_opts(cert, key, "upstream-tls = yes"))
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u41@dest.test", "TLS on both legs")
    with connect(ctx) as s:
        _, greeting = raw(s)
        assert greeting == GREETING, greeting
        s.expect("EHLO client.harness.test", 250)
        s.expect("STARTTLS", 220)
        s.starttls()
        s.expect("EHLO client.harness.test", 250)
        send_message(s, SENDER, ["u41@dest.test"], msg)
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u41@dest.test", dm)[0], msg)
    maillog_line(ctx, r"postfix/smtpd\[\d+\]: Anonymous TLS connection established from "
                 r"[^\[]*\[127\.0\.0\.1\]:%d" % port)


def test_privileges_dropped_after_binding(ctx):
    """Started as root with user/group set, the shim binds first, then runs
    as that account (real, effective and saved ids) and still relays."""
    ensure_milter(ctx)
    ctx.shim.start('user = "nobody"\ngroup = "nogroup"\n' + STD, "")
    with open("/proc/%d/status" % ctx.shim.proc.pid) as f:
        status = f.read()
    assert re.search(r"^Uid:\s+65534\s+65534\s+65534\s+65534$", status, re.M), status
    assert re.search(r"^Gid:\s+65534\s+65534\s+65534\s+65534$", status, re.M), status
    assert re.search(r"^Groups:\s+65534\s*$", status, re.M), status
    with connect(ctx) as s:
        s.greet()
        s.expect("QUIT", 221)


def test_habitual_signals_stop_nothing(ctx):
    """SIGUSR1, SIGUSR2 and SIGPIPE, as a postmaster might send them by
    habit, stop nothing (SPEC 2): SIGUSR1 logs the counters, the shim still serves,
    and it stops cleanly afterwards.  Before, SIGUSR1 killed it (138)."""
    shim = start(ctx)
    lm = ctx.syslog.mark()
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE):
        shim.proc.send_signal(sig)
    shim.expect_log("NOQUEUE: event=stats counter=reloads ok=0 error=0", LOG_INFO, lm)
    with connect(ctx) as s:
        s.greet()
        s.expect("EHLO client.harness.test", 250)
        s.expect("QUIT", 221)
    assert shim.running(), "the shim died of a habitual signal"


# ----------------------------------------------------------------------
# Counters and the disconnect line (SPEC 6, 8)

def test_sessions_counted_by_how_they_end(ctx):
    """Sessions that end by QUIT, the client's close, a drop-connection
    rule, the hard-error limit and a timeout: each disconnect line says
    why, with its commands and messages, and /stats and /metrics (read
    with curl, parsed by the Prometheus text parser) count the same."""
    import test_milter as tm
    mport = harness.free_port()
    shim = start(ctx, STD, 'metrics-listen = "127.0.0.1:%d"\nhard-error-limit = 2\n'
                 'embryonic-timeout = 2' % mport)
    harness.wait_listening(mport, 10, "metrics-listen", shim.proc)
    lm = ctx.syslog.mark()
    ends = []
    with connect(ctx) as s:                             # quit, no message
        s.greet()
        expect_reply(s.cmd(noop_line(600)), 500, "5.5.2 Line too long")
        s.expect("QUIT", 221)
        s.expect_eof()
        ends.append((s.local_port, "quit", 3, 0))
    with connect(ctx) as s:                             # quit, one message
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<to@dest.test>", 250)
        r = s.data(harness.make_message(SENDER, "to@dest.test", "counted"))
        assert r is not None and r.code == 250, r
        s.expect("QUIT", 221)
        s.expect_eof()
        ends.append((s.local_port, "quit", 5, 1))
    with connect(ctx) as s:                             # the client goes
        s.greet()
        port = s.local_port
    ends.append((port, "client-close", 1, 0))
    with connect(ctx) as s:                             # drop-connection
        s.greet()
        s.send(b"NOOP\n")
        expect_reply(s.reply(), 421, DROP_BARE)
        s.expect_eof()
        ends.append((s.local_port, "policy", 2, 0))
    with connect(ctx) as s:                             # hard-error-limit
        s.greet()
        for _ in range(2):
            expect_reply(s.cmd("XYZZY"), 502, "5.5.1 Command not permitted")
        expect_reply(s.cmd("XYZZY"), 421, "4.7.0 Too many errors")
        s.expect_eof()
        ends.append((s.local_port, "limit", 4, 0))
    with connect(ctx) as s:                             # embryonic-timeout
        s.expect(None, 220)
        expect_reply(s.reply(), 421, "4.4.2 Timeout")
        s.expect_eof()
        ends.append((s.local_port, "timeout", 0, 0))
    for port, reason, commands, messages in ends:
        sid = session_id(ctx, port, lm)
        shim.expect_log("%s: event=disconnect %s duration={MS} reason=%s commands=%d "
                        "messages=%d in={N} out={N}"
                        % (sid, client(port), reason, commands, messages), LOG_INFO, lm,
                        variable={"{MS}": MS, "{N}": N})
    ehlos = len([l for l in shim.log_lines(lm) if "event=ehlo action=strip" in l.message])
    assert ehlos == 5, ehlos

    code, ctype, body = tm.http_get(mport, "/stats")
    assert (code, ctype) == (200, "text/plain; charset=utf-8"), (code, ctype)
    assert body == (
        "Inspect: esmtp esmtp-inspect-shim, profile standard, mode enforce\n"
        "match cmd line length gt 512  reject log, packet 1\n"
        "match bare-linefeed  drop-connection log, packet 1\n"
        "match ehlo-reply-parameter others  strip, packet 5\n"
        "match cmd verb others  reject, packet 3\n"
        "sessions active 0\n"
        "sessions quit 2, client-close 1, upstream-close 0, timeout 1, limit 1, policy 1, "
        "desync 0, error 0, shutdown 0\n"
        "limits max-connections 0, max-connections-per-client 0, max-embryonic 0, "
        "hard-error-limit 1\n"
        "reloads ok 0, error 0\n"), body
    code, ctype, body = tm.http_get(mport, "/metrics")
    assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
    got = tm.prometheus_samples(body)

    def rule(r, a):
        return ("esmtp_inspect_rule_matches_total",
                tuple(sorted({"daemon": "shim", "rule": r, "action": a,
                              "mode": "enforce"}.items())))
    want = {rule("cmd-line-length", "reject"): 1, rule("bare-linefeed", "drop-connection"): 1,
            rule("ehlo-other", "strip"): 5, rule("command-other", "reject"): 3,
            ("esmtp_inspect_sessions_active", ()): 0,
            ("esmtp_inspect_limit_refusals_total", (("limit", "hard-error-limit"),)): 1}
    for reason, n in (("quit", 2), ("client-close", 1), ("policy", 1), ("limit", 1),
                      ("timeout", 1), ("upstream-close", 0), ("shutdown", 0)):
        want[("esmtp_inspect_sessions_total", (("reason", reason),))] = n
    for k, v in want.items():
        assert got.get(k) == v, "%s: %r, expected %r\n%s" % (k, got.get(k), v, body)
    assert not [k for k in got if k[0] == "esmtp_inspect_messages_total"], body

    ls = ctx.syslog.mark()
    shim.proc.send_signal(signal.SIGUSR1)
    shim.expect_log("NOQUEUE: event=stats counter=sessions active=0 quit=2 client-close=1 "
                    "upstream-close=0 timeout=1 limit=1 policy=1 desync=0 error=0 shutdown=0",
                    LOG_INFO, ls)
    shim.expect_log("NOQUEUE: event=stats rule=command-other action=reject mode=enforce "
                    "matches=3", LOG_INFO, ls)


def test_metrics_port_cannot_hurt_mail(ctx):
    """A client of metrics-listen holds at most its share of the shim:
    connections past the cap are closed at once, a request is read up to
    8 KiB however much is sent (a pipelined flood that reads nothing
    leaves the shim's memory as it was), every connection ends within its
    deadline, and out of descriptors the listener pauses instead of
    crashing (libevent handed the old evhttp error callback the wrong
    data: a NULL call).  Mail flows meanwhile."""
    import resource
    import test_milter as tm
    import test_shim_framing as tf
    mport = harness.free_port()
    shim = start(ctx, STD, 'metrics-listen = "127.0.0.1:%d"' % mport)
    harness.wait_listening(mport, 10, "metrics-listen", shim.proc)

    def nfds():
        return len(os.listdir("/proc/%d/fd" % shim.pid))

    def send_ok():
        with connect(ctx) as s:
            s.greet()
            s.expect("QUIT", 221)

    base = nfds()
    held = [socket.create_connection(("127.0.0.1", mport)) for _ in range(40)]
    harness.poll(lambda: nfds() >= base + 16, 10, "16 metrics connections held")
    # The 40 are all accepted by the kernel; the shim keeps 16 and closes
    # the rest, which see their end.
    def ended(c):
        try:
            return c.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except ConnectionResetError:
            return True
    harness.poll(lambda: len([c for c in held if ended(c)]) == 40 - 16, 10,
                 "the connections past the cap closed")
    assert nfds() == base + 16, nfds() - base
    send_ok()
    # Each held one ends at its deadline (10 s from accept), silent or not.
    harness.poll(lambda: nfds() == base, 15, "the held connections to end")
    for c in held:
        c.close()

    # A pipelined flood that reads nothing: one answer, then the end.
    rss0 = tf.rss_kib(shim.pid)
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", mport))
    c.settimeout(10)
    sent = 0
    try:
        while sent < 64 << 20:
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 1000)
            sent += 37 * 1000
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    c.close()
    send_ok()
    assert tf.rss_kib(shim.pid) - rss0 < 16 * 1024, (rss0, tf.rss_kib(shim.pid))
    code, _, body = tm.http_get(mport, "/stats")
    assert code == 200 and body.startswith("Inspect: esmtp esmtp-inspect-shim"), body

    # Out of descriptors: the metrics listener pauses, the shim lives.
    soft, hard = resource.prlimit(shim.pid, resource.RLIMIT_NOFILE)
    limit = nfds() + 4

    def nfds_limit():
        return limit
    resource.prlimit(shim.pid, resource.RLIMIT_NOFILE, (limit, hard))
    try:
        filler = []
        for _ in range(8):
            filler.append(socket.create_connection(("127.0.0.1", shim.port)))
        probes = [socket.create_connection(("127.0.0.1", mport)) for _ in range(4)]
        # accept() fails on them for now: the listener waits a second.
        harness.poll(lambda: len(os.listdir("/proc/%d/fd" % shim.pid)) >= nfds_limit(),
                     10, "the shim out of descriptors")
        for p in probes:
            p.close()
        for f in filler:
            f.close()
    finally:
        resource.prlimit(shim.pid, resource.RLIMIT_NOFILE, (soft, hard))
    assert shim.running(), "the shim died out of descriptors"
    harness.poll(lambda: tm.http_get(mport, "/metrics")[0] == 200, 10,
                 "metrics served again")
    send_ok()


def test_systemd_notify(ctx):
    """Type=notify: READY=1 once every listen address is bound,
    RELOADING=1 and READY=1 around a reload, STOPPING=1 at SIGTERM."""
    ensure_milter(ctx)
    n = harness.NotifySocket(os.path.join(ctx.tmp, "notify"))
    shim = ctx.shim
    shim.extra_env = {"NOTIFY_SOCKET": n.path}
    try:
        shim.start(STD)
        n.expect("READY=1")
        assert harness.listening(shim.port), "READY=1 before the shim listens"
        shim.reload()
        n.expect("RELOADING=1")
        n.expect("READY=1")
        shim.stop()
        n.expect("STOPPING=1")
    finally:
        shim.extra_env = {}
        n.close()


# ----------------------------------------------------------------------
# 20. invalid-recipients (issue 19): RCPTs the MTA refused, per session

INVRCPT_DROP = "4.7.0 Message refused by policy (invalid-recipients)"


def unknown_user(addr):
    """The text of the strict smtpd's refusal (Postfix, no catch-all)."""
    return "5.1.1 <%s>: Recipient address rejected: User unknown in virtual " \
           "mailbox table" % addr


def invrcpt_line(sid, port, action, value, limit, rcpt, detail, addr="127.0.0.1",
                 monitor=False):
    return ('%s: rule=invalid-recipients action=%s value=%d limit=%d stage=rcpt %s '
            'rcpt=<%s>%s detail="%s"' % (sid, action, value, limit, client(port, addr),
                                         rcpt, " mode=monitor" if monitor else "", detail))


def strict_shim(ctx, rule, conf=STD, shim_opts=""):
    """A shim in front of the smtpd that refuses unknown dest.test
    recipients with 550 5.1.1 (harness.Postfix(strict_port=...))."""
    ensure_milter(ctx)
    shim = ctx.make_shim(upstream_port=ctx.postfix.strict_port)
    shim.start(conf + "rule invalid-recipients { %s }\n" % rule, shim_opts)
    return shim


def invrcpt_rule_lines(shim, since):
    return [l for l in shim.log_lines(since) if "rule=invalid-recipients" in l.message]


def test_invalid_recipients_log(ctx):
    """action = log: every RCPT reply reaches the client unchanged, the
    refusals beyond limit are logged one line each (address and the MTA's
    reply in the line), the message to the valid recipient is delivered."""
    shim = strict_shim(ctx, "limit = 2 action = log")
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = make_message(SENDER, "u20@dest.test", "some recipients unknown")
    with connect(ctx, shim) as s:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        for rc in ("nobody1@dest.test", "nobody2@dest.test"):
            expect_reply(s.cmd("RCPT TO:<%s>" % rc), 550, unknown_user(rc))
        s.expect("RCPT TO:<u20@dest.test>", 250)
        # beyond the limit: logged, the reply unchanged, the session goes on
        for rc in ("nobody3@dest.test", "Nobody4@dest.test"):
            expect_reply(s.cmd("RCPT TO:<%s> NOTIFY=NEVER" % rc), 550, unknown_user(rc))
        r = s.data(msg)
        assert r is not None and r.code == 250, r
        s.expect("QUIT", 221)
        port = s.local_port
    check_delivered(ctx.postfix.wait_delivered("u20@dest.test", dm)[0], msg)
    sid = session_id(ctx, port, lm, shim)
    for value, rc in ((3, "nobody3@dest.test"), (4, "Nobody4@dest.test")):
        shim.expect_log(invrcpt_line(sid, port, "log", value, 2, rc,
                                     "550 " + unknown_user(rc)), LOG_NOTICE, lm)
    wait_disconnect(ctx, sid, port, lm, shim, reason="quit")
    assert len(invrcpt_rule_lines(shim, lm)) == 2, invrcpt_rule_lines(shim, lm)


def test_invalid_recipients_drop_pipelined(ctx):
    """drop-connection, RCPTs pipelined in one write: the replies are
    paired with their RCPTs, the refusal beyond limit is relayed, then
    421 and the end: nothing the MTA answered after it (the next RCPT,
    DATA) reaches the client.  /stats and /metrics count the match."""
    import test_milter as tm
    mport = harness.free_port()
    shim = strict_shim(ctx, "limit = 1 action = drop-connection",
                       shim_opts='metrics-listen = "127.0.0.1:%d"' % mport)
    harness.wait_listening(mport, 10, "metrics-listen", shim.proc)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    with connect(ctx, shim) as s:
        s.greet()
        s.send("MAIL FROM:<%s>\r\nRCPT TO:<nobody1@dest.test>\r\nRCPT TO:<u21@dest.test>\r\n"
               "RCPT TO:<nobody2@dest.test>\r\nRCPT TO:<nobody3@dest.test>\r\nDATA\r\n"
               % SENDER)
        s.expect(None, 250)
        expect_reply(s.reply(), 550, unknown_user("nobody1@dest.test"))
        s.expect(None, 250)
        expect_reply(s.reply(), 550, unknown_user("nobody2@dest.test"))
        expect_reply(s.reply(), 421, INVRCPT_DROP)
        s.expect_eof()
        port = s.local_port
    sid = session_id(ctx, port, lm, shim)
    shim.expect_log(invrcpt_line(sid, port, "drop-connection", 2, 1, "nobody2@dest.test",
                                 "550 " + unknown_user("nobody2@dest.test")),
                    LOG_WARNING, lm)
    wait_disconnect(ctx, sid, port, lm, shim, reason="policy")
    assert len(invrcpt_rule_lines(shim, lm)) == 1, invrcpt_rule_lines(shim, lm)
    ctx.postfix.assert_nothing_delivered(dm)
    code, _, body = tm.http_get(mport, "/stats")
    assert code == 200, code
    assert "match invalid-recipients count gt 1  drop-connection log, packet 1\n" in body, body
    code, _, body = tm.http_get(mport, "/metrics")
    assert code == 200, code
    assert ('esmtp_inspect_rule_matches_total{daemon="shim",rule="invalid-recipients",'
            'action="drop-connection",mode="enforce"} 1\n') in body, body
    assert 'esmtp_inspect_sessions_total{reason="policy"} 1\n' in body, body


def test_invalid_recipients_span_rset_monitor_exempt(ctx):
    """The count is per session: it spans RSET and transactions.  Monitor
    mode logs mode=monitor and never drops; a client in the rule's
    exempt-clients is not counted, others are."""
    shim = strict_shim(ctx, "limit = 2 action = drop-connection")
    lm = ctx.syslog.mark()
    with connect(ctx, shim) as s:
        s.greet()
        for i in (1, 2):
            s.expect("MAIL FROM:<%s>" % SENDER, 250)
            rc = "nobody%d@dest.test" % i
            expect_reply(s.cmd("RCPT TO:<%s>" % rc), 550, unknown_user(rc))
            s.expect("RSET", 250)
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        expect_reply(s.cmd("RCPT TO:<nobody3@dest.test>"), 550,
                     unknown_user("nobody3@dest.test"))
        expect_reply(s.reply(), 421, INVRCPT_DROP)
        s.expect_eof()
        port = s.local_port
    sid = session_id(ctx, port, lm, shim)
    shim.expect_log(invrcpt_line(sid, port, "drop-connection", 3, 2, "nobody3@dest.test",
                                 "550 " + unknown_user("nobody3@dest.test")),
                    LOG_WARNING, lm)
    wait_disconnect(ctx, sid, port, lm, shim, reason="policy")

    # mode = monitor: logged as it would be, nothing dropped
    shim.stop()
    shim.start("mode = monitor\n" + STD + "rule invalid-recipients { limit = 0 "
               "action = drop-connection }\n")
    lm = ctx.syslog.mark()
    with connect(ctx, shim) as s:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        for rc in ("nobody1@dest.test", "nobody2@dest.test"):
            expect_reply(s.cmd("RCPT TO:<%s>" % rc), 550, unknown_user(rc))
        s.expect("RCPT TO:<u22@dest.test>", 250)
        s.expect("QUIT", 221)
        port = s.local_port
    sid = session_id(ctx, port, lm, shim)
    for value, rc in ((1, "nobody1@dest.test"), (2, "nobody2@dest.test")):
        shim.expect_log(invrcpt_line(sid, port, "drop-connection", value, 0, rc,
                                     "550 " + unknown_user(rc), monitor=True),
                        LOG_NOTICE, lm)
    wait_disconnect(ctx, sid, port, lm, shim, reason="quit")
    assert len(invrcpt_rule_lines(shim, lm)) == 2, invrcpt_rule_lines(shim, lm)

    # exempt-clients of the rule: 127.0.0.2 is not counted, 127.0.0.1 is
    shim.stop()
    shim.start(STD + 'rule invalid-recipients { limit = 0 action = drop-connection '
               'exempt-clients = { "127.0.0.2/32" } }\n')
    lm = ctx.syslog.mark()
    with connect(ctx, shim, source="127.0.0.2") as s:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        for rc in ("nobody1@dest.test", "nobody2@dest.test"):
            expect_reply(s.cmd("RCPT TO:<%s>" % rc), 550, unknown_user(rc))
        s.expect("QUIT", 221)
        xport = s.local_port
    with connect(ctx, shim) as s:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        expect_reply(s.cmd("RCPT TO:<nobody1@dest.test>"), 550,
                     unknown_user("nobody1@dest.test"))
        expect_reply(s.reply(), 421, INVRCPT_DROP)
        s.expect_eof()
        port = s.local_port
    xsid = session_id(ctx, xport, lm, shim, addr="127.0.0.2")
    wait_disconnect(ctx, xsid, xport, lm, shim, addr="127.0.0.2", reason="quit")
    sid = session_id(ctx, port, lm, shim)
    shim.expect_log(invrcpt_line(sid, port, "drop-connection", 1, 0, "nobody1@dest.test",
                                 "550 " + unknown_user("nobody1@dest.test")),
                    LOG_WARNING, lm)
    rules = invrcpt_rule_lines(shim, lm)
    assert len(rules) == 1 and rules[0].message.startswith(sid + ":"), rules


def test_invalid_recipients_which_replies_count(ctx):
    """Exact reply sequences from a scripted MTA, pipelined: only 5xx
    refusals count (not 4xx, not the 50x/555 syntax and sequence errors,
    not a 5xx to MAIL or DATA); the shim's own 500 to an over-long RCPT
    is not the MTA's and does not count; every reply reaches the client
    byte for byte, in order."""
    replies = {
        "ok": b"250 2.1.5 Ok\r\n",
        "grey": b"450 4.2.0 <grey@dest.test>: Recipient address rejected: Greylisted\r\n",
        "many": b"452 4.5.3 Error: too many recipients\r\n",
        "syntax": b"501 5.1.3 Bad recipient address syntax\r\n",
        "seq": b"503 5.5.1 Error: nested MAIL command\r\n",
        "param": b"555 5.5.4 Unsupported option: FOO=1\r\n",
        "unknown": b"550 5.1.1 <unknown@dest.test>: Recipient address rejected: "
                   b"User unknown\r\n",
        "relay": b"554 5.7.1 <relay@elsewhere.test>: Relay access denied\r\n",
        "multi": b"550-5.1.1 The \"multi\" account\r\n550 5.1.1 does not exist\r\n",
    }

    def handler(line):
        verb = line[:4].upper()
        if verb == b"EHLO":
            return b"250-fake.test\r\n250 PIPELINING\r\n"
        if verb == b"MAIL":
            return b"250 2.1.0 Ok\r\n"
        if verb == b"RCPT":
            return replies[re.search(rb"<([a-z]+)@", line).group(1).decode()]
        if verb == b"DATA":
            return b"554 5.5.1 Error: no valid recipients\r\n"
        if verb == b"QUIT":
            return b"221 2.0.0 Bye\r\n"
        return b"250 2.0.0 Ok\r\n"

    ensure_milter(ctx)
    up = harness.ScriptedUpstream(handler)
    try:
        shim = ctx.make_shim(upstream_port=up.port)
        shim.start(STD + "rule invalid-recipients { limit = 1 action = log }\n")
        lm = ctx.syslog.mark()
        long_rcpt = "RCPT TO:<%s@dest.test>" % ("x" * 520)
        order = ["ok", "grey", "many", "syntax", "seq", "param", "unknown", None,
                 "relay", "multi"]
        domains = {"relay": "elsewhere.test"}
        lines = ["MAIL FROM:<%s>" % SENDER]
        want = b"250 2.1.0 Ok\r\n"
        for name in order:
            if name is None:
                lines.append(long_rcpt)
                want += b"500 5.5.2 Line too long\r\n"
                continue
            lines.append("RCPT TO:<%s@%s>%s" % (name, domains.get(name, "dest.test"),
                                                " FOO=1" if name == "param" else ""))
            want += replies[name]
        lines.append("DATA")
        want += b"554 5.5.1 Error: no valid recipients\r\n"
        with connect(ctx, shim) as s:
            s.greet()
            n = consumed(s)
            s.send("".join(l + "\r\n" for l in lines))
            for _ in range(len(lines)):
                assert s.reply() is not None
            assert s.received[n:consumed(s)] == want, (s.received[n:], want)
            s.expect("QUIT", 221)
            port = s.local_port
        sid = session_id(ctx, port, lm, shim)
        shim.expect_log(invrcpt_line(sid, port, "log", 2, 1, "relay@elsewhere.test",
                                     "554 5.7.1 <relay@elsewhere.test>: Relay access "
                                     "denied"), LOG_NOTICE, lm)
        shim.expect_log(invrcpt_line(sid, port, "log", 3, 1, "multi@dest.test",
                                     "550-5.1.1 The \\x22multi\\x22 account"),
                        LOG_NOTICE, lm)
        wait_disconnect(ctx, sid, port, lm, shim, reason="quit")
        assert len(invrcpt_rule_lines(shim, lm)) == 2, invrcpt_rule_lines(shim, lm)
        # the over-long RCPT never reached the MTA
        assert not any(len(l) > 512 for l in up.lines), [len(l) for l in up.lines]
    finally:
        up.close()
