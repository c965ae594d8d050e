"""test_offline - esmtp-inspect-milter -t against the milter in Postfix (issue 16).

SPEC 9: -t runs a message file through the same code the daemon runs.
Every message of tests/data is sent through the private Postfix to the
milter, and given to `esmtp-inspect-milter -t` with the same configuration
file and envelope (-s, -r, and -a with the client field of the session);
both must give the same verdict (250 against "250 2.0.0 accepted", else
the same reply line) and the same log lines in the same order, the queue
id (or NOQUEUE) of the daemon's lines read as TEST.  Under three
configurations: standard, asa, and every content rule at log (so that a
message fires many rules and is still delivered).  Also: the LF and
standard-input forms of each message give the same output, -t sends
nothing to syslog, and the exit statuses of SPEC 9.
"""

import os
import re
import socket
import subprocess

import harness
from harness import SMTPSession

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
SENDER = "sender@example.test"
RCPT = "user@dest.test"
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
    """One transaction with ${msg} through Postfix: (reply line, client
    field, client port)."""
    s = SMTPSession(ctx.smtp_port)
    try:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<%s>" % RCPT, 250)
        r = s.data(msg)
        assert r is not None, "connection closed at the end of DATA"
        if r.code == 421:
            s.expect_eof()
        else:
            s.expect("QUIT", 221)
        return "%d %s" % (r.code, r.text), s.local_port
    finally:
        s.close()


def daemon_lines(ctx, mark, port):
    """The milter's lines of the session from ${port}, the id read as TEST."""
    client = "client=localhost[127.0.0.1]:%d" % port
    out = []
    for l in ctx.milter.log_lines(mark):
        if client not in l.message:
            continue
        out.append(re.sub(r"^(?:[0-9A-F]+|NOQUEUE): ", "TEST: ", l.message))
    return out


def same_as_postfix(ctx, conf, names):
    """Each message of ${names}: Postfix with the milter and -t agree."""
    ctx.start_milter(conf)
    diffs = []
    for name in names:
        msg = load(name)
        mark = ctx.syslog.mark()
        reply, port = send(ctx, msg)
        sync_log(ctx)
        got = daemon_lines(ctx, mark, port)
        rc, out, err, _ = run_t(ctx, os.path.join(DATA, name),
                                ["-s", SENDER, "-r", RCPT,
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
        len(diffs), len(names), "\n".join(diffs))


def test_offline_same_as_postfix_standard(ctx):
    same_as_postfix(ctx, STANDARD, corpus())


def test_offline_same_as_postfix_asa(ctx):
    same_as_postfix(ctx, ASA, corpus())


def test_offline_same_as_postfix_every_rule_logging(ctx):
    same_as_postfix(ctx, ALL_LOG, corpus())


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
    leaked = [l for l in ctx.syslog.since(mark) if l.pid in pids or l.ident == IDENT]
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
