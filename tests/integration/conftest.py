# -*- coding: utf-8 -*-
"""Integration test harness: fresh network namespaces, real ansible-playbook runs, iproute2 oracles.

Tests run from the installed collection (make install), as a user would run it.  Every namespace a test
makes is deleted in teardown, even when the test fails.

Markers:
  uml  - needs the full kernel; runs only inside tools/uml (make test-uml), never on the host pass.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = sys.executable  # the venv's python: it has pyroute2, so it is the managed host's interpreter too
BIN = os.path.dirname(PYTHON)


def _collections_root():
    # Run from the installed copy (.../ansible_collections/edgenet/linux/tests/integration), or from a
    # checkout after `make install` (build/collections).
    parts = HERE.split(os.sep)
    if 'ansible_collections' in parts:
        return os.sep.join(parts[:len(parts) - parts[::-1].index('ansible_collections') - 1])
    return os.path.join(HERE, '..', '..', 'build', 'collections')


os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.abspath(_collections_root()))

# The modules these tests run on this machine keep their compiled code (module_utils/_bytecode.py) in a directory of
# this test process, not in the user's home, and it goes when the process ends (lab hosts have their own: tools/lab).
if 'EDGENET_BYTECODE_CACHE' not in os.environ:
    import atexit
    import shutil
    import tempfile

    _BYTECODE = tempfile.mkdtemp(prefix='edgenet-bytecode-')
    os.environ['EDGENET_BYTECODE_CACHE'] = os.path.join(_BYTECODE, 'cache')
    atexit.register(shutil.rmtree, _BYTECODE, True)


def collection_on_path():
    """Put the installed collection on sys.path, for the tests that run a module's engine in this process."""
    root = os.path.abspath(_collections_root())
    if root not in sys.path:
        sys.path.insert(0, root)


def merged_in_process(resource, ns, config, check_mode):
    """Run the engine of ``resource`` (module_utils.resources.<name>, e.g. 'tc_class') in this process, state
    merged: ``(result, how many config elements it normalized, netlink writes sent)``. Checks what the merged
    fast path relies on (Resource.match_have) on every gathered object: restated, it reconciles and settles to
    itself."""
    collection_on_path()
    import importlib
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine

    module = importlib.import_module('ansible_collections.edgenet.linux.plugins.module_utils.resources.' + resource)
    base = getattr(module, ''.join(w.capitalize() for w in resource.split('_')))
    counted = []

    class Counting(base):
        def normalize(self, item, ctx):
            counted.append(item)
            return base.normalize(self, item, ctx)

    ctx = Context({'netns': ns, 'state': 'merged', 'config': config, 'dev': None}, check_mode=check_mode)
    try:
        res = Counting()
        r = Engine(res, ctx).run()
        for h in r.get('before', []):
            assert res.reconcile(h, res.overlay(h, dict(h))) == h and res.settle(h, dict(h)) == h, h
        return r, len(counted), ctx.nl.writes
    finally:
        ctx.close()


def refused_in_process(resource, params):
    """Run the engine with ``resource`` (an instance: a subclass with a test's hook) in this process, with the module
    parameters ``params``, for a run the kernel refuses: the run's EdgenetError as the module's failed result."""
    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine

    ctx = Context(params)
    try:
        with pytest.raises(Exception) as info:
            Engine(resource, ctx).run()
    finally:
        ctx.close()
    assert type(info.value).__name__ == 'EdgenetError', repr(info.value)
    return dict(info.value.result(), failed=True)


def settled(read, want, seconds=5.0):
    """``read()``, read again until it is ``want`` or ``seconds`` have passed; the last value read. Right after a
    rollback, the kernel may still be finishing deferred work: a deleted filter drops its hold on its actions in a work
    queue (tcf_queue_work), so for a moment a dump shows an action that the rollback made again held twice (ref 2
    bind 2, then 1 and 1). An in-process run reads the kernel at once; a module process had given it that moment."""
    deadline = time.monotonic() + seconds
    while True:
        got = read()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def qdisc_handles_unchecked(ns, config):
    """The tc_qdisc engine in this process on ``config`` (in namespace ``ns``), with the module's own check of qdisc
    handles turned off, so that the kernel's refusal of a second qdisc with one handle (EEXIST) comes in the middle
    of a pipelined plan: a real refusal by the kernel, for the tests of the rollback. The run's failed result."""
    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_qdisc import TcQdisc

    class Unchecked(TcQdisc):
        def _handle_free(self, ctx, plan, after):
            return None

    return refused_in_process(Unchecked(), {'netns': ns, 'state': 'merged', 'dev': None, 'config': config})


def pytest_configure(config):
    config.addinivalue_line('markers', 'uml: needs the full user-mode-Linux kernel (runs under tools/uml)')


def _terminated(signum, _frame):
    raise KeyboardInterrupt('signal %d' % signum)


def pytest_sessionstart(session):
    # A SIGTERM (a CI time limit, `kill`, `timeout`) ends the run as Ctrl-C does: pytest then runs the
    # teardown of every fixture still set up, and each test's own `finally`, so the namespaces, lab hosts
    # (sshd) and devices of the interrupted test are removed. By default SIGTERM ends Python at once, and
    # leaves them behind.
    signal.signal(signal.SIGTERM, _terminated)


def pytest_collection_modifyitems(config, items):
    in_uml = os.environ.get('EDGENET_UML') == '1'
    for item in items:
        if item.get_closest_marker('uml') and not in_uml:
            item.add_marker(pytest.mark.skip(reason='needs the full kernel: run with make test-uml'))


def pytest_sessionfinish(session, exitstatus):
    # A kernel-feature test may never be skipped: a skip fails the run.
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    skipped = len(reporter.stats.get('skipped', [])) if reporter else 0
    if skipped and os.environ.get('EDGENET_ALLOW_SKIP') != '1':
        reporter.write_line('FAILED: %d test(s) were skipped; kernel-feature tests may not be skipped' % skipped,
                            red=True)
        session.exitstatus = 1


# -- namespaces ----------------------------------------------------------------------------------
def sh(*cmd, check=True, input=None):
    """Run a command, return stdout; raise with stderr on failure."""
    p = subprocess.run(cmd, capture_output=True, text=True, input=input, check=False)
    if check and p.returncode != 0:
        raise AssertionError('%s failed (%d): %s %s' % (' '.join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def ns_exec(ns, *cmd, check=True):
    return sh('ip', 'netns', 'exec', ns, *cmd, check=check)


@pytest.fixture
def netns():
    """A fresh, empty network namespace with lo up; deleted afterwards."""
    yield from _fresh_netns()


@pytest.fixture
def twin_netns():
    """A second fresh namespace, for the twin of a test's namespace: the commands a module prints for one,
    pasted into the other (:func:`paste`), must make the same kernel state as the module's run."""
    yield from _fresh_netns()


def _fresh_netns():
    name = 'edgt-%s' % uuid.uuid4().hex[:8]
    sh('ip', 'netns', 'add', name)
    sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
    try:
        yield name
    finally:
        subprocess.run(['ip', 'netns', 'pids', name], capture_output=True, check=False)
        subprocess.run(['ip', 'netns', 'del', name], capture_output=True, check=False)


def paste(commands, ns, into):
    """Run each of a result's command lines (``tc -n NS ...``, ``ip -n NS ...``) as printed, in namespace
    ``into`` instead of ``ns``."""
    assert commands
    for line in commands:
        words = line.split()
        assert words[1:3] == ['-n', ns], line
        sh(*(words[:2] + [into] + words[3:]))


def ns_and_twin(setup):
    """The fixtures ``ns`` and ``twin`` of a test module: ``netns`` and ``twin_netns``, each with ``setup(name)``
    done (the same devices and qdiscs in both)."""
    @pytest.fixture
    def ns(netns):
        return setup(netns)

    @pytest.fixture
    def twin(twin_netns):
        return setup(twin_netns)
    return ns, twin


def comparable(result, ns):
    """An engine ``result`` made comparable with a twin namespace's: without its warnings, and its commands and
    diff headers, which name the namespace, with ``NS`` for it (the two runs' must differ only in it)."""
    result.pop('warnings', None)
    result['commands'] = [c.replace(ns, 'NS') for c in result.get('commands', [])]
    for entry in result.get('diff') if isinstance(result.get('diff'), list) else ():
        for side in ('before_header', 'after_header'):
            if side in entry:
                entry[side] = entry[side].replace(ns, 'NS')
    return result


def printed_then_real(play, task, ns, twin, state):
    """``task`` (acting on ``ns``) in check mode, its commands pasted into ``twin``, then the real run and a second
    one: check mode changed nothing, predicted the real run, the second run changes nothing, and ``state(name)``
    (an iproute2 oracle) is the same in both namespaces. Returns the real run's result."""
    before = state(ns)
    check = play(task, check=True)[0]
    assert state(ns) == before == state(twin), 'check mode changed the kernel'
    paste(check['commands'], ns, twin)
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
    assert check['commands'] == real['commands'] and check['after'] == real['after']
    assert not again['changed'] and again['commands'] == []
    assert state(ns) == state(twin), real['commands']
    return real


def lab_third():
    """A third octet (100-249) for a lab's 198.18.X.0/24 that no other lab of this run uses: a lab with a veth
    uplink puts its gateway address in the root namespace, so two such labs at once need different subnets.
    Each pytest-xdist worker picks from its own share of the range (a worker runs one test at a time), and
    never one the root namespace has an address in (another run's lab)."""
    worker = os.environ.get('PYTEST_XDIST_WORKER', 'gw0')[2:]
    count = max(1, int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1')))
    n = int(worker) % count if worker.isdigit() else 0
    share = 150 // count
    used = set()
    for link in json.loads(sh('ip', '-j', '-4', 'address', 'show') or '[]'):
        for a in link.get('addr_info', []):
            parts = a.get('local', '').split('.')
            if parts[:2] == ['198', '18'] and len(parts) == 4:
                used.add(int(parts[2]))
    free = [t for t in range(100 + n * share, 100 + (n + 1) * share) if t not in used]
    return random.choice(free or list(range(100 + n * share, 100 + (n + 1) * share)))


# -- oracles: iproute2 JSON ------------------------------------------------------------------------
def ipj(ns, *args):
    """``ip -n NS -j ARGS`` parsed."""
    out = sh('ip', '-n', ns, '-j', *args)
    return json.loads(out) if out.strip() else []


def bridgej(ns, *args):
    out = sh('bridge', '-n', ns, '-j', *args)
    return json.loads(out) if out.strip() else []


def own_macs(ns):
    return dict((link['ifname'], link.get('address')) for link in ipj(ns, 'link', 'show') if link['ifname'] != 'lo')


def kernel_fdb(ns, learned=False):
    """{(dev, mac, vlan, dst, self): entry} for the entries the module may own (not the kernel's own)."""
    macs = own_macs(ns)
    out = {}
    for e in bridgej(ns, 'fdb', 'show'):
        own = 'self' in e['flags'] or e.get('master') in (None, e['ifname'])
        first = int(e['mac'].split(':')[0], 16)
        if own and not e['ifname'].startswith('vx') and e.get('master') != e['ifname'] and first & 1:
            continue  # the device's multicast list
        if e['state'] == 'permanent' and e['mac'] == macs.get(e['ifname']):
            continue  # the bridge's entry for a port's own address
        if e['state'] == '' and 'extern_learn' not in e['flags'] and \
                (not learned or not e['mac'].startswith('02:00:00:00:00:')):
            continue  # learned (from the test's own MACs only: the kernel learns others from IPv6 DAD)
        out[(e['ifname'], e['mac'], e.get('vlan'), e.get('dst'), own)] = e
    return out


# -- running modules through ansible-playbook ------------------------------------------------------
class Play(object):
    """Runs tasks through a real ``ansible-playbook -c local`` and returns each task's result."""

    def __init__(self, tmpdir):
        self.tmpdir = str(tmpdir)
        self.count = 0

    def __call__(self, tasks, check=False, diff=True, extra_vars=None):
        """Run ``tasks`` (a list of task dicts, or one task dict). Returns a list of results (dicts).

        Each result has ``failed`` set when the task failed; the play goes on after a failure
        (``ignore_errors``), so one playbook can run a sequence of steps.
        """
        import yaml

        if isinstance(tasks, dict):
            tasks = [tasks]
        self.count += 1
        base = os.path.join(self.tmpdir, 'run%d' % self.count)
        play = [{'hosts': 'localhost', 'gather_facts': False,
                 'tasks': [dict(t, ignore_errors=True) for t in tasks]}]
        with open(base + '.yml', 'w') as f:
            yaml.safe_dump(play, f)
        env = dict(os.environ)
        # check mode and the real run are separate processes, and so each orders a set its own way (hash
        # randomization): their commands must not depend on it. Two seeds that order many sets differently make a
        # comparison of the two fail every time, not once in a while (a test may set its own).
        env.setdefault('PYTHONHASHSEED', '0' if check else '2')
        env.update({
            'EDGENET_RESULTS': base + '.jsonl',
            'ANSIBLE_CALLBACK_PLUGINS': os.path.join(HERE, 'plugins', 'callback'),
            'ANSIBLE_CALLBACKS_ENABLED': 'result_dump',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_LOCALHOST_WARNING': 'False',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.tmpdir, 'ansible-local'),
            'ANSIBLE_REMOTE_TEMP': os.path.join(self.tmpdir, 'ansible-remote'),
        })
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
               '-e', 'ansible_python_interpreter=%s' % PYTHON, base + '.yml']
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        for k, v in (extra_vars or {}).items():
            cmd += ['-e', '%s=%s' % (k, v)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.tmpdir, check=False)
        self.stdout = p.stdout + p.stderr
        results = []
        if os.path.exists(base + '.jsonl'):
            with open(base + '.jsonl') as f:
                results = [json.loads(line)['result'] for line in f]
        if len(results) != len(tasks):
            raise AssertionError('ansible-playbook ran %d of %d tasks (rc %d):\n%s'
                                 % (len(results), len(tasks), p.returncode, self.stdout[-4000:]))
        return results


@pytest.fixture
def play(tmp_path):
    return Play(tmp_path)


@pytest.fixture
def lab(tmp_path):
    """A private tools/lab (test_lab.Lab: its own prefix and subnet), not up yet; torn down afterwards, and
    nothing of it may be left: no namespace, no sshd."""
    from test_lab import Lab  # (test_lab imports this module)

    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        left_ns, left_sshd = lab.teardown()
        assert left_ns == [] and left_sshd == [], 'tools/lab down left %s %s' % (left_ns, left_sshd)


def assert_no_traceback(result):
    text = json.dumps(result)
    assert 'Traceback' not in text, text
    assert 'module_stderr' not in result or not result['module_stderr'], result


def diff_side(result, side):
    """The text of one side (``before`` or ``after``) of a result's ``diff``: its entries' texts joined. Each
    entry is checked to be one the controller's callback prints, with the headers that name its object."""
    entries = result['diff']
    assert isinstance(entries, list) and entries, entries
    for entry in entries:
        assert set(entry) == {'before', 'after', 'before_header', 'after_header'}, entry
        assert entry['before_header'] == entry['after_header'] and entry['after_header'].startswith('edgenet.linux.')
    return ''.join(entry[side] for entry in entries)


def check_assumes_then_real(play, tasks, snapshot, warning):
    """Run ``tasks`` in check mode, where the last one must warn ``warning`` (what it assumes an earlier task
    makes) and predict a change while nothing changes (``snapshot()`` before and after), then for real. Returns
    the last task's (check, real) results; the real run must not fail."""
    before = snapshot()
    check = play(tasks, check=True)[-1]
    assert snapshot() == before
    assert_no_traceback(check)
    assert not check.get('failed') and check['changed'], check
    assert any(warning in w for w in check.get('warnings', [])), check
    real = play(tasks)[-1]
    assert_no_traceback(real)
    assert not real.get('failed') and real['changed'], real
    return check, real


def without_ipv6(ns):
    """Devices without working IPv6 in ``ns`` (which has the veth pair v0/v1): v1 with IPv6 disabled (disable_ipv6),
    and a new veth pair v2/v3 whose MTU (1000, below 1280) leaves v2, which is up, without IPv6."""
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    sh('ip', '-n', ns, 'link', 'add', 'v2', 'mtu', '1000', 'type', 'veth', 'peer', 'name', 'v3')
    sh('ip', '-n', ns, 'link', 'set', 'v2', 'up')


def check_assumes_ipv6_then_real(play, ns, task, snapshot):
    """``task`` (IPv6 objects on v1 and v2 of :func:`without_ipv6`) after the tasks of a play that give both their
    IPv6 (disable_ipv6 0 on v1; the link module raises the MTU of v2): check mode, where those changed nothing, warns
    of each device that its prediction assumes so, and predicts what the real run then does without a warning
    (:func:`check_assumes_then_real`). Returns the task's (check, real) results."""
    tasks = [{'ansible.builtin.command': 'ip netns exec %s sysctl -qw net.ipv6.conf.v1.disable_ipv6=0' % ns},
             {'edgenet.linux.link': {'netns': ns, 'config': [{'ifname': 'v2', 'mtu': 1500}]}}, task]
    check, real = check_assumes_then_real(play, tasks, snapshot,
                                          'this prediction assumes an earlier task of the play raises the MTU of v2')
    assert any('earlier task of the play sets net.ipv6.conf.v1.disable_ipv6 = 0' in w for w in check['warnings'])
    assert real['after'] == check['after'] and real['commands'] == check['commands'], (check, real)
    assert not real.get('warnings'), real
    return check, real


def check_real_again(play, task):
    """Run ``task`` in check mode, then twice for real: none fails, check mode's ``after`` and ``commands`` are the
    real run's, and the second run changes nothing and sends no command. Returns the three results."""
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['after'] == real['after'] and check['commands'] == real['commands'], (check, real)
    assert not again['changed'] and again['commands'] == [], again
    return check, real, again


def apply_then_unchanged(play, task):
    """Run ``task`` twice and then in check mode: the first run changes, the second and the check run change
    nothing and send no command, and the second run's ``before`` is the first run's ``after``. Returns the
    three results."""
    first, again = play([task, task])
    check = play([task], check=True)[0]
    for r in (first, again, check):
        assert_no_traceback(r)
    assert first['changed'] and not again['changed'] and not check['changed'], (again, check)
    assert again['before'] == first['after'] and again['commands'] == [] == check['commands']
    return first, again, check
