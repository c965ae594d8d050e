# SPDX-License-Identifier: BSD-2-Clause
"""test_offline - esmtp-inspect-milter -t against the milter in Postfix (issue 16).

SPEC 9: -t runs a message file through the same code the daemon runs.
Every message of tests/data is sent through the private Postfix to the
milter, and given to `esmtp-inspect-milter -t` with the same configuration
file and envelope (-s, -r, and -a with the client field of the session);
both must give the same verdict (250 against "250 2.0.0 accepted", else
the same reply line) and the same log lines in the same order, the queue
id (or NOQUEUE) of the daemon's lines read as TEST.  Under the standard
and asa profiles, with every content rule at log (so that a message fires
many rules and is still delivered), in monitor mode, and with exempt
clients; then edge messages of Postfix's reading.  Also: the LF and
standard-input forms of each message give the same output, -t sends
nothing to syslog, and the exit statuses of SPEC 9.
"""

import os
import re
import socket
import subprocess

import harness
import test_content
from harness import SMTPSession

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
SENDER = test_content.SENDER          # send() uses its envelope
RCPT = test_content.RCPT
IDENT = harness.Milter.IDENT
ACCEPTED = "250 2.0.0 accepted"

STANDARD = "profile = standard\n"
ASA = "profile = asa\n"
ALL_LOG = """profile = standard
rule header-line-length { action = log }
rule body-line-length { action = log }
rule mime-filename-length { action = log }
rule dkim-unsigned-duplicate { action = log }
rule mime-structure { action = log }
rule duplicate-header { action = log
  headers = { "from", "to", "cc", "subject", "date", "message-id", "sender",
              "reply-to", "content-type", "content-transfer-encoding",
              "mime-version", "received", "dkim-signature", "bcc",
              "return-path", "x-mailbox-line", "authentication-results" } }
"""


def corpus():
    names = sorted(n for n in os.listdir(DATA) if n.endswith(".eml"))
    assert len(names) >= 50, "the corpus is missing: %r" % names
    return names


def load(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def run_t(ctx, message, opts=(), stdin=None):
    """esmtp-inspect-milter -c CONF -t ${message} ${opts}: (exit status,
    stdout lines, stderr, pid)."""
    args = [message] + list(opts)
    p = subprocess.Popen([ctx.milter_binary, "-c", ctx.milter.conf, "-t"] + args,
                         stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(stdin, timeout=30)
    for bad in (b"AddressSanitizer", b"runtime error", b"LeakSanitizer"):
        assert bad not in err, "-t %r: %s" % (args, err.decode(errors="replace"))
    return p.returncode, out.decode("utf-8", "surrogateescape").splitlines(), \
        err.decode(errors="replace"), p.pid


_sync_n = [0]


def sync_log(ctx):
    """Every datagram sent to /dev/log before now has been read: send one
    of our own and wait for it (the socket is read in order)."""
    _sync_n[0] += 1
    tag = "offline-sync"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(("<14>%s: mark %d" % (tag, _sync_n[0])).encode(), ctx.syslog.path)
    finally:
        s.close()
    ctx.syslog.wait_for_log(r"mark %d" % _sync_n[0], ident=tag)


def send(ctx, msg):
    """One transaction with ${msg} through Postfix (test_content.send()):
    (reply line, client port)."""
    r, port, _ = test_content.send(ctx, msg)
    assert r is not None, "connection closed at the end of DATA"
    return "%d %s" % (r.code, r.text), port


def daemon_lines(ctx, mark, port):
    """The milter's lines of the session from ${port}, the id read as TEST."""
    client = "client=localhost[127.0.0.1]:%d" % port
    out = []
    for l in ctx.milter.log_lines(mark):
        if client not in l.message:
            continue
        out.append(re.sub(r"^(?:[0-9A-F]+|NOQUEUE): ", "TEST: ", l.message))
    return out


def same_as_postfix(ctx, conf, messages):
    """Each (name, path) of ${messages}: Postfix with the milter and -t agree."""
    ctx.start_milter(conf)
    diffs = []
    for name, path in messages:
        with open(path, "rb") as f:
            msg = f.read()
        mark = ctx.syslog.mark()
        reply, port = send(ctx, msg)
        sync_log(ctx)
        got = daemon_lines(ctx, mark, port)
        rc, out, err, _ = run_t(ctx, path, ["-s", SENDER, "-r", RCPT,
                                            "-a", "localhost[127.0.0.1]:%d" % port])
        want_reply = ACCEPTED if reply.startswith("250 ") else reply
        want = got + [want_reply]
        want_rc = 0 if want_reply == ACCEPTED else 1
        if (rc, out) != (want_rc, want) or err:
            diffs.append("%s: Postfix and the milter:\n    %s\n  exit %d\n"
                         "  -t:\n    %s\n  exit %d%s" % (
                             name, "\n    ".join(want), want_rc,
                             "\n    ".join(out), rc,
                             "\n  stderr: " + err if err else ""))
    assert not diffs, "%d of %d messages differ:\n%s" % (
        len(diffs), len(messages), "\n".join(diffs))



def same_as_postfix_table(ctx, conf, table):
    """same_as_postfix() for each message of ${table} (name: bytes),
    written into the test's directory first."""
    messages = []
    for name, msg in table.items():
        path = os.path.join(ctx.tmp, name + ".eml")
        with open(path, "wb") as f:
            f.write(msg)
        messages.append((name, path))
    same_as_postfix(ctx, conf, messages)

def fixtures():
    return [(n, os.path.join(DATA, n)) for n in corpus()]


def test_offline_same_as_postfix_standard(ctx):
    same_as_postfix(ctx, STANDARD, fixtures())


def test_offline_same_as_postfix_asa(ctx):
    same_as_postfix(ctx, ASA, fixtures())


def test_offline_same_as_postfix_every_rule_logging(ctx):
    same_as_postfix(ctx, ALL_LOG, fixtures())


def test_offline_same_as_postfix_monitor(ctx):
    same_as_postfix(ctx, "profile = standard\nmode = monitor\n", fixtures())


# The ASA's optional criteria (issue 19), each at log so that every
# message is delivered and every line compared, values included.
CRITERIA_LOG = """profile = standard
rule header-length { limit = 100 action = log }
rule header-to-count { limit = 0 action = log }
rule body-length { limit = 100 action = log }
rule mime-type { patterns = { '^(image|application)/', '^message/', '^multipart/' }
                 action = log }
rule mime-encoding { encodings = { "base64", "quoted-printable", "8bit", "others" }
                     action = log }
rule sender-address { patterns = { '@example\\.test$' } action = log }
rule mail-relay { domains = { "example.test" } action = log }
"""


def test_offline_same_as_postfix_criteria(ctx):
    same_as_postfix(ctx, CRITERIA_LOG, fixtures())


def test_offline_same_as_postfix_exempt(ctx):
    """The client of -a decides exemptions as the real one does: globally
    (event=exempt at connect, its id TEST in -t) and per rule."""
    some = [f for f in fixtures() if f[0] in (
        "attack-dup-from.eml", "attack-dkim-rfc6376-8.15.eml", "len-header-999.eml",
        "mime-2231-256.eml", "benign-plain.eml")]
    assert len(some) == 5
    same_as_postfix(ctx, 'exempt-clients = { "127.0.0.1/32" }\n', some)
    ctx.milter.stop()
    same_as_postfix(ctx, 'exempt-clients = { "192.0.2.0/24" }\n'
                    'rule duplicate-header { exempt-clients = { "127.0.0.0/8" } }\n'
                    'rule mime-filename-length { exempt-clients = { "::1", "127.0.0.1" } }\n',
                    some)


def test_offline_envelope_same_as_postfix(ctx):
    """The envelope rules: each step's log lines, then its refusal, in
    the order of the session (sender-length at MAIL, rcpt-count and
    address-characters at each RCPT, a refused recipient only that one)."""
    ctx.start_milter("profile = standard\n"
                     "rule sender-length { limit = 10 action = log }\n"
                     "rule rcpt-count { limit = 2 }\n")
    rcpts = ["u1@dest.test", "u2@dest.test", "u3@dest.test", "u|4@dest.test",
             "u5@dest.test"]
    path = os.path.join(DATA, "attack-dup-from.eml")
    with open(path, "rb") as f:
        msg = f.read()
    s = SMTPSession(ctx.smtp_port)
    want = []
    try:
        s.greet()
        port = s.local_port
        for cmd in ["MAIL FROM:<%s>" % SENDER] + ["RCPT TO:<%s>" % r for r in rcpts]:
            mark = ctx.syslog.mark()
            r = s.cmd(cmd)
            sync_log(ctx)
            want += daemon_lines(ctx, mark, port)
            assert r is not None
            if r.code != 250:
                want.append("%d %s" % (r.code, r.text))
        mark = ctx.syslog.mark()
        r = s.data(msg)
        sync_log(ctx)
        want += daemon_lines(ctx, mark, port)
        want.append(ACCEPTED if r.code == 250 else "%d %s" % (r.code, r.text))
        s.expect("QUIT", 221)
    finally:
        s.close()
    assert any("452 4.5.3" in l for l in want) and any("address-characters" in l
                                                        for l in want), want
    opts = ["-s", SENDER, "-a", "localhost[127.0.0.1]:%d" % port]
    for r in rcpts:
        opts += ["-r", r]
    rc, out, err, _ = run_t(ctx, path, opts)
    assert (rc, out, err) == (1, want, ""), "-t:\n  %s\nexit %d %s\nPostfix and the " \
        "milter:\n  %s" % ("\n  ".join(out), rc, err, "\n  ".join(want))


# Where Postfix's reading of a message shows: which fields a milter gets
# (duplicate-header counts them), how long their lines are
# (header-line-length, the first over 50), where the body starts and how
# its lines end (body-line-length, the first over 50).
READINGS_CONF = """profile = standard
rule header-line-length { limit = 50 action = log }
rule body-line-length { limit = 50 action = log }
rule duplicate-header { action = log
  headers = { "x-a", "x-mailbox-line", "bcc", "resent-bcc", "return-path",
              "content-length", "subject", "from", "to" } }
"""
LONG = b"l" * 60
READINGS = {
    # a line that is no field ends the header and is the first body line
    "non-field": b"X-A: 1\r\nX-A: 2\r\nthis line is not a field " + LONG +
                 b"\r\nX-A: 3\r\n\r\nbody\r\n",
    "field-name-space": b"X-A: 1\r\nX A: " + LONG + b"\r\nX-A: 2\r\n",
    # a first line starting with white space: all of it is body
    "leading-space": b" X-A: 1\r\nX-A: 2\r\nX-A: " + LONG + b"\r\n\r\nb\r\n",
    "leading-empty": b"\r\nX-A: 1\r\nX-A: 2\r\n",
    # UNIX From_ lines at the very start; "From :" there is one too
    "mbox-from": b"From a@x Mon Jan  1 00:00:00 2024\r\n>From b\r\nX-A: " + LONG +
                 b"\r\n\r\nbody\r\n",
    "from-space-colon-first": b"From : a@x\r\nFrom: b@x\r\nTo: c@x\r\n\r\nb\r\n",
    # white space before the colon goes; the name stays a duplicate
    "space-colon": b"Subject: a\r\nSubject\t: b " + LONG + b"\r\nSubject : c\r\n\r\n",
    # message_drop_headers never reach the milter
    "dropped": b"Bcc: a@x\r\nBcc: b@x\r\nReturn-Path: <x@x>\r\nReturn-Path: <y@y>\r\n"
               b"Content-Length: 1\r\nContent-Length: 2\r\nResent-Bcc: c@x\r\n"
               b"Resent-Bcc: d@x\r\n\tfolded " + LONG + b"\r\nX-A: 1\r\n\r\nb\r\n",
    # folding: each physical line measured, LF between them
    "folded": b"X-A: short\r\n\tline two\r\n " + LONG + b"\r\n\r\n",
    # a field name longer than a record (2048): no field
    "long-name": b"N" * 3000 + b": v\r\nX-A: 1\r\nX-A: 2\r\n\r\nb\r\n",
    # a record boundary inside a field and inside a continuation line
    "long-field": b"X-A: " + b"a" * 5000 + b"\r\n\t" + b"b" * 3000 + b"\r\nX-A: 2\r\n\r\n",
    # header_size_limit: the field is cut at 102400 octets
    "huge-field": b"X-A: " + b"a" * 150000 + b"\r\nX-A: 2\r\n\r\nb\r\n",
    "huge-folded": b"X-A: a\r\n" + b"\t" + b"y" * 999 + b"\r\n" * 1 +
                   (b"\t" + b"y" * 999 + b"\r\n") * 149 + b"X-A: 2\r\n\r\n",
    # a NUL ends a header line, not a body line
    "nul-header": b"X-A: " + b"a" * 20 + b"\0" + LONG + b"\r\n\t" + b"c" * 10 +
                  b"\0" + LONG + b"\r\n\r\n" + b"b" * 20 + b"\0" + LONG + b"\r\n",
    # CRs before the line end belong to it; others stay
    "cr": b"X-A: 1\r\r\nX-A: x\ry " + LONG + b"\r\n\r\nb\rc\r\r\n",
    # 8-bit field name: no field
    "eight-bit-name": b"X-A: 1\r\n\xc3\x84: 2\r\nX-A: 3\r\n\r\n",
    # no body, no empty line; an empty body line
    "no-body": b"X-A: 1\r\nX-A: 2",
    "empty-body-lines": b"X-A: 1\r\n\r\n\r\n\r\n" + LONG + b"\r\n",
    # body lines across the milter's 65535-octet chunks
    "chunks": b"X-A: 1\r\n\r\n" + (b"x" * 40 + b"\r\n") * 1700 + b"y" * 70000 + b"\r\n",
    # dots at the start of body lines (the client stuffs them)
    "dots": b"X-A: 1\r\n\r\n.\r\n..\r\n." + LONG + b"\r\n",
}


def test_offline_postfix_readings(ctx):
    """Messages at the edges of how Postfix hands a message to a milter:
    -t reads each as Postfix does (common/msgfile.c)."""
    same_as_postfix_table(ctx, READINGS_CONF, READINGS)


def test_offline_line_ends_stdin_and_no_syslog(ctx):
    """LF or CRLF, a file or standard input: the same output; the message's
    own envelope (From:, To:, Cc:) by default; nothing reaches syslog."""
    ctx.milter.write_conf(ALL_LOG)
    mark = ctx.syslog.mark()
    pids = set()
    for name in corpus():
        msg = load(name)
        path = os.path.join(DATA, name)
        rc, out, err, pid = run_t(ctx, path)
        pids.add(pid)
        assert rc in (0, 1) and out and not err, "%s: exit %d %r %s" % (name, rc, out, err)
        lf = msg.replace(b"\r\n", b"\n")
        tmp = os.path.join(ctx.tmp, name + ".lf")
        with open(tmp, "wb") as f:
            f.write(lf)
        for what, stdin in ((tmp, None), ("-", lf), ("-", msg)):
            rc2, out2, err2, pid = run_t(ctx, what, stdin=stdin)
            pids.add(pid)
            assert (rc2, out2, err2) == (rc, out, err), "%s %s: %r, expected %r" % (
                name, what, (rc2, out2, err2), (rc, out, err))
    sync_log(ctx)
    # By pid: other milters on this machine may log meanwhile.
    leaked = [l for l in ctx.syslog.since(mark)
              if l.pid in pids or (l.ident == IDENT and l.pid is None)]
    assert not leaked, "-t logged to syslog: %r" % leaked[:5]


def test_offline_exit_status(ctx):
    """SPEC 9 and 2: 66 unreadable message, 78 bad configuration, 64 usage
    (an unknown option, -t with -f or -n, -s without -t, no recipient)."""
    ctx.milter.write_conf(STANDARD)
    ok = os.path.join(DATA, "benign-plain.eml")
    bad_conf = os.path.join(ctx.tmp, "bad.conf")
    with open(bad_conf, "w") as f:
        f.write("rule no-such-rule { action = reject }\n")
    b = ctx.milter_binary
    c = ctx.milter.conf
    cases = [
        ([b, "-c", c, "-t", ok], 0, ACCEPTED),
        ([b, "-c", c, "-t", os.path.join(DATA, "attack-dup-from.eml")], 1,
         "550 5.7.1 Message refused by policy (duplicate-header)"),
        ([b, "-c", c, "-t", os.path.join(ctx.tmp, "missing.eml")], 66, None),
        ([b, "-c", c, "-t", ctx.tmp], 66, None),
        ([b, "-c", bad_conf, "-t", ok], 78, None),
        ([b, "-c", c, "-t", ok, "-x"], 64, None),
        ([b, "-c", c, "-t", ok, "-f"], 64, None),
        ([b, "-c", c, "-n", "-t", ok], 64, None),
        ([b, "-c", c, "-s", SENDER], 64, None),
        ([b, "-c", c, "-t", ok, "-a", "not-an-address"], 64, None),
    ]
    for argv, status, last in cases:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30, text=True, errors="replace")
        assert r.returncode == status, "%r: exit %d, expected %d\n%s" % (
            argv[3:], r.returncode, status, r.stderr)
        if last is not None:
            assert r.stdout.splitlines()[-1] == last, "%r: %r" % (argv[3:], r.stdout)
        else:
            assert r.stdout == "" and r.stderr, "%r: %r %r" % (argv[3:], r.stdout, r.stderr)
    # No recipient: the message names none and -r gives none.
    r = subprocess.run([b, "-c", c, "-t", "-"], input=b"Subject: x\r\n\r\nbody\r\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 64 and b"-r RCPT" in r.stderr, r


# smtp_get() reads at most 2048 octets a record: a CR that ends such a read
# stays in the record unless an LF follows it; only the CRs before the LF
# of the record that ends the line go with the line end.  The client's
# doubled "." counts in the 2048 (then smtpd removes it), and a last line
# without LF is sent with CRLF.  Every line is logged with its length.
RECORD_CONF = """profile = standard
rule header-line-length { limit = 2040 action = log }
rule body-line-length { limit = 2040 action = log }
"""
RECORD_CRS = {
    "hdr-cr-at-2048": b"Subject: " + b"x" * 2038 + b"\r\r\n\r\nb\r\n",
    "hdr-crs-across": b"Subject: " + b"x" * 2031 + b"\r" * 20 + b"\n\r\nb\r\n",
    "hdr-cont-cr": b"Subject: a\r\n\t" + b"y" * 2046 + b"\r\r\n\r\nb\r\n",
    "body-cr-at-2048": b"X-A: 1\r\n\r\n" + b"b" * 2047 + b"\r\r\n",
    "body-crlf-at-2048": b"X-A: 1\r\n\r\n" + b"b" * 2047 + b"\r\n" + b"c" * 2048 + b"\r\n",
    "body-cr-then-text": b"X-A: 1\r\n\r\n" + b"b" * 2047 + b"\rc\r\n",
    "body-many-crs": b"X-A: 1\r\n\r\n" + b"b" * 100 + b"\r" * 3000 + b"\n",
    "body-dot-cr": b"X-A: 1\r\n\r\n." + b"b" * 2045 + b"\r\r\n",
    "body-dot-2048": b"X-A: 1\r\n\r\n." + b"b" * 2046 + b"\r\r\n",
    "body-last-cr": b"X-A: 1\r\n\r\n" + b"b" * 2047 + b"\r",
    "body-4096-cr": b"X-A: 1\r\n\r\n" + b"b" * 4095 + b"\r\r\r\n",
}


def test_offline_record_boundary_crs(ctx):
    """CRs at Postfix's record boundaries: -t keeps those smtp_get() keeps."""
    same_as_postfix_table(ctx, RECORD_CONF, RECORD_CRS)


# cleanup(8) replaces every CR left in a line (cleanup_replace_stray_cr_lf
# = yes) with a space before it reads the message: names are measured
# with that space (the scanner drops a CR from a field), lines with it.
STRAY_CR_CONF = """profile = standard
rule mime-filename-length { action = log }
rule header-line-length { limit = 50 action = log }
rule body-line-length { limit = 50 action = log }
"""
CR_NAME = b'"' + b"a" * 127 + b"\r" + b"a" * 128 + b'"'
STRAY_CRS = {
    "cr-in-filename-top": b"From: a@x\r\nContent-Disposition: attachment; filename=" +
                          CR_NAME + b"\r\n\r\nbody\r\n",
    "cr-in-name-folded": b"From: a@x\r\nContent-Type: application/x;\r\n\tname=" +
                         CR_NAME + b"\r\n\r\nbody\r\n",
    "cr-in-part-filename": b"From: a@x\r\nMIME-Version: 1.0\r\n"
                           b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                           b"--b\r\nContent-Disposition: attachment; filename=" + CR_NAME +
                           b"\r\n\r\ndata\r\n--b--\r\n",
    "cr-in-lines": b"X-A: a\rb\r\n\r\nx\ry\r" + b"z" * 60 + b"\r\n",
    # smtpd sees no white space first, cleanup then does: the line
    # continues Postfix's own Received: field, hidden from milters
    "cr-first": b"\rX-A: " + b"q" * 60 + b"\r\n\r" + b"r" * 60 + b"\r\nX-A: 2\r\n\r\nbody\r\n",
    "cr-continuation": b"X-A: 1\r\n\r" + b"s" * 60 + b"\r\n\r\nbody\r\n",
}


def test_offline_stray_crs(ctx):
    """A CR that is not part of a line end reaches the milter as a space."""
    same_as_postfix_table(ctx, STRAY_CR_CONF, STRAY_CRS)


# cleanup(8) reads every MIME part header (after a multipart boundary, at
# the start of a message/rfc822 or message/global body) as it reads the
# top-level one, and writes it to the body so: each record cut at a NUL,
# white space before the colon dropped, a field cut at 60000 octets.  It
# follows boundaries up to its nesting limit, reads its Content-Type
# fields as mime_state(3) does, and inserts no empty line into a part.
PART_CONF = """profile = standard
rule mime-filename-length { action = log }
rule mime-structure { action = log }
rule header-line-length { limit = 50 action = log }
rule body-line-length { limit = 50 action = log }
"""
X300 = b"x" * 300


def pad(k):
    """A field of 50 + ${k} octets, 50 without its ${k} spaces before the colon."""
    return b"X-Pad" + b" " * k + b":" + b"p" * 44


PAD = pad(2)


def multipart(part, content=b"data\r\n", ctype=b"multipart/mixed"):
    return (b"From: a@x\r\nMIME-Version: 1.0\r\nContent-Type: " + ctype +
            b'; boundary="b"\r\n\r\npreamble\r\n--b\r\n' + part + b"\r\n" +
            content + b"--b--\r\nepilogue\r\n")


def nested_multipart(depth):
    """${depth} multiparts, each inside a part of the one around it."""
    msg = b'From: a@x\r\nContent-Type: multipart/mixed; boundary="n000"\r\n\r\n'
    for i in range(1, depth):
        msg += b'--n%03d\r\nContent-Type: multipart/mixed; boundary="n%03d"\r\n%s\r\n\r\n' % (
            i - 1, i, pad(i))
    msg += b"--n%03d\r\n%s\r\n\r\ninnermost\r\n" % (depth - 1, pad(depth))
    for i in reversed(range(depth)):
        msg += b"--n%03d--\r\n" % i
    return msg


def many_boundaries(n):
    """One Content-Type with ${n} boundary parameters, parts after a few."""
    msg = b"From: a@x\r\nContent-Type: multipart/mixed" + b"".join(
        b';\r\n boundary="a%03d"' % i for i in range(n)) + b"\r\n\r\n"
    for i in (101, 60, 102, 0):
        msg += b"--a%03d\r\n%s\r\n\r\npart after a%03d\r\n" % (i, pad(i + 1), i)
    return msg + b"--a000--\r\n"


NESTED = (b"From: c@y\r\nContent-Disposition : attachment; filename=\"z\0" + X300 +
          b"\"\r\n" + PAD + b"\r\n\r\nnested body\r\n")
PART_HEADERS = {
    "part-nul-filename": multipart(b'Content-Type: text/plain\r\n'
                                   b'Content-Disposition: attachment; filename="a.txt\0' +
                                   X300 + b'"\r\n'),
    "part-nul-continuation": multipart(b'Content-Disposition: attachment;\r\n'
                                       b'\tfilename="a.txt\0' + X300 + b'"\r\n'),
    "part-nul-name": multipart(b'Content-Type: application/octet-stream; name="a\0' +
                               X300 + b'"\r\n'),
    "part-space-colon": multipart(b'Content-Disposition : attachment; filename="' +
                                  b"n" * 300 + b'"\r\n' + PAD + b"\r\n"),
    "part-long-line": multipart(b"X-Long: " + b"l" * 70000 + b"\r\n"),
    # lines of 48 octets, one of 52 past the cut (at the last line before 60000)
    "part-long-folded": multipart(b"X-Fold: a" + (b"\r\n\t" + b"f" * 47) * 1240 +
                                  b"\r\n\t" + b"F" * 51 + b"\r\n"),
    # a boundary ends where the one on the stack does: "--bogus" is "--b"
    "boundary-prefix": multipart(b"Content-Type: text/plain\r\n",
                                 content=b"x\r\n--bogus\r\n" + PAD + b"\r\n\r\ny\r\n"),
    "part-nul-in-record": multipart(b"X-Nul: " + b"u" * 93 + b"\0" + b"v" * 1990 +
                                    b"w" * 17 + b"\r\n"),
    "part-garbage-end": multipart(b"Content-Type: text/plain\r\nnot a header " +
                                  b"g" * 60 + b"\r\n" + PAD + b"\r\n"),
    "part-body-nul": multipart(b"Content-Type: text/plain\r\n",
                               content=b"a\0b " + b"c" * 60 + b"\r\n" + PAD + b"\r\n"),
    "nested-rfc822": multipart(b"Content-Type: message/rfc822\r\n", content=NESTED),
    "nested-global": multipart(b"Content-Type: message/global\r\n", content=NESTED),
    "nested-partial": multipart(b"Content-Type: message/partial; id=1; number=1\r\n",
                                content=NESTED),
    "digest-default": multipart(b"", content=NESTED, ctype=b"multipart/digest"),
    "ctype-stays": multipart(b"Content-Type: message/rfc822\r\n"
                             b"Content-Type: application/x\r\n", content=NESTED),
    "top-rfc822": b"From: a@x\r\nContent-Type: message/rfc822\r\n\r\n" + NESTED,
    "rfc822-multipart": multipart(
        b"Content-Type: message/rfc822\r\n",
        content=b'From: c@y\r\nContent-Type: multipart/mixed; boundary="c"\r\n\r\n'
                b'--c\r\nContent-Disposition: attachment; filename="q\0' + X300 +
                b'"\r\n' + PAD + b"\r\n\r\ninner\r\n--c--\r\n"),
    "deep-nesting": nested_multipart(105),
    "many-boundaries": many_boundaries(120),
    "boundary-2100": b'From: a@x\r\nContent-Type: multipart/mixed; boundary="' +
                     b"B" * 2100 + b'"\r\n\r\n--' + b"B" * 2100 + b"\r\n" + PAD +
                     b"\r\n\r\nx\r\n--" + b"B" * 2100 + b"--\r\n",
    "boundary-line-continued": multipart(
        b"Content-Type: text/plain\r\n",
        content=b"x\r\n--b" + b" " * 2045 + PAD + b"\r\n" + PAD + b"\r\n\r\ny\r\n"),
}


def test_offline_part_headers(ctx):
    """MIME part headers reach the milter as cleanup(8) writes them."""
    same_as_postfix_table(ctx, PART_CONF, PART_HEADERS)


# What Postfix refuses before a milter sees the content, with its default
# message_size_limit (10240000: smtpd counts each record it reads from the
# client as its octets + 2, the doubled "." not counted) and hopcount_limit
# (50 Received: fields in the message header, its own included).
SIZE_LIMIT = 10240000
HEAD = b"From: a@x\r\nTo: b@y\r\n\r\n"            # records of 9, 7, 0 octets


def sized(total):
    """HEAD and lines of 998 octets, smtpd's count exactly ${total}."""
    n, rest = divmod(total - 22, 1000)
    assert rest >= 2
    return HEAD + (b"x" * 998 + b"\r\n") * n + b"y" * (rest - 2) + b"\r\n"


def received(n, extra=b""):
    return (b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n" * n +
            b"From: a@x\r\n" + extra + b"\r\nbody\r\n")


REFUSALS = {
    "hops-48": received(48),
    "hops-49": received(49),
    # "Received :" counts; a Received: in a part header does not
    "hops-48-parts": received(47, b"RECEIVED : x\r\nContent-Type: multipart/mixed; "
                                  b"boundary=b\r\n\r\n--b\r\n" + b"Received: y\r\n" * 5 +
                                  b"\r\n--b--\r\n"),
    "hops-49-space": received(48, b"received\t: x\r\n"),
    "size-over": sized(SIZE_LIMIT + 1),
    # a message far enough under the limit for Postfix's queue file too
    "size-under": sized(SIZE_LIMIT - 60000),
    # LF line ends: each line counts one octet more than in the file
    "size-lf": b"From: a@x\n\n" + b"abcdefghij\n" * 853400,
    # CRs before the LF do not count, dots the client doubles neither
    "size-crs": b"From: a@x\r\n\r\n" + (b"\r" * 999 + b"\n") * 11000,
    "size-dots": b"From: a@x\r\n\r\n" + b".\r\n" * 3400000 + b"..\r\n",
}


def test_offline_postfix_refusals(ctx):
    """Too big or too many hops: -t prints the reply Postfix gives, before
    the milter sees any of the content."""
    same_as_postfix_table(ctx, STANDARD, REFUSALS)


def test_offline_endless_input(ctx):
    """-t stops reading where Postfix refuses the message whatever follows
    (message_size_limit): an endless standard input ends in 552."""
    ctx.milter.write_conf(STANDARD)
    gen = subprocess.Popen(["yes", "To: a@x"], stdout=subprocess.PIPE)
    try:
        r = subprocess.run([ctx.milter_binary, "-c", ctx.milter.conf, "-t", "-",
                            "-r", RCPT], stdin=gen.stdout, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
    finally:
        gen.stdout.close()
        gen.kill()
        gen.wait()
    assert (r.returncode, r.stdout, r.stderr) == (
        1, b"552 5.3.4 Error: message file too big\n", b""), r
