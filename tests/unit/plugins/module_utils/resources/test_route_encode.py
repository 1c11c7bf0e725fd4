# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""route's requests without a kernel: the one-struct encoding of the common route shapes gives exactly the
bytes of the attribute-by-attribute encoding (and of ip route's own layout), for every shape it packs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import socket
import struct

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources import route as route_mod
from ansible_collections.edgenet.linux.plugins.module_utils.resources.route import Route


class FakeNetlink(object):
    def __init__(self, links):
        self.by_index = links
        self.ipv6 = {}  # device -> its _rtnl.ipv6_off (absent: IPv6 on)
        self.ipv6_reads = []  # the devices each read of their IPv6 state was about

    def ipv6_off(self, names):
        self.ipv6_reads.append(sorted(names))
        return dict((n, self.ipv6.get(n)) for n in names if n in self.by_index.values())

    def links(self, refresh=False):
        return dict((n, i) for i, n in self.by_index.items()), self.by_index

    def ifindex(self, name, obj=None, field='dev'):
        for index, n in self.by_index.items():
            if n == name:
                return index
        raise EdgenetError("device '%s' does not exist" % name, obj=obj, field=field)

    def close(self):
        pass


def ctx():
    return Context({'netns': None, 'state': 'merged', 'config': [], 'table': None, 'family': None},
                   nl=FakeNetlink({7: 'v0', 300: 'long-dev'}))


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, kind) + payload + b'\0' * (((n + 3) & ~3) - n)


def u32(kind, value):
    return struct.pack('=HHI', 8, kind, value)


def by_hand(obj, action):
    """The request body as ip route builds it: rtmsg, then DST, TABLE, PRIORITY, GATEWAY, OIF, PREFSRC."""
    fam = obj['family']
    af = socket.AF_INET if fam == 4 else socket.AF_INET6
    table = {'main': 254, 'local': 255, 'default': 253}.get(obj['table'], obj['table'])
    dst_len, parts = 0, []
    if obj['dst'] != 'default':
        addr, dst_len = obj['dst'].split('/')
        dst_len = int(dst_len)
        parts.append(attr(1, socket.inet_pton(af, addr)))
    parts += [u32(15, table), u32(6, obj['metric'])]
    if action == 'delete':
        head = struct.pack('=BBBBBBBBI', af, dst_len, 0, 0, table if table < 256 else 0, 0,
                           255 if fam == 4 else 0, 0, 0)
        return head + b''.join(parts)
    protocols = {'boot': 3, 'static': 4, 'kernel': 2, 'bgp': 186}
    scopes = {'global': 0, 'link': 253, 'host': 254}
    types = {'unicast': 1, 'blackhole': 6, 'unreachable': 7, 'prohibit': 8, 'local': 2}
    head = struct.pack('=BBBBBBBBI', af, dst_len, 0, 0, table if table < 256 else 0,
                       protocols.get(obj['protocol'], obj['protocol']), scopes.get(obj['scope'], obj['scope']),
                       types[obj['type']], 4 if obj.get('onlink') else 0)
    gateway = obj.get('gateway')
    if gateway and fam == 4 and ':' in gateway:  # (RTA_VIA: struct rtvia, AF_INET6 then the address)
        parts.append(attr(18, struct.pack('=H', socket.AF_INET6) + socket.inet_pton(socket.AF_INET6, gateway)))
    elif gateway:
        parts.append(attr(5, socket.inet_pton(af, gateway)))
    if obj.get('dev'):
        parts.append(u32(4, {'v0': 7, 'long-dev': 300}[obj['dev']]))
    if obj.get('prefsrc'):
        parts.append(attr(7, socket.inet_pton(af, obj['prefsrc'])))
    return head + b''.join(parts)


def route(**fields):
    obj = {'dst': '198.19.1.0/24', 'family': 4, 'type': 'unicast', 'table': 'main', 'metric': 0,
           'protocol': 'boot', 'scope': 'global'}
    obj.update(fields)
    return obj


SHAPES = []
for fam, dst, gateway in (
        (4, '198.19.1.0/24', '198.18.0.2'), (4, '198.19.7.7/32', None), (4, 'default', '198.18.0.2'),
        (6, 'fd42:ed6e:1::/64', 'fd42:ed6e::2'), (6, 'fd42:ed6e:1::5/128', None), (6, 'default', 'fd42:ed6e::2'),
        (4, '198.19.2.0/24', 'fd42:ed6e::2')):  # an IPv4 route through an IPv6 gateway: RTA_VIA (RFC 5549)
    for dev, table, metric, protocol, scope, onlink in itertools.product(
            (None, 'v0', 'long-dev'), ('main', 100, 1000), (0, 1024, 7), ('boot', 'static', 'bgp'),
            ('global', 'link'), (False, True)):
        SHAPES.append(route(family=fam, dst=dst, gateway=gateway, dev=dev, table=table, metric=metric,
                            protocol=protocol, scope=scope, onlink=onlink))
SHAPES += [route(type='blackhole', dev=None), route(type='unreachable', family=6, dst='fd42:ed6e:9::/48'),
           route(type='local', dev='v0', scope='host', table='local'),
           route(gateway='198.18.0.2', dev='v0', prefsrc='198.18.0.1'),
           route(gateway='198.18.0.2', dev='v0', protocol=186, scope=253, table=254)]


@pytest.mark.parametrize('action', ['add', 'change', 'delete'])
def test_one_struct_encoding_is_the_attribute_encoding(action):
    res, c = Route(), ctx()
    for obj in SHAPES:
        op = Op(action, before=obj if action != 'add' else None, after=obj if action != 'delete' else None)
        mtype, flags, body = res.encode(c, op)
        assert mtype == (_rtnl.RTM_DELROUTE if action == 'delete' else _rtnl.RTM_NEWROUTE)
        assert flags == {'add': _rtnl.ADD, 'change': _rtnl.REPLACE, 'delete': _rtnl.DELETE}[action]
        assert bytes(body) == by_hand(obj, action), obj
        if action != 'delete':
            dst_len, dst_bytes = 0, b''
            if obj['dst'] != 'default':
                number, dst_len = route_mod._network(obj['dst'], obj['family'])
                dst_bytes = number.to_bytes(4 if obj['family'] == 4 else 16, 'big')
            table = {'main': 254, 'local': 255}.get(obj['table'], obj['table'])
            assert res._encode_attrs(c, op, table, dst_len, dst_bytes)[2] == body, obj


def test_the_common_shapes_take_one_struct_each():
    route_mod._BODIES.clear()
    res, c = Route(), ctx()
    for obj in SHAPES[:200]:
        res.encode(c, Op('add', after=obj))
    # (dst length, gateway length, has dev): IPv4 and IPv6 routes, with and without gateway and dev
    assert set(route_mod._BODIES) <= set(itertools.product((0, 4, 16), (0, 4, 16), (False, True)))
    assert (4, 4, True) in route_mod._BODIES


def test_unknown_device_names_the_route_and_field():
    res, c = Route(), ctx()
    with pytest.raises(EdgenetError) as e:
        res.encode(c, Op('add', after=route(gateway='198.18.0.2', dev='nope')))
    assert e.value.field == 'dev' and 'nope' in str(e.value)


GATHERED = [  # routes as Route's gather returns them (every field the decoder sets)
    {'dst': '198.19.1.0/24', 'family': 4, 'type': 'unicast', 'gateway': '198.18.0.2', 'dev': 'v0', 'onlink': False,
     'table': 'main', 'metric': 0, 'protocol': 'boot', 'scope': 'global'},
    {'dst': '198.19.2.0/24', 'family': 4, 'type': 'unicast', 'gateway': '198.18.9.9', 'dev': 'v0', 'onlink': True,
     'table': 100, 'metric': 7, 'protocol': 'static', 'scope': 'global', 'prefsrc': '198.18.0.1'},
    {'dst': '198.18.0.0/24', 'family': 4, 'type': 'unicast', 'dev': 'v0', 'onlink': False, 'table': 'main',
     'metric': 0, 'protocol': 'kernel', 'scope': 'link', 'prefsrc': '198.18.0.1'},
    {'dst': 'default', 'family': 4, 'type': 'blackhole', 'onlink': False, 'table': 'main', 'metric': 0,
     'protocol': 'boot', 'scope': 'global'},
    {'dst': 'fd42:ed6e:9::/48', 'family': 6, 'type': 'unreachable', 'onlink': False, 'table': 'main',
     'metric': 1024, 'protocol': 'boot', 'scope': 'global'},
    {'dst': '198.18.0.1', 'family': 4, 'type': 'local', 'dev': 'v0', 'onlink': False, 'table': 'local',
     'metric': 0, 'protocol': 'kernel', 'scope': 'host', 'prefsrc': '198.18.0.1'},
    {'dst': '198.19.3.0/24', 'family': 4, 'type': 'unicast', 'onlink': False, 'table': 'main', 'metric': 0,
     'protocol': 'boot', 'scope': 'global',
     'nexthops': [{'gateway': '198.18.0.2', 'dev': 'v0', 'weight': 1, 'onlink': False},
                  {'gateway': '198.18.0.3', 'dev': 'v0', 'weight': 2, 'onlink': False}]},
    {'dst': 'fd42:ed6e:1::/64', 'family': 6, 'type': 'unicast', 'gateway': 'fd42:ed6e::2', 'dev': 'v0',
     'onlink': False, 'table': 'main', 'metric': 1024, 'protocol': 'boot', 'scope': 'global', 'mtu': 1400},
]


@pytest.mark.parametrize('have', GATHERED, ids=lambda h: '%s-%s' % (h['type'], h['dst']))
def test_merged_restating_a_gathered_route_changes_nothing(have):
    # the engine's merged fast path leaves an element that spelled a gathered route as it is, without
    # reconcile (Resource.match_have): that is exact only if reconcile keeps such a target equal to the route
    res = Route()
    assert res.reconcile(have, res.overlay(have, dict(have))) == have


def test_the_ipv6_state_of_devices_is_read_once_and_only_for_those_of_ipv6_next_hops():
    """An IPv6 next hop (of an IPv6 route, or the IPv6 gateway of an IPv4 one) on a device with IPv6 disabled or
    without IPv6 is refused before anything is sent, naming the first route in the plan's order and the field of
    the hop; the devices' IPv6 state is read once per task, only for the devices of IPv6 next hops (not at all for a
    plan of IPv4 routes and deletes)."""
    res, c = Route(), ctx()

    def route(**kw):
        obj = dict({'table': 'main', 'metric': 0, 'type': 'unicast', 'protocol': 'boot', 'scope': 'global',
                    'onlink': False}, **kw)
        return Op('add', None, obj)
    four = [route(family=4, dst='198.18.%d.0/24' % i, dev='v0', gateway='198.18.0.2') for i in range(3)]
    res.validate(c, four + [Op('delete', dict(four[0].after, family=6, dst='fd42:ed6e::/64'), None)], [])
    assert c.nl.ipv6_reads == []
    six = [route(family=6, dst='fd42:ed6e:%d::/64' % i, dev='v0', metric=1024) for i in range(1, 4)]
    via = route(family=4, dst='198.18.9.0/24', nexthops=[{'dev': 'v0', 'gateway': '198.18.0.2', 'weight': 1},
                                                         {'dev': 'long-dev', 'gateway': 'fe80::1', 'weight': 1}])
    res.validate(c, four + six + [via], [])
    assert c.nl.ipv6_reads == [['long-dev', 'v0']]
    for kind, text, words in ((_rtnl.IPV6_DISABLED, 'long-dev has IPv6 disabled', 'IPv6 is disabled on nexthop device'),
                              (_rtnl.IPV6_ABSENT, 'long-dev has no IPv6', 'No such device')):
        c.nl.ipv6 = {'long-dev': (kind, text)}
        with pytest.raises(EdgenetError) as e:
            res.validate(c, four + six + [via], [])
        assert (e.value.obj, e.value.field) == ('route 198.18.9.0/24 table main metric 0', 'nexthops[1].dev')
        assert e.value.msg == '%s; the kernel refuses an IPv6 next hop on it (%s)' % (text, words)
    c.nl.ipv6 = {'v0': (_rtnl.IPV6_MTU, 'v0 has no IPv6 (MTU)')}
    with pytest.raises(EdgenetError) as e:
        res.validate(c, four + six + [via], [])
    assert (e.value.obj, e.value.field) == ('route fd42:ed6e:1::/64 table main metric 1024', 'dev')


OTHER_DSTS = {4: ('198.19.200.0/24', '198.19.201.128/25', '198.19.202.7/32', '198.0.0.0/8', '128.0.0.0/1'),
              6: ('fd42:ed6e:200::/48', 'fd42:ed6e:201::7/128', 'fd42:ed6e:202:1::/64', 'fd00::/8', '8000::/1')}


@pytest.mark.parametrize('action', ['add', 'change', 'delete'])
def test_routes_alike_but_for_their_dst_share_a_template_that_gives_their_own_bytes_and_command(action):
    """encode and render make the request and the command of a route alike in every field but dst to one made
    before from that one's, with the dst put in: the bytes are ip route's (by_hand) and the command is the one made
    word by word, for every shape and dst length."""
    res, c = Route(), ctx()
    for obj in SHAPES:
        if obj['dst'] == 'default':
            continue
        for dst in (obj['dst'],) + OTHER_DSTS[obj['family']]:
            alike = dict(obj, dst=dst)
            op = Op(action, before=alike if action != 'add' else None, after=alike if action != 'delete' else None)
            assert bytes(res.encode(c, op)[2]) == by_hand(alike, action), alike
            assert res.render(c, op) == res._render_one(c, op), alike
    # (one template per shape and action, not one per route)
    assert len(res._templates[1]) <= len(SHAPES) and len(res._templates[2]) <= len(SHAPES)


def test_a_template_is_of_one_task_its_device_indexes_and_netns():
    res = Route()
    first = ctx()
    op = Op('add', after=route(gateway='198.18.0.2', dev='v0'))
    assert res.render(first, op) == ['ip route add 198.19.1.0/24 via 198.18.0.2 dev v0']
    other = Context({'netns': 'ns2', 'state': 'merged', 'config': [], 'table': None, 'family': None},
                    nl=FakeNetlink({9: 'v0'}))
    assert res.render(other, op) == ['ip -n ns2 route add 198.19.1.0/24 via 198.18.0.2 dev v0']
    assert bytes(res.encode(other, op)[2]).endswith(u32(4, 9))


def normalized(items, state='merged'):
    """(what normalize_config makes of ``items``, what it makes of each alone, in a fresh resource)."""
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import Engine

    def run(config):
        c = Context({'netns': None, 'state': state, 'config': config, 'table': None, 'family': None},
                    nl=FakeNetlink({7: 'v0'}))
        return Engine(Route(), c).normalize_config(config, fill_keys=state != 'deleted')
    return run(items), [run([item])[0] for item in items]


def test_elements_alike_but_for_their_dst_normalize_as_each_alone():
    dsts = ('198.19.1.0/24', '198.19.2.1', ' 198.19.3.0/24 ', 'fd42:ed6e:1::/64', 'FD42:ED6E:2:0::1', '198.19.4.0/24',
            '0.0.0.0/0', '::/0', '198.19.5.0/255.255.255.0')
    for rest in ({'gateway': '198.18.0.2', 'dev': 'v0'}, {'dev': 'v0'}, {'dev': 'v0', 'table': 100, 'metric': 5},
                 {'dev': 'v0', 'table': '100', 'protocol': 'static', 'scope': 'link'}, {'type': 'blackhole'}):
        items = [dict(rest, dst=dst) for dst in dsts if not (':' in dst and ('scope' in rest or 'gateway' in rest))]
        together, alone = normalized(items)
        assert together == alone
        assert together[1]['dst'] == '198.19.2.1/32' and together[1]['table'] == {None: 'main', 100: 100, '100': 100}[
            rest.get('table')]
        # a deleted selector selects by the fields it gives: no key fields filled in
        together, alone = normalized(items, state='deleted')
        assert together == alone and all('metric' not in o for o in together if 'metric' not in rest)
    items = [{'dst': dst, 'gateway': 'fd42:ed6e::2'} for dst in dsts if ':' in dst]
    together, alone = normalized(items)
    assert together == alone and together[0]['metric'] == 1024 and together[1]['dst'] == 'fd42:ed6e:2::1/128'


@pytest.mark.parametrize('bad, field', [
    ({'dst': '198.19.9.1/24', 'gateway': '198.18.0.2', 'dev': 'v0'}, 'dst'),  # host bits set
    ({'dst': 'fd42:ed6e:9::/64', 'gateway': '198.18.0.2', 'dev': 'v0'}, 'gateway'),  # families differ
    ({'dst': '198.19.9.0/24', 'gateway': '198.18.0.2', 'dev': 'v0', 'metric': True}, 'metric'),  # 1 == True
])
def test_an_element_alike_to_earlier_ones_is_refused_as_alone(bad, field):
    good = [{'dst': '198.19.%d.0/24' % i, 'gateway': '198.18.0.2', 'dev': 'v0', 'metric': 1} for i in range(3)]
    good += [{'dst': '198.19.%d.0/24' % i, 'gateway': '198.18.0.2', 'dev': 'v0'} for i in range(3, 6)]
    for config in (good + [bad], [bad]):
        with pytest.raises(EdgenetError) as e:
            normalized(config)
        assert e.value.field == field and e.value.obj == 'config[%d]' % (len(config) - 1)
