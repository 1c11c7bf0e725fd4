# -*- coding: utf-8 -*-
"""tools/lab: hosts reached over real SSH, an edgenet.linux module run through them, a clean teardown.

Each test makes its own lab with a unique prefix and subnet (EDGELAB_PREFIX, EDGELAB_NET), so it does
not collide with a user's demo lab or with a parallel test run. The oracles are iproute2 in the host
namespaces, /proc, and ssh itself.
"""

import json
import os
import shutil
import signal
import subprocess
import uuid

import yaml

from conftest import BIN, HERE, PYTHON, assert_no_traceback, ipj, lab_third, sh

LAB = os.path.join(HERE, '..', '..', 'tools', 'lab')


class Lab(object):
    def __init__(self, tmp_path, uplink='proxy'):
        self.prefix = 'elt' + uuid.uuid4().hex[:6]
        self.third = lab_third()
        self.net = '198.18.%d' % self.third
        self.state = '/run/%s' % self.prefix
        self.tmp = str(tmp_path)
        self.env = dict(os.environ, EDGELAB_PREFIX=self.prefix, EDGELAB_NET=self.net, EDGELAB_UPLINK=uplink,
                        EDGELAB_PYTHON=PYTHON)
        self.env.pop('EDGELAB_STATE', None)

    def __call__(self, *args, check=True):
        p = subprocess.run([LAB] + list(args), capture_output=True, text=True, env=self.env, check=False)
        if check and p.returncode != 0:
            raise AssertionError('tools/lab %s failed (%d): %s%s' % (' '.join(args), p.returncode, p.stdout, p.stderr))
        return p

    @property
    def inventory(self):
        return os.path.join(self.state, 'inventory.yml')

    def ns(self, i):
        return '%s-h%d' % (self.prefix, i)

    def addr(self, i):
        return '%s.%d' % (self.net, 10 + i)

    def namespaces(self):
        out = sh('ip', '-j', 'netns', 'list').strip()
        return sorted(n['name'] for n in json.loads(out or '[]') if n['name'].startswith(self.prefix + '-'))

    def procs(self):
        """{pid: start time} of every process in one of this lab's namespaces, as they are now."""
        inodes = {os.stat('/run/netns/' + ns).st_ino for ns in self.namespaces()}
        out = {}
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                if os.stat('/proc/%s/ns/net' % pid).st_ino in inodes:
                    out[int(pid)] = _start(pid)
            except OSError:
                pass
        return out

    def down(self):
        """tools/lab down; returns (namespaces left, pids left: the lab's processes that survived)."""
        before = self.procs()
        self('down', check=False)
        left = sorted({pid for pid, start in before.items() if start and _start(pid) == start} | set(self.sshd_pids()))
        for pid in left:  # never leave anything behind, even when the caller's assertion fails
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return self.namespaces(), left

    def sshd_pids(self):
        """Every sshd on the machine whose command line names this lab's state directory."""
        pids = []
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    cmd = f.read().decode(errors='replace').replace('\0', ' ')
            except OSError:
                continue
            # sshd rewrites its title: "sshd: /usr/sbin/sshd -f /run/<prefix>/h1/sshd_config [listener] ..."
            if cmd.startswith(('sshd', '/usr/sbin/sshd')) and self.state + '/' in cmd:
                pids.append(int(pid))
        return sorted(pids)

    def ssh(self, i, *cmd, check=True):
        """ssh -i KEY root@ADDR CMD, the ProxyCommand (if any) taken from the generated ssh_config."""
        opts = ['-F', os.path.join(self.state, 'ssh_config'), '-i', os.path.join(self.state, 'id_ed25519'),
                '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10']
        p = subprocess.run(['ssh'] + opts + ['root@%s' % self.addr(i)] + list(cmd), capture_output=True, text=True, check=False)
        if check and p.returncode != 0:
            raise AssertionError('ssh to %s failed (%d): %s' % (self.addr(i), p.returncode, p.stderr))
        return p

    def playbook(self, tasks, name='play'):
        """Run tasks on every lab host through ansible-playbook over SSH; return {(task, host): result}."""
        base = os.path.join(self.tmp, name)
        with open(base + '.yml', 'w') as f:
            yaml.safe_dump([{'hosts': self.prefix, 'gather_facts': False, 'tasks': tasks}], f)
        env = dict(os.environ, EDGENET_RESULTS=base + '.jsonl', ANSIBLE_NOCOLOR='1',
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'plugins', 'callback'),
                   ANSIBLE_CALLBACKS_ENABLED='result_dump', ANSIBLE_RETRY_FILES_ENABLED='False',
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.tmp, 'ansible-local'),
                   ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(self.tmp, 'cp'))
        p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', self.inventory, base + '.yml'],
                           capture_output=True, text=True, env=env, check=False)
        out = p.stdout + p.stderr
        results = []
        if os.path.exists(base + '.jsonl'):
            with open(base + '.jsonl') as f:
                results = [json.loads(line) for line in f]
        assert p.returncode == 0, out[-4000:]
        return {(r['task'], r['host']): r['result'] for r in results}, out

    def teardown(self):
        left_ns, left_sshd = self.down()
        for ns in left_ns:
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True, check=False)
        subprocess.run(['ip', 'link', 'del', self.prefix + '0'], capture_output=True, check=False)
        shutil.rmtree(self.state, ignore_errors=True)
        return left_ns, left_sshd


def _start(pid):
    """The start time of a live process (None when it is gone or a zombie), to tell it from a reused pid."""
    try:
        with open('/proc/%s/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return None if fields[0] in 'ZX' else fields[19]
    except (OSError, IndexError):
        return None


def root_links(lab):
    """The root namespace's links, less those of other labs: tests run in parallel (pytest-xdist), and a lab
    with a veth uplink (test_role_qos) adds and removes its own "elt...0" device there while this test runs."""
    return sorted(name for name in (link['ifname'] for link in json.loads(sh('ip', '-j', 'link', 'show')))
                  if not name.startswith('elt') or name.startswith(lab.prefix))


def test_lab_up_ssh_module_down(lab):
    links_before = root_links(lab)
    lab('up', '2')

    # the topology: a switch namespace with the bridge, two hosts, nothing new in the root namespace
    assert lab.namespaces() == sorted([lab.prefix + '-sw', lab.ns(1), lab.ns(2)])
    assert root_links(lab) == links_before
    ports = {link['ifname']: link.get('master') for link in ipj(lab.prefix + '-sw', 'link', 'show')}
    assert ports['labbr'] is None and ports['h1'] == 'labbr' and ports['h2'] == 'labbr'
    for i in (1, 2):
        addrs = {(a['local'], a['prefixlen']) for link in ipj(lab.ns(i), 'address', 'show', 'dev', 'lab0')
                 for a in link['addr_info'] if a['scope'] == 'global'}
        assert addrs == {(lab.addr(i), 24), ('fd42:ed6e:0:%x::%d' % (lab.third, 10 + i), 64)}
    pids = lab.sshd_pids()
    assert len(pids) == 2

    # up is idempotent: same sshd processes, same namespaces
    lab('up', '2')
    assert lab.sshd_pids() == pids and len(lab.namespaces()) == 3

    # real SSH into each host lands in that host's namespace (its lab0 carries its own address)
    for i in (1, 2):
        links = json.loads(lab.ssh(i, 'ip', '-j', 'addr').stdout)
        lab0 = [a['local'] for link in links if link['ifname'] == 'lab0' for a in link['addr_info']]
        assert lab.addr(i) in lab0
    # the hosts reach each other over the lab bridge
    assert lab.ssh(1, 'ping', '-c1', '-W2', lab.addr(2)).returncode == 0
    # only the lab key is accepted
    other = os.path.join(lab.tmp, 'other_key')
    sh('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', other)
    p = subprocess.run(['ssh', '-F', '/dev/null', '-i', other, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
                        '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                        '-o', 'ProxyCommand=%s %%h %%p' % os.path.join(lab.state, 'proxy'),
                        'root@' + lab.addr(1), 'true'], capture_output=True, text=True, check=False)
    assert p.returncode == 255 and 'Permission denied' in p.stderr

    # an edgenet.linux module through ansible-playbook over SSH: gathered, then a change on host 2's lo
    results, out = lab.playbook([
        {'name': 'gathered', 'edgenet.linux.address': {'state': 'gathered'}},
        {'name': 'merged', 'edgenet.linux.address': {'config': [{'dev': 'lo', 'address': '198.18.%d.200/32'
                                                                 % lab.third}]},
         'when': 'edgelab_index == 2'},
    ])
    assert len(results) == 4, out
    for i in (1, 2):
        r = results[('gathered', lab.ns(i))]
        assert_no_traceback(r)
        mine = [a for a in r['gathered'] if a['dev'] == 'lab0' and a['address'] == '%s/24' % lab.addr(i)]
        assert len(mine) == 1, r['gathered']
    assert 'skip_reason' in results[('merged', lab.ns(1))]
    r = results[('merged', lab.ns(2))]
    assert_no_traceback(r)
    assert r['changed'] and r['commands'] == ['ip address add 198.18.%d.200/32 dev lo' % lab.third]
    # the change landed in host 2's namespace and nowhere else

    def lo(ns):
        return [a['local'] for link in ipj(ns, 'address', 'show', 'dev', 'lo') for a in link['addr_info']]

    assert '198.18.%d.200' % lab.third in lo(lab.ns(2))
    assert '198.18.%d.200' % lab.third not in lo(lab.ns(1))

    # a crash: one sshd killed, a veth gone, the state directory lost: up repairs, down still cleans up
    os.kill(pids[0], signal.SIGKILL)
    sh('ip', '-n', lab.prefix + '-sw', 'link', 'del', 'h2')
    lab('up', '2')
    assert len(lab.sshd_pids()) == 2
    for i in (1, 2):
        lab.ssh(i, 'true')
    shutil.rmtree(lab.state)
    assert lab.down() == ([], [])
    assert not os.path.exists(lab.state)
    assert root_links(lab) == links_before
    assert lab('status', check=False).returncode == 3


def test_lab_resize_and_veth_uplink(tmp_path):
    """up N is declarative (shrinks too); the veth uplink mode puts exactly one device in the root namespace."""
    lab = Lab(tmp_path, uplink='veth')
    try:
        lab('up', '3')
        assert len(lab.namespaces()) == 4 and len(lab.sshd_pids()) == 3
        uplink = json.loads(sh('ip', '-j', 'address', 'show', 'dev', lab.prefix + '0'))
        assert ['%s/%d' % (a['local'], a['prefixlen']) for a in uplink[0]['addr_info'] if a['family'] == 'inet'] \
            == ['%s.1/24' % lab.net]
        # no ProxyCommand needed: the root namespace routes to the lab directly
        assert 'ProxyCommand' not in open(os.path.join(lab.state, 'ssh_config')).read()
        lab.ssh(3, 'true')
        lab('up', '1')
        assert lab.namespaces() == sorted([lab.prefix + '-sw', lab.ns(1)]) and len(lab.sshd_pids()) == 1
        assert lab('status').returncode == 0
    finally:
        left_ns, left_sshd = lab.teardown()
    assert left_ns == [] and left_sshd == []
    assert subprocess.run(['ip', 'link', 'show', lab.prefix + '0'], capture_output=True, check=False).returncode != 0


def test_lab_keeps_its_own_net(tmp_path):
    """A lab made with EDGELAB_NET stays on it: up (a resize) and status without EDGELAB_NET use the lab's own
    subnet, not the default 198.18.0; a different EDGELAB_NET for the existing lab is refused, changing nothing."""
    lab = Lab(tmp_path)
    try:
        lab('up', '1')
        lab.env.pop('EDGELAB_NET')
        lab('up', '2')
        for i in (1, 2):
            addrs = sorted('%s/%d' % (a['local'], a['prefixlen']) for link in ipj(lab.ns(i), 'address', 'show', 'dev', 'lab0')
                           for a in link['addr_info'] if a['family'] == 'inet')
            assert addrs == ['%s/24' % lab.addr(i)]
        inventory = yaml.safe_load(open(lab.inventory))['all']['children'][lab.prefix]
        assert [h['ansible_host'] for h in inventory['hosts'].values()] == [lab.addr(1), lab.addr(2)]
        assert inventory['vars']['edgelab_gateway'] == '%s.1' % lab.net
        status = lab('status').stdout
        assert lab.addr(2) in status and '198.18.0.' not in status
        lab.ssh(2, 'true')
        # another net for the existing lab: refused, naming the lab's own
        other = '198.18.%d' % (lab.third + 1 if lab.third < 249 else 100)
        for cmd in (['up', '2'], ['status']):
            p = subprocess.run([LAB] + cmd, capture_output=True, text=True, check=False,
                               env=dict(lab.env, EDGELAB_NET=other))
            assert p.returncode != 0 and '%s.0/24' % lab.net in p.stderr and other in p.stderr, p.stderr
            assert 'Traceback' not in p.stderr
        assert json.load(open(os.path.join(lab.state, 'lab.json')))['net'] == lab.net
        assert len(ipj(lab.ns(2), 'address', 'show', 'dev', 'lab0')[0]['addr_info']) >= 1
        assert lab.namespaces() == sorted([lab.prefix + '-sw', lab.ns(1), lab.ns(2)])
    finally:
        left_ns, left_sshd = lab.teardown()
    assert left_ns == [] and left_sshd == []


def test_a_bad_prefix_is_refused_as_the_docs_say():
    """tools/lab takes a prefix of 2-12 lower-case letters or digits that starts with a letter, and refuses any other
    with a clear message before it makes anything; the docs that describe the lab say so, in the words the tool
    uses (they said nothing of it)."""
    message = 'lab: prefix must be 2-12 lower-case letters/digits, starting with a letter'
    for bad in ('a', 'MyLab', 'my-lab', '2lab', 'edgelabtest123', 'lab_1'):
        for command in (['status'], ['up', '1'], ['down']):
            p = subprocess.run([LAB] + command, capture_output=True, text=True, check=False,
                               env=dict(os.environ, EDGELAB_PREFIX=bad, EDGELAB_STATE='/nonexistent/edgelab-test'))
            assert p.returncode != 0 and message in p.stderr, (bad, command, p.stdout, p.stderr)
            assert not os.path.exists('/run/%s' % bad) and not os.path.exists('/nonexistent')
    for good in ('ab', 'elt' + uuid.uuid4().hex[:9]):  # (2 and 12 characters: nothing is up, status says so)
        p = subprocess.run([LAB, 'status'], capture_output=True, text=True, check=False,
                           env=dict(os.environ, EDGELAB_PREFIX=good))
        assert message not in p.stderr and ('lab: %s is down' % good) in p.stdout, (good, p.stdout, p.stderr)
    docs = os.path.join(HERE, '..', '..', 'docs')
    with open(os.path.join(docs, 'getting-started.md')) as f:
        started = ' '.join(f.read().split())
    assert message in started and 'is 2 to 12 characters, lower-case letters and digits, and starts with a letter' \
        in started
    with open(os.path.join(docs, 'fleet.md')) as f:
        assert '2 to 12 lower-case letters and digits starting with a letter' in ' '.join(f.read().split())
