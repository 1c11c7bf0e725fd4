# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The route dump decoder, without a kernel: the fast path (a struct per message layout, the part of the
object but dst shared) must give exactly what the general decoder gives."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context
from ansible_collections.edgenet.linux.plugins.module_utils.resources import route as R

NAMES = {1: 'lo', 2: 'v1', 3: 'v0'}
AF = {4: socket.AF_INET, 6: socket.AF_INET6}


def msg(fam, dst=None, plen=None, gw=None, oif=3, metric=None, table=254, proto=3, scope=0, rtype=1, flags=0,
        prefsrc=None, mtu=None, hops=None, cacheinfo=False, tos=0):
    """An RTM_NEWROUTE body laid out as the kernel lays it out (table, dst, priority, ...)."""
    af = AF[fam]
    parts = [_rtnl.attr_u32(R.RTA_TABLE, table)]
    if dst is not None:
        parts.append(_rtnl.attr(R.RTA_DST, socket.inet_pton(af, dst)))
    if metric is not None:
        parts.append(_rtnl.attr_u32(R.RTA_PRIORITY, metric))
    if prefsrc:
        parts.append(_rtnl.attr(R.RTA_PREFSRC, socket.inet_pton(af, prefsrc)))
    if gw:
        parts.append(_rtnl.attr(R.RTA_GATEWAY, socket.inet_pton(af, gw)))
    if oif:
        parts.append(_rtnl.attr_u32(R.RTA_OIF, oif))
    if mtu:
        parts.append(_rtnl.attr_nested(R.RTA_METRICS, _rtnl.attr_u32(R.RTAX_MTU, mtu)))
    if hops:
        body = b''
        for hop_gw, hop_oif, weight in hops:
            extra = _rtnl.attr(R.RTA_GATEWAY, socket.inet_pton(af, hop_gw))
            body += R.RTNEXTHOP.pack(R.RTNEXTHOP.size + len(extra), 0, weight - 1, hop_oif) + extra
        parts.append(_rtnl.attr(R.RTA_MULTIPATH, body))
    if cacheinfo:
        parts.append(_rtnl.attr(12, b'\0' * 32))  # RTA_CACHEINFO: not decoded
        parts.append(_rtnl.attr_u8(20, 0))  # RTA_PREF
    if plen is None:
        plen = 0 if dst is None else (32 if fam == 4 else 128)
    head = R.RTMSG.pack(af, plen, 0, tos, table if table < 256 else 252, proto, scope, rtype, flags)
    return head + b''.join(parts)


MESSAGES = [
    msg(4, '198.19.0.1', gw='198.18.0.2'),
    msg(4, '198.19.0.2', gw='198.18.0.2'),
    msg(4, '198.19.0.3', metric=7),                  # same length and family as the two above, other attributes
    msg(4, '198.19.0.4', gw='198.18.0.3'),
    msg(4, '198.19.0.5', gw='198.18.0.2', proto=4),  # same layout, other protocol
    msg(4, '198.19.1.0', plen=24, gw='198.18.0.2', table=1000),
    msg(4, '198.18.0.0', plen=24, proto=2, scope=253, prefsrc='198.18.0.1'),
    msg(4, None, gw='198.18.0.2', metric=100),       # default
    msg(4, '198.19.2.0', plen=24, gw='198.18.0.2', mtu=1400),
    msg(4, '198.19.3.0', plen=24, oif=0, hops=[('198.18.0.2', 3, 1), ('198.18.0.3', 3, 2)]),
    msg(4, '198.19.4.0', plen=24, oif=1, rtype=6),   # blackhole: no device
    msg(4, '198.19.0.9', gw='198.18.0.2', flags=R.RTM_F_CLONED),
    msg(4, '198.19.0.10', gw='198.18.0.2', flags=R.RTNH_F_ONLINK),
    msg(6, 'fd42:ed6e:1::1', gw='fd42:ed6e::2', metric=1024, cacheinfo=True),
    msg(6, 'fd42:ed6e:1::2', gw='fd42:ed6e::2', metric=1024, cacheinfo=True),
    msg(6, 'fd42:ed6e:1::3', gw='fd42:ed6e::3', metric=1024, cacheinfo=True),
    msg(6, 'fd42:ed6e:1::', plen=64, metric=256, proto=2, cacheinfo=True),
    msg(6, 'fe80::', plen=64, metric=256, proto=2, cacheinfo=True),
    msg(6, None, gw='fd42:ed6e::2', metric=1024, cacheinfo=True),
    msg(6, 'fd42:ed6e:2::1', oif=1, metric=1024, rtype=7, cacheinfo=True),
    msg(6, 'fe80::', plen=64, metric=1024, cacheinfo=True),  # not proto kernel, but inside fe80::/64
    msg(6, 'ff02::', plen=16, metric=1024, cacheinfo=True),  # inside ff00::/8
    msg(6, 'fec0::', plen=10, metric=1024, cacheinfo=True),  # starts with fe, but no kernel prefix
    msg(4, '198.19.0.6', gw='198.18.0.2', tos=0x10),  # a TOS: not a route of the resource
]


def spans(messages, seq=1):
    """One datagram of the messages, each behind an nlmsghdr: (buffer, [(start, end)])."""
    data, out = b'', []
    for i, body in enumerate(messages):
        out.append((len(data) + 16, len(data) + 16 + len(body)))
        data += _rtnl.HDR.pack(16 + len(body), _rtnl.RTM_NEWROUTE, _rtnl.NLM_F_MULTI, seq + i, 4242)
        data += body
    return memoryview(bytearray(data)), out


def test_fast_decoder_equals_the_general_one():
    buf, where = spans(MESSAGES * 3)
    protected = R.Route().protected
    general = [R.Route._from_msg(buf, start, end, NAMES) for start, end in where]
    decoder = R._Decoder(NAMES, protected)
    decoded = [decoder.decode(buf, start, end) for start, end in where]
    fast = [obj for obj, _owned in decoded]
    assert fast == general
    # the kernel's routes are told apart as Route.protected does
    assert [owned for _obj, owned in decoded] == [obj is not None and protected(obj) for obj in general]
    assert [i for i, (_o, owned) in enumerate(decoded[:len(MESSAGES)]) if owned] == [6, 16, 17, 20, 21]
    assert [list(o) for o in fast if o] == [list(o) for o in general if o]  # field order too
    assert general[2] == {'dst': '198.19.0.3/32', 'family': 4, 'type': 'unicast', 'dev': 'v0', 'onlink': False,
                          'table': 'main', 'metric': 7, 'protocol': 'boot', 'scope': 'global'}
    assert general[4]['protocol'] == 'static' and general[5]['table'] == 1000
    assert general[11] is None and general[12]['onlink'] is True
    assert general[8]['mtu'] == 1400 and len(general[9]['nexthops']) == 2
    assert general[7]['dst'] == general[18]['dst'] == 'default'
    # each route is its own object (nobody may see a change made to another one)
    assert fast[len(MESSAGES)] == fast[0] and fast[len(MESSAGES)] is not fast[0]


def test_the_layout_check_tells_apart_messages_of_one_length():
    a = msg(4, '198.19.0.1', gw='198.18.0.2')
    b = msg(4, '198.19.0.1', metric=0x020012c6)  # a metric whose bytes are the gateway's
    assert len(a) == len(b)
    buf, where = spans([a, b, a, b])
    decoder = R._Decoder(NAMES, R.Route().protected)
    got = [decoder.decode(buf, start, end)[0] for start, end in where]
    assert got == [R.Route._from_msg(buf, start, end, NAMES) for start, end in where]
    assert 'gateway' in got[0] and 'gateway' not in got[1] and got[1]['metric'] == 0x020012c6


class FakeNl(object):
    def __init__(self, messages):
        self.messages = messages
        self.seq = 1
        self._links = ({'lo': 1, 'v1': 2, 'v0': 3}, NAMES)

    def links(self):
        return self._links

    def rdump(self, kind, body, what):
        assert kind == _rtnl.RTM_GETROUTE
        buf, where = spans(self.messages, self.seq)
        self.seq += 1000  # the next dump has other sequence numbers (and port ids may differ)
        for start, end in where:
            yield _rtnl.RTM_NEWROUTE, buf, start, end


def test_a_second_gather_shows_what_changed():
    nl = FakeNl(list(MESSAGES))
    ctx = Context({'state': 'merged', 'config': [], 'table': None, 'family': None}, nl=nl)
    route = R.Route()
    before = route.gather(ctx)
    nl.messages[1] = msg(4, '198.19.0.2', gw='198.18.0.2', proto=4)
    after = route.gather(ctx)
    assert len(before) == len(after)
    buf, where = spans(nl.messages)
    fresh = [R.Route._from_msg(buf, start, end, NAMES) for start, end in where]
    assert after == [o for o in fresh if o is not None and not route.protected(o)]
    changed = [i for i, (b, a) in enumerate(zip(before, after)) if b != a]
    assert changed == [1] and after[1]['protocol'] == 'static' and before[1]['protocol'] == 'boot'
    # kernel-owned routes are still kept apart
    assert any(o['dst'] == 'fe80::/64' for o in route._hidden.values())


def test_a_route_with_a_tos_is_never_taken_for_the_route_without_one():
    """The fast path shares the decoded object of one layout between routes with the same values but dst: a route
    with a TOS, whatever comes first, is not a route of the resource (None), and never the one without a TOS."""
    plain = [msg(4, '198.19.0.%d' % i, gw='198.18.0.2') for i in (1, 2)]
    tos = [msg(4, '198.19.0.%d' % i, gw='198.18.0.2', tos=t) for i, t in ((1, 0x10), (3, 0x08))]
    for messages in (plain + tos, tos + plain, [plain[0], tos[0], plain[1], tos[1]]):
        buf, where = spans(messages)
        decoder = R._Decoder(NAMES, R.Route().protected)
        got = [decoder.decode(buf, start, end) for start, end in where]
        assert got == [(R.Route._from_msg(buf, start, end, NAMES), False) for start, end in where]
        assert sorted(obj['dst'] for obj, _owned in got if obj) == ['198.19.0.1/32', '198.19.0.2/32']
    # nor in a gather: not shown, not kernel-owned (a route without a TOS may still be added with its key)
    nl = FakeNl(plain + tos)
    route = R.Route()
    ctx = Context({'state': 'merged', 'config': [], 'table': None, 'family': None}, nl=nl)
    assert [obj['dst'] for obj in route.gather(ctx)] == ['198.19.0.1/32', '198.19.0.2/32']
    assert route._hidden == {} and len(route._all) == 2


def _unmodelled_messages():
    """Routes with what the resource does not model (realm, metrics but mtu, an IPv6 preference and expiry), each
    between plain routes of the same family and length (which must keep their shared fast path)."""
    flow = _rtnl.attr_u32(R.RTA_FLOW, 7)
    metrics = _rtnl.attr_nested(R.RTA_METRICS, _rtnl.attr_u32(R.RTAX_LOCK, 1 << R.RTAX_MTU),
                                _rtnl.attr_u32(R.RTAX_MTU, 1400), _rtnl.attr_u32(8, 1400), _rtnl.attr_u32(11, 10))
    plain4 = msg(4, '198.19.5.1', gw='198.18.0.2')
    realm = plain4[:-8] + flow + plain4[-8:]  # (a message shape of its own: header, then payload)
    realm = realm.replace(b'\xc6\x13\x05\x01', b'\xc6\x13\x05\x02')
    with_metrics = msg(4, '198.19.5.3', gw='198.18.0.2') + metrics
    plain6 = msg(6, 'fd42:ed6e:5::1', gw='fd42:ed6e::2', metric=1024, cacheinfo=True)
    high = plain6[:-8] + _rtnl.attr_u8(R.RTA_PREF, 1)
    high = high.replace(socket.inet_pton(socket.AF_INET6, 'fd42:ed6e:5::1'),
                        socket.inet_pton(socket.AF_INET6, 'fd42:ed6e:5::2'))
    ci = plain6.index(_rtnl.NLA.pack(36, 12))
    expiring = bytearray(plain6)
    expiring[ci + 12:ci + 16] = _rtnl.I32.pack(30000)  # rta_expires, clock ticks
    expiring = bytes(expiring).replace(socket.inet_pton(socket.AF_INET6, 'fd42:ed6e:5::1'),
                                       socket.inet_pton(socket.AF_INET6, 'fd42:ed6e:5::3'))
    multipath = msg(4, '198.19.5.4', oif=0, hops=[('198.18.0.2', 3, 1), ('198.18.0.3', 3, 2)]) + flow
    return [plain4, realm, plain4, with_metrics, plain6, high, plain6, expiring, plain6, multipath], flow


def test_unmodelled_attributes_are_kept_aside_and_plain_routes_keep_the_fast_path():
    messages, flow = _unmodelled_messages()
    for order in (messages, messages[::-1]):
        buf, where = spans(order)
        keep = {}
        decoder = R._Decoder(NAMES, R.Route().protected, keep)
        got = [decoder.decode(buf, start, end) for start, end in where]
        assert got == [(R.Route._from_msg(buf, start, end, NAMES), False) for start, end in where]
        assert sorted(k[2] for k in keep) == ['198.19.5.2/32', '198.19.5.3/32', '198.19.5.4/32', 'fd42:ed6e:5::2/128',
                                              'fd42:ed6e:5::3/128']
        assert keep[('main', 4, '198.19.5.2/32', 0)] == (flow, (), None, None)
        top, kept, _nhid, _hops = keep[('main', 4, '198.19.5.3/32', 0)]
        assert top == b'' and [k for k, _raw in kept] == [R.RTAX_LOCK, 8, 11]  # mtu is the resource's
        assert keep[('main', 6, 'fd42:ed6e:5::2/128', 1024)] == (_rtnl.attr_u8(R.RTA_PREF, 1), (), None, None)
        assert keep[('main', 6, 'fd42:ed6e:5::3/128', 1024)][0] == _rtnl.attr_u32(
            R.RTA_EXPIRES, 30000 // R._clock_ticks())
        # the plain routes took the fast path: one shared object per family
        assert len(decoder.rests) == 2


def test_a_change_sends_and_renders_what_it_keeps():
    messages, _flow = _unmodelled_messages()
    nl = FakeNl(messages)
    ctx = Context({'state': 'merged', 'config': [], 'table': None, 'family': None}, nl=nl)
    route = R.Route()
    have = dict((o['dst'], o) for o in route.gather(ctx))
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op

    def change(dst, **fields):
        before = have[dst]
        op = Op('change', before, dict(before, **fields))
        return route.encode(ctx, op), route.render(ctx, op), route.render(ctx, op.inverse())
    (_t, _f, body), (cmd,), (undo,) = change('198.19.5.3/32', mtu=1300)
    found = _rtnl.attrs(body, R.RTMSG.size, len(body))
    metrics = _rtnl.attrs(body, *found[R.RTA_METRICS])
    assert sorted(metrics) == [R.RTAX_LOCK, R.RTAX_MTU, 8, 11]
    assert _rtnl.get_u32(body, metrics[R.RTAX_MTU]) == 1300 and _rtnl.get_u32(body, metrics[8]) == 1400
    assert cmd == 'ip route replace 198.19.5.3/32 via 198.18.0.2 dev v0 mtu lock 1300 advmss 1400 initcwnd 10'
    assert undo == 'ip route replace 198.19.5.3/32 via 198.18.0.2 dev v0 mtu lock 1400 advmss 1400 initcwnd 10'
    # without the mtu, its lock goes too
    (_t, _f, body), (cmd,), _undo = change('198.19.5.3/32', mtu=None)
    assert 'mtu' not in cmd and 'lock' not in cmd
    (_t, _f, body), (cmd,), _undo = change('198.19.5.2/32', protocol='static')
    assert _rtnl.get_u32(body, _rtnl.attrs(body, R.RTMSG.size, len(body))[R.RTA_FLOW]) == 7
    assert cmd == 'ip route replace 198.19.5.2/32 via 198.18.0.2 dev v0 proto static realm 7'
    (_t, _f, body), (cmd,), _undo = change('fd42:ed6e:5::2/128', protocol='static')
    assert cmd.endswith('proto static pref high')
    (_t, _f, body), (cmd,), _undo = change('fd42:ed6e:5::1/128', protocol='static')  # plain: nothing added
    assert cmd == 'ip -6 route replace fd42:ed6e:5::1/128 via fd42:ed6e::2 dev v0 proto static'
    assert sorted(_rtnl.attrs(body, R.RTMSG.size, len(body))) == sorted(
        [R.RTA_DST, R.RTA_GATEWAY, R.RTA_OIF, R.RTA_PRIORITY, R.RTA_TABLE])
    # a multipath route: its nexthops end the line (and the scope iproute2 derives is still not spelled out)
    (_t, _f, body), (cmd,), _undo = change('198.19.5.4/32', protocol='static')
    assert cmd == ('ip route replace 198.19.5.4/32 proto static realm 7 nexthop via 198.18.0.2 dev v0 weight 1 '
                   'nexthop via 198.18.0.3 dev v0 weight 2')
    assert sorted(_rtnl.attrs(body, R.RTMSG.size, len(body))) == sorted(
        [R.RTA_DST, R.RTA_TABLE, R.RTA_PRIORITY, R.RTA_FLOW, R.RTA_MULTIPATH])
    # a delete names the key only
    (_t, _f, body) = route.encode(ctx, Op('delete', have['198.19.5.2/32'], None))
    assert R.RTA_FLOW not in _rtnl.attrs(body, R.RTMSG.size, len(body))
