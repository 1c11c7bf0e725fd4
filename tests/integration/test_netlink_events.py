# -*- coding: utf-8 -*-
"""The EDA event source edgenet.linux.netlink_events against this kernel.

- the shipped rulebook (extensions/eda/rulebooks/l2_events.yml) runs in a real ``ansible-rulebook`` on the
  installed collection: adding, moving and deleting an FDB entry and flapping a link make its rules fire
  (its debug output, and the file that the flap playbook writes);
- in-process (main() with an asyncio.Queue): every event type, the filters, the netns of the calling
  thread left alone, and a flood of 10,000 FDB changes with a small receive buffer: the consumer that
  applies the events (and replaces its state on each ``resync``) ends with exactly the kernel's FDB.
"""

import asyncio
import errno
import importlib.util
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BIN, HERE, PYTHON, bridgej, ns_exec, sh

COLLECTION = os.path.abspath(os.path.join(HERE, '..', '..'))
PLUGIN = os.path.join(COLLECTION, 'extensions', 'eda', 'plugins', 'event_source', 'netlink_events.py')


def _load():
    spec = importlib.util.spec_from_file_location('edgenet_netlink_events_it', PLUGIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ne = _load()


def ip(ns, *args):
    sh('ip', '-n', ns, *args)


@pytest.fixture
def l2ns(netns):
    """The namespace with br0 (up) and two veth pairs: v1 and v3 bridge ports, v2 and v4 their peers."""
    ip(netns, 'link', 'add', 'br0', 'type', 'bridge')
    for a, b in (('v1', 'v2'), ('v3', 'v4')):
        ip(netns, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b)
        ip(netns, 'link', 'set', a, 'master', 'br0')
    for d in ('br0', 'v1', 'v2', 'v3', 'v4'):
        ip(netns, 'link', 'set', d, 'up')
    return netns


# -- the rulebook through ansible-rulebook -----------------------------------------------------------
class Rulebook(object):
    def __init__(self, tmp_path, netns):
        self.out = tmp_path / 'rulebook.out'
        self.flaps = tmp_path / 'flaps.log'
        (tmp_path / 'inventory.yml').write_text(
            'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
            '      ansible_python_interpreter: %s\n' % PYTHON)
        (tmp_path / 'vars.yml').write_text('watch_netns: %s\nflap_log: %s\n' % (netns, self.flaps))
        env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', ''), PYTHONUNBUFFERED='1',
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCALHOST_WARNING='False', HOME=str(tmp_path),
                   # (ansible-rulebook runs the flap playbook through ansible-runner in a private data dir,
                   # tempfile.mkdtemp(prefix='eda'), which it leaves behind: here, not in /tmp)
                   TMPDIR=str(tmp_path))
        self.f = open(str(self.out), 'w')
        # the rulebook by its name in the installed collection, as a user runs it
        self.proc = subprocess.Popen(
            [os.path.join(BIN, 'ansible-rulebook'), '-i', 'inventory.yml', '-e', 'vars.yml',
             '-r', 'edgenet.linux.l2_events'],
            cwd=str(tmp_path), env=env, stdout=self.f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def text(self):
        return self.out.read_text()

    def wait_for(self, what, timeout=60, path=None):
        path = path or self.out
        deadline = time.time() + timeout
        while time.time() < deadline:
            if path.exists() and what in path.read_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError('%r did not appear in %s (ansible-rulebook %s):\n%s'
                             % (what, path.name, 'exited %s' % self.proc.returncode
                                if self.proc.poll() is not None else 'running', self.text()[-6000:]))

    def flap_v4(self, netns):
        """Flap v4 (v3's peer): down, then up; the flap rule's playbook writes its log line."""
        ip(netns, 'link', 'set', 'v4', 'down')
        ip(netns, 'link', 'set', 'v4', 'up')
        self.wait_for('FLAP netns=%s ifname=v4 down_at=' % netns, path=self.flaps)
        assert self.proc.poll() is None, self.text()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.f.close()


def test_rulebook_fires_on_fdb_and_link_flap(l2ns, tmp_path):
    rb = Rulebook(tmp_path, l2ns)
    try:
        rb.wait_for('netlink_events ready in netns %s' % l2ns, timeout=120)
        ns_exec(l2ns, 'bridge', 'fdb', 'add', '02:00:5e:00:53:01', 'dev', 'v1', 'master', 'static')
        rb.wait_for('FDB ADD 02:00:5e:00:53:01 dev v1 master br0 static')
        ns_exec(l2ns, 'bridge', 'fdb', 'replace', '02:00:5e:00:53:01', 'dev', 'v3', 'master', 'static')
        rb.wait_for('MAC MOVE 02:00:5e:00:53:01 vlan - on br0: v1 -> v3')
        ns_exec(l2ns, 'bridge', 'fdb', 'del', '02:00:5e:00:53:01', 'dev', 'v3', 'master')
        rb.wait_for('FDB DEL 02:00:5e:00:53:01 dev v3 master br0')
        rb.flap_v4(l2ns)
    finally:
        rb.stop()
    text = rb.text()
    assert 'Traceback' not in text and 'ERROR' not in text, text
    # the static entry was added once, moved once and deleted once: one line each
    assert text.count('FDB ADD 02:00:5e:00:53:01') == 1, text
    assert text.count('MAC MOVE 02:00:5e:00:53:01') == 1, text
    assert text.count('FDB DEL 02:00:5e:00:53:01') == 1, text


def test_rulebook_flap_rule_ignores_up_then_down(l2ns, tmp_path):
    """A link that comes up and then goes down is no flap (the old `all:` of a link_down and a link_up
    matched them in either order); the v4 flap afterwards is, and marks the end of the events."""
    for d in ('v1', 'v2'):
        ip(l2ns, 'link', 'set', d, 'down')
    rb = Rulebook(tmp_path, l2ns)
    try:
        rb.wait_for('netlink_events ready in netns %s' % l2ns, timeout=120)
        ip(l2ns, 'link', 'set', 'v1', 'up')
        ip(l2ns, 'link', 'set', 'v2', 'up')         # v1 and v2 up (no down seen before)
        time.sleep(1)
        ip(l2ns, 'link', 'set', 'v2', 'down')       # ... then down: v2 and v1 (its carrier)
        time.sleep(1)
        rb.flap_v4(l2ns)
    finally:
        rb.stop()
    lines = rb.flaps.read_text().splitlines()
    # (v3 goes down and up with its peer v4: a flap as well)
    assert sorted(line.split()[3] for line in lines) in (['ifname=v4'], ['ifname=v3', 'ifname=v4']), lines


# -- in-process ------------------------------------------------------------------------------------------
class Source(object):
    """main() of the plugin running in this process's event loop, with a queue to read."""

    def __init__(self, loop, args):
        self.loop = loop
        self.queue = asyncio.Queue()
        self.task = loop.create_task(ne.main(self.queue, args))

    def get(self, timeout=10):
        getter = self.loop.create_task(self.queue.get())
        # wait for an event, or for main() to end (it never should: its exception is the failure)
        done, _pending = self.loop.run_until_complete(
            asyncio.wait([getter, self.task], timeout=timeout, return_when=asyncio.FIRST_COMPLETED))
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.task in done:
            raise AssertionError('the source stopped: %r' % (self.task.exception(),))
        raise asyncio.TimeoutError()

    def until(self, pred, timeout=20):
        """Events up to and including the first for which pred(event) holds."""
        seen = []
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError('no matching event; got: %s' % json.dumps(seen[-30:], indent=1))
            try:
                ev = self.get(left)
            except asyncio.TimeoutError:
                continue
            seen.append(ev)
            if pred(ev):
                return seen

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def close(self):
        self.task.cancel()
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass


@pytest.fixture
def source():
    loop = asyncio.new_event_loop()
    made = []

    def start(args):
        s = Source(loop, args)
        ready = s.get(30)
        assert ready['type'] == 'ready', ready
        made.append(s)
        return s, ready

    yield start
    for s in made:
        s.close()
    loop.close()


def _netns_id():
    return os.stat('/proc/thread-self/ns/net').st_ino


def test_every_event_type(l2ns, source):
    own = _netns_id()
    s, ready = source({'netns': l2ns})
    assert _netns_id() == own                       # the thread that asked did not move
    assert ready['netns'] == l2ns and ready['links'] == 6   # lo, br0, v1..v4
    ip(l2ns, 'link', 'add', 'v5', 'type', 'veth', 'peer', 'name', 'v6')
    added = {}
    s.until(lambda e: e['type'] == 'link_add' and added.setdefault(e['ifname'], e) and len(added) == 2)
    assert sorted(added) == ['v5', 'v6'] and added['v5']['kind'] == 'veth', added
    ip(l2ns, 'link', 'set', 'v5', 'up')
    ip(l2ns, 'link', 'set', 'v6', 'up')
    got = s.until(lambda e: e['type'] == 'link_up' and e['ifname'] in ('v5', 'v6'))
    ip(l2ns, 'link', 'set', 'v6', 'down')
    got = s.until(lambda e: e['type'] == 'link_down' and e['ifname'] == 'v6')
    assert got[-1]['up'] is False and got[-1]['admin_up'] is False
    ip(l2ns, 'address', 'add', '198.18.7.1/24', 'dev', 'br0')
    got = s.until(lambda e: e['type'] == 'route_add' and e['dst'] == '198.18.7.0/24')
    assert {'type': 'addr_add', 'address': '198.18.7.1', 'prefixlen': 24, 'dev': 'br0', 'family': 4} \
        .items() <= [e for e in got if e['type'] == 'addr_add'][0].items(), got
    assert got[-1]['table'] == 'main' and got[-1]['dev'] == 'br0' and got[-1]['protocol'] == 'kernel'
    ip(l2ns, 'route', 'add', '198.19.7.0/24', 'via', '198.18.7.254', 'table', '100')
    got = s.until(lambda e: e['type'] == 'route_add' and e['dst'] == '198.19.7.0/24')
    assert got[-1]['gateway'] == '198.18.7.254' and got[-1]['table'] == 100
    ip(l2ns, 'route', 'del', '198.19.7.0/24', 'table', '100')
    s.until(lambda e: e['type'] == 'route_del' and e['dst'] == '198.19.7.0/24')
    ip(l2ns, 'neigh', 'add', '198.18.7.9', 'lladdr', '02:00:5e:00:53:09', 'dev', 'br0', 'nud', 'permanent')
    got = s.until(lambda e: e['type'] == 'neigh_add' and e.get('dst') == '198.18.7.9')
    assert got[-1]['lladdr'] == '02:00:5e:00:53:09' and got[-1]['state'] == ['PERMANENT']
    ip(l2ns, 'neigh', 'del', '198.18.7.9', 'dev', 'br0')
    s.until(lambda e: e['type'] == 'neigh_del' and e.get('dst') == '198.18.7.9')
    ip(l2ns, 'address', 'del', '198.18.7.1/24', 'dev', 'br0')
    s.until(lambda e: e['type'] == 'addr_del' and e.get('address') == '198.18.7.1')
    ns_exec(l2ns, 'bridge', 'fdb', 'add', '02:00:5e:00:53:02', 'dev', 'v1', 'master', 'static')
    got = s.until(lambda e: e['type'] == 'fdb_add' and e.get('mac') == '02:00:5e:00:53:02')
    assert got[-1]['dev'] == 'v1' and got[-1]['master'] == 'br0' and got[-1]['state'] == 'static'
    ns_exec(l2ns, 'bridge', 'fdb', 'replace', '02:00:5e:00:53:02', 'dev', 'v3', 'master', 'static')
    got = s.until(lambda e: e.get('mac') == '02:00:5e:00:53:02')
    assert got[-1]['type'] == 'fdb_move' and got[-1]['old_dev'] == 'v1' and got[-1]['dev'] == 'v3', got[-1]
    # a VXLAN device's own FDB: head-end replication entries, one per remote VTEP
    ip(l2ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'local', '198.18.7.1',
       'nolearning')
    for dst in ('198.18.7.2', '198.18.7.3'):
        ns_exec(l2ns, 'bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', dst, 'self', 'permanent')
    got = s.until(lambda e: e['type'] == 'fdb_add' and e.get('dst') == '198.18.7.3')
    hers = [e for e in got if e['type'].startswith('fdb_') and e.get('dev') == 'vx0']
    assert [(e['type'], e['dst'], e['state'], e['flags']) for e in hers] == \
        [('fdb_add', '198.18.7.2', 'permanent', ['self']), ('fdb_add', '198.18.7.3', 'permanent', ['self'])], got
    ns_exec(l2ns, 'bridge', 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '198.18.7.2', 'self')
    got = s.until(lambda e: e['type'] == 'fdb_del' and e.get('dev') == 'vx0')
    assert got[-1]['dst'] == '198.18.7.2' and got[-1]['mac'] == '00:00:00:00:00:00'
    ip(l2ns, 'link', 'del', 'v5')
    got = s.until(lambda e: e['type'] == 'link_del' and e['ifname'] in ('v5', 'v6'))
    for e in got:
        assert e['netns'] == l2ns and e['timestamp'].startswith('20'), e
    assert _netns_id() == own


def test_link_up_says_when_the_link_went_down(l2ns, source):
    """down_at and down_seconds only on a link_up after a link_down the source saw: never on an up that
    a down follows (what the flap rule must not take for a flap)."""
    for d in ('v1', 'v2'):
        ip(l2ns, 'link', 'set', d, 'down')
    s, _ready = source({'netns': l2ns, 'types': ['link_up', 'link_down'], 'devices': ['v2']})
    ip(l2ns, 'link', 'set', 'v1', 'up')
    ip(l2ns, 'link', 'set', 'v2', 'up')
    up, = s.until(lambda e: e['type'] == 'link_up')
    assert 'down_at' not in up and 'down_seconds' not in up, up    # went down before the source looked
    ip(l2ns, 'link', 'set', 'v2', 'down')
    down, = s.until(lambda e: e['type'] == 'link_down')
    time.sleep(0.3)
    ip(l2ns, 'link', 'set', 'v2', 'up')
    up, = s.until(lambda e: e['type'] == 'link_up')
    assert up['down_at'] == down['timestamp'] and 0.3 <= up['down_seconds'] < 10, (down, up)
    # a lost carrier is a down as well
    ip(l2ns, 'link', 'set', 'v1', 'down')
    ip(l2ns, 'link', 'set', 'v1', 'up')   # v2 loses its carrier and gets it back: a down and an up it saw
    _down, up = s.until(lambda e: e['type'] == 'link_up')
    assert up['down_at'] == _down['timestamp'] and up['down_seconds'] < 10, (_down, up)


def test_filters(l2ns, source):
    s, _ready = source({'netns': l2ns, 'types': ['fdb', 'link_down'], 'devices': ['v3']})
    ns_exec(l2ns, 'bridge', 'fdb', 'add', '02:00:5e:00:53:03', 'dev', 'v1', 'master', 'static')  # v1: filtered
    ip(l2ns, 'link', 'set', 'v2', 'down')                                                          # v2: filtered
    ip(l2ns, 'link', 'set', 'v4', 'down')                                                          # v3 goes down
    ip(l2ns, 'address', 'add', '198.18.8.1/24', 'dev', 'v3')                                       # addr: filtered
    ns_exec(l2ns, 'bridge', 'fdb', 'add', '02:00:5e:00:53:04', 'dev', 'v3', 'master', 'static')
    got = s.until(lambda e: e.get('mac') == '02:00:5e:00:53:04')
    # (learned entries come and go on their own: v3 losing its carrier flushes what it learned)
    assert [(e['type'], e.get('ifname') or e.get('dev')) for e in got if e.get('state') != 'dynamic'] == \
        [('link_down', 'v3'), ('fdb_add', 'v3')], got
    assert all(e['type'] in ('link_down', 'fdb_add', 'fdb_del', 'fdb_move') for e in got), got
    assert all('v3' in (e.get('dev'), e.get('ifname'), e.get('master')) for e in got), got


def test_multipath_route_has_its_next_hops(netns, source):
    """RTA_MULTIPATH: the route had no dev or gateway, and a devices filter dropped it."""
    ip(netns, 'link', 'add', 'm1', 'type', 'veth', 'peer', 'name', 'm2')
    for d in ('m1', 'm2'):
        ip(netns, 'link', 'set', d, 'up')
    ip(netns, 'address', 'add', '198.18.249.1/24', 'dev', 'm1')
    s, _ready = source({'netns': netns, 'types': ['route'], 'devices': ['m1']})
    ip(netns, 'route', 'add', '198.19.249.0/24', 'nexthop', 'via', '198.18.249.2', 'dev', 'm1',
       'nexthop', 'via', '198.18.249.3', 'dev', 'm1', 'weight', '3')
    got = s.until(lambda e: e['type'] == 'route_add' and e['dst'] == '198.19.249.0/24', timeout=10)
    assert got[-1]['nexthops'] == [{'dev': 'm1', 'gateway': '198.18.249.2', 'weight': 1},
                                   {'dev': 'm1', 'gateway': '198.18.249.3', 'weight': 3}], got[-1]
    ip(netns, 'route', 'del', '198.19.249.0/24')
    got = s.until(lambda e: e['type'] == 'route_del' and e['dst'] == '198.19.249.0/24', timeout=10)
    assert [h['dev'] for h in got[-1]['nexthops']] == ['m1', 'm1'], got[-1]


def test_bad_netns_and_args(source):
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ne.NetlinkEventsError, match="network namespace 'edgt-does-not-exist'"):
            loop.run_until_complete(ne.main(asyncio.Queue(), {'netns': 'edgt-does-not-exist'}))
        with pytest.raises(ne.NetlinkEventsError, match='types'):
            loop.run_until_complete(ne.main(asyncio.Queue(), {'types': ['fdb_added']}))
    finally:
        loop.close()


class _OverrunAfterLink(object):
    """The event socket, but the recv after the first datagram that holds an RTM_NEWLINK fails with ENOBUFS
    once: an overrun noticed in main()'s drain loop, after that datagram was read and parsed."""

    def __init__(self, sock):
        self.sock = sock
        self.state = 'armed'

    def recv(self, size):
        if self.state == 'fire':
            self.state = 'done'
            raise OSError(errno.ENOBUFS, os.strerror(errno.ENOBUFS))
        data = self.sock.recv(size)
        if self.state == 'armed' and any(m[0] == 16 for m in ne.messages(data)):
            self.state = 'fire'
        return data

    def __getattr__(self, name):
        return getattr(self.sock, name)


def test_events_read_before_an_overrun_are_emitted_before_the_resync(l2ns, source, monkeypatch):
    class Listener(ne.Listener):
        def __init__(self, opts):
            super().__init__(opts)
            self.sock = _OverrunAfterLink(self.sock)

    monkeypatch.setattr(ne, 'Listener', Listener)
    s, _ready = source({'netns': l2ns, 'types': ['link']})
    ip(l2ns, 'link', 'set', 'v2', 'down')
    got = s.until(lambda e: e['type'] == 'resync')
    # the link_down read before the overrun is there, before the resync (it used to be dropped)
    assert [e['type'] for e in got][-2:] == ['link_down', 'resync'], got
    assert got[-1]['overruns'] == 1 and {'ifname': 'v2', 'up': False, 'operstate': 'DOWN'} in got[-1]['links']


@pytest.mark.parametrize('in_netns', [False, True])
def test_huge_rcvbuf_is_a_clear_error(netns, in_netns):
    """rcvbuf above INT_MAX: setsockopt raised TypeError (in the setns helper thread: a thread traceback, then
    KeyError: 'sockets'); now the argument is refused by name."""
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ne.NetlinkEventsError, match='rcvbuf must be an integer from 1024 to 2147483647'):
            loop.run_until_complete(ne.main(asyncio.Queue(), {'netns': netns if in_netns else None,
                                                              'rcvbuf': 3000000000}))
    finally:
        loop.close()


def test_any_failure_in_the_setns_helper_is_a_clear_error(netns, monkeypatch):
    def broken(groups, rcvbuf):
        raise TypeError('an integer is required')

    monkeypatch.setattr(ne, '_open_sockets', broken)
    own = _netns_id()
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ne.NetlinkEventsError,
                           match="network namespace '%s': TypeError: an integer is required" % netns):
            loop.run_until_complete(ne.main(asyncio.Queue(), {'netns': netns}))
    finally:
        loop.close()
    assert _netns_id() == own


def test_cancelled_during_startup_closes_its_sockets(netns, monkeypatch):
    """main() cancelled while its Listener is still being built (in an executor thread): that Listener, built
    after the cancellation, used to be dropped with its netlink sockets open."""
    built = []

    class Listener(ne.Listener):
        def __init__(self, opts):
            time.sleep(0.5)                   # still building when main() is cancelled
            super().__init__(opts)
            built.append(self)

    monkeypatch.setattr(ne, 'Listener', Listener)
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(ne.main(asyncio.Queue(), {'netns': netns}))
        loop.run_until_complete(asyncio.sleep(0.1))     # main() waits for the executor
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(task)
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.run_until_complete(asyncio.sleep(0.1))     # (a callback the executor's end scheduled)
    finally:
        loop.close()
    assert len(built) == 1
    assert built[0].sock.fileno() == -1 and built[0].dump_sock.fileno() == -1, 'sockets left open'


def _kernel_static_fdb(ns):
    return set(e['mac'] for e in bridgej(ns, 'fdb', 'show', 'br', 'br0')
               if e.get('state') == 'static' and e['mac'].startswith('02:01:'))


def _flood(s, ns, tmp_path, lines, sentinel, state):
    """Run one bridge -batch, then follow the events until the sentinel entry shows; apply them to state."""
    batch = tmp_path / 'batch'
    batch.write_text(''.join(lines) + 'fdb add %s dev v1 master static\n' % sentinel)
    t0 = time.time()
    proc = subprocess.Popen(['bridge', '-n', ns, '-batch', str(batch)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    stats = {'adds': 0, 'dels': 0, 'resyncs': 0}
    # the queue is read while bridge runs (the plugin reads the socket only when the loop runs)
    done = False
    while not done:
        ev = s.get(60)
        if ev['type'] in ('fdb_add', 'fdb_move') and ev['mac'].startswith('02:01:'):
            state.add(ev['mac'])
            stats['adds'] += 1
            done = ev['mac'] == sentinel
        elif ev['type'] == 'fdb_del' and ev['mac'].startswith('02:01:'):
            state.discard(ev['mac'])
            stats['dels'] += 1
        elif ev['type'] == 'resync':
            stats['resyncs'] += 1
            state.clear()
            state.update(e['mac'] for e in ev['fdb'] if e['mac'].startswith('02:01:') and e.get('master') == 'br0'
                         and e['state'] == 'static')
            done = sentinel in state
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    stats['seconds'] = round(time.time() - t0, 2)
    return stats


@pytest.mark.parametrize('rcvbuf', [16384, 8 * 1024 * 1024])
def test_flood_10000_fdb_changes_never_a_silent_gap(l2ns, source, tmp_path, rcvbuf):
    s, _ready = source({'netns': l2ns, 'types': ['fdb'], 'rcvbuf': rcvbuf, 'resync_snapshot': True})
    macs = ['02:01:00:%02x:%02x:%02x' % (i >> 16, (i >> 8) & 255, i & 255) for i in range(10000)]
    state = set()
    adds = _flood(s, l2ns, tmp_path, ['fdb add %s dev v1 master static\n' % m for m in macs],
                  '02:01:ff:00:00:01', state)
    # either every add arrived, or a resync said that some did not: never a silent gap
    assert adds['adds'] >= 10001 or adds['resyncs'] >= 1, adds
    assert state == _kernel_static_fdb(l2ns) and len(state) == 10001, (adds, len(state))
    # the other half of the 10,000 changes: deletions (and moves to v3)
    dels = _flood(s, l2ns, tmp_path, ['fdb del %s dev v1 master\n' % m for m in macs[::2]]
                  + ['fdb replace %s dev v3 master static\n' % m for m in macs[1::4]],
                  '02:01:ff:00:00:02', state)
    assert (dels['dels'] >= 5000 and dels['adds'] >= 2501) or dels['resyncs'] >= 1, dels
    kernel = _kernel_static_fdb(l2ns)
    assert state == kernel and len(kernel) == 5002, (dels, len(state), len(kernel))
    if rcvbuf == 16384:
        # a 16 KiB buffer cannot hold 10,000 notifications: this run must have gone through resync
        assert adds['resyncs'] >= 1, adds
    print('rcvbuf %d: adds %s, dels/moves %s' % (rcvbuf, adds, dels))


def test_by_hand_with_a_missing_namespace_prints_the_error(tmp_path):
    """The plugin run by hand (docs/events.md) for a namespace that does not exist: one line naming it, exit 1, no
    traceback."""
    missing = 'edgt-missing-%d' % os.getpid()
    p = subprocess.run([PYTHON, PLUGIN, missing], capture_output=True, text=True, timeout=60, check=False,
                       cwd=str(tmp_path))
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert 'Traceback' not in p.stderr and missing in p.stderr, p.stderr
    assert p.stderr.startswith('netlink_events: ') and len(p.stderr.strip().splitlines()) == 1, p.stderr
