# -*- coding: utf-8 -*-
"""The bulk netlink path (``_rtnl``: encoded requests, pipelined, ACKs read in bulk) against plain pyroute2.

Two namespaces start from the same 1,000 routes (made by ``ip -batch``, independent of both). A mixed
change of 2,000 objects (1,300 adds, 600 in-place changes, 100 deletes; IPv4 and IPv6, multipath,
tables, types, metrics, protocols, MTUs) is made in one by ``edgenet.linux.route`` (state overridden, one
task) and in the other by plain pyroute2 ``IPRoute.route()`` calls, one request at a time, computed by
this test from the same description. The oracle, ``ip -j -d route show table all``, must print the
same thing for both.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

from conftest import ipj, sh

M = 'edgenet.linux.route'

PYROUTE2_SIDE = r'''
import json, sys
from pyroute2 import IPRoute
ops = json.load(sys.stdin)
with IPRoute() as ipr:
    index = dict((l.get_attr('IFLA_IFNAME'), l['index']) for l in ipr.get_links())
    for action, r in ops:
        kw = {'dst': r['dst'], 'table': r.get('table', 254), 'priority': r['metric'], 'family': r['af']}
        if action != 'del':
            kw.update(proto=r.get('proto', 3), type=r.get('type', 'unicast'))
            if r.get('gateway'):
                kw['gateway'] = r['gateway']
            if r.get('dev'):
                kw['oif'] = index[r['dev']]
            if r.get('mtu'):
                kw['metrics'] = {'mtu': r['mtu']}
            if r.get('hops'):
                kw['multipath'] = [{'gateway': gw, 'oif': index[dev], 'hops': w - 1} for gw, dev, w in r['hops']]
        ipr.route(action, **kw)
'''


def route(i, kind, variant=0):
    """Route number i of a kind; ``variant`` changes its non-key fields. Returns a description."""
    gw4 = ('198.18.0.2', '198.18.0.3')[variant]
    gw6 = ('fd42:ed6e::2', 'fd42:ed6e::3')[variant]
    if kind == 'v4':
        return {'dst': '198.19.%d.%d/32' % (i // 256, i % 256), 'af': 2, 'gateway': gw4, 'dev': 'v0', 'metric': 0,
                'proto': (3, 4)[variant], 'mtu': (None, 1400)[variant]}
    if kind == 'v6':
        return {'dst': 'fd42:ed6e:10::%x/128' % i, 'af': 10, 'gateway': gw6, 'dev': 'v0', 'metric': 1024,
                'proto': (3, 4)[variant]}
    if kind == 'table':
        return {'dst': '198.19.%d.0/24' % (100 + i % 100), 'af': 2, 'gateway': gw4, 'dev': 'v0',
                'metric': 10 + i // 100, 'table': 100}
    if kind == 'blackhole':
        return {'dst': '198.18.%d.%d/32' % (128 + i // 256, i % 256), 'af': 2, 'metric': 0,
                'type': ('blackhole', 'unreachable')[variant]}
    if kind == 'multipath':
        return {'dst': 'fd42:ed6e:20::%x/128' % i, 'af': 10, 'metric': 1024,
                'hops': [[gw6, 'v0', 1 + variant], ['fd42:ed6e:1::2', 'v1', 2]]}
    raise ValueError(kind)


def to_config(r):
    c = {'dst': r['dst'], 'metric': r['metric']}
    for f in ('gateway', 'dev', 'mtu', 'type', 'table'):
        if r.get(f):
            c[f] = r[f]
    c['protocol'] = {3: 'boot', 4: 'static'}[r.get('proto', 3)]
    if r.get('hops'):
        c['nexthops'] = [{'gateway': gw, 'dev': dev, 'weight': w} for gw, dev, w in r['hops']]
    return c


def to_ip(r):
    words = ['route', 'add']
    if r.get('type'):
        words.append(r['type'])
    words.append(r['dst'])
    if r.get('gateway'):
        words += ['via', r['gateway']]
    if r.get('dev'):
        words += ['dev', r['dev']]
    words += ['metric', str(r['metric']), 'proto', {3: 'boot', 4: 'static'}[r.get('proto', 3)]]
    if r.get('table'):
        words += ['table', str(r['table'])]
    if r.get('mtu'):
        words += ['mtu', str(r['mtu'])]
    for gw, dev, w in r.get('hops', []):
        words += ['nexthop', 'via', gw, 'dev', dev, 'weight', str(w)]
    return ' '.join(words)


def make_ns(name):
    sh('ip', 'netns', 'add', name)
    sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
    make_ns_devices(name)


def make_ns_devices(name):
    for cmd in ('link add v0 address 02:00:00:00:00:01 type veth peer name v1 address 02:00:00:00:00:02',
                'link set v0 up', 'link set v1 up',
                'address add 198.18.0.1/24 dev v0', 'address add 198.18.1.1/24 dev v1',
                'address add fd42:ed6e::1/64 dev v0 nodad', 'address add fd42:ed6e:1::1/64 dev v1 nodad'):
        sh('ip', '-n', name, *cmd.split())


def routes_of(ns):
    """Every route of both families, less the kernel's IPv6 link-local ones, which IPv6 autoconfiguration adds
    in its own time (one namespace may have them a moment before the other)."""
    return sorted((json.dumps(r, sort_keys=True) for fam in ('-4', '-6')
                   for r in ipj(ns, '-d', fam, 'route', 'show', 'table', 'all')
                   if not r.get('dst', '').startswith('fe80')))


def side(netns, script, stdin=None):
    """Run ``script`` with this Python inside ``netns``, the installed collection on its path (60 s at most):
    its standard output; a failure fails the test with its standard error."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), *['..'] * 5))
    p = subprocess.run(['timeout', '60', 'ip', 'netns', 'exec', netns, sys.executable, '-c', script], input=stdin,
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=root), check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_bulk_path_and_pyroute2_make_the_same_kernel_state(play):
    kinds = [('v4', 400), ('v6', 300), ('table', 100), ('blackhole', 100), ('multipath', 100)]
    initial = [route(i, kind) for kind, n in kinds for i in range(n)]                  # 1,000
    # of each kind: the first 60% change in place, the next 10% go, the rest stay as they are
    changed = [route(i, kind, 1) for kind, n in kinds for i in range(n * 6 // 10)]
    deleted = [route(i, kind) for kind, n in kinds for i in range(n * 6 // 10, n * 7 // 10)]
    kept = [route(i, kind) for kind, n in kinds for i in range(n * 7 // 10, n)]
    added = [route(i, kind) for kind, n in [('v4', 500), ('v6', 400), ('multipath', 200), ('blackhole', 200)]
             for i in range(n + 1000, 2 * n + 1000)]
    added = added[:1300]
    assert len(changed) + len(deleted) + len(added) == 2000
    names = ['edgt-bulk-%s' % uuid.uuid4().hex[:6], 'edgt-pyr2-%s' % uuid.uuid4().hex[:6]]
    try:
        for name in names:
            make_ns(name)
            sh('ip', '-n', name, '-batch', '-', input=''.join(to_ip(r) + '\n' for r in initial))
        assert routes_of(names[0]) == routes_of(names[1])

        config = [to_config(r) for r in kept + changed + added]
        task = {M: {'netns': names[0], 'state': 'overridden', 'config': config}}
        r, again = play([task, task], diff=False)
        assert r['changed'] and len(r['commands']) == 2000, len(r['commands'])
        assert not again['changed'] and again['commands'] == []

        ops = ([('del', d) for d in deleted] + [('replace', c) for c in changed] + [('add', a) for a in added])
        env = dict(os.environ, PYTHONPATH='')
        p = subprocess.run(['ip', 'netns', 'exec', names[1], sys.executable, '-c', PYROUTE2_SIDE],
                           input=json.dumps(ops), capture_output=True, text=True, env=env, check=False)
        assert p.returncode == 0, p.stderr

        bulk, plain = routes_of(names[0]), routes_of(names[1])
        assert len(bulk) > 2000
        assert bulk == plain, sorted(set(bulk) ^ set(plain))[:10]
    finally:
        for name in names:
            subprocess.run(['ip', 'netns', 'del', name], capture_output=True, check=False)


DUMP_SIDE = r'''
import sys
from ansible_collections.edgenet.linux.plugins.module_utils._rtnl import Rtnl
RTM_GETROUTE, RTMSG = 26, bytes([2]) + bytes(11)  # AF_INET
rtnl = Rtnl()
dump = rtnl.dump(RTM_GETROUTE, RTMSG)
next(dump)
dump.close()  # a reader that stops after the first route
print(sum(1 for _m in rtnl.dump(RTM_GETROUTE, RTMSG)))
'''


def test_a_dump_stopped_early_leaves_the_socket_usable(netns):
    """A dump of 3,000 IPv4 routes spans many datagrams; the kernel makes each next one only when the reader reads.
    A reader that stops early must not leave the kernel inside that dump: the socket's next dump would get
    EBUSY. The next dump on the same socket lists every route (oracle: ip -j route show)."""
    lines = ''.join('route add 198.19.%d.%d/32 dev lo\n' % (i // 256, i % 256) for i in range(3000))
    sh('ip', '-n', netns, '-batch', '-', input=lines)
    got = int(side(netns, DUMP_SIDE))
    expected = len(ipj(netns, '-4', 'route', 'show', 'table', 'all'))
    assert got == expected and expected > 3000


MANY_SIDE = r"""
import json, socket
from ansible_collections.edgenet.linux.plugins.module_utils._rtnl import Rtnl, RtnlError
RTM_GETROUTE, RTM_GETTFILTER = 26, 46
rtnl = Rtnl()


def single(kind, bodies):
    return [[(t, bytes(buf[s:e])) for t, buf, s, e in rtnl.dump(kind, body)] for body in bodies]


def tcmsg(parent):  # struct tcmsg: family, ifindex, handle, parent, info
    return bytes(4) + socket.if_nametoindex('e0').to_bytes(4, 'little') + bytes(4) + parent.to_bytes(4, 'little') + bytes(4)


out = {}
# the filters of the qdisc and of each of its 300 classes: most empty, some with one filter, one with 40 and
# one with 600 (many datagrams); a round holds at most 128, and the requests that come while a dump with
# content is still being read are refused with EBUSY and sent again
bodies = [tcmsg(0x10000)] + [tcmsg(0x10000 + minor) for minor in range(1, 301)]
many = rtnl.dump_many(RTM_GETTFILTER, bodies)
out['filters_same'] = many == single(RTM_GETTFILTER, bodies)
out['filters'] = [len(m) for m in many]
# dumps that all have content (IPv4 routes, 3,000 of them, and IPv6 ones)
bodies = [bytes([2 if i % 10 == 3 else 10]) + bytes(11) for i in range(40)]
many = rtnl.dump_many(RTM_GETROUTE, bodies)
out['routes_same'] = many == single(RTM_GETROUTE, bodies)
out['routes'] = sorted(set(len(m) for m in many))
try:
    rtnl.dump_many(200, [bytes(16)] * 3)  # a message type above RTM_MAX: refused
    out['refused'] = None
except RtnlError as e:
    out['refused'] = e.code
out['after'] = len(rtnl.dump_many(RTM_GETROUTE, [bodies[3]])[0])  # the socket is usable after the refusal
print(json.dumps(out))
"""


def test_pipelined_dumps_return_what_single_dumps_return(netns):
    """``Rtnl.dump_many`` (tc_filter's gather: one dump per class, most of them empty) sends many dumps per
    sendmsg. The kernel runs one dump at a time per socket and refuses a dump that arrives while another is
    still being read (EBUSY); those are sent again. Each of 301 filter dumps (qdisc and classes, most empty,
    some with 1, 40 or 600 filters) and of 40 route dumps (IPv4 with 3,000 routes, IPv6) must return exactly
    what the same dump returns on its own, and the filter counts are tc's; a refused dump type raises the
    kernel's code, and the socket stays usable."""
    lines = ''.join('route add 198.19.%d.%d/32 dev lo\n' % (i // 256, i % 256) for i in range(3000))
    sh('ip', '-n', netns, '-batch', '-', input=lines)
    sh('ip', '-n', netns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    tc = ['qdisc add dev e0 root handle 1: htb']
    tc += ['class add dev e0 parent 1: classid 1:%x htb rate 1mbit' % minor for minor in range(1, 301)]
    counts = dict((minor, 1) for minor in range(5, 301, 25))
    counts.update({0x20: 40, 0x80: 600})
    for minor, n in sorted(counts.items()):
        tc += ['filter add dev e0 parent 1:%x protocol ip prio %d u32 match ip dst 198.18.%d.%d/32 flowid 1:%x'
               % (minor, 1 + i, i // 256, i % 256, minor) for i in range(n)]
    sh('tc', '-n', netns, '-batch', '-', input=''.join(line + '\n' for line in tc))
    got = json.loads(side(netns, MANY_SIDE))
    assert got['filters_same'] and got['routes_same'], got
    # the oracle: tc's own count of each class's filters (a u32 prio also lists its hash table: 2 + n lines)
    for minor in (0x20, 0x80, 5, 6):
        shown = ipj_tc(netns, 'filter', 'show', 'dev', 'e0', 'parent', '1:%x' % minor)
        assert got['filters'][minor] == len(shown) > 0 if minor in counts else got['filters'][minor] == 0, minor
    expected = len(ipj(netns, '-4', 'route', 'show', 'table', 'all'))
    assert max(got['routes']) == expected > 3000 and min(got['routes']) < 20, got['routes']
    assert got['refused'] == 95, got  # EOPNOTSUPP
    assert got['after'] == expected


def ipj_tc(netns, *args):
    return json.loads(subprocess.run(['tc', '-n', netns, '-j'] + list(args), check=True, capture_output=True,
                                     text=True).stdout or '[]')


ECHO_SIDE = r'''
import json, sys
from ansible_collections.edgenet.linux.plugins.module_utils import _engine, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils.resources.route import Route

state, config, drop = json.load(sys.stdin)
if drop:  # the kernel "forgets" to echo one write: the engine must notice and read the table instead
    transact = _rtnl.Rtnl.transact

    def forgetful(self, requests, keep_going=False, echoes=None):
        out = transact(self, requests, keep_going, echoes)
        if echoes:
            del echoes[len(echoes) // 2]
        return out
    _rtnl.Rtnl.transact = forgetful


def run(state, config):
    engine = _engine.Engine(Route(), _engine.Context({'state': state, 'config': config, 'netns': None,
                                                       'table': None, 'family': None}))
    gathers, gather = [], engine.gather
    engine.gather = lambda: gathers.append(1) or gather()
    result = engine.run()
    engine.ctx.close()
    return result, len(gathers)


real, dumps = run(state, config)
gathered, _n = run('gathered', None)
print(json.dumps({'real': real, 'dumps': dumps, 'gathered': gathered['gathered']}))
'''


def oracle_routes(ns):
    """What ``ip -j -d route show table all`` prints of the routes the module manages, in the module's terms."""
    out = []
    for fam, host in (('-4', '/32'), ('-6', '/128')):
        for r in ipj(ns, '-d', fam, 'route', 'show', 'table', 'all'):
            if r.get('protocol') == 'kernel' or r.get('table') == 'local' or r['dst'].startswith(('fe80', 'ff00')):
                continue
            dst = r['dst'] if '/' in r['dst'] or r['dst'] == 'default' else r['dst'] + host
            hops = [(h['gateway'], h['dev'], h.get('weight', 1)) for h in r.get('nexthops', [])]
            mtu = [m['mtu'] for m in r.get('metrics', []) if 'mtu' in m]
            out.append((str(r.get('table', 'main')), dst, r.get('metric', 0), r['type'], r['protocol'],
                        r.get('gateway'), r.get('dev') if not hops else None, mtu[0] if mtu else None, hops))
    return sorted(out, key=repr)


def module_routes(objs):
    """The same tuples of the module's objects (its ``after`` or ``gathered``)."""
    return sorted(((str(o['table']), o['dst'], o['metric'], o['type'], o['protocol'], o.get('gateway'), o.get('dev'),
                    o.get('mtu'), [(h['gateway'], h['dev'], h['weight']) for h in o.get('nexthops', [])])
                   for o in objs), key=repr)


@pytest.mark.parametrize('drop', [False, True], ids=['echoed', 'an-echo-lost'])
def test_real_run_after_from_the_kernels_echoes_is_what_the_kernel_has(netns, drop):
    """A real run that changes some of many routes builds ``after`` from ``before`` and what the kernel echoes of
    each write (NLM_F_ECHO), without a second dump of the table. Among 1,000 routes, 355 writes: in-place
    changes of every kind (gateway, protocol, MTU added, blackhole to unreachable, a multipath route's weights),
    IPv6 multipath routes made single-path and single-path ones made multipath, deletes (state overridden) and
    adds. ``after`` must be exactly what a fresh gather returns and what ``ip -j -d route show table all``
    prints, and the table was dumped once. When one write's echo is missing, the engine reads the table
    instead (two dumps), and ``after`` is as true."""
    make_ns_devices(netns)
    kinds = [('v4', 400), ('v6', 300), ('table', 100), ('blackhole', 100), ('multipath', 100)]
    initial = [route(i, kind) for kind, n in kinds for i in range(n)]
    sh('ip', '-n', netns, '-batch', '-', input=''.join(to_ip(r) + '\n' for r in initial))
    changed = [route(i, kind, 1) for kind, n in kinds for i in range(n // 5)]                  # 200
    deleted = set(r['dst'] for kind, n in kinds for r in (route(i, kind) for i in range(n // 5, n // 4)))  # 50
    to_single = [dict(route(i, 'multipath'), hops=None, gateway='fd42:ed6e::2', dev='v0') for i in range(30, 40)]
    to_multi = [dict(route(i, 'v6'), gateway=None, dev=None, hops=[['fd42:ed6e::2', 'v0', 3], ['fd42:ed6e:1::2', 'v1', 1]])
                for i in range(200, 210)]
    added = [route(i, kind) for kind, n in [('v4', 40), ('v6', 30), ('multipath', 15)] for i in range(2000, 2000 + n)]
    edited = set(r['dst'] for r in changed + to_single + to_multi)
    kept = [r for r in initial if r['dst'] not in edited and r['dst'] not in deleted]
    config = [to_config(r) for r in kept + changed + to_single + to_multi + added]
    got = json.loads(side(netns, ECHO_SIDE, json.dumps(['overridden', config, drop])))
    real = got['real']
    assert real['changed'] and len(real['commands']) == 200 + 50 + 20 + 85, len(real['commands'])
    assert got['dumps'] == (2 if drop else 1), got['dumps']
    assert real['after'] == got['gathered']
    assert module_routes(real['after']) == oracle_routes(netns)
    assert len(real['after']) == 1000 - 50 + 85


SMALL_BUFFER_SIDE = r'''
import json, socket, struct
from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl

rtnl = _rtnl.Rtnl()
rtnl.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)  # (the kernel doubles it)
v0 = socket.if_nametoindex('v0')
requests = []
for i in range(1000):
    body = bytes([2, 32, 0, 0, 254, 3, 0, 1]) + bytes(4)
    body += _rtnl.attr(1, bytes([198, 19, i // 256, i % 256])) + _rtnl.attr(5, bytes([198, 18, 0, 2]))
    body += _rtnl.attr_u32(4, v0)
    requests.append((_rtnl.RTM_NEWROUTE, _rtnl.ADD, body))
for i in range(300):  # multipath routes of 16 next hops: requests and echoes of ~300 bytes
    hops = b''.join(struct.pack('=HBBi', 16, 0, 0, v0) + _rtnl.attr(5, bytes([198, 18, 0, 2 + h])) for h in range(16))
    body = bytes([2, 32, 0, 0, 254, 3, 0, 1]) + bytes(4) + _rtnl.attr(1, bytes([198, 19, 100 + i // 256, i % 256]))
    requests.append((_rtnl.RTM_NEWROUTE, _rtnl.ADD, body + _rtnl.attr(9, hops)))
echoes = []
applied, errors = rtnl.transact(requests, echoes=echoes)
print(json.dumps({'applied': len(applied), 'errors': [e.code for e in errors], 'echoed': sorted(set(i for i, _t, _b in echoes)) == list(range(1300)),
                  'types': sorted(set(t for _i, t, _b in echoes)), 'buffer': rtnl.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)}))
'''


def test_echoes_fit_a_small_receive_buffer(netns):
    """With echoes, a chunk holds only as many requests as the socket's receive buffer holds echoes and answers
    of: a datagram the kernel dropped for want of room would lose an answer (and the transaction would wait
    forever for its closing ACK). On a 128 KiB buffer, 1,000 route adds with echoes and 300 of multipath routes
    with 16 next hops each: every one applied, every one echoed as RTM_NEWROUTE, and the kernel has them all
    (oracle: ip -j route show)."""
    make_ns_devices(netns)
    got = json.loads(side(netns, SMALL_BUFFER_SIDE))
    assert got == {'applied': 1300, 'errors': [], 'echoed': True, 'types': [24], 'buffer': 128 << 10}, got
    routes = [r for r in ipj(netns, '-4', 'route', 'show') if r['dst'].startswith('198.19.')]
    assert len(routes) == 1300 and sum(len(r.get('nexthops', [])) == 16 for r in routes) == 300
