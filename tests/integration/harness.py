#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""harness - a real, private Postfix, a /dev/log listener, the milter under test.

Used by tests/integration/run (the test runner) and scripts/demo.  Python 3
standard library only.

  Postfix        a private instance (`postfix -c DIR start`): own main.cf,
                 master.cf, queue, data directory and maillog under DIR;
                 smtpd on a loopback port, virtual delivery of dest.test
                 into one Maildir per recipient.  /etc/postfix and the
                 system's Postfix are never touched.
  SyslogListener collects what syslog(3) sends to /dev/log (binds its own
                 socket there, or over it in a private mount namespace).
  Milter         starts/reloads/stops the milter binary, keeps its stderr
                 and fails on sanitizer reports.
  Shim           the same for esmtp-inspect-shim, in front of Postfix's
                 PROXY-protocol smtpd (Postfix(proxy_port=...)).
  ScriptedUpstream  a fake MTA for the replies no real one sends.
  SMTPSession    a raw SMTP client for exact multi-step sessions.
  swaks()        a normal send with swaks.

Synchronisation is done by polling (ports in /proc/net/tcp, files, the
collected log), never by sleeping for a guessed time.
"""

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import struct
import sys
import tempfile
import threading
import time

POSTFIX = "/usr/sbin/postfix"
MASTER_CF_DIST = "/usr/share/postfix/master.cf.dist"
DEV_LOG = "/dev/log"
DOMAIN = "dest.test"
QUEUE_SUBDIRS = ("incoming", "active", "deferred", "hold", "maildrop")
# Recipients with their own Maildir: u1..u300@dest.test and these names;
# any other address at dest.test lands in the catch-all's Maildir.
LOCAL_PARTS = ["u%d" % i for i in range(1, 301)] + ["user", "demo", "postmaster"]
CATCHALL = "catchall"

# syslog severities
LOG_EMERG, LOG_ALERT, LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, \
    LOG_DEBUG = range(8)
LEVEL_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info",
               "debug")


class HarnessError(Exception):
    """The environment (not the product) failed: Postfix, ports, tools."""


class SkipTest(Exception):
    """Raised by a test that cannot run here (the runner reports SKIP)."""


def log(msg):
    sys.stderr.write("harness: %s\n" % msg)
    sys.stderr.flush()


def poll(cond, timeout, what, interval=0.02):
    """Call cond() until it returns a true value; return it, or raise AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


def make_searchable(path):
    """Create ${path} (mode 0755) and make every parent searchable: the
    MTA's unprivileged processes walk down to their files."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    p = path
    while p != "/":
        p = os.path.dirname(p)
        st = os.stat(p)
        if st.st_mode & 0o001 == 0:
            os.chmod(p, st.st_mode | 0o011)


def free_port(addr="127.0.0.1"):
    """A free TCP port on ${addr} (bind port 0, read it, close)."""
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
                      socket.SOCK_STREAM)
    try:
        s.bind((addr, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def listening(port, addr="127.0.0.1"):
    """True if something listens on addr:port (TCP, IPv4 or IPv6).  Read from
    /proc/net/tcp{,6}, so that polling does not open sessions (a probe
    connection would show up in the milter's and Postfix's logs)."""
    want_port = "%04X" % port
    if ":" in addr:
        table = "/proc/net/tcp6"
        raw = socket.inet_pton(socket.AF_INET6, addr)
        # the kernel prints each 32-bit word in host (little-endian) order
        want_addrs = {"0" * 32, "".join("%08X" % int.from_bytes(raw[i:i + 4], "little")
                                        for i in range(0, 16, 4))}
    else:
        table = "/proc/net/tcp"
        want_addrs = {"00000000",
                      "%08X" % int.from_bytes(socket.inet_aton(addr), "little")}
    try:
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                la, lp = fields[1].split(":")
                if lp == want_port and la in want_addrs and fields[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def wait_listening(port, timeout, what, proc=None, addr="127.0.0.1"):
    def cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s exited with status %s before listening on port %d"
                                 % (what, proc.returncode, port))
        return listening(port, addr)
    poll(cond, timeout, "%s to listen on %s port %d" % (what, addr, port))


# ----------------------------------------------------------------------
# Cleanup: everything started here is stopped at exit and on SIGTERM/SIGHUP.

_cleanups = []
_cleanup_lock = threading.Lock()


def add_cleanup(fn):
    with _cleanup_lock:
        _cleanups.append(fn)
    return fn


def remove_cleanup(fn):
    with _cleanup_lock:
        if fn in _cleanups:
            _cleanups.remove(fn)


def run_cleanups():
    while True:
        with _cleanup_lock:
            if not _cleanups:
                return
            fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:          # cleanup must go on
            log("cleanup %r failed: %s" % (fn, e))


def _fatal_signal(signum, frame):
    run_cleanups()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_cleanup_handlers(signals=(signal.SIGTERM, signal.SIGHUP)):
    atexit.register(run_cleanups)
    for s in signals:
        signal.signal(s, _fatal_signal)


# ----------------------------------------------------------------------
# Private Postfix

def _uid_gid(name):
    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


class Postfix:
    """A private Postfix instance under ${base}: configuration in base/etc
    (`postfix -c base/etc`), queue in base/queue, data in base/data, the
    log in base/maillog, mailboxes under base/mail.  (The configuration
    directory holds nothing else: postfix-script checks it recursively for
    root ownership.)

    smtpd listens on 127.0.0.1:${smtp_port}; the milter, if ${milter_port}
    is given, is reached at inet:127.0.0.1:${milter_port}.  Mail for
    anything@dest.test lands in ${base}/mail/<localpart>/Maildir/new.

    ${proxy_port}: a second smtpd on 127.0.0.1:${proxy_port} that reads a
    PROXY v1/v2 header first (smtpd_upstream_proxy_protocol = haproxy),
    the upstream of the shim.  ${proxy_services}: {name: (port, {main.cf
    parameter: value})}, more such smtpds with their own -o settings (the
    port of one is proxy_services[name][0]).  ${proxy_args}: more arguments
    of the ${proxy_port} smtpd (e.g. "-v": every command it reads logged).
    ${strict_port}: one more PROXY smtpd whose virtual mailbox table has no
    catch-all, so that it refuses a dest.test recipient not in
    LOCAL_PARTS with `550 5.1.1 ... User unknown in virtual mailbox
    table` (the other smtpds accept every dest.test address).  ${tls}: smtpd offers STARTTLS (a self-signed
    certificate made with openssl(1) under ${base}/tls).  ${sasl_users}:
    {"user@realm": "password"}: smtpd offers AUTH PLAIN LOGIN through
    Cyrus SASL with a sasldb made with saslpasswd2(8) (package sasl2-bin).
    """

    NAME = "postfix"
    QID = r"[0-9A-F]+"
    # The queue-id field of a milter line at MAIL: Postfix opens the queue
    # file at the first accepted RCPT, so MAIL-stage lines say NOQUEUE.
    MAIL_QID = "NOQUEUE"

    def __init__(self, base, smtp_port=None, milter_port=None,
                 hostname="mx.harness.test", extra_main=None, proxy_port=None,
                 tls=False, sasl_users=None, proxy_services=None, proxy_args="",
                 strict_port=None):
        self.base = os.path.abspath(base)
        self.etc = os.path.join(self.base, "etc")
        self.smtp_port = smtp_port or free_port()
        self.milter_port = milter_port
        self.proxy_port = proxy_port
        self.proxy_services = dict(proxy_services or {})
        self.proxy_args = proxy_args
        self.strict_port = strict_port
        self.tls = tls
        self.sasl_users = dict(sasl_users or {})
        self.tls_dir = os.path.join(self.base, "tls")
        self.sasl_dir = os.path.join(self.base, "sasl")
        self.hostname = hostname
        self.extra_main = extra_main or {}
        self.queue = os.path.join(self.base, "queue")
        self.data = os.path.join(self.base, "data")
        self.mail = os.path.join(self.base, "mail")
        self.maillog = os.path.join(self.base, "maillog")
        self.running = False
        self._cleanup = None

    # -- configuration

    def main_cf(self):
        uid, gid = _uid_gid("nobody")
        p = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.hostname,
            "mydomain": "harness.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.base,
            "smtputf8_enable": "no",
            "biff": "no",
            "append_dot_mydomain": "no",
            "alias_maps": "",
            "alias_database": "",
            # headers are never added: the delivered bytes are the sent bytes
            "local_header_rewrite_clients": "",
            "always_add_missing_headers": "no",
            # no mail leaves the machine, and nothing waits for DNS
            "default_transport": "error:no external delivery in the harness",
            "relay_transport": "error:no external delivery in the harness",
            "smtp_dns_support_level": "disabled",
            "notify_classes": "",
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.etc, "vmailbox"),
            "virtual_uid_maps": "static:%d" % uid,
            "virtual_gid_maps": "static:%d" % gid,
            "virtual_minimum_uid": "1",
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_junk_command_limit": "1000",
            "smtpd_recipient_limit": "1000",
            "smtpd_client_port_logging": "yes",
            "smtpd_banner": "$myhostname ESMTP",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "milter_default_action": "tempfail",
            "milter_connect_timeout": "5s",
            "milter_command_timeout": "20s",
            "milter_content_timeout": "60s",
            "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C",
        }
        if self.milter_port:
            p["smtpd_milters"] = "inet:127.0.0.1:%d" % self.milter_port
        if self.tls:
            p["smtpd_tls_security_level"] = "may"
            p["smtpd_tls_cert_file"] = os.path.join(self.tls_dir, "cert.pem")
            p["smtpd_tls_key_file"] = os.path.join(self.tls_dir, "key.pem")
            p["smtpd_tls_loglevel"] = "1"
        if self.sasl_users:
            p["smtpd_sasl_auth_enable"] = "yes"
            p["smtpd_sasl_type"] = "cyrus"
            p["smtpd_sasl_path"] = "smtpd"
            # Debian's Postfix reads $config_directory/sasl/smtpd.conf
            p["cyrus_sasl_config_path"] = os.path.join(self.etc, "sasl")
        p.update(self.extra_main)
        return "".join("%s = %s\n" % kv for kv in p.items())

    def master_cf(self):
        out = []
        with open(MASTER_CF_DIST) as f:
            lines = f.read().splitlines()
        skip = False
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            if line[0] in " \t":           # continuation of the entry above
                if not skip:
                    out.append(line)
                continue
            fields = line.split()
            skip = False
            if len(fields) >= 8 and fields[7] == "pipe":
                skip = True                 # maildrop, uucp, ...: not needed
                continue
            if fields[0] == "smtp" and fields[1] == "inet":
                out.append("127.0.0.1:%d inet n - n - - smtpd" % self.smtp_port)
                if self.proxy_port:
                    out.append("127.0.0.1:%d inet n - n - - smtpd %s"
                               "-o smtpd_upstream_proxy_protocol=haproxy"
                               % (self.proxy_port, self.proxy_args + " "
                                  if self.proxy_args else ""))
                for port, opts in self.proxy_services.values():
                    out.append("127.0.0.1:%d inet n - n - - smtpd "
                               "-o smtpd_upstream_proxy_protocol=haproxy" % port
                               + "".join(" -o %s=%s" % kv for kv in opts.items()))
                if self.strict_port:
                    out.append("127.0.0.1:%d inet n - n - - smtpd "
                               "-o smtpd_upstream_proxy_protocol=haproxy "
                               "-o virtual_mailbox_maps=texthash:%s"
                               % (self.strict_port, os.path.join(self.etc, "vmailbox-strict")))
                continue
            if len(fields) >= 5:
                fields[4] = "n"             # no chroot
            out.append(" ".join(fields[:8]) + ("" if len(fields) <= 8 else
                                                " " + " ".join(fields[8:])))
        if not any(l.split()[0] == "postlog" for l in out if l and l[0] not in " \t"):
            out.append("postlog unix-dgram n - n - 1 postlogd")
        return "\n".join(out) + "\n"

    def write_config(self):
        make_searchable(self.base)
        os.makedirs(self.etc, exist_ok=True)
        os.chmod(self.etc, 0o755)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(self.master_cf())
        # virtual(8) refuses $1 substitution from regexp maps: list the
        # recipients instead (u1..u300 and a few names), plus a catch-all.
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for name in LOCAL_PARTS:
                f.write("%s@%s %s/Maildir/\n" % (name, DOMAIN, name))
            f.write("@%s %s/Maildir/\n" % (DOMAIN, CATCHALL))
        # strict_port's: the same without the catch-all
        with open(os.path.join(self.etc, "vmailbox-strict"), "w") as f:
            for name in LOCAL_PARTS:
                f.write("%s@%s %s/Maildir/\n" % (name, DOMAIN, name))
        pu, pg = _uid_gid("postfix")
        nu, ng = _uid_gid("nobody")
        os.makedirs(self.queue, exist_ok=True)
        os.chown(self.queue, 0, 0)
        os.chmod(self.queue, 0o755)
        os.makedirs(self.data, exist_ok=True)
        os.chown(self.data, pu, pg)
        os.chmod(self.data, 0o700)
        os.makedirs(self.mail, exist_ok=True)
        os.chown(self.mail, nu, ng)
        os.chmod(self.mail, 0o755)
        if self.tls:
            self._make_cert()
        if self.sasl_users:
            self._make_sasldb(pu, pg)

    def _make_cert(self):
        """A self-signed certificate for smtpd (read as root at start)."""
        os.makedirs(self.tls_dir, exist_ok=True)
        os.chmod(self.tls_dir, 0o755)
        cert = os.path.join(self.tls_dir, "cert.pem")
        key = os.path.join(self.tls_dir, "key.pem")
        if os.path.exists(cert) and os.path.exists(key):
            return
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", "/CN=" + self.hostname,
                            "-keyout", key, "-out", cert],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise HarnessError("openssl req failed:\n%s" % r.stdout.decode(errors="replace"))

    def _make_sasldb(self, uid, gid):
        """Cyrus SASL for smtpd: etc/sasl/smtpd.conf (root's, like all of
        etc) and ${sasl_dir}/sasldb2 (readable by the postfix user)."""
        tool = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"
        if not os.access(tool, os.X_OK):
            raise HarnessError("saslpasswd2 is missing (Debian package sasl2-bin)")
        os.makedirs(self.sasl_dir, exist_ok=True)
        os.chmod(self.sasl_dir, 0o755)
        db = os.path.join(self.sasl_dir, "sasldb2")
        os.makedirs(os.path.join(self.etc, "sasl"), exist_ok=True)
        os.chmod(os.path.join(self.etc, "sasl"), 0o755)
        with open(os.path.join(self.etc, "sasl", "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    "mech_list: PLAIN LOGIN\nsasldb_path: %s\n" % db)
        for user, password in self.sasl_users.items():
            name, realm = user.rsplit("@", 1)
            r = subprocess.run([tool, "-f", db, "-c", "-p", "-u", realm, name],
                               input=password.encode(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
            if r.returncode != 0:
                raise HarnessError("saslpasswd2 failed:\n%s" % r.stdout.decode(errors="replace"))
        os.chown(db, uid, gid)
        os.chmod(db, 0o640)

    # -- lifecycle

    def _postfix(self, *args, check=True):
        env = dict(os.environ, MAIL_CONFIG=self.etc)
        r = subprocess.run([POSTFIX, "-c", self.etc] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=60)
        if check and r.returncode != 0:
            raise HarnessError("postfix -c %s %s failed (status %d):\n%s%s\n%s"
                               % (self.etc, " ".join(args), r.returncode,
                                  r.stdout.decode(errors="replace"), self.diagnose(),
                                  self.maillog_tail()))
        return r

    def diagnose(self):
        """Postfix reports early errors only to a terminal or syslog: run
        `postfix check` under script(1) (a pseudo-terminal) to see them."""
        if not shutil.which("script"):
            return ""
        try:
            r = subprocess.run(["script", "-qec", "%s -c %s check" % (POSTFIX, self.etc),
                                "/dev/null"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        out = r.stdout.decode(errors="replace").replace("\r", "").strip()
        return "postfix check says:\n  %s\n" % out.replace("\n", "\n  ") if out else ""

    def maillog_text(self):
        try:
            with open(self.maillog, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def maillog_tail(self, n=40):
        lines = self.maillog_text().splitlines()
        if not lines:
            return "(%s is empty or missing)" % self.maillog
        return "last lines of %s:\n  " % self.maillog + "\n  ".join(lines[-n:])

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start(self, timeout=30):
        ports = [self.smtp_port, self.proxy_port, self.strict_port] + [
            p for p, _ in self.proxy_services.values()]
        for port in ports:
            if port and not port_is_free(port):
                raise HarnessError("127.0.0.1:%d is already in use" % port)
        self.write_config()
        if self.master_pid():               # a leftover instance of this DIR
            self._postfix("stop", check=False)
            poll(lambda: self.master_pid() is None, 15, "old Postfix master to exit")
        self._postfix("check", check=False)  # creates the queue subdirectories
        self._postfix("start")
        self.running = True
        self._cleanup = add_cleanup(self.stop)
        try:
            wait_listening(self.smtp_port, timeout, "Postfix smtpd")
            if self.proxy_port:
                wait_listening(self.proxy_port, timeout, "Postfix smtpd (PROXY)")
            for name, (port, _) in self.proxy_services.items():
                wait_listening(port, timeout, "Postfix smtpd (PROXY, %s)" % name)
            if self.strict_port:
                wait_listening(self.strict_port, timeout, "Postfix smtpd (PROXY, strict)")
        except AssertionError as e:
            raise HarnessError("%s\n%s%s" % (e, self.diagnose(), self.maillog_tail()))

    def stop(self):
        if not self.running:
            return
        self.running = False
        if self._cleanup:
            remove_cleanup(self._cleanup)
            self._cleanup = None
        pid = self.master_pid()
        self._postfix("stop", check=False)
        if pid:
            try:
                poll(lambda: not _alive(pid), 10, "Postfix master to exit")
            except AssertionError:
                _kill(pid)
        self._kill_leftovers()

    def _kill_leftovers(self):
        """Kill Postfix daemons still running with this configuration directory."""
        for pid in _pids_with_env("MAIL_CONFIG", self.etc):
            _kill(pid)

    def reload(self):
        self._postfix("reload")

    # -- delivery

    def maildir(self, rcpt):
        local = rcpt.rsplit("@", 1)[0]
        if local not in LOCAL_PARTS:
            local = CATCHALL
        return os.path.join(self.mail, local, "Maildir")

    def mark(self):
        """Every message delivered so far: new_for() only counts later ones."""
        out = set()
        for root, dirs, files in os.walk(self.mail):
            if os.path.basename(root) == "new":
                out.update(os.path.join(root, f) for f in files)
        return frozenset(out)

    def delivered(self, rcpt, mark=frozenset()):
        """Paths of the messages delivered to ${rcpt} (new/), not in ${mark}."""
        d = os.path.join(self.maildir(rcpt), "new")
        try:
            return sorted(p for p in (os.path.join(d, n) for n in os.listdir(d))
                          if p not in mark)
        except FileNotFoundError:
            return []

    def wait_delivered(self, rcpt, mark=frozenset(), n=1, timeout=20):
        """Wait until ${rcpt} has ${n} messages more than in ${mark}; return
        their contents.  More than ${n} is an error."""
        try:
            files = poll(lambda: len(self.delivered(rcpt, mark)) >= n
                         and self.delivered(rcpt, mark),
                         timeout, "%d message(s) for %s" % (n, rcpt))
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.maillog_tail(15)))
        if len(files) != n:
            raise AssertionError("%d messages for %s, expected %d" % (len(files), rcpt, n))
        out = []
        for p in files:
            with open(p, "rb") as f:
                out.append(f.read())
        return out

    # A delivery of queue id %s in the MTA's log (Sendmail: stat=Sent).
    SENT_RX = r"\b%s: to=.*status=sent"

    def assert_nothing_delivered(self, mark, client_port=None, timeout=20):
        """Nothing delivered since ${mark}: the queue drains empty and no new
        Maildir file appears; the MTA's log shows no delivery (SENT_RX) for
        the queue id of the session from ${client_port}, if it has one."""
        self.wait_queue_empty(timeout)
        new = self.mark() - mark
        if new:
            raise AssertionError("unexpected deliveries: %s" % sorted(new))
        if client_port is not None:
            qid = self.queue_id_for(client_port, timeout=0)
            if qid and re.search(self.SENT_RX % qid, self.maillog_text()):
                raise AssertionError("%s's log shows a delivery of %s" % (self.NAME, qid))

    def queue_files(self):
        out = []
        for sub in QUEUE_SUBDIRS:
            for root, dirs, files in os.walk(os.path.join(self.queue, sub)):
                out.extend(os.path.join(root, f) for f in files)
        return out

    def wait_queue_empty(self, timeout=20):
        try:
            poll(lambda: not self.queue_files(), timeout, "%s queue to be empty" % self.NAME)
        except AssertionError as e:
            raise AssertionError("%s: %s\n%s" % (e, self.queue_files(), self.maillog_tail(15)))

    # Where the maillog stood when the current test began (the runner sets
    # it): client ports come round again within a run, so searches by port
    # must not see earlier tests' sessions.
    log_from = 0

    # -- what a client sees (the MTA interface of the parametrized tests,
    # shared with Sendmail)

    @staticmethod
    def accepted_id(reply):
        """The queue id in the reply to the end of DATA, which must be a
        250: `250 2.0.0 Ok: queued as QID`."""
        m = reply is not None and re.fullmatch(r"2\.0\.0 Ok: queued as ([0-9A-F]+)", reply.text)
        assert reply is not None and reply.code == 250 and m, "DATA: %r" % (reply,)
        return m.group(1)

    @staticmethod
    def refused(text, addr):
        """The text of a milter's 5xx reply to MAIL or RCPT for ${addr} as
        the client reads it: Postfix passes the milter's text on."""
        return text

    def queue_id_for(self, client_port, timeout=10, since=None):
        """The queue id Postfix gave the session from 127.0.0.1:${client_port}
        since log_from (None when ${timeout} is 0 and there is none).
        Postfix logs the client port, so ${since} (Sendmail's) is not
        needed."""
        rx = re.compile(r"postfix/smtpd\[\d+\]: ([0-9A-F]+): client=[^\[]*\[127\.0\.0\.1\]:%d$"
                        % client_port)

        def find():
            for line in self.maillog_text()[self.log_from:].splitlines():
                m = rx.search(line)
                if m:
                    return m.group(1)
            return None
        if timeout == 0:
            return find()
        return poll(find, timeout, "queue id of the session from port %d in maillog"
                    % client_port)


# ----------------------------------------------------------------------
# Private Sendmail (issue 18)

# Where scripts/sendmail-unpack puts Debian's sendmail packages (dpkg -x):
# <build>/sendmail-root.  Installing them would remove Postfix.
SENDMAIL_ROOT_DEFAULT = os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "build", "sendmail-root")
SENDMAIL_BIN = "usr/libexec/sendmail/sendmail"
SENDMAIL_CF_DIR = "usr/share/sendmail/cf"
# The .mc lines of the milter, as shipped: the harness uses them as they are
SENDMAIL_SNIPPET = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "contrib", "sendmail", "esmtp-inspect.mc")

# The delivery program of the private Sendmail's local mailer (A=deliver
# BASE/mail $u): stdin, as Sendmail hands it over, into
# BASE/mail/<user>/Maildir/new/<unique> (written to tmp/, then renamed), so
# that mark(), delivered() and check_delivered() work as with Postfix.
_SM_DELIVER = """#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
import os, sys, time
top, user = sys.argv[-2], sys.argv[-1]
known = set(%r)
d = os.path.join(top, user if user in known else %r, "Maildir")
for sub in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(d, sub), exist_ok=True)
name = "%%d.%%d.%%d" %% (time.time_ns(), os.getpid(), len(sys.argv))
tmp = os.path.join(d, "tmp", name)
with open(tmp, "wb") as f:
    f.write(sys.stdin.buffer.read())
os.rename(tmp, os.path.join(d, "new", name))
"""


class Sendmail:
    """A private Sendmail 8.17 (Debian's, unpacked by scripts/sendmail-unpack
    into ${root}, default build/sendmail-root) under ${base}: a .mc written
    here and turned into base/sendmail.cf with the unpacked sendmail-cf m4
    files, its own queue (base/queue), pid file, status file, aliases,
    service switch (hosts from files only: no DNS) and a local mailer that
    is a program writing each message into base/mail/<user>/Maildir/new
    (every address at dest.test is local).  Started in the foreground as
    `sendmail -bD -q2s -C base/sendmail.cf -L ${LOG_TAG}`, stopped with SIGTERM.
    /etc/mail and the system's Postfix are never touched.

    The daemon listens on 127.0.0.1:${smtp_port}; with ${milter_port} it
    has contrib/sendmail/esmtp-inspect.mc with S=inet:PORT@127.0.0.1 (F=T:
    the milter unreachable tempfails, like Postfix's
    milter_default_action = tempfail).  Sendmail logs only through
    syslog(3): give ${syslog} (the runner's SyslogListener) and its lines,
    tagged ${LOG_TAG}, are maillog_lines() / maillog_text().
    """

    NAME = "sendmail"
    LOG_TAG = "sm-harness"
    # Sendmail's queue ids: 8 letters and digits, then the session's pid
    # in at least 6 digits (6B5NF26r005891); it has one at MAIL already,
    # so MAIL-stage milter lines carry it.
    QID = r"[0-9A-Za-z]{8}[0-9]{6,}"
    MAIL_QID = QID
    QUEUE_INTERVAL = 2          # seconds between queue runs (-q2s)

    def __init__(self, base, smtp_port=None, milter_port=None, syslog=None,
                 root=None, hostname="mx.harness.test", extra_mc=""):
        self.base = os.path.abspath(base)
        self.root = os.path.abspath(root or os.environ.get("ESMTP_SENDMAIL_ROOT")
                                    or SENDMAIL_ROOT_DEFAULT)
        self.binary = os.path.join(self.root, SENDMAIL_BIN)
        self.cf_dir = os.path.join(self.root, SENDMAIL_CF_DIR)
        self.smtp_port = smtp_port or free_port()
        self.milter_port = milter_port
        self.syslog = syslog
        self.hostname = hostname
        self.extra_mc = extra_mc
        self.queue = os.path.join(self.base, "queue")
        self.mail = os.path.join(self.base, "mail")
        self.mc = os.path.join(self.base, "sendmail.mc")
        self.cf = os.path.join(self.base, "sendmail.cf")
        self.pid_file = os.path.join(self.base, "sendmail.pid")
        self.proc = None
        self.running = False
        self._cleanup = None
        self._stderr = None
        # the syslog mark when start() began, and when the current test began
        self.log_start = 0
        self.log_from = 0

    @classmethod
    def available(cls, root=None):
        """None if the unpacked Sendmail is usable, else why not."""
        r = os.path.abspath(root or os.environ.get("ESMTP_SENDMAIL_ROOT")
                            or SENDMAIL_ROOT_DEFAULT)
        if not os.access(os.path.join(r, SENDMAIL_BIN), os.X_OK):
            return "no Sendmail unpacked in %s (run scripts/sendmail-unpack)" % r
        if not shutil.which("m4"):
            return "m4 is missing (Debian package m4)"
        return None

    # -- configuration

    def mc_text(self):
        nu, ng = _uid_gid("nobody")
        b = self.base
        lines = [
            "divert(-1)",
            "# private Sendmail of the esmtp-inspect integration harness",
            "divert(0)dnl",
            "include(`%s/m4/cf.m4')dnl" % self.cf_dir,
            "VERSIONID(`esmtp-inspect harness')dnl",
            "OSTYPE(`linux')dnl",
            "define(`MAIL_SETTINGS_DIR', `%s/')dnl" % b,
            "define(`QUEUE_DIR', `%s')dnl" % self.queue,
            "define(`confPID_FILE', `%s')dnl" % self.pid_file,
            "define(`STATUS_FILE', `%s/statistics')dnl" % b,
            "define(`ALIAS_FILE', `%s/aliases')dnl" % b,
            "define(`HELP_FILE', `%s/helpfile')dnl" % b,
            "define(`confSERVICE_SWITCH_FILE', `%s/service.switch')dnl" % b,
            "define(`confHOSTS_FILE', `%s/hosts')dnl" % b,
            "define(`confDOMAIN_NAME', `%s')dnl" % self.hostname,
            "define(`confDONT_PROBE_INTERFACES', `True')dnl",
            "define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl",
            "define(`confDEF_USER_ID', `%d:%d')dnl" % (nu, ng),
            "define(`confDONT_BLAME_SENDMAIL', "
            "`GroupWritableDirPathSafe,MapInUnsafeDirPath,ForwardFileInUnsafeDirPath')dnl",
            "define(`confPRIVACY_FLAGS', `authwarnings,noexpn,novrfy')dnl",
            "define(`confTO_IDENT', `0')dnl",
            "define(`confLOG_LEVEL', `14')dnl",
            "define(`confMILTER_LOG_LEVEL', `9')dnl",
            "define(`confMAX_DAEMON_CHILDREN', `0')dnl",
            "define(`confCONNECTION_RATE_THROTTLE', `0')dnl",
            "define(`confBAD_RCPT_THROTTLE', `0')dnl",
            "define(`confCHECK_ALIASES', `False')dnl",
            # Postfix's hopcount_limit: the corpus has a message with 30
            # Received: fields (Sendmail's default MaxHopCount is 25)
            "define(`confMAX_HOP', `50')dnl",
            "FEATURE(`no_default_msa')dnl",
            "FEATURE(`accept_unresolvable_domains')dnl",
            "FEATURE(`accept_unqualified_senders')dnl",
            "FEATURE(`nocanonify')dnl",
            "FEATURE(`local_procmail', `%s/deliver', `deliver %s $u')dnl"
            % (b, self.mail),
            "DAEMON_OPTIONS(`Port=%d, Addr=127.0.0.1, Name=MTA, Family=inet')dnl"
            % self.smtp_port,
            "LOCAL_DOMAIN(`%s')dnl" % DOMAIN,
        ]
        if self.milter_port:
            lines.append(self.milter_mc())
        if self.extra_mc:
            lines.append(self.extra_mc.rstrip("\n"))
        # w: "user must have a passwd entry" (u1...u300 have none);
        # f: "-f sender" before the arguments
        lines += ["MODIFY_MAILER_FLAGS(`LOCAL', `-wf')dnl",
                  "MAILER(`local')dnl", "MAILER(`smtp')dnl"]
        return "\n".join(lines) + "\n"

    def milter_mc(self):
        """contrib/sendmail/esmtp-inspect.mc, the snippet the README tells
        administrators to add, with the port of ${milter_port}."""
        with open(SENDMAIL_SNIPPET) as f:
            text = f.read()
        default = "S=inet:8899@127.0.0.1"
        if text.count(default) != 1 or text.count("INPUT_MAIL_FILTER(") != 1:
            raise HarnessError("%s: expected one INPUT_MAIL_FILTER with %s"
                               % (SENDMAIL_SNIPPET, default))
        return text.replace(default, "S=inet:%d@127.0.0.1" % self.milter_port).rstrip("\n")

    def write_config(self):
        make_searchable(self.base)
        files = {
            "hosts": "127.0.0.1 localhost\n127.0.0.1 %s\n" % self.hostname,
            "service.switch": "hosts files\naliases files\n",
            "aliases": "MAILER-DAEMON: postmaster\n",
            "helpfile": "",
            "statistics": "",
            "sendmail.mc": self.mc_text(),
            "deliver": _SM_DELIVER % (LOCAL_PARTS, CATCHALL),
        }
        for name, text in files.items():
            path = os.path.join(self.base, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755 if name == "deliver" else 0o644)
        os.makedirs(self.queue, exist_ok=True)
        os.chmod(self.queue, 0o700)
        os.makedirs(self.mail, exist_ok=True)
        os.chmod(self.mail, 0o755)
        r = subprocess.run(["m4", "-D_CF_DIR_=%s/" % self.cf_dir, self.mc],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0 or r.stderr.strip():
            raise HarnessError("m4 %s failed (status %d):\n%s"
                               % (self.mc, r.returncode, r.stderr.decode(errors="replace")))
        with open(self.cf, "wb") as f:
            f.write(r.stdout)
        os.chmod(self.cf, 0o644)
        # newaliases: aliases.db beside the aliases file
        r = self._sendmail("-bi", check=False)
        if r.returncode != 0:
            raise HarnessError("sendmail -bi failed (status %d):\n%s"
                               % (r.returncode, r.stdout.decode(errors="replace")))

    def command(self, *args):
        """argv of `sendmail -C base/sendmail.cf -L LOG_TAG ${args}`, run in
        its own UTS namespace whose host name is ${hostname}.  Sendmail looks
        up the machine's host name before it reads the .cf and, if that
        has no dot, logs "My unqualified host name (...) unknown; sleeping
        for retry" and sleeps 60s; the namespace changes nothing outside."""
        return ["unshare", "-u", "sh", "-c", 'hostname "$0" && exec "$@"',
                self.hostname, self.binary, "-C", self.cf, "-L", self.LOG_TAG] + list(args)

    @staticmethod
    def _env():
        # a missing DNS server must not stall the host name lookups above
        return dict(os.environ, RES_OPTIONS="timeout:1 attempts:1")

    def _sendmail(self, *args, check=True):
        r = subprocess.run(self.command(*args), env=self._env(),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if check and r.returncode != 0:
            raise HarnessError("sendmail %s failed (status %d):\n%s"
                               % (" ".join(args), r.returncode,
                                  r.stdout.decode(errors="replace")))
        return r

    # -- the log (syslog, tag LOG_TAG)

    def maillog_lines(self, since=None):
        """Sendmail's LogLines since the syslog mark ${since} (default: since
        this Sendmail was started)."""
        if self.syslog is None:
            return []
        return self.syslog.since(self.log_start if since is None else since,
                                 ident=self.LOG_TAG)

    def maillog_text(self):
        return "".join(l.message + "\n" for l in self.maillog_lines())

    def maillog_tail(self, n=40):
        lines = [repr(l) for l in self.maillog_lines()]
        if self.syslog is None:
            return "(no syslog listener: Sendmail's log is not collected)"
        if not lines:
            return "(no Sendmail log lines)"
        return "last lines of Sendmail's log:\n  " + "\n  ".join(lines[-n:])

    def wait_for_log(self, regex, timeout=10, since=None):
        return self.syslog.wait_for_log(regex, timeout,
                                        self.log_start if since is None else since,
                                        ident=self.LOG_TAG)

    # -- lifecycle

    def daemon_pid(self):
        try:
            with open(self.pid_file) as f:
                pid = int(f.readline().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start(self, timeout=30):
        why = self.available(self.root)
        if why:
            raise HarnessError(why)
        if not port_is_free(self.smtp_port):
            raise HarnessError("127.0.0.1:%d is already in use" % self.smtp_port)
        self.write_config()
        old = self.daemon_pid()             # a leftover instance of this DIR
        if old:
            _kill(old)
        if self.syslog is not None:
            self.log_start = self.log_from = self.syslog.mark()
        self._stderr = open(os.path.join(self.base, "sendmail.stderr"), "wb")
        self.proc = subprocess.Popen(
            self.command("-bD", "-q%ds" % self.QUEUE_INTERVAL), env=self._env(), stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
            start_new_session=True)
        self.running = True
        self._cleanup = add_cleanup(self.stop)
        try:
            wait_listening(self.smtp_port, timeout, "Sendmail", proc=self.proc)
        except AssertionError as e:
            raise HarnessError("%s\n%s\n%s" % (e, self.stderr_text(), self.maillog_tail()))

    def stderr_text(self):
        try:
            with open(os.path.join(self.base, "sendmail.stderr"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=15):
        if not self.running:
            return
        self.running = False
        if self._cleanup:
            remove_cleanup(self._cleanup)
            self._cleanup = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # delivery children of the process group, if any are left
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        if self._stderr:
            self._stderr.close()
            self._stderr = None

    # -- delivery (the same files as Postfix's virtual delivery)

    maildir = Postfix.maildir
    mark = Postfix.mark
    delivered = Postfix.delivered

    def wait_delivered(self, rcpt, mark=frozenset(), n=1, timeout=20):
        return Postfix.wait_delivered(self, rcpt, mark, n, timeout)

    def queue_files(self):
        """The queue's files (qf, df, xf, tf...) but not its directories."""
        out = []
        for root, dirs, files in os.walk(self.queue):
            out.extend(os.path.join(root, f) for f in files)
        return out

    # Postfix's, with Sendmail's queue files and log (queue_files(),
    # maillog_text(), SENT_RX; the queue id from the milter's line)
    SENT_RX = r"(?m)^%s: to=.*stat=Sent"
    wait_queue_empty = Postfix.wait_queue_empty
    assert_nothing_delivered = Postfix.assert_nothing_delivered

    # -- what a client sees (see Postfix)

    @classmethod
    def accepted_id(cls, reply):
        """`250 2.0.0 QID Message accepted for delivery`: the queue id."""
        m = reply is not None and re.fullmatch(
            r"2\.0\.0 (%s) Message accepted for delivery" % cls.QID, reply.text)
        assert reply is not None and reply.code == 250 and m, "DATA: %r" % (reply,)
        return m.group(1)

    @staticmethod
    def refused(text, addr):
        """Sendmail puts the address between the enhanced status code and
        the milter's text of a 5xx to MAIL or RCPT: `5.1.7 <addr>... text`;
        "<addr>" of 203 octets or more is shortened to its first and last
        100 octets around "..." (shortenstring(), MAXSHORTSTR 203)."""
        code, _, rest = text.partition(" ")
        shown = "<%s>" % addr
        if len(shown) >= 203:
            shown = shown[:100] + "..." + shown[-100:]
        return "%s %s... %s" % (code, shown, rest)

    def queue_id_for(self, client_port, timeout=10, since=None):
        """The queue id of the session from 127.0.0.1:${client_port} since
        the syslog mark ${since} (default log_from: give the mark taken just
        before the session where a test has several).  Sendmail logs no
        client port, so the id is taken from the milter's line (which
        carries the port), and must be one that the Sendmail process of an
        SMTP session logged after ${since}: its last digits are that
        process's pid (None when ${timeout} is 0 and there is none)."""
        since = self.log_from if since is None else since
        rx = re.compile(r"^(%s): .*\bclient=\S*\[127\.0\.0\.1\]:%d\b"
                        % (self.QID, client_port))

        def sendmail_named(qid):
            pid = int(qid[8:])
            return any(x.message.startswith(qid + ":") and x.pid == pid
                       for x in self.maillog_lines(since))

        def find():
            for l in self.syslog.since(since):
                if l.ident != self.LOG_TAG:
                    m = rx.search(l.message)
                    if m and sendmail_named(m.group(1)):
                        return m.group(1)
            return None
        if timeout == 0:
            return find()
        return poll(find, timeout, "queue id of the session from port %d in the "
                    "milter's and Sendmail's log" % client_port)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _pids_with_env(name, value):
    want = ("%s=%s" % (name, value)).encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if want in env:
            out.append(int(d))
    return out


def expect_reply(r, code, text):
    """The Reply ${r} is exactly ${code} ${text} (None: the peer hung up)."""
    assert r is not None, "connection closed, expected %d %s" % (code, text)
    assert (r.code, r.text) == (code, text), "got %r, expected %d %s" % (r, code, text)


def send_ok(mta, sender, to, subject="harness test"):
    """One swaks send of a message through ${mta} (Postfix or Sendmail)
    that must be delivered to each of ${to} byte for byte, after the trace
    lines the MTA prepends.  Returns swaks' local port."""
    mark = mta.mark()
    msg = make_message(sender, to[0], subject)
    port = free_port()
    r = swaks(mta.smtp_port, sender, to, data=msg, local_port=port)
    assert r.returncode == 0, "swaks failed (%d):\n%s" % (r.returncode, r.stdout[-1500:])
    for rc in to:
        check_delivered(mta.wait_delivered(rc, mark)[0], msg)
    return port


def check_delivered(data, sent):
    """Assert that ${data} (a delivered Maildir file) is ${sent} (bytes, LF
    line ends) byte for byte after the header lines Postfix prepends."""
    if not data.endswith(sent):
        raise AssertionError("delivered message does not end with the sent bytes:\n"
                             "--- sent\n%r\n--- delivered\n%r" % (sent, data))
    prefix = data[:len(data) - len(sent)]
    allowed = (b"Return-Path:", b"X-Original-To:", b"Delivered-To:", b"Received:")
    for line in prefix.split(b"\n")[:-1]:
        if line[:1] in (b" ", b"\t"):
            continue
        if not line.startswith(allowed):
            raise AssertionError("unexpected line before the sent message: %r\n"
                                 "--- delivered\n%r" % (line, data))
    if not prefix.startswith(b"Return-Path:"):
        raise AssertionError("delivered message does not start with Return-Path: %r" % data[:200])


# ----------------------------------------------------------------------
# syslog listener

_SYSLOG_RX = re.compile(
    rb"^<(\d{1,3})>"
    rb"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d |\d{4}-\d\d-\d\dT\S+ )?"
    rb"([^\[: ]+)(?:\[(\d+)\])?: ?(.*)$", re.S)


def each_mta(fn):
    """Decorator: the runner calls the test once with each private MTA
    (test[postfix], test[sendmail]); ctx.mta is that MTA and ctx.smtp_port
    its smtpd.  For the tests whose behaviour does not depend on the MTA;
    where the MTAs differ, the test asks ctx.mta (NAME, MAIL_QID,
    accepted_id(), refused(), queue_id_for())."""
    fn.mtas = ("postfix", "sendmail")
    return fn


class LogLine:
    __slots__ = ("priority", "facility", "ident", "pid", "message")

    def __init__(self, priority, facility, ident, pid, message):
        self.priority, self.facility = priority, facility
        self.ident, self.pid, self.message = ident, pid, message

    def __repr__(self):
        return "<%s %s[%s]: %s>" % (LEVEL_NAMES[self.priority], self.ident,
                                    self.pid, self.message)


class SyslogListener:
    """Collects syslog(3) datagrams sent to /dev/log.

    If /dev/log does not exist the listener binds it (and removes it at
    exit).  If it exists, the process must already run in a private mount
    namespace (see ensure_private_devlog()): a socket is bound in a temp
    directory and bind-mounted over /dev/log.
    """

    def __init__(self, path=DEV_LOG):
        self.path = path
        self.lines = []
        self.cond = threading.Condition()
        self.sock = None
        self.mounted = False
        self.tmpdir = None
        self.own_path = None
        self.own_ino = None

    def start(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        if os.path.lexists(self.path):
            if os.environ.get("ESMTP_HARNESS_UNSHARED") != "1":
                raise HarnessError("%s exists; run under unshare -m (the runner "
                                   "re-executes itself so)" % self.path)
            self.tmpdir = tempfile.mkdtemp(prefix="esmtp-devlog-")
            os.chmod(self.tmpdir, 0o755)
            p = os.path.join(self.tmpdir, "log")
            self.sock.bind(p)
            os.chmod(p, 0o666)
            subprocess.run(["mount", "--bind", p, self.path], check=True)
            self.mounted = True
        else:
            try:
                self.sock.bind(self.path)
            except OSError as e:
                raise HarnessError("cannot bind %s: %s" % (self.path, e))
            os.chmod(self.path, 0o666)
            self.own_path = self.path
            self.own_ino = os.lstat(self.path).st_ino
        add_cleanup(self.stop)
        t = threading.Thread(target=self._loop, name="syslog", daemon=True)
        t.start()

    def stop(self):
        if self.mounted:
            subprocess.run(["umount", self.path], check=False)
            self.mounted = False
        if self.own_path:
            try:
                if os.lstat(self.own_path).st_ino == self.own_ino:
                    os.unlink(self.own_path)
            except OSError:
                pass
            self.own_path = None
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass

    def _loop(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            line = self.parse(data)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    @staticmethod
    def parse(data):
        data = data.rstrip(b"\n\0")
        m = _SYSLOG_RX.match(data)
        if not m:
            return LogLine(LOG_INFO, None, "?", None, data.decode("utf-8", "replace"))
        pri = int(m.group(1))
        return LogLine(pri & 7, pri >> 3, m.group(2).decode("utf-8", "replace"),
                       int(m.group(3)) if m.group(3) else None,
                       m.group(4).decode("utf-8", "surrogateescape"))

    def mark(self):
        """An index: wait_for_log(..., since=mark) only looks at later lines."""
        with self.cond:
            return len(self.lines)

    def since(self, mark=0, ident=None, pid=None):
        """Lines after ${mark}, from ${ident} and process ${pid} if given (other
        programs on the machine may log to the same /dev/log meanwhile)."""
        with self.cond:
            ls = self.lines[mark:]
        return [l for l in ls if (ident is None or l.ident == ident)
                and (pid is None or l.pid == pid)]

    def wait_for_log(self, regex, timeout=10, since=0, ident=None, pid=None):
        """Wait for a line whose message matches ${regex} (fullmatch); return it."""
        rx = re.compile(regex)

        def find():
            for l in self.since(since, ident, pid):
                if rx.fullmatch(l.message):
                    return l
            return None
        try:
            return poll(find, timeout, "log line matching %r" % regex)
        except AssertionError as e:
            raise AssertionError("%s; lines so far:\n  %s" % (
                e, "\n  ".join(repr(l) for l in self.since(since, ident, pid)) or "(none)"))

    def expect(self, exact, level, timeout=10, since=0, ident=None, pid=None,
               variable=None):
        """Wait for the log line ${exact} at ${level}.  ${variable} maps
        placeholders in ${exact} (e.g. "{PORT}") to regexes for the parts that
        vary; everything else must match literally.  Returns the LogLine."""
        variable = variable or {}
        parts = re.split("(%s)" % "|".join(re.escape(k) for k in variable), exact) \
            if variable else [exact]
        rx = "".join(variable.get(p, re.escape(p)) for p in parts)
        l = self.wait_for_log(rx, timeout, since, ident, pid)
        if l.priority != level:
            raise AssertionError("log line %r has level %s, expected %s"
                                 % (l.message, LEVEL_NAMES[l.priority], LEVEL_NAMES[level]))
        return l

    def assert_absent(self, regex, since=0, ident=None, pid=None):
        rx = re.compile(regex)
        bad = [l for l in self.since(since, ident, pid) if rx.search(l.message)]
        if bad:
            raise AssertionError("unexpected log line(s): %r" % bad)


def ensure_private_devlog(argv):
    """If /dev/log exists (a syslog daemon runs), re-execute ${argv} under
    `unshare -m` so that our own socket can be bind-mounted over /dev/log
    without touching the system's.  Returns only when no re-exec is needed."""
    if not os.path.lexists(DEV_LOG) or os.environ.get("ESMTP_HARNESS_UNSHARED") == "1":
        return
    unshare = shutil.which("unshare")
    if not unshare:
        raise HarnessError("%s exists and unshare(1) is missing" % DEV_LOG)
    os.environ["ESMTP_HARNESS_UNSHARED"] = "1"
    os.execv(unshare, [unshare, "-m", "--propagation", "private",
                       sys.executable] + list(argv))


# ----------------------------------------------------------------------
# The milter

class _Daemon:
    """What the milter and the shim have in common in the tests: one of our
    binaries run in the foreground with a configuration file, its stderr in
    a file, its syslog lines told apart by ident and pid, stopped with
    SIGTERM and checked for exit status 0 and a clean sanitizer report.
    Subclasses set NAME and IDENT and say where they listen (addrs())."""

    NAME = IDENT = None

    def __init__(self, binary, workdir, syslog=None):
        self.binary = os.path.abspath(binary)
        self.workdir = workdir
        self.syslog = syslog
        self.conf = os.path.join(workdir, "%s.conf" % self.NAME)
        self.stderr_path = os.path.join(workdir, "%s.stderr" % self.NAME)
        self.proc = None
        self.pid = None                 # of the last start, for log filtering
        self._stderr = None
        self._cleanup = None

    def addrs(self):
        """[(addr, port)] the daemon listens on once started."""
        raise NotImplementedError

    # Set by a test before start(): e.g. NOTIFY_SOCKET.
    extra_env = {}

    def _start(self, args, timeout):
        """Run with ${args} and -c conf; wait until every address listens
        and event=start is logged."""
        self._stderr = open(self.stderr_path, "ab")
        mark = self.syslog.mark() if self.syslog else 0
        self.proc = subprocess.Popen([self.binary] + list(args) + ["-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr,
                                     env=dict(os.environ, **self.extra_env))
        self.pid = self.proc.pid
        self._cleanup = add_cleanup(self.kill)
        for addr, port in self.addrs():
            wait_listening(port, timeout, "the %s" % self.NAME, self.proc, addr)
        if self.syslog:
            self.syslog.wait_for_log(r"NOQUEUE: event=start .*", timeout, since=mark,
                                     ident=self.IDENT, pid=self.pid)

    def expect_log(self, exact, level, since, **kw):
        """syslog.expect() restricted to this process's lines."""
        return self.syslog.expect(exact, level, since=since, ident=self.IDENT,
                                  pid=self.pid, **kw)

    def assert_no_log(self, regex, since):
        self.syslog.assert_absent(regex, since=since, ident=self.IDENT, pid=self.pid)

    def log_lines(self, since):
        return self.syslog.since(since, self.IDENT, self.pid)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout=15):
        """SIGTERM; assert exit status 0, a clean stderr, ports closed."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("%s did not exit within %gs of SIGTERM" % (self.NAME, timeout))
        finally:
            if self._cleanup:
                remove_cleanup(self._cleanup)
                self._cleanup = None
            if self._stderr:
                self._stderr.close()
                self._stderr = None
        self.check_stderr()
        if rc != 0:
            raise AssertionError("%s exited with status %d after SIGTERM; stderr:\n%s"
                                 % (self.NAME, rc, self.stderr_text()[-2000:]))
        for addr, port in self.addrs():
            poll(lambda: not listening(port, addr), 10, "%s port %d to close"
                 % (self.NAME, port))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def check_stderr(self):
        t = self.stderr_text()
        for bad in ("AddressSanitizer", "runtime error", "LeakSanitizer"):
            if bad in t:
                raise AssertionError("%s stderr contains %r:\n%s" % (self.NAME, bad, t[-4000:]))

    def version(self):
        """The version -V prints on its first line ("NAME VERSION")."""
        return self.run(["-V"]).stdout.split("\n", 1)[0].split()[-1]

    def run(self, args, timeout=15):
        """Run the binary to completion (e.g. -n); returns CompletedProcess (text)."""
        return subprocess.run([self.binary] + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, text=True, errors="replace")


class NotifySocket:
    """What a daemon tells systemd (sd_notify): a datagram socket at
    ${path}, as $NOTIFY_SOCKET names it; expect() waits for a state."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.states = []

    def expect(self, state, timeout=10):
        """Wait for a datagram holding the line ${state} ("READY=1");
        the ones before it are kept in ${states}."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s from the daemon; got %r" % (state, self.states))
            self.sock.settimeout(left)
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.states.append(msg)
            if state in msg.split("\n"):
                return

    def close(self):
        self.sock.close()


class Milter(_Daemon):
    """The milter binary run in the foreground with a given configuration."""

    NAME = "milter"
    IDENT = "esmtp-inspect-milter"

    def __init__(self, binary, workdir, port, syslog=None):
        super().__init__(binary, workdir, syslog)
        self.port = port

    # Where the milter listens: IPv4 (what the private Postfix uses) unless
    # a test sets listen_addr = "::1" for an inet6: socket.
    listen_addr = "127.0.0.1"

    def addrs(self):
        return [(self.listen_addr, self.port)]

    def socket_line(self):
        if ":" in self.listen_addr:
            return 'milter {\n  socket = "inet6:%d@[%s]"\n}\n' % (self.port, self.listen_addr)
        return 'milter {\n  socket = "inet:%d@%s"\n}\n' % (self.port, self.listen_addr)

    def write_conf(self, text, with_socket=True):
        with open(self.conf, "w") as f:
            f.write(text)
            if with_socket:
                f.write("\n" + self.socket_line())

    def start(self, conf_text=None, args=("-f",), timeout=15, with_socket=True):
        if conf_text is not None:
            self.write_conf(conf_text, with_socket)
        self._start(args, timeout)

    def reload(self, conf_text=None, with_socket=True):
        if conf_text is not None:
            self.write_conf(conf_text, with_socket)
        self._reload()


# ----------------------------------------------------------------------
# The shim

def _split_hostport(spec):
    """"127.0.0.1:25" or "[::1]:25" -> ("127.0.0.1", 25) / ("::1", 25)."""
    host, port = spec.rsplit(":", 1)
    return host.strip("[]"), int(port)


class Shim(_Daemon):
    """esmtp-inspect-shim run in the foreground in front of Postfix's PROXY
    smtpd.  Its configuration file is the caller's text (rules, profile,
    global options) plus a `shim { ... }` section that this class writes:
    listen (${listen}, by default 127.0.0.1:${port}), upstream
    (${upstream_host}:${upstream_port}, by default 127.0.0.1) and the
    caller's ${shim_opts}."""

    NAME = "shim"
    IDENT = "esmtp-inspect-shim"

    def __init__(self, binary, workdir, port, upstream_port, syslog=None):
        super().__init__(binary, workdir, syslog)
        self.port = port
        self.upstream_port = upstream_port
        self.upstream_host = "127.0.0.1"
        # "ADDR:PORT" / "[ADDR]:PORT"; a test may add e.g. "[::1]:PORT6"
        self.listen = ["127.0.0.1:%d" % port]

    def addrs(self):
        return [_split_hostport(spec) for spec in self.listen]

    def shim_section(self, shim_opts=""):
        lines = ["shim {",
                 "  listen = { %s }" % ", ".join('"%s"' % a for a in self.listen),
                 '  upstream = "%s:%d"' % (self.upstream_host, self.upstream_port)]
        lines += ["  " + l.strip() for l in shim_opts.splitlines() if l.strip()]
        return "\n".join(lines) + "\n}\n"

    def write_conf(self, text, shim_opts=""):
        with open(self.conf, "w") as f:
            f.write(text)
            f.write("\n" + self.shim_section(shim_opts))

    def start(self, conf_text=None, shim_opts="", args=("-f",), timeout=15):
        """Start with ${conf_text} (None: the file as last written) and wait
        until every listen address listens and event=start is logged."""
        if conf_text is not None:
            self.write_conf(conf_text, shim_opts)
        self._start(args, timeout)

    def reload(self, conf_text=None, shim_opts=""):
        """Rewrite the file if ${conf_text} is given, then SIGHUP."""
        if conf_text is not None:
            self.write_conf(conf_text, shim_opts)
        self._reload()

    def stop(self, timeout=45):
        """SIGTERM, as _Daemon.stop().  (Sessions still open get
        shutdown-timeout seconds, 30 by default: close them first.)"""
        super().stop(timeout)


class ScriptedUpstream:
    """A fake MTA on 127.0.0.1, for what a real one does not do (a reply
    to no command, a 354 to NOOP): accepts one connection at a time, reads
    the shim's PROXY v2 header, sends ${greeting}, then answers each
    command line with ${handler}(line) (bytes: any number of replies, or
    b""; None closes the connection, and ${closed} is set).  Every line
    received is kept in ${lines}.  hangup() resets the connection.
    Stopped by close()."""

    def __init__(self, handler, greeting=b"220 fake.test ESMTP\r\n"):
        self.handler = handler
        self.greeting = greeting
        self.lines = []
        self.closed = threading.Event()
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _run(self):
        while True:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            self.conn = conn
            try:
                conn.settimeout(30)
                hdr = self._read(conn, 16)          # PROXY v2: length at 14
                self._read(conn, int.from_bytes(hdr[14:16], "big"))
                conn.sendall(self.greeting)
                buf, out = b"", b""
                while out is not None:
                    data = conn.recv(65536)
                    if not data:
                        break
                    buf += data
                    while b"\n" in buf and out is not None:
                        line, buf = buf.split(b"\n", 1)
                        self.lines.append(line + b"\n")
                        out = self.handler(line + b"\n")
                        if out:
                            conn.sendall(out)
            except (OSError, EOFError):
                pass
            finally:
                conn.close()
                self.closed.set()

    def hangup(self):
        """Close the connection now (an MTA's timeout), whatever the
        thread serving it is doing: an abortive close (RST), what the
        kernel sends when an MTA closes with input unread, and what
        reaches a peer that is not reading (a FIN would wait behind the
        unsent replies)."""
        try:
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
            self.conn.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass

    def close(self):
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()


# ----------------------------------------------------------------------
# SMTP clients

class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines              # text after "NNN-"/"NNN "

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return "%d %s" % (self.code, " / ".join(self.lines))


class SMTPSession:
    """A raw SMTP client: exact commands, exact replies, EOF detection."""

    def __init__(self, port, host="127.0.0.1", timeout=30, source=None):
        """${source}: the local address to connect from (e.g. 127.0.0.2)."""
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.local_port = self.sock.getsockname()[1]
        self.buf = b""
        self.received = b""             # every octet read, for exact checks
        self.eof = False
        self.transcript = []

    def _readline(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                self.eof = True
                if self.buf:
                    raise AssertionError("connection closed mid-line: %r" % self.buf)
                return None
            self.buf += data
            self.received += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """Read one (multi-line) reply.  Returns a Reply, or None at EOF."""
        lines = []
        while True:
            line = self._readline()
            if line is None:
                if lines:
                    raise AssertionError("connection closed inside a reply: %r" % lines)
                return None
            self.transcript.append("S: " + line)
            if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
                raise AssertionError("malformed reply line %r" % line)
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return Reply(int(line[:3]), lines)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        """Send one command line, return its reply (None at EOF)."""
        self.transcript.append("C: " + (line if len(line) < 200 else line[:200] + "..."))
        self.send(line.encode("utf-8", "surrogateescape") + b"\r\n")
        return self.reply()

    def expect(self, line, code, startswith=None):
        r = self.cmd(line) if line is not None else self.reply()
        if r is None:
            raise AssertionError("EOF after %r, expected %d" % (line, code))
        if r.code != code or (startswith and not r.lines[-1].startswith(startswith)):
            raise AssertionError("%r: got %r, expected %d %s" % (
                (line or "")[:80], r, code, startswith or ""))
        return r

    def greet(self, helo="client.harness.test"):
        self.expect(None, 220)
        return self.expect("EHLO " + helo, 250)

    def data(self, message):
        """DATA, the message (bytes, LF or CRLF), the final dot; returns the reply."""
        r = self.cmd("DATA")
        if r is None or r.code != 354:
            return r
        body = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        body = re.sub(rb"(?m)^\.", b"..", body)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body + b".\r\n")
        self.transcript.append("C: <message, %d octets>" % len(body))
        return self.reply()

    def expect_eof(self, timeout=10):
        """Assert that the server closes the connection (no more replies)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                r = self.reply()
                if r is None:
                    return
                raise AssertionError("expected the connection to be closed, got %r" % r)
        except socket.timeout:
            raise AssertionError("connection still open %gs later" % timeout)
        except ConnectionResetError:
            return

    def starttls(self, server_hostname="mx.harness.test"):
        """TLS handshake on the socket (after a 220 to STARTTLS); the
        server's certificate is not verified (self-signed)."""
        import ssl
        if self.buf:
            raise AssertionError("plaintext after the 220 to STARTTLS: %r" % self.buf)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.transcript.append("C: <TLS %s>" % self.sock.version())

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def swaks(port, sender, rcpts, data=None, headers=(), local_port=None, extra=(),
          timeout=60):
    """Send with swaks.  ${data}: bytes of the whole message (LF line ends),
    sent as is.  Returns CompletedProcess (text)."""
    args = ["swaks", "--server", "127.0.0.1:%d" % port, "--from", sender,
            "--to", ",".join(rcpts) if not isinstance(rcpts, str) else rcpts,
            "--helo", "client.harness.test", "--timeout", "30"]
    if local_port:
        args += ["--local-interface", "127.0.0.1", "--local-port", str(local_port)]
    tmp = None
    if data is not None:
        fd, tmp = tempfile.mkstemp(prefix="swaks-data-")
        with os.fdopen(fd, "wb") as f:
            # swaks adds CRLF before the final dot: drop the last line end
            f.write(data[:-1] if data.endswith(b"\n") else data)
        args += ["--data", "@" + tmp]
    for h in headers:
        args += ["--header", h]
    args += list(extra)
    try:
        return subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, text=True,
                              errors="replace")
    finally:
        if tmp:
            os.unlink(tmp)


def make_message(sender, rcpt, subject="harness test", body=b"Hello.\n"):
    """A complete message (bytes, LF line ends) with every header Postfix
    could otherwise add, so that the delivered bytes equal the sent bytes."""
    return (b"From: <%s>\nTo: <%s>\nSubject: %s\n"
            b"Date: Thu, 01 Jan 2026 00:00:00 +0000\n"
            b"Message-ID: <%d.%d@client.harness.test>\n\n"
            % (sender.encode(), rcpt.encode(), subject.encode(), os.getpid(),
               int(time.monotonic() * 1e6))) + body
