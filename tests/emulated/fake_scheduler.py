#!/usr/bin/python3
"""Strict stand-ins for the PBS (Pro and Torque) and LSF commands, for the emulated tests.

No PBS or LSF can be installed here, so these play them: qsub, qstat, qdel (PBS; the flavour
comes from FAKESCHED_PBS_FLAVOUR=pro|torque) and bsub, bjobs, bkill (LSF), chosen by the name
this file is called by (tests/emulated/pbs/ and lsf/ hold the links).

- Only the options the real command accepts are accepted; anything else fails with the real
  command's message and exit code, and a valid option this emulation does not model fails with
  "not emulated" (exit 2), so a generated script can never pass by being ignored.
- Directive lines in the script (#PBS, #BSUB) are parsed with the same rules, as the real
  submit commands do, until the first command line.
- Jobs run for real: a detached runner starts each array element with /bin/sh, in the
  scheduler's environment (PBS_ARRAY_INDEX or PBS_ARRAYID, LSB_JOBID and LSB_JOBINDEX, ...),
  with output where -o/-e/-j say. qdel/bkill send SIGTERM to each element's process group and
  SIGKILL after FAKESCHED_KILL_DELAY seconds (default 2).
- Output formats follow the vendors' documentation.
- Every call is appended to $FAKESCHED_DIR/calls.log (one JSON object per line: argv, stdin).

State lives in $FAKESCHED_DIR (required). `fake_scheduler.py --cleanup` (with FAKESCHED_DIR)
stops every runner and job it started, by the pids it recorded.
"""

import fcntl
import getopt
import json
import os
import re
import shlex
import signal
import sys
import time

SERVER = "fakeserver"


def fail(message, code):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def state_dir():
    d = os.environ.get("FAKESCHED_DIR")
    if not d or not os.path.isabs(d):
        fail("fake scheduler: FAKESCHED_DIR must be set to an absolute directory", 2)
    os.makedirs(os.path.join(d, "jobs"), exist_ok=True)
    return d


def log_call(d, argv, stdin_text):
    with open(os.path.join(d, "calls.log"), "a") as f:
        f.write(json.dumps({"argv": argv, "stdin": stdin_text}) + "\n")


def next_seq(d):
    path = os.path.join(d, "next_id")
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        text = f.read().strip()
        seq = int(text) if text else int(os.environ.get("FAKESCHED_FIRST_ID", "100"))
        f.seek(0)
        f.truncate()
        f.write(str(seq + 1))
    return seq


def job_dir(d, seq):
    return os.path.join(d, "jobs", str(seq))


def load_job(d, seq):
    try:
        with open(os.path.join(job_dir(d, seq), "job.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def element_state(d, seq, index):
    """('Q', None) queued, ('R', pid) running, ('F', exit) finished, ('C', exit) deleted."""
    try:
        with open(os.path.join(job_dir(d, seq), "%d.state" % index)) as f:
            parts = f.read().split()
    except OSError:
        return ("Q", None)
    if not parts:
        return ("Q", None)
    return (parts[0], int(parts[1]) if len(parts) > 1 else None)


def set_element_state(d, seq, index, state, value=None):
    path = os.path.join(job_dir(d, seq), "%d.state" % index)
    with open(path + ".tmp", "w") as f:
        f.write(state + ("" if value is None else " %d" % value))
    os.replace(path + ".tmp", path)


def script_directives(script, prefix):
    """The words of each directive line (`#PBS -N x`) before the first command line."""
    words = []
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        if stripped.startswith(prefix):
            rest = stripped[len(prefix):]
            if rest and not rest[0].isspace():
                continue  # "#PBSX" is a comment
            try:
                words.extend(shlex.split(rest))
            except ValueError as e:
                fail("%s: directive error: %s: %s" % (PROG, e, stripped), 2)
    return words


def start_runner(d, seq):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        try:
            run_job(d, seq)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def open_output(path, cwd):
    if not os.path.isabs(path):
        path = os.path.join(cwd, path)
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


def run_job(d, seq):
    """The runner: starts the elements (at most FAKESCHED_SLOTS at once), records how each
    ended, and on deletion stops the running ones."""
    with open(os.path.join(job_dir(d, seq), "runner.pid"), "w") as f:
        f.write(str(os.getpid()))
    job = load_job(d, seq)
    slots = int(os.environ.get("FAKESCHED_SLOTS", "8"))
    delay = float(os.environ.get("FAKESCHED_KILL_DELAY", "2"))
    cancel = os.path.join(job_dir(d, seq), "cancel")
    running = {}  # pid -> index
    queued = list(job["indices"])
    killing_since = None
    while queued or running:
        if os.path.exists(cancel):
            for index in queued:
                set_element_state(d, seq, index, "C", 271)
            queued = []
            if killing_since is None:
                killing_since = time.time()
                for pid in running:
                    try:
                        os.killpg(pid, signal.SIGTERM)
                    except OSError:
                        pass
            elif time.time() - killing_since > delay:
                for pid in running:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
        elif not job["held"] and time.time() >= job.get("begin", 0):
            while queued and len(running) < slots:
                index = queued.pop(0)
                pid = start_element(job, index)
                running[pid] = index
                set_element_state(d, seq, index, "R", pid)
        pid, status = os.waitpid(-1, os.WNOHANG) if running else (0, 0)
        if pid in running:
            index = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if code < 0:
                code = 256 - code if job["kind"] == "pbs" else 128 - code
            deleted = os.path.exists(cancel)
            set_element_state(d, seq, index, "C" if deleted else "F", code)
            continue
        time.sleep(0.05)
    with open(os.path.join(job_dir(d, seq), "done"), "w") as f:
        f.write(str(time.time()))


def start_element(job, index):
    env = dict(job["env"])
    env.update(ELEMENT_ENV[job["kind"]](job, index))
    out_path, err_path = OUTPUT_PATHS[job["kind"]](job, index)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.chdir(job["run_dir"])
            out = open_output(out_path, job["cwd"])
            err = out if err_path is None else open_output(err_path, job["cwd"])
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(s, signal.SIG_DFL)
            os.execve("/bin/sh", ["/bin/sh", job["script"]], env)
        finally:
            os._exit(127)
    return pid


def base_env():
    """What a batch job sees: a fresh login-like environment, not the submitter's."""
    home = os.environ.get("HOME", "/")
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "root"
    return {"HOME": home, "USER": user, "LOGNAME": user, "SHELL": "/bin/sh",
            "PATH": "/usr/local/bin:/usr/bin:/bin"}


# --- PBS --------------------------------------------------------------------------------------

FLAVOUR = os.environ.get("FAKESCHED_PBS_FLAVOUR", "pro")
PBS_QSUB_OPTS = {
    "pro": "a:A:c:C:e:fhIj:J:k:l:m:M:N:o:p:P:q:r:R:S:u:v:VW:Xz",
    "torque": "a:A:b:c:C:d:D:e:fF:hIj:k:K:l:L:m:M:nN:o:p:P:q:r:S:t:T:u:v:Vw:W:xXz",
}
PBS_USAGE = {
    "pro": "usage: qsub [-a date_time] [-A account_string] [-c interval]\n"
           "\t[-C directive_prefix] [-e path] [-f ] [-h ] [-I [-X]] [-j oe|eo] [-J X-Y[:Z]]\n"
           "\t[-k o|e|oe] [-l resource_list] [-m mail_options] [-M user_list]\n"
           "\t[-N jobname] [-o path] [-p priority] [-P project] [-q queue] [-r y|n]\n"
           "\t[-R o|e|oe] [-S path] [-u user_list] [-W otherattributes=value...]\n"
           "\t[-v variable_list] [-V ] [-z] [script | -- command [arg1 ...]]\n"
           "       qsub --version",
    "torque": "usage: qsub [-a date_time] [-A account_string] [-b secs]\n"
              "      [-c [ none | { enabled | periodic | shutdown |\n"
              "      depth=<int> | dir=<path> | interval=<minutes>}... ]\n"
              "      [-C directive_prefix] [-d path] [-D path]\n"
              "      [-e path] [-h] [-I] [-j oe|eo|n] [-k {oe}] [-K interval] [-l resource_list]\n"
              "      [-m n|{abe}] [-M user_list] [-N jobname] [-o path]\n"
              "      [-p priority] [-P proxy_user [-q queue] [-r y|n] [-S path]\n"
              "      [-t number_to_submit] [-T type]  [-u user_list] [-w] path\n"
              "      [-W otherattributes=value...] [-v variable_list] [-V] [-x] [-X] [-z] [script]",
}
PBS_QUEUES = {"pro": "workq", "torque": "batch"}
PBS_EMULATED = set("ANjJtlhoeqSmMrVz")  # options whose meaning this emulation models
PBS_RESOURCES = {
    "pro": {"walltime", "select", "mem", "ncpus", "place"},
    "torque": {"walltime", "nodes", "mem", "pmem", "vmem", "ncpus", "gres"},
}


def pbs_array(flag, value):
    m = re.fullmatch(r"(\d+)-(\d+)(?::(\d+))?", value)
    if flag == "J":  # Pro: X-Y[:Z] with X < Y, at least two subjobs
        if not m or int(m.group(1)) >= int(m.group(2)):
            fail("qsub: illegal -J value", 2)
    elif not m or int(m.group(1)) > int(m.group(2)):  # Torque: X-Y (lists are not emulated)
        fail("qsub: illegal -t value", 2)
    first, last, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    indices = list(range(first, last + 1, step))
    limit = int(os.environ.get("FAKESCHED_MAX_ARRAY_SIZE", "10000"))
    if len(indices) > limit:
        fail("qsub: Array job exceeds server or queue size limit", 2)
    return indices


def pbs_check_resources(value):
    for item in value.split(","):
        key, _, v = item.partition("=")
        if key not in PBS_RESOURCES[FLAVOUR] or not v:
            if FLAVOUR == "pro":
                fail("qsub: Unknown resource Resource_List.%s" % key, 2)
            fail("qsub: submit error (Unknown resource type  MSG=unknown resource %s)" % key, 1)
        if key == "walltime" and not re.fullmatch(r"(\d+:)?(\d+:)?\d+", v):
            fail("qsub: illegal -l value", 2)
        if key in ("mem", "pmem", "vmem") and not re.fullmatch(r"\d+(b|kb|mb|gb|tb|w)?", v, re.I):
            fail("qsub: illegal -l value", 2)
        if key == "select" and not re.fullmatch(r"\d+(:[a-z_]+=[\w.]+)*", v):
            fail("qsub: illegal -l value", 2)
        if key == "nodes" and not re.fullmatch(r"\d+(:ppn=\d+)?(:gpus=\d+)?", v):
            fail("qsub: submit error (Invalid syntax in nodes specification)", 1)


def pbs_parse(words, job):
    try:
        opts, rest = getopt.getopt(words, PBS_QSUB_OPTS[FLAVOUR])
    except getopt.GetoptError as e:
        if e.opt and e.msg.startswith("option -%s requires" % e.opt):
            fail("qsub: option requires an argument -- '%s'\n%s" % (e.opt, PBS_USAGE[FLAVOUR]), 2)
        fail("qsub: invalid option -- '%s'\n%s" % (e.opt, PBS_USAGE[FLAVOUR]), 2)
    for flag, value in opts:
        f = flag[1:]
        if f not in PBS_EMULATED:
            fail("qsub: -%s is valid but not emulated by this fake PBS" % f, 2)
        if f == "N":
            if not value or len(value) > 236 or re.search(r"[\s/@:]", value):
                fail("qsub: illegal -N value", 2)
            job["name"] = value
        elif f in ("J", "t"):
            job["indices"] = pbs_array(f, value)
            job["array"] = True
        elif f == "j":
            if value not in ("oe", "eo", "n"):
                fail("qsub: illegal -j value", 2)
            job["join"] = value
        elif f == "l":
            pbs_check_resources(value)
        elif f == "h":
            job["held"] = True
        elif f in ("o", "e"):
            job["out" if f == "o" else "err"] = value.split(":", 1)[-1]
        elif f == "q":
            queues = os.environ.get("FAKESCHED_QUEUES", PBS_QUEUES[FLAVOUR]).split(",")
            if value not in queues:
                fail("qsub: Unknown queue", 2 if FLAVOUR == "pro" else 1)
        elif f == "S" and not value.startswith("/"):
            fail("qsub: illegal -S value", 2)
        elif f == "A" and not value:
            fail("qsub: illegal -A value", 2)
    return rest


def pbs_id(seq, index=None, array=True):
    if not array:
        return "%d.%s" % (seq, SERVER)
    return "%d[%s].%s" % (seq, "" if index is None else index, SERVER)


def pbs_element_env(job, index):
    seq = job["seq"]
    env = {"PBS_ENVIRONMENT": "PBS_BATCH", "PBS_JOBNAME": job["name"], "PBS_O_WORKDIR": job["cwd"],
           "PBS_O_HOME": job["env"]["HOME"], "PBS_O_HOST": os.uname().nodename,
           "PBS_QUEUE": PBS_QUEUES[FLAVOUR], "PBS_SERVER": SERVER}
    if not job["array"]:
        env["PBS_JOBID"] = pbs_id(seq, array=False)
    elif FLAVOUR == "pro":
        env.update(PBS_JOBID=pbs_id(seq, index), PBS_ARRAY_INDEX=str(index),
                   PBS_ARRAY_ID=pbs_id(seq))
    else:
        env.update(PBS_JOBID=pbs_id(seq, index), PBS_ARRAYID=str(index),
                   PBS_JOBNAME="%s-%d" % (job["name"], index))
    return env


def pbs_output_paths(job, index):
    def name(kind, given):
        if given:
            path = given.replace("^array_index^", str(index))
            if os.path.isdir(os.path.join(job["cwd"], path)):
                path = os.path.join(path, "%s.%s%d" % (job["name"], kind, job["seq"]))
            return path
        suffix = ".%d" % index if job["array"] else ""
        return os.path.join(job["cwd"], "%s.%s%d%s" % (job["name"], kind, job["seq"], suffix))
    out, err = name("o", job.get("out")), name("e", job.get("err"))
    if job.get("join") == "oe":
        return out, None
    if job.get("join") == "eo":
        return err, None
    return out, err


def pbs_qsub(d, argv):
    try:
        opts_end = getopt.getopt(argv, PBS_QSUB_OPTS[FLAVOUR])[1]
    except getopt.GetoptError:
        opts_end = []
    if opts_end:
        try:
            with open(opts_end[0]) as f:
                script = f.read()
        except OSError:
            fail("qsub: script file:: No such file or directory", 2)
    else:
        script = sys.stdin.read()
    log_call(d, ["qsub"] + argv, script)
    job = {"kind": "pbs", "name": "STDIN", "indices": [1], "array": False, "held": False,
           "cwd": os.getcwd()}
    pbs_parse(script_directives(script, "#PBS"), job)
    if pbs_parse(argv, job)[1:]:
        fail("qsub: only one script may be given\n" + PBS_USAGE[FLAVOUR], 2)
    return submit(d, job, script, lambda seq: pbs_id(seq, array=job["array"]))


def submit(d, job, script, printed_id):
    seq = next_seq(d)
    os.makedirs(job_dir(d, seq))
    job["seq"] = seq
    job["script"] = os.path.join(job_dir(d, seq), "script")
    with open(job["script"], "w") as f:
        f.write(script)
    job["env"] = base_env()
    job["run_dir"] = job["env"]["HOME"] if job["kind"] == "pbs" else job["cwd"]
    job["submitted"] = time.time()
    with open(os.path.join(job_dir(d, seq), "job.json"), "w") as f:
        json.dump(job, f)
    start_runner(d, seq)
    print(printed_id(seq))
    return 0


def pbs_seq(text):
    m = re.fullmatch(r"(\d+)(\[\d*\])?(\.%s)?" % re.escape(SERVER), text)
    return int(m.group(1)) if m else None


def pbs_states(d, job):
    """(id, state letter, exit status or None) for each element, in PBS's letters."""
    out = []
    for index in job["indices"]:
        state, value = element_state(d, job["seq"], index)
        if state == "Q":
            out.append((index, "H" if job["held"] else "Q", None))
        elif state == "R":
            out.append((index, "R", None))
        else:
            out.append((index, "F" if FLAVOUR == "pro" else "C", value))
    return out


def pbs_qstat(d, argv):
    log_call(d, ["qstat"] + argv, "")
    try:
        opts, ids = getopt.gnu_getopt(argv, "fxtF:Jwa1nsu:QBq" if FLAVOUR == "pro"
                                      else "fxtaenrsu:QBqR")
    except getopt.GetoptError as e:
        fail("qstat: invalid option -- '%s'\nusage: qstat [-fxtF] [job_identifier...]" % e.opt, 2)
    flags = {o[1:] for o, _ in opts}
    if not flags <= set("fxt") or (FLAVOUR == "torque" and "x" in flags):
        fail("qstat: options %s are valid but not emulated by this fake PBS"
             % " ".join(sorted("-" + f for f in flags - set("fxt"))), 2)
    keep = FLAVOUR == "pro" and "x" in flags  # finished jobs: Pro's -x (job history)
    code = 0
    for text in ids:
        seq = pbs_seq(text)
        job = load_job(d, seq) if seq is not None else None
        states = pbs_states(d, job) if job else []
        ended = all(s in "FC" for _, s, _ in states)
        if not job or (ended and not keep):
            sys.stderr.write("qstat: Unknown Job Id %s%s\n" % ("" if FLAVOUR == "pro" else "Error ",
                                                              text))
            code = 153
            continue
        rows = []
        if job["array"] and FLAVOUR == "pro":
            parent = "F" if ended else ("B" if any(s != "Q" and s != "H" for _, s, _ in states)
                                        else states[0][1])
            rows.append((pbs_id(job["seq"]), parent, None))
        if job["array"] and ("t" in flags or FLAVOUR == "torque"):
            rows += [(pbs_id(job["seq"], i), s, e) for i, s, e in states]
        elif not job["array"]:
            rows += [(pbs_id(job["seq"], array=False), s, e) for _, s, e in states]
        for jid, state, status in rows:
            if "f" in flags:
                print("Job Id: %s" % jid)
                print("    Job_Name = %s" % job["name"])
                print("    Job_Owner = %s@%s" % (job["env"]["USER"], os.uname().nodename))
                print("    job_state = %s" % state)
                print("    queue = %s" % PBS_QUEUES[FLAVOUR])
                if status is not None:
                    print("    %s = %d" % ("Exit_status" if FLAVOUR == "pro" else "exit_status",
                                           status))
                print()
            else:
                print("%-17s %-16s %-16s %8s %s %s" % (jid, job["name"][:16], job["env"]["USER"],
                                                      "0", state, PBS_QUEUES[FLAVOUR]))
    return code


def pbs_qdel(d, argv):
    log_call(d, ["qdel"] + argv, "")
    try:
        opts, ids = getopt.getopt(argv, "W:x" if FLAVOUR == "pro" else "W:pmbt:a")
    except getopt.GetoptError as e:
        fail("qdel: invalid option -- '%s'\nusage: qdel [-W delay|force] [-x] job_identifier..."
             % e.opt, 2)
    if opts:
        fail("qdel: options are valid but not emulated by this fake PBS", 2)
    if not ids:
        fail("usage: qdel [-W delay|force] [-x] job_identifier...", 2)
    code = 0
    for text in ids:
        seq = pbs_seq(text)
        job = load_job(d, seq) if seq is not None else None
        if not job:
            sys.stderr.write("qdel: Unknown Job Id %s%s\n" % ("" if FLAVOUR == "pro" else "Error ",
                                                             text))
            code = 153
            continue
        if os.path.exists(os.path.join(job_dir(d, seq), "done")):
            if FLAVOUR == "pro":
                sys.stderr.write("qdel: Job has finished %s\n" % text)
                code = 35
            else:
                sys.stderr.write("qdel: Unknown Job Id Error %s\n" % text)
                code = 153
            continue
        open(os.path.join(job_dir(d, seq), "cancel"), "w").close()
    return code


# --- LSF --------------------------------------------------------------------------------------

# bsub's options: those that take a value, and flags. Anything else is illegal.
BSUB_VALUE = {"-J", "-o", "-e", "-oo", "-eo", "-q", "-P", "-W", "-M", "-R", "-n", "-gpu", "-cwd",
              "-w", "-E", "-Ep", "-L", "-m", "-b", "-t", "-G", "-g", "-sla", "-app", "-U", "-We",
              "-S", "-F", "-D", "-C", "-c", "-v", "-u", "-i", "-f", "-k", "-Jd", "-p", "-hl"}
BSUB_FLAG = {"-H", "-x", "-B", "-N", "-K", "-I", "-Ip", "-Is", "-r", "-rn", "-h", "-V", "-ti"}
BSUB_EMULATED = {"-J", "-o", "-e", "-oo", "-eo", "-q", "-P", "-W", "-M", "-R", "-n", "-gpu", "-H",
                 "-cwd"}
BSUB_USAGE = ("Usage: bsub [-h] [-V] [-H] [-x] [-r | -rn] [-N] [-B] [-I | -Ip | -Is | -K]\n"
              "\t[-q queue_name ...] [-m host_name[+[pref_level]] | host_group[+[pref_level]] ...]\n"
              "\t[-n min_processors[,max_processors]] [-R res_req] [-J job_name] [-W run_limit]\n"
              "\t[-M mem_limit] [-o out_file] [-e err_file] [-oo out_file] [-eo err_file]\n"
              "\t[-P project_name] [-gpu gpu_req] [-cwd cwd] [command [argument ...]]")


def lsf_parse(words, job):
    i = 0
    while i < len(words):
        w = words[i]
        if not w.startswith("-"):
            return words[i:]
        if w not in BSUB_VALUE and w not in BSUB_FLAG:
            fail("bsub: illegal option -- %s\n%s" % (w.lstrip("-"), BSUB_USAGE), 255)
        value = None
        if w in BSUB_VALUE:
            if i + 1 >= len(words):
                fail("bsub: option requires an argument -- %s\n%s" % (w.lstrip("-"), BSUB_USAGE),
                     255)
            value = words[i + 1]
            i += 1
        i += 1
        if w not in BSUB_EMULATED:
            fail("bsub: %s is valid but not emulated by this fake LSF" % w, 255)
        if w == "-J":
            m = re.fullmatch(r"([A-Za-z0-9._-]+)(?:\[(\d+)-(\d+)\])?", value)
            if not m or (m.group(2) and int(m.group(2)) > int(m.group(3))):
                fail("%s: Bad job name. Job not submitted." % value, 255)
            job["name"] = m.group(1)
            if m.group(2):
                job["indices"] = list(range(int(m.group(2)), int(m.group(3)) + 1))
                job["array"] = True
                if int(m.group(3)) > int(os.environ.get("FAKESCHED_MAX_ARRAY_SIZE", "1000")):
                    fail("Job array index too large. Job not submitted.", 255)
        elif w in ("-o", "-oo"):
            job["out"] = value
        elif w in ("-e", "-eo"):
            job["err"] = value
        elif w == "-q":
            if value not in os.environ.get("FAKESCHED_QUEUES", "normal").split(","):
                fail("%s: No such queue. Job not submitted." % value, 255)
            job["queue"] = value
        elif w == "-W" and not re.fullmatch(r"(\d+:)?\d+", value):
            fail("%s: Bad RUNLIMIT specification. Job not submitted." % value, 255)
        elif w == "-M" and not re.fullmatch(r"\d+(KB|MB|GB|TB)?", value):
            fail("%s: Bad MEMLIMIT specification. Job not submitted." % value, 255)
        elif w == "-n" and not re.fullmatch(r"\d+(,\d+)?", value):
            fail("%s: Bad argument for option -n. Job not submitted." % value, 255)
        elif w == "-R" and not re.fullmatch(r"(rusage|span|select|order|same)\[[^\]]*\]( .*)?", value):
            fail("%s: Bad resource requirement syntax. Job not submitted." % value, 255)
        elif w == "-gpu" and not re.fullmatch(r"num=\d+(:[a-z_]+=[\w.]+)*|-", value):
            fail("%s: Bad GPU requirement syntax. Job not submitted." % value, 255)
        elif w == "-H":
            job["held"] = True
        elif w == "-cwd":
            job["cwd"] = value
    return []


def lsf_element_env(job, index):
    env = {"LSB_JOBID": str(job["seq"]), "LSB_QUEUE": job.get("queue", "normal"),
           "LS_SUBCWD": job["cwd"], "LSB_JOBNAME": job["name"]}
    if job["array"]:
        env.update(LSB_JOBINDEX=str(index), LSB_JOBINDEX_END=str(job["indices"][-1]),
                   LSB_JOBNAME="%s[%d]" % (job["name"], index))
    else:
        env["LSB_JOBINDEX"] = "0"
    return env


def lsf_output_paths(job, index):
    def expand(path):
        return path.replace("%J", str(job["seq"])).replace("%I", str(index if job["array"] else 0))
    out = expand(job["out"]) if job.get("out") else os.devnull  # no -o: LSF mails the output
    err = expand(job["err"]) if job.get("err") else None  # no -e: stderr goes with stdout
    return out, err


def lsf_bsub(d, argv):
    script = sys.stdin.read() if not [a for a in argv if not a.startswith("-")] else ""
    log_call(d, ["bsub"] + argv, script)
    job = {"kind": "lsf", "name": "STDIN", "indices": [0], "array": False, "held": False,
           "cwd": os.getcwd()}
    lsf_parse(script_directives(script, "#BSUB"), job)
    if lsf_parse(argv, job):
        fail("bsub: this fake LSF takes the job script on stdin only (bsub < script)", 255)
    if not script.strip():
        fail("bsub: the job script is empty. Job not submitted.", 255)
    queue = job.get("queue", "normal")
    return submit(d, job, script,
                  lambda seq: "Job <%d> is submitted to queue <%s>." % (seq, queue))


def lsf_stat(d, job, index):
    state, value = element_state(d, job["seq"], index)
    if state == "Q":
        return ("PSUSP" if job["held"] else "PEND"), None
    if state == "R":
        return "RUN", None
    return ("DONE" if state == "F" and value == 0 else "EXIT"), value


def lsf_bjobs(d, argv):
    log_call(d, ["bjobs"] + argv, "")
    show_all, header, fields, ids, i = False, True, None, [], 0
    while i < len(argv):
        a = argv[i]
        if a == "-a":
            show_all = True
        elif a == "-noheader":
            header = False
        elif a == "-o" and i + 1 < len(argv):
            fields = argv[i + 1]
            i += 1
        elif a in ("-w", "-l", "-A", "-d", "-p", "-r", "-s", "-u", "-q", "-J", "-json", "-W"):
            fail("bjobs: %s is valid but not emulated by this fake LSF" % a, 255)
        elif a.startswith("-"):
            fail("bjobs: illegal option -- %s\nUsage: bjobs [-h] [-V] [-a] [-noheader] "
                 "[-o \"field_name ...\"] [jobId | \"jobId[index_list]\" ...]" % a.lstrip("-"), 255)
        else:
            ids.append(a)
        i += 1
    m = re.fullmatch(r"((?:\w+ ?)+?)(?: delimiter='(.)')?", fields or "")
    names = m.group(1).split() if m else []
    if not names or not set(names) <= {"jobid", "stat", "exit_code", "jobindex", "job_name"}:
        fail("bjobs: this fake LSF emulates only -o \"jobid stat exit_code jobindex "
             "[job_name] [delimiter='c']\"", 255)
    delimiter = m.group(2) or " "
    if header:
        print(delimiter.join(n.upper() for n in names))
    found = False
    for text in ids:
        job = load_job(d, int(text)) if text.isdigit() else None
        rows = []
        for index in (job["indices"] if job else []):
            stat, code = lsf_stat(d, job, index)
            if stat in ("DONE", "EXIT") and not show_all:
                continue
            values = {"jobid": str(job["seq"]), "stat": stat, "jobindex": str(index),
                      "exit_code": "-" if code is None or code == 0 else str(code),
                      "job_name": job["name"] + ("[%d]" % index if job["array"] else "")}
            rows.append(delimiter.join(values[n] for n in names))
        if not rows:
            sys.stderr.write("Job <%s> is not found\n" % text)
        found = found or bool(rows)
        for row in rows:
            print(row)
    return 0 if found else 255


def lsf_bkill(d, argv):
    log_call(d, ["bkill"] + argv, "")
    if not argv or any(a.startswith("-") for a in argv):
        fail("bkill: this fake LSF emulates only bkill jobId ...", 255)
    code = 0
    for text in argv:
        job = load_job(d, int(text)) if text.isdigit() else None
        if not job:
            sys.stderr.write("Job <%s>: No matching job found\n" % text)
            code = 255
        elif os.path.exists(os.path.join(job_dir(d, job["seq"]), "done")):
            sys.stderr.write("Job <%s>: Job has already finished\n" % text)
            code = 255
        else:
            open(os.path.join(job_dir(d, job["seq"]), "cancel"), "w").close()
            print("Job <%s> is being terminated" % text)
    return code


# --- cleanup ----------------------------------------------------------------------------------

def cleanup(d):
    """Stops every runner and job element recorded under d, by pid."""
    for name in os.listdir(os.path.join(d, "jobs")):
        jd = os.path.join(d, "jobs", name)
        pids = []
        try:
            with open(os.path.join(jd, "runner.pid")) as f:
                pids.append(int(f.read()))
        except (OSError, ValueError):
            pass
        for entry in os.listdir(jd):
            if entry.endswith(".state"):
                state, value = element_state(d, int(name), int(entry.split(".")[0]))
                if state == "R" and value:
                    pids.append(value)
        for pid in pids:
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
    return 0


ELEMENT_ENV = {"pbs": pbs_element_env, "lsf": lsf_element_env}
OUTPUT_PATHS = {"pbs": pbs_output_paths, "lsf": lsf_output_paths}
COMMANDS = {"qsub": pbs_qsub, "qstat": pbs_qstat, "qdel": pbs_qdel,
            "bsub": lsf_bsub, "bjobs": lsf_bjobs, "bkill": lsf_bkill}
PROG = os.path.basename(sys.argv[0])

if __name__ == "__main__":
    if FLAVOUR not in ("pro", "torque"):
        fail("fake scheduler: FAKESCHED_PBS_FLAVOUR must be pro or torque", 2)
    directory = state_dir()
    if sys.argv[1:] == ["--cleanup"]:
        sys.exit(cleanup(directory))
    if PROG not in COMMANDS:
        fail("fake scheduler: called as %s; link it as one of %s" % (PROG, ", ".join(COMMANDS)), 2)
    sys.exit(COMMANDS[PROG](directory, sys.argv[1:]))
