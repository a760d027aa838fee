"""Docs that cannot lie (issue 14): every command block of README.md and
docs/*.md is either run against plcio's simulators or says why not.

A fenced block with no language, or sh/console/bash/shell, is a command block
and must be preceded (on the line above the fence) by one of

    <!-- doc-test: run -->
    <!-- doc-test: no-run: REASON -->

In a block that runs, a line "$ COMMAND" is a command and the lines after it,
up to the next "$ ", are what it prints (stdout and stderr together): each
expected line must appear in the output, in order; "..." in a line matches
any text. Lines without "$ " in a block without any are commands whose output
is not checked ("make", "plcio ..." one-liners). Each file gets fresh
simulators: `plcio sim s7` (its default data set) for s7://127.0.0.1:1102 and
`plcio sim modbus --files 4` for modbus-tcp://127.0.0.1:1502; the ports the docs show
are replaced by the ones the simulators got (and back in the output). A
"plcio sim ..." command in a block listens on a free port instead and is
stopped once it printed its "listening" line.
Commands run in a scratch directory (removed afterwards) where tests/ is the
repository's, with `plcio` meaning the binary under test; a trailing "&" is
dropped.

usage: /usr/bin/python3 doc_blocks.py PLCIO_BIN SOURCE_DIR [FILE...]
"""
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

FENCE = re.compile(r"^(```+|~~~+)\s*([A-Za-z0-9_+-]*)\s*$")
MARK = re.compile(r"^<!--\s*doc-test:\s*(run|no-run)(?::\s*(.*?))?\s*-->\s*$")
COMMAND_LANGS = {"", "sh", "console", "bash", "shell"}
DOC_S7, DOC_MB = "127.0.0.1:1102", "127.0.0.1:1502"


def blocks(path):
    """(line number, language, mark, reason, lines) of every fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(1), m.group(2), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence[:3]):
            j += 1
        mark = MARK.match(lines[start - 1]) if start > 0 else None
        yield (start + 1, lang, mark.group(1) if mark else None,
               (mark.group(2) or "") if mark else "", lines[start + 1:j])
        i = j + 1


class Sims:
    """Fresh simulators for one file; stopped by stop() whatever happens."""

    def __init__(self, binary):
        self.procs = []
        # the default data set, plus DB10 for README's layout example, the optimized DB20 "Plant"
        # (docs/s7plus.md "Optimized DBs by symbol") and the PLC tags of plc_tags.csv ("PLC tags")
        fx = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "s7plus_symbolic")
        self.s7 = self._start([binary, "sim", "s7", "--listen", "127.0.0.1:0", "--db", "10:100",
                               "--db", "20:" + os.path.join(fx, "plant.db"), "--layout", os.path.join(fx, "axis.udt"),
                               "--tags", os.path.join(fx, "plc_tags.csv"), "--seconds", "300"])
        self.mb = self._start([binary, "sim", "modbus", "--listen", "127.0.0.1:0", "--files", "4", "--seconds", "300"])

    def _start(self, argv):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(p)
        # `sim s7` prints its S7CommPlus certificate line before the ready line
        line = ""
        m = None
        while not m:
            got = p.stdout.readline()
            if not got:
                break
            line += got
            m = re.search(r"listening on (127\.0\.0\.1:\d+)", got)
        if not m:
            self.stop()
            raise RuntimeError("simulator did not start: %r" % line)
        return m.group(1)

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_command(cmd, binary, sims, cwd):
    words = shlex.split(cmd)
    if words and words[0] in ("plcio", "build/plcio"):
        words[0] = binary
    if words and words[-1] == "&":
        words.pop()
    if len(words) > 1 and words[1] == "sim":
        # a simulator: on a free port (the docs' port is the runner's own
        # simulator's); its ready line is the output; stop it there
        words = [("127.0.0.1:0" if i > 0 and words[i - 1] in ("--listen", "--tcp", "--tls") else w)
                 for i, w in enumerate(words)]
        p = subprocess.Popen(words, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
        deadline = time.monotonic() + 20
        out = ""
        while time.monotonic() < deadline:  # up to the ready line (`sim s7` prints a certificate line first)
            got = p.stdout.readline()
            out += got
            if not got or "listening on" in got:
                break
        os.killpg(p.pid, signal.SIGTERM)
        rest, _ = p.communicate(timeout=20)
        out += rest
    else:
        words = [w.replace(DOC_S7, sims.s7).replace(DOC_MB, sims.mb) for w in words]
        r = subprocess.run(words, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60)
        out = r.stdout
    return out.replace(sims.s7, DOC_S7).replace(sims.mb, DOC_MB)


def line_matches(expected, actual):
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    # a simulator's own port (the docs show one; the run gets another)
    pattern = re.sub(r"127\\\.0\\\.0\\\.1:\d+", r"127\\.0\\.0\\.1:\\d+", pattern)
    return re.fullmatch(pattern, actual.rstrip()) is not None


def check_output(expected, out):
    """Each expected line in order among the output lines; the first missing one or None."""
    got = out.split("\n")
    k = 0
    for line in expected:
        if not line.strip():
            continue
        while k < len(got) and not line_matches(line.rstrip(), got[k]):
            k += 1
        if k == len(got):
            return line
        k += 1
    return None


def commands_of(lines):
    """[(command, expected lines)] of a block."""
    if not any(l.startswith("$ ") for l in lines):
        return [(l, []) for l in lines if l.strip() and not l.lstrip().startswith("#")]
    cmds = []
    for l in lines:
        if l.startswith("$ "):
            cmds.append((l[2:], []))
        elif cmds:
            cmds[-1][1].append(l)
    return cmds


def main():
    binary, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    files = sys.argv[3:] or [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    failures, ran, skipped = [], 0, 0
    scratch = tempfile.mkdtemp(prefix="plcio-doc-")
    os.symlink(os.path.join(root, "tests"), os.path.join(scratch, "tests"))
    try:
        for path in files:
            ran, skipped = run_file(path, root, binary, scratch, failures, ran, skipped)
    finally:
        shutil.rmtree(scratch)
    print("doc blocks: %d commands run, %d blocks marked no-run" % (ran, skipped))
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures or ran == 0 else 0


def run_file(path, root, binary, scratch, failures, ran, skipped):
    """Check one file's blocks and run its runnable ones; the updated counts."""
    name = os.path.relpath(path, root)
    todo = []
    for line, lang, mark, reason, lines in blocks(path):
        if lang not in COMMAND_LANGS:
            continue
        if mark is None:
            failures.append("%s:%d: a command block without <!-- doc-test: run --> or "
                            "<!-- doc-test: no-run: REASON -->" % (name, line))
        elif mark == "no-run":
            if not reason:
                failures.append("%s:%d: no-run needs a reason" % (name, line))
            skipped += 1
        else:
            todo.append((line, lines))
    if not todo:
        return ran, skipped
    sims = Sims(binary)
    try:
        for line, lines in todo:
            for cmd, expected in commands_of(lines):
                out = run_command(cmd, binary, sims, scratch)
                ran += 1
                missing = check_output(expected, out)
                if missing is not None:
                    failures.append("%s:%d: $ %s\n  expected: %s\n  got:\n%s" % (
                        name, line, cmd, missing, "\n".join("    " + o for o in out.rstrip().split("\n"))))
    finally:
        sims.stop()
    return ran, skipped


if __name__ == "__main__":
    sys.exit(main())
