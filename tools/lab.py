# -*- coding: utf-8 -*-
"""The namespace lab: many SSH-reachable Linux "hosts" on one machine.

    tools/lab up N        make (or resize to) N hosts; idempotent
    tools/lab down        remove every namespace, sshd, key and file the lab made (also after a crash)
    tools/lab status      show what is up

Layout (prefix "edgelab", the default; EDGELAB_PREFIX or --prefix changes it: 2-12 lower-case letters or digits,
starting with a letter, or the lab refuses it):

    edgelab-sw            a namespace holding the lab bridge "labbr" (never in the root namespace)
    edgelab-h1..hN        one namespace per host: interface "lab0" (a veth whose peer "hI" is a port of
                          labbr), 198.18.0.(10+I)/24 and fd42:ed6e::(10+I)/64, and its own sshd on them
    /run/edgelab/         keys, sshd configs and pidfiles, inventory.yml, ssh_config, the proxy; each host's
                          bytecode cache of the collection's modules (hI/bytecode, EDGENET_BYTECODE_CACHE)

How the controller (root namespace) reaches the hosts: by default nothing is added to the root
namespace at all. labbr has 198.18.0.1/24 inside edgelab-sw, and SSH goes through a ProxyCommand
(/run/edgelab/proxy) that enters edgelab-sw with setns(2) and relays the TCP stream. ansible, ssh -F
/run/edgelab/ssh_config, testinfra and molecule all use it transparently. With EDGELAB_UPLINK=veth
(or --uplink veth) the lab instead adds one veth pair "edgelab0" from the root namespace into labbr
with 198.18.0.1/24 on the root side, for tools that cannot use a ProxyCommand.

Other knobs: EDGELAB_NET (the first three octets of the lab /24 inside 198.18.0.0/15, default
198.18.0; an existing lab stays on the net it was made on, and a different EDGELAB_NET for it is refused
until tools/lab down), EDGELAB_STATE (state directory, default /run/<prefix>), EDGELAB_PYTHON (the hosts'
ansible_python_interpreter; default the repository's .venv/bin/python).
Only the standard library is used: this runs with Debian's /usr/bin/python3.
"""

import argparse
import concurrent.futures
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NETNS_DIR = '/run/netns'
SSHD = '/usr/sbin/sshd'

PROXY = r'''#!/usr/bin/python3 -S
# ProxyCommand for the %(prefix)s lab: enter the lab switch namespace, relay stdin/stdout to HOST:PORT.
import ctypes, os, selectors, socket, sys
fd = os.open(%(nsfile)r, os.O_RDONLY)
if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:
    sys.exit('edgelab proxy: setns(%(nsfile)s): %%s' %% os.strerror(ctypes.get_errno()))
os.close(fd)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.settimeout(None)
sel = selectors.DefaultSelector()
sel.register(0, selectors.EVENT_READ)
sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj == 0:
            data = os.read(0, 65536)
            if not data:
                sel.unregister(0)
                s.shutdown(socket.SHUT_WR)
            else:
                s.sendall(data)
        else:
            data = s.recv(65536)
            if not data:
                sys.exit(0)
            view = memoryview(data)
            while view:
                view = view[os.write(1, view):]
'''


# -- helpers ---------------------------------------------------------------------------------------
def run(*cmd, check=True, input=None):
    p = subprocess.run(cmd, capture_output=True, text=True, input=input, check=False)
    if check and p.returncode != 0:
        raise SystemExit('lab: %s failed (%d): %s' % (' '.join(cmd), p.returncode, (p.stderr or p.stdout).strip()))
    return p


def batch(ns, lines):
    """Run iproute2 commands in one process (ip -batch), in namespace ns (None: the root namespace)."""
    lines = [l for l in lines if l]
    if not lines:
        return
    cmd = ['ip'] + (['-n', ns] if ns else []) + ['-batch', '-']
    run(*cmd, input='\n'.join(lines) + '\n')


def find_python():
    if os.environ.get('EDGELAB_PYTHON'):
        return os.environ['EDGELAB_PYTHON']
    d = HERE
    while d != os.path.dirname(d):  # also works from an installed copy under <repo>/build/collections
        cand = os.path.join(d, '.venv', 'bin', 'python')
        if os.path.exists(cand):
            return cand
        d = os.path.dirname(d)
    return sys.executable


def parse_net(net):
    """EDGELAB_NET (198.18.X, or 198.18.X.0) as 198.18.X; SystemExit when it is not a /24 of 198.18.0.0/15."""
    m = re.match(r'^198\.(18|19)\.(\d{1,3})(\.0)?$', net)
    if not m or int(m.group(2)) > 255:
        raise SystemExit('lab: EDGELAB_NET must be 198.18.X or 198.19.X (a /24 inside 198.18.0.0/15)')
    return '198.%s.%d' % (m.group(1), int(m.group(2)))


def saved_net(state):
    """The net an existing lab was made on (its state directory's lab.json), or None."""
    try:
        with open(os.path.join(state, 'lab.json')) as f:
            return parse_net(json.load(f)['net'])
    except (OSError, ValueError, KeyError, TypeError, SystemExit):
        return None


class Lab(object):
    def __init__(self, prefix, net, state, uplink):
        if not re.match(r'^[a-z][a-z0-9]{1,11}$', prefix):
            raise SystemExit('lab: prefix must be 2-12 lower-case letters/digits, starting with a letter')
        self.prefix = prefix
        self.sw = prefix + '-sw'
        self.state = state
        self.uplink = uplink
        self.uplink_dev = prefix + '0'  # edgelab0
        self.net = parse_net(net)
        m = re.match(r'^198\.(18|19)\.(\d+)$', self.net)
        # The IPv6 lab prefix follows the IPv4 one: 198.18.0 -> fd42:ed6e::/64, 198.18.7 -> fd42:ed6e:0:7::/64
        # (fd42:ed6e:0:107:: for 198.19.7).
        self.net6 = 'fd42:ed6e:0:%x' % ((int(m.group(1)) - 18) * 256 + int(m.group(2)))
        self.key = os.path.join(state, 'id_ed25519')
        self.hostkey = os.path.join(state, 'ssh_host_ed25519_key')
        self.inventory = os.path.join(state, 'inventory.yml')
        self.ssh_config = os.path.join(state, 'ssh_config')
        self.proxy = os.path.join(state, 'proxy')

    # names and addresses
    def host(self, i):
        return '%s-h%d' % (self.prefix, i)

    def addr(self, i):
        return '%s.%d' % (self.net, 10 + i)

    def addr6(self, i):
        # decimal digits read as hex, so host 11 is ...::21 in both families
        return str(ipaddress.IPv6Address('%s::%d' % (self.net6, 10 + i)))

    def mac(self, i):
        b, c = (int(x) for x in self.net.split('.')[1:])
        return '02:ed:%02x:%02x:%02x:%02x' % (b - 18, c, i >> 8, i & 255)

    def gw(self):
        return self.net + '.1'

    def namespaces(self):
        out = run('ip', '-j', 'netns', 'list', check=False).stdout.strip()
        names = [n['name'] for n in json.loads(out)] if out else []
        return [n for n in names if n == self.sw or re.match(r'^%s-h\d+$' % re.escape(self.prefix), n)]

    def hosts_up(self):
        return sorted(int(n.rsplit('-h', 1)[1]) for n in self.namespaces() if n != self.sw)

    def hostdir(self, i):
        return os.path.join(self.state, 'h%d' % i)

    def pidfile(self, i):
        return os.path.join(self.hostdir(i), 'sshd.pid')

    def sshd_pid(self, i):
        """The pid of host i's sshd if it runs in the host's namespace, else None."""
        try:
            pid = int(open(self.pidfile(i)).read().split()[0])
            if os.readlink('/proc/%d/exe' % pid).startswith(SSHD):
                if os.stat('/proc/%d/ns/net' % pid).st_ino == os.stat(os.path.join(NETNS_DIR, self.host(i))).st_ino:
                    return pid
        except (OSError, ValueError, IndexError):
            pass
        return None

    # -- up ----------------------------------------------------------------------------------------
    def up(self, n):
        if not 1 <= n <= 244:
            raise SystemExit('lab: N must be between 1 and 244')
        if not os.path.exists(SSHD):
            raise SystemExit('lab: %s is missing: apt-get install openssh-server (or make setup)' % SSHD)
        t0 = time.time()
        os.makedirs(self.state, mode=0o700, exist_ok=True)
        if not os.path.exists(os.path.join(self.state, 'lab.json')):
            # the net is known before anything is made: an up that dies half-way is resized on the same net
            self._write_labjson(0)
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        for path, kind in ((self.key, 'client'), (self.hostkey, 'host')):
            if not os.path.exists(path):
                run('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', '%s-%s' % (self.prefix, kind), '-f', path)
        shutil.copyfile(self.key + '.pub', os.path.join(self.state, 'authorized_keys'))
        with open(self.proxy, 'w') as f:
            f.write(PROXY % {'prefix': self.prefix, 'nsfile': os.path.join(NETNS_DIR, self.sw)})
        os.chmod(self.proxy, 0o755)

        have_ns = set(self.namespaces())
        # hosts beyond N go away (up is declarative)
        for i in self.hosts_up():
            if i > n:
                self._remove_host(i)
        # the switch
        if self.sw not in have_ns:
            run('ip', 'netns', 'add', self.sw)
        batch(self.sw, ['link set lo up',
                        'link add labbr type bridge' if not self._has_link(self.sw, 'labbr') else '',
                        'link set labbr type bridge stp_state 0 forward_delay 0',
                        'address replace %s/24 dev labbr' % self.gw() if self.uplink == 'proxy' else '',
                        'address replace %s::1/64 dev labbr nodad' % self.net6 if self.uplink == 'proxy' else '',
                        'link set labbr up'])
        if self.uplink == 'proxy':
            # a stale uplink from an earlier veth-mode lab goes
            if self._has_link(None, self.uplink_dev):
                run('ip', 'link', 'del', self.uplink_dev)
        else:
            if not self._has_link(None, self.uplink_dev):
                run('ip', 'link', 'add', self.uplink_dev, 'type', 'veth', 'peer', 'name', 'up0', 'netns', self.sw)
            batch(self.sw, ['address flush dev labbr', 'link set up0 master labbr', 'link set up0 up'])
            batch(None, ['address replace %s/24 dev %s' % (self.gw(), self.uplink_dev),
                         'link set %s up' % self.uplink_dev])

        # host namespaces, in one ip -batch; veths in the switch, one ip -batch
        new = [i for i in range(1, n + 1) if self.host(i) not in have_ns]
        batch(None, ['netns add %s' % self.host(i) for i in new])
        sw_links = self._links(self.sw)
        lines = []
        for i in range(1, n + 1):
            port = 'h%d' % i
            if port not in sw_links:
                # a host namespace that lost its lab0 (crash): recreate the pair
                run('ip', '-n', self.host(i), 'link', 'del', 'lab0', check=False)
                # a fixed MAC per host: a re-created host keeps it, so no neighbour cache goes stale
                lines.append('link add %s type veth peer name lab0 address %s netns %s'
                             % (port, self.mac(i), self.host(i)))
            lines += ['link set %s master labbr' % port, 'link set %s up' % port]
        batch(self.sw, lines)

        # per host: addresses, lo, sshd (in parallel; each is a couple of short processes)
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(self._host_up, range(1, n + 1)))
        self._write_inventory(n)
        self._wait_sshd(n)
        print('lab: %d host(s) up in %.1fs; inventory %s' % (n, time.time() - t0, self.inventory))

    def _has_link(self, ns, name):
        return name in self._links(ns)

    def _links(self, ns):
        out = run('ip', *(['-n', ns] if ns else []), '-j', 'link', 'show', check=False).stdout.strip()
        return {l['ifname'] for l in json.loads(out)} if out else set()

    def _host_up(self, i):
        ns = self.host(i)
        batch(ns, ['link set lo up',
                   'address replace %s/24 dev lab0' % self.addr(i),
                   'address replace %s/64 dev lab0 nodad' % self.addr6(i),
                   'link set lab0 up'])
        d = self.hostdir(i)
        os.makedirs(d, mode=0o700, exist_ok=True)
        cfg = os.path.join(d, 'sshd_config')
        with open(cfg, 'w') as f:
            f.write('\n'.join([
                '# sshd of lab host %s (generated by tools/lab)' % ns,
                'ListenAddress %s:22' % self.addr(i),
                'ListenAddress [%s]:22' % self.addr6(i),
                'HostKey %s' % self.hostkey,
                'PidFile %s' % self.pidfile(i),
                'AuthorizedKeysFile %s' % os.path.join(self.state, 'authorized_keys'),
                'PermitRootLogin prohibit-password',
                'PubkeyAuthentication yes',
                'PasswordAuthentication no',
                'KbdInteractiveAuthentication no',
                'UsePAM no',
                'StrictModes no',
                'UseDNS no',
                'PrintMotd no',
                'PrintLastLog no',
                'MaxStartups 200:30:400',
                'MaxSessions 100',
                'LogLevel ERROR',
                # each host its own bytecode cache of the collection's modules, as a real host has in its home
                # (module_utils/_bytecode.py); it goes with the host (tools/lab down)
                'SetEnv EDGENET_BYTECODE_CACHE=%s' % os.path.join(d, 'bytecode'),
                'Subsystem sftp internal-sftp',
                '']))
        if self.sshd_pid(i):
            os.kill(self.sshd_pid(i), signal.SIGHUP)  # re-read the (possibly changed) config
            return
        run('ip', 'netns', 'exec', ns, SSHD, '-f', cfg)

    def _wait_sshd(self, n):
        deadline = time.time() + 20
        missing = list(range(1, n + 1))
        while missing and time.time() < deadline:
            missing = [i for i in missing if not self.sshd_pid(i)]
            if missing:
                time.sleep(0.05)
        if missing:
            raise SystemExit('lab: sshd did not start on %s' % ', '.join(self.host(i) for i in missing))

    def _write_inventory(self, n):
        ssh_args = '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'
        if self.uplink == 'proxy':
            ssh_args += ' -o ProxyCommand="%s %%h %%p"' % self.proxy
        python = find_python()
        lines = ['# Generated by tools/lab for the %s lab (%d hosts). Do not edit: tools/lab up rewrites it.'
                 % (self.prefix, n),
                 'all:',
                 '  children:',
                 '    %s:' % self.prefix,
                 '      vars:',
                 '        ansible_user: root',
                 '        ansible_ssh_private_key_file: %s' % self.key,
                 '        ansible_ssh_common_args: %s' % json.dumps(ssh_args),
                 '        ansible_python_interpreter: %s' % python,
                 '        ansible_pipelining: true',
                 '        edgelab_prefix: %s' % self.prefix,
                 '        edgelab_gateway: %s' % self.gw(),
                 '      hosts:']
        for i in range(1, n + 1):
            lines += ['        %s:' % self.host(i),
                      '          ansible_host: %s' % self.addr(i),
                      '          edgelab_index: %d' % i,
                      '          edgelab_netns: %s' % self.host(i),
                      '          site_id: %d' % i,
                      '          site_underlay_dev: lab0',
                      '          site_underlay_address: %s' % self.addr(i),
                      '          site_underlay_address6: %s' % self.addr6(i)]
        with open(self.inventory + '.tmp', 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.rename(self.inventory + '.tmp', self.inventory)
        # for people: ssh -F /run/edgelab/ssh_config edgelab-h1
        cfg = []
        for i in range(1, n + 1):
            cfg += ['Host %s h%d' % (self.host(i), i),
                    '  HostName %s' % self.addr(i)]
        cfg += ['Host *',
                '  User root',
                '  IdentityFile %s' % self.key,
                '  IdentitiesOnly yes',
                '  StrictHostKeyChecking no',
                '  UserKnownHostsFile /dev/null',
                '  LogLevel ERROR']
        if self.uplink == 'proxy':
            cfg.append('  ProxyCommand %s %%h %%p' % self.proxy)
        with open(self.ssh_config, 'w') as f:
            f.write('\n'.join(cfg) + '\n')
        self._write_labjson(n)

    def _write_labjson(self, n):
        path = os.path.join(self.state, 'lab.json')
        with open(path + '.tmp', 'w') as f:
            json.dump({'prefix': self.prefix, 'net': self.net, 'hosts': n, 'uplink': self.uplink,
                       'inventory': self.inventory, 'key': self.key, 'ssh_config': self.ssh_config}, f)
        os.rename(path + '.tmp', path)

    # -- down --------------------------------------------------------------------------------------
    def _kill_ns(self, ns):
        """Kill every process in namespace ns (sshd, its sessions, anything started there)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = [int(p) for p in run('ip', 'netns', 'pids', ns, check=False).stdout.split()]
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            if not pids:
                return
            deadline = time.time() + 2
            while time.time() < deadline and run('ip', 'netns', 'pids', ns, check=False).stdout.strip():
                time.sleep(0.05)

    def _remove_host(self, i):
        pid = self.sshd_pid(i)
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        self._kill_ns(self.host(i))
        run('ip', 'netns', 'del', self.host(i), check=False)  # its lab0 goes, and with it hI in the switch
        shutil.rmtree(self.hostdir(i), ignore_errors=True)

    def down(self):
        # by pidfile first (also finds an sshd whose namespace file is already gone) ...
        for d in (os.listdir(self.state) if os.path.isdir(self.state) else []):
            pf = os.path.join(self.state, d, 'sshd.pid')
            try:
                pid = int(open(pf).read().split()[0])
                if os.readlink('/proc/%d/exe' % pid).startswith(SSHD):
                    os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                pass
        # ... then everything left in any lab namespace
        names = self.namespaces()
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(self._kill_ns, names))
        batch(None, ['netns del %s' % ns for ns in names])
        if self._has_link(None, self.uplink_dev):
            run('ip', 'link', 'del', self.uplink_dev, check=False)
        shutil.rmtree(self.state, ignore_errors=True)
        left = self.namespaces()
        if left:
            raise SystemExit('lab: could not remove %s' % ' '.join(left))
        print('lab: %s is down (%d namespace(s) removed)' % (self.prefix, len(names)))

    # -- status ------------------------------------------------------------------------------------
    def status(self):
        names = self.namespaces()
        if not names:
            print('lab: %s is down' % self.prefix)
            return 3
        hosts = self.hosts_up()
        bad = 0
        missing = '' if self.sw in names else ' MISSING'
        print('lab: %s: switch %s%s, %d host(s)' % (self.prefix, self.sw, missing, len(hosts)))
        for i in hosts:
            pid = self.sshd_pid(i)
            bad += not pid
            sshd = 'pid %d' % pid if pid else 'NOT RUNNING'
            print('  %-14s %-15s %-22s sshd %s' % (self.host(i), self.addr(i), self.addr6(i), sshd))
        if os.path.exists(self.inventory):
            print('inventory:  %s' % self.inventory)
            print('ssh:        ssh -F %s %s' % (self.ssh_config, self.host(hosts[0]) if hosts else ''))
        return 1 if bad or self.sw not in names else 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog='tools/lab', description=__doc__.split('\n\n', maxsplit=1)[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--prefix', default=os.environ.get('EDGELAB_PREFIX', 'edgelab'))
    ap.add_argument('--net', default=os.environ.get('EDGELAB_NET') or None,
                    help='198.18.X: the lab /24 (default: an existing lab\'s own, else 198.18.0)')
    ap.add_argument('--state', default=os.environ.get('EDGELAB_STATE'))
    ap.add_argument('--uplink', choices=['proxy', 'veth'], default=os.environ.get('EDGELAB_UPLINK', 'proxy'))
    sub = ap.add_subparsers(dest='cmd', required=True)
    p_up = sub.add_parser('up', help='create or resize the lab to N hosts')
    p_up.add_argument('n', type=int, nargs='?', default=4)
    sub.add_parser('down', help='remove everything the lab made')
    sub.add_parser('status', help='show the lab')
    sub.add_parser('inventory', help='print the inventory path')
    args = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # tools/lab status | head
    if os.geteuid() != 0:
        raise SystemExit('lab: run as root (network namespaces)')
    state = args.state or '/run/%s' % args.prefix
    # An existing lab keeps the net it was made on (its lab.json): a resize or a status without EDGELAB_NET
    # must not move it to the default; a different net given for it is refused (down, then up, moves it).
    net = saved_net(state)
    if net and args.net and parse_net(args.net) != net and args.cmd != 'down':
        raise SystemExit('lab: the %s lab is on %s.0/24 (%s); EDGELAB_NET/--net %s differs: leave it unset, '
                         'or run tools/lab down first to make the lab on another net'
                         % (args.prefix, net, os.path.join(state, 'lab.json'), args.net))
    lab = Lab(args.prefix, net or args.net or '198.18.0', state, args.uplink)
    if args.cmd == 'up':
        lab.up(args.n)
    elif args.cmd == 'down':
        lab.down()
    elif args.cmd == 'status':
        return lab.status()
    elif args.cmd == 'inventory':
        print(lab.inventory)
    return 0


if __name__ == '__main__':
    sys.exit(main())
