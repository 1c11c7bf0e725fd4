# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 and IPv6 routes (RTM_NEWROUTE / RTM_DELROUTE).

A route is identified by (table, family, dst, metric).  ``family`` is part of
the key because ``default`` names both the IPv4 and the IPv6 default route.
The kernel keeps at most one IPv6 route per (table, dst, metric): several
gateways for one IPv6 destination exist only as one multipath route, which
this resource describes as one object with ``nexthops``.  IPv4 has the same
shape here (a second route with the same key would need ``ip route append``,
which this resource does not make). A key that something else made twice (with
``append`` or ``prepend``, in either family) is left alone when one of its routes
is what the task asks, and any write to it is refused (``Engine.plan``): a
replace or delete names the key, and the kernel takes the first route of it.

Routes the kernel owns (``proto kernel``/``ra``/``redirect``/``dhcp``, the
local/broadcast/multicast/anycast routes of table ``local``, IPv6 ``fe80::/64``
and ``ff00::/8``, and the route cache) are left out of ``gathered``/``before``/
``after`` and are never changed or deleted.

So are IPv4 routes with a TOS (``ip route add ... tos 0x10``), and IPv6 routes
with a source prefix (``ip -6 route add ... from PREFIX``). The kernel tells
them apart from the route of the same key without one (TOS 0, no source
prefix), which is what every write of this resource names: taken as that
route, one was reported present where there was no such route, and a delete
of the key was planned once per route (the second one failed).

Unmodelled attributes. A write replaces the whole route (NLM_F_REPLACE): what
the request does not carry, the kernel's route loses. So a write of a route the
gather read carries over what that route has and the resource does not model,
in every state (a task cannot name it): its other top-level attributes (realm,
encap, an IPv6 preference, ...; an IPv6 expiry as the seconds left), its metrics
but mtu (with their locks; mtu's lock only with an mtu), its nexthop object
while the next hops asked for are the ones the kernel shows for it, and what each
next hop of a multipath route has beyond its gateway (a realm, an encap), for the
next hop asked for with the same dev and gateway. The gather
keeps them aside, by key (``Route._extras``), never in the objects: before, after
and the diff show the options only, and ``render`` spells them for the command.
Only the routes that have any pay for it: their messages never get a layout of
``_Decoder``'s fast path and take the general decoder, which records them. A
rollback re-makes a route of the same key, so it gets them back too.

The kernel refuses an IPv6 next hop (of an IPv6 route, or an IPv6 gateway of an IPv4 one) on a device with IPv6
disabled (``disable_ipv6``) or without IPv6 (an MTU below 1280 removes it): validate() refuses it first
(``Route._refuse_without_ipv6``), from the devices' IFLA_AF_SPEC in one link dump of the task's namespace, read only
when the plan has such a next hop, and only for the devices of those; per route, that costs a dict lookup. Check mode
warns and predicts instead: an earlier task of the play may give the device IPv6 (``_rtnl.ipv6_remedy``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import operator
import os
import socket
import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource, index_by, spells
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_INET, AF_INET6 = 2, 10
RTM_F_CLONED = 0x200
RTM_F_FIB_MATCH = 0x2000
RTNH_F_ONLINK = 4
RT_SCOPE_NOWHERE = 255
IP6_RT_PRIO_USER = 1024
# rtm_type values (linux/rtnetlink.h) as iproute2 prints them
TYPES = {1: 'unicast', 2: 'local', 3: 'broadcast', 4: 'anycast', 5: 'multicast', 6: 'blackhole',
         7: 'unreachable', 8: 'prohibit', 9: 'throw', 10: 'nat', 11: 'xresolve'}
SETTABLE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast',
                  'multicast']
#: the IPv4 types of route that iproute2 gives scope link (and the kernel refuses of a wider scope, but multicast)
LINK_SCOPE_TYPES = ('broadcast', 'anycast', 'multicast')
#: the types of route without a next hop (the kernel reports the IPv6 ones on lo)
NO_NEXTHOP_TYPES = ('blackhole', 'unreachable', 'prohibit', 'throw')
KERNEL_PROTOCOLS = ('kernel', 'ra', 'redirect', 'dhcp')
KERNEL_LOCAL_TYPES = ('local', 'broadcast', 'anycast', 'multicast')
# IPv6 prefixes the kernel owns: fe80::/64 and ff00::/8, as (address as int, prefix length)
V6_KERNEL_NETS = ((0xfe80 << 112, 64), (0xff << 120, 8))
RTMSG = struct.Struct('=BBBBBBBBI')      # struct rtmsg
RTNEXTHOP = struct.Struct('=HBBi')       # struct rtnexthop
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_METRICS, RTA_MULTIPATH, RTA_TABLE = (
    1, 4, 5, 6, 7, 8, 9, 15)
RTA_SRC, RTA_IIF, RTA_FLOW, RTA_CACHEINFO, RTA_MFC_STATS, RTA_PREF, RTA_EXPIRES, RTA_PAD, RTA_UID = (
    2, 3, 11, 12, 17, 20, 23, 24, 25)
RTA_TTL_PROPAGATE, RTA_NH_ID = 26, 30
RTA_VIA = 18  # (struct rtvia: a next hop's address of another family, u16 family then the address)
_VIA6 = struct.Struct('=H').pack(10)  # (AF_INET6: the head of an IPv6 rtvia)
RTAX_LOCK, RTAX_MTU = 1, 2
#: attributes of a dumped route that say nothing a request could set (statistics, padding, a get's answer): never
#: carried over. Every other attribute the resource does not model is (see the module's docstring)
_OUTPUT_ONLY = frozenset((RTA_SRC, RTA_IIF, RTA_CACHEINFO, RTA_MFC_STATS, RTA_PAD, RTA_UID))
#: the metrics (RTAX_*) other than mtu, with the word ``ip route`` takes each with
METRIC_NAMES = {3: 'window', 4: 'rtt', 5: 'rttvar', 6: 'ssthresh', 7: 'cwnd', 8: 'advmss', 9: 'reordering',
                10: 'hoplimit', 11: 'initcwnd', 12: 'features', 13: 'rto_min', 14: 'initrwnd', 15: 'quickack',
                16: 'congctl', 17: 'fastopen_no_cookie'}
#: RTA_PREF values (ICMPV6_ROUTER_PREF_*) as iproute2 names them; 0 (medium) is every route's default
PREFS = {1: 'high', 3: 'low'}
#: top-level attributes ``ip route`` has no word for, named in the comment a rendered command ends with
_UNSAYABLE = {19: 'newdst', 21: 'encap', 22: 'encap'}
TYPE_NUMBERS = dict((v, k) for k, v in TYPES.items())
#: the number of a canonical protocol, scope or table name (the inverse of _norm's maps)
_PROTOCOL_NUMBERS = dict((v, k) for k, v in _norm.PROTOCOLS.items())
_SCOPE_NUMBERS = dict((v, k) for k, v in _norm.SCOPES.items())
_TABLE_NUMBERS = dict((v, k) for k, v in _norm.TABLES.items())
#: (dst length, gateway length, has dev) -> the struct of a whole request body of that shape: rtmsg, then
#: RTA_DST, RTA_TABLE, RTA_PRIORITY, RTA_GATEWAY and RTA_OIF, each with its header (the order ip route sends)
_BODIES = {}
FIELD_ORDER = ('dst', 'family', 'type', 'gateway', 'dev', 'onlink', 'nexthops', 'table', 'metric', 'protocol',
               'scope', 'prefsrc', 'mtu')


_NETWORKS = {}
#: the fields of a config element that normalize may take from an element alike but for its dst (Route._alike)
_ALIKE_FIELDS = frozenset(('dst', 'gateway', 'dev', 'table', 'metric', 'protocol', 'scope', 'type', 'onlink'))
_DEFAULTS = {}  # (Route.defaults)
#: the fields but dst that a route's request and command are made of (besides prefsrc, mtu and nexthops, whose
#: routes have no template): Route.encode, Route.render
_SHAPE_FIELDS = ('family', 'table', 'metric', 'protocol', 'scope', 'type', 'onlink', 'gateway', 'dev')
_SHAPE_SET = operator.itemgetter(*_SHAPE_FIELDS[:7])  # (the ones every planned or gathered route has)
_DEFAULT_DSTS = frozenset(('default', '0.0.0.0/0', '::/0', '0/0'))
#: the states whose task is about the routes its config names (Route._wanted)
_NAMING_STATES = ('merged', 'replaced', 'deleted')
#: the fields of a config element that Route.match_have compares with a gathered route
_FAST_FIELDS = frozenset(('dst', 'gateway', 'dev', 'table', 'metric', 'protocol', 'family'))


_TICKS = []


def _clock_ticks():
    """The kernel's USER_HZ (clock ticks per second, the unit of an RTA_CACHEINFO expiry)."""
    if not _TICKS:
        try:
            _TICKS.append(os.sysconf('SC_CLK_TCK') or 100)
        except (ValueError, OSError, AttributeError):
            _TICKS.append(100)
    return _TICKS[0]


def _network(dst, family):
    """``(address as int, prefix length)`` of a route's dst (memoized: every sort needs it)."""
    net = _NETWORKS.get(dst)
    if net is None:
        if dst == 'default':
            return 0, 0
        _fam, number, plen = _norm.prefix_int(dst)
        net = _NETWORKS[dst] = (number, plen)
    return net


def _is_link_local(address):
    """Whether ``address`` (text, or None) is an IPv6 link-local address (fe80::/10)."""
    return bool(address) and ':' in address and (_norm.addr_int(address) >> 118) == 0x3FA


def _via_other(family, gateway):
    """Whether ``gateway`` is a next hop of the other family: an IPv4 route's IPv6 gateway (RFC 5549, RTA_VIA)."""
    return family == 4 and ':' in gateway


def _gateway_attr(family, gateway):
    """The RTA_GATEWAY of a next hop, or for an IPv6 one of an IPv4 route the RTA_VIA (struct rtvia) the kernel
    takes for it."""
    raw = _rtnl.addr_bytes(gateway)[1]
    if _via_other(family, gateway):
        return _rtnl.attr(RTA_VIA, _VIA6 + raw)
    return _rtnl.attr(RTA_GATEWAY, raw)


def _via(family, gateway):
    """The words of a next hop's gateway, as ``ip route`` takes them (``via inet6 ADDR`` for an IPv4 route's IPv6
    one)."""
    return ['via', 'inet6', gateway] if _via_other(family, gateway) else ['via', gateway]


def _contains(net, family, address):
    number, plen = net
    bits = 32 if family == 4 else 128
    return (address ^ number) >> (bits - plen) == 0 if plen else True


# attributes the layouts of _Decoder decode: addresses (raw bytes) and u32 values; RTA_METRICS and
# RTA_MULTIPATH (nested), and every attribute the resource does not model but carries over (RTA_FLOW, ...; an
# RTA_PREF other than medium, an RTA_CACHEINFO with an expiry), make a message take the general decoder
_ADDR_ATTRS = (RTA_DST, RTA_GATEWAY, RTA_PREFSRC)
_U32_ATTRS = (RTA_OIF, RTA_PRIORITY, RTA_TABLE)
_NESTED_ATTRS = (RTA_METRICS, RTA_MULTIPATH)
_U64 = struct.Struct('=Q')
#: (family byte, body length) -> layouts seen: [(struct, header getter, headers, dst index, rest getter)]
_LAYOUTS = {}
_MISSING = object()
_NOTHING = (None, False)
_V6_KERNEL_HEADS = ('fe', 'ff')  # fe80::/64 and ff00::/8 print so; see Route.protected


def _layout(buf, start, end):
    """A layout for messages shaped like ``buf[start:end]`` (the same attributes, the same lengths), or None.

    The layout is one ``struct`` for the whole body: the rtmsg, then per attribute its header as one u32
    (checked against this message's) and its payload (an address as bytes, a u32, or skipped). Only a message
    without unmodelled attributes to carry over has one (None for the others: the general decoder records
    what they carry, route by route): an IPv6 route's RTA_PREF (the whole attribute, one u64) and the expiry in
    its RTA_CACHEINFO are checked too, as their header is, against this message's (medium, none)."""
    # rest: every field of the rtmsg, and below, every attribute value but dst; with the tos and src_len, a route
    # with a TOS or a source prefix never shares the decoded object (None: not the resource's) of the route
    # without one
    fmt, headers, dst_at, rest = ['=BBBBBBBBI'], [], None, [0, 1, 2, 3, 4, 5, 6, 7, 8]
    gateway = False  # (whether the layout has RTA_GATEWAY: its routes are no device routes, _Decoder.wanted)
    at, offset = 9, start + RTMSG.size
    unpack_u32 = _rtnl.U32.unpack_from
    while offset + 4 <= end:
        length, kind = _rtnl.NLA.unpack_from(buf, offset)
        if length < 4 or offset + length > end:
            return None
        size, pad = length - 4, ((length + 3) & ~3) - length
        code = kind & 0x3fff
        if code == RTA_PREF and length == 5 and offset + 8 <= end:
            if buf[offset + 4] or any(buf[offset + 5:offset + 8]):
                return None  # a preference to carry over
            fmt.append('Q')
            headers.append((at, _U64.unpack_from(buf, offset)[0]))
            at += 1
            offset += 8
            continue
        fmt.append('I')
        headers.append((at, unpack_u32(buf, offset)[0]))
        at += 1
        if code in _NESTED_ATTRS or (code not in _OUTPUT_ONLY and code not in _ADDR_ATTRS and code not in _U32_ATTRS):
            return None
        if code in _ADDR_ATTRS and size in (4, 16):
            fmt.append('%ds' % size)
            if code == RTA_DST:
                dst_at = at
            else:
                rest.append(at)
                gateway = gateway or code == RTA_GATEWAY
            at += 1
        elif code in _U32_ATTRS and size == 4:
            fmt.append('I')
            rest.append(at)
            at += 1
        elif code == RTA_CACHEINFO and size >= 12:
            if unpack_u32(buf, offset + 12)[0]:
                return None  # an expiry to carry over
            fmt.append('8xI%dx' % (size - 12))
            headers.append((at, 0))
            at += 1
        elif size:
            fmt.append('%dx' % size)
        if pad:
            fmt.append('%dx' % pad)
        offset += length + pad
    layout = struct.Struct(''.join(fmt))
    if offset != end or layout.size != end - start or len(headers) < 2:
        return None
    return (layout, operator.itemgetter(*(i for i, _v in headers)), tuple(v for _i, v in headers), dst_at,
            operator.itemgetter(*rest), gateway)


class _Decoder(object):
    """Decodes the messages of one route dump, the fast way.

    A dump of 10,000 routes has a handful of message layouts and a handful of distinct objects but for
    their ``dst``.  So each layout is decoded by one ``struct`` (its attribute headers checked), and the
    rest of the object, the same for every route with the same attributes but ``dst``, is decoded once
    (by the general decoder) and shared: each route costs one unpack, one address conversion and one
    dict.  (A memo of message bytes -> object, so that the real run's second dump decodes only the
    routes that changed, was measured and dropped: copying and hashing 20,000 messages and keeping
    them cost more CPU than the decoding it saved, on the re-check and on the change of 1,000 alike.)
    """

    def __init__(self, names, protected, keep=None):
        self.names = names
        self.protected = protected
        #: the dsts a task names (:meth:`Route._wanted`; the gather sets them part way through its dump), or None: a
        #: route that is neither one of them nor a device route is not decoded (it is nothing the task is about, and
        #: nothing validate looks up)
        self.wanted = None
        self.passed = 0  # routes passed over by the filter (Route.dumped)
        #: {key: what the route carries that the resource does not model} of the routes that carry any (not the
        #: kernel's own), when given: filled by the general decoder, the only one such routes take (see _layout)
        self.keep = keep
        # the layout's values but dst -> (object without dst, family, '/len', kernel-owned whatever the
        # dst, IPv6) or None (not a route of this resource)
        self.rests = {}

    def _general(self, buf, start, end):
        if self.keep is None:
            obj = Route._from_msg(buf, start, end, self.names)
            return obj, obj is not None and self.protected(obj)
        found = []
        obj = Route._from_msg(buf, start, end, self.names, found)
        owned = obj is not None and self.protected(obj)
        if found and not owned:
            self.keep[(obj['table'], obj['family'], obj['dst'], obj['metric'])] = found[0]
        return obj, owned

    def general(self, buf, start, end):
        """:meth:`_general`, leaving out what :attr:`wanted` leaves out (the messages of no layout: multipath,
        metrics...)."""
        obj, owned = self._general(buf, start, end)
        return _NOTHING if self._passes(obj) else (obj, owned)

    def _passes(self, obj):
        """Whether the decoded route ``obj`` is one :attr:`wanted` leaves out (counted in :attr:`passed`)."""
        if (obj is None or self.wanted is None or _device_route(obj) or obj.get('type') == 'local'
                or not _unwanted(obj, self.wanted)):
            return False
        self.passed += 1
        return True

    def decode(self, buf, start, end):
        """``(object or None, whether the kernel owns it)`` of one message."""
        where = (buf[start], end - start)
        layouts = _LAYOUTS.get(where)
        if layouts is None:
            layouts = _LAYOUTS[where] = []
        for layout, headers, expected, dst_at, rest, gateway in layouts:
            values = layout.unpack_from(buf, start)
            if headers(values) == expected:
                break
        else:
            if len(layouts) >= 8:
                return self.general(buf, start, end)
            found = _layout(buf, start, end)
            if found is None:
                return self.general(buf, start, end)
            layouts.append(found)
            layout, headers, expected, dst_at, rest, gateway = found
            values = layout.unpack_from(buf, start)
        wanted = self.wanted
        if wanted is not None and gateway and dst_at is not None and (
                4 if values[0] == AF_INET else 6, values[1], int.from_bytes(values[dst_at], 'big')) not in wanted:
            self.passed += 1
            return _NOTHING  # (a route through a gateway that the task does not name: not decoded)
        others = rest(values)
        shared = self.rests.get(others, _MISSING)
        if shared is _MISSING:
            obj, owned = self._general(buf, start, end)
            shared = None
            if obj is not None:
                base = dict((k, v) for k, v in obj.items() if k != 'dst')
                # kernel-owned by protocol or type; an IPv6 route may also be by its dst (fe80::/64 ...)
                shared = (base, values[0], '/%d' % values[1], self.protected(dict(base, dst='default')),
                          values[0] == AF_INET6, not _device_route(base))
            self.rests[others] = shared
            return _NOTHING if self._passes(obj) else (obj, owned)
        if shared is None:
            return _NOTHING
        base, family, suffix, owned, inet6, other = shared
        if other and self.wanted is not None and (not values[1] or dst_at is not None) and (
                6 if inet6 else 4, values[1], int.from_bytes(values[dst_at], 'big') if values[1] else 0) not in self.wanted:
            self.passed += 1
            return _NOTHING
        if not values[1]:
            obj = {'dst': 'default', **base}
        elif dst_at is None:
            obj = {'dst': None, **base}
        else:
            raw = values[dst_at]
            dst = socket.inet_ntop(family, raw) + suffix
            if dst not in _NETWORKS:  # the sort key, now that the bytes are at hand
                _NETWORKS[dst] = (int.from_bytes(raw, 'big'), values[1])
            obj = {'dst': dst, **base}
            if inet6 and not owned and dst[:2] in _V6_KERNEL_HEADS:
                owned = self.protected(obj)
        return obj, owned


def _device_route(obj):
    """Whether ``obj`` (a route, or the fields of one but its dst) is a route :meth:`Route._gateway_dev` may look
    up: unicast, through a device, no gateway."""
    return bool(obj.get('dev')) and not obj.get('gateway') and not obj.get('nexthops') and obj.get(
        'type', 'unicast') == 'unicast'


def _unwanted(obj, wanted):
    """Whether the dst of the decoded route ``obj`` is none of ``wanted`` (``(4 or 6, prefix length, network)``)."""
    dst = obj.get('dst')
    if dst is None:
        return False
    number, plen = _network(dst, obj.get('family'))
    return (obj.get('family'), plen, number) not in wanted


def _payloads(data):
    """``{type: payload}`` of the attributes in ``data`` (bytes)."""
    return dict((kind, data[a:b]) for kind, (a, b) in _rtnl.attrs(data, 0, len(data)).items())


def _realm_words(found):
    """The iproute2 words of the realm in ``found`` (attribute type: payload), if any."""
    if RTA_FLOW in found and len(found[RTA_FLOW]) == 4:
        flow = _rtnl.U32.unpack_from(found[RTA_FLOW])[0]
        return ['realms', '%d/%d' % (flow >> 16, flow & 0xffff)] if flow >> 16 else ['realm', flow & 0xffff]
    return []


class Route(Resource):
    name = 'route'
    bulk = True
    field_order = FIELD_ORDER
    keys = ('table', 'family', 'dst', 'metric')
    duplicate_field = 'dst'  # (the field a duplicate key error names)
    default_keys = ('table', 'family', 'metric')  # (the ones defaults() fills; normalize's _alike gives them)
    required = ('dst',)
    device_fields = ('dev', 'nexthops[].dev')  # (by an altname too)
    options = {
        'dst': {'type': 'str'},
        'family': {'type': 'int', 'choices': [4, 6]},
        'type': {'type': 'str', 'choices': SETTABLE_TYPES},
        'gateway': {'type': 'str'},
        'dev': {'type': 'str'},
        'onlink': {'type': 'bool'},
        'nexthops': {'type': 'list', 'elements': 'dict', 'options': {
            'gateway': {'type': 'str'},
            'dev': {'type': 'str', 'required': True},
            'weight': {'type': 'int'},
            'onlink': {'type': 'bool'},
        }},
        'table': {'type': 'raw'},
        'metric': {'type': 'int'},
        'protocol': {'type': 'raw'},
        'scope': {'type': 'raw'},
        'prefsrc': {'type': 'str', 'aliases': ['src']},
        'mtu': {'type': 'int'},
    }
    scope_options = {
        'table': {'type': 'raw'},
        'family': {'type': 'int', 'choices': [4, 6]},
    }
    # the kernel picks the device of a gateway route given without one
    volatile = ('dev',)

    def __init__(self):
        self._hidden = {}  # key -> kernel-owned route left out of gather
        self._extras = {}  # key -> what a gathered route has that the resource does not model (_Decoder.keep)
        self._all = []     # every route gathered, hidden ones too (device lookup)
        self._scope = None  # (table, family) of the module's scope options
        self._memo = {}  # (gateway checks of check mode: _warn_refused)
        self._alike_memo = {}  # (normalize: _alike)
        self._templates = (None, {}, {})  # (ctx, requests, commands: _templated)

    # -- description ---------------------------------------------------------
    def _scope_params(self, ctx):
        if self._scope is None:
            table = ctx.params.get('table')
            self._scope = (_norm.table(table, 'table') if table is not None else None), ctx.params.get('family')
        return self._scope

    def normalize(self, item, ctx):
        """(The engine's own copy of the element: changed in place.) An element of a few plain fields (the routes
        of a big table: dst, gateway, dev...) is the element normalized before with the same other fields and a
        dst of the same family, with its own dst (:meth:`_alike`)."""
        if _ALIKE_FIELDS.issuperset(item):
            obj = self._alike(item, ctx)
            if obj is not None:
                return obj
        return self._normalize_one(item, ctx)

    def _alike(self, item, ctx):
        """:meth:`normalize` of ``item`` from the memo of elements alike in every field but dst, or None (the
        first of them; a dst that is no prefix of a length above 0: normalized field by field)."""
        dst = item.get('dst')
        if dst.__class__ is not str or dst in _DEFAULT_DSTS:
            return None
        del item['dst']
        # (the classes too: 1 == True, and only one of them is a metric)
        sig = (ctx.params.get('state') != 'deleted', ':' in dst, tuple(item.items()), tuple(map(type, item.values())))
        try:
            base = self._alike_memo.get(sig)
        except TypeError:  # (a value that cannot be hashed: raw table or protocol given as a list)
            base = False
        if not base:
            item['dst'] = dst
            obj = self._normalize_one(item, ctx)
            if base is None and obj.get('dst', 'default') != 'default':
                rest = dict(obj)
                if sig[0]:
                    # with the key fields the engine fills from defaults() (but for a deleted selector, which selects
                    # by the fields it gives): the same for every element alike, so that the engine need not ask
                    # for them again (default_keys)
                    defaults = self.defaults(obj)
                    for k in self.keys:
                        if k not in rest and k in defaults:
                            rest[k] = defaults[k]
                del rest['dst']
                self._alike_memo[sig] = rest
            return obj
        text, number, plen = _norm.prefix_parts(dst, 'dst', strict=True)
        if not plen:
            item['dst'] = dst
            return None
        _NETWORKS[text] = (number, plen)
        return {'dst': text, **base}

    def _normalize_one(self, item, ctx):
        obj = item
        obj.pop('src', None)  # the alias of prefsrc: AnsibleModule keeps both names
        families = []  # (field, family), to report the field that disagrees

        if 'dst' in obj:  # (state=deleted selects by any fields)
            dst = obj['dst']
            dst = (dst if isinstance(dst, str) else str(dst)).strip()
            if dst in _DEFAULT_DSTS:
                obj['dst'] = 'default'
                if dst != 'default' and dst != '0/0':
                    families.append(('dst', 6 if ':' in dst else 4))
            else:
                text, number, plen = _norm.prefix_parts(dst, 'dst', strict=True)
                obj['dst'] = dst = text
                families.append(('dst', 6 if ':' in dst else 4))
                if not plen:
                    obj['dst'] = 'default'
                else:  # the network, from the same parse, for the encoder and every sort (_network's memo)
                    _NETWORKS[dst] = (number, plen)
        if 'gateway' in obj:
            obj['gateway'] = gateway = _norm.ip(obj['gateway'], 'gateway')
            families.append(('gateway', 6 if ':' in gateway else 4))
        if 'prefsrc' in obj:
            obj['prefsrc'] = prefsrc = _norm.ip(obj['prefsrc'], 'prefsrc')
            families.append(('prefsrc', 6 if ':' in prefsrc else 4))
        if 'nexthops' in obj:
            hops = []
            for i, nh in enumerate(obj['nexthops']):
                field = 'nexthops[%d]' % i
                nh = dict((k, v) for k, v in nh.items() if v is not None)
                out = {'dev': nh['dev']}
                if 'gateway' in nh:
                    out['gateway'] = _norm.ip(nh['gateway'], field + '.gateway')
                    families.append((field + '.gateway', _norm.family(out['gateway'])))
                out['weight'] = _norm.int_range(nh.get('weight', 1), 1, 256, field + '.weight')
                out['onlink'] = bool(nh.get('onlink', False))
                hops.append(out)
            if len(hops) < 2:
                raise EdgenetError('a multipath route needs at least 2 nexthops; use gateway and dev for one',
                                   field='nexthops')
            for f in ('gateway', 'dev', 'onlink'):
                # (onlink false is what gathered shows next to nexthops: a gathered route feeds back)
                if f in obj and (f != 'onlink' or obj[f]):
                    raise EdgenetError("'%s' cannot be combined with nexthops (give it per nexthop)" % f,
                                       field=f)
            obj['nexthops'] = hops

        # the family: given, or derived from the addresses (dst first)
        fam = obj.get('family')
        vias = False
        scope_table, scope_family = self._scope_params(ctx)
        source = 'the family' if fam is not None else None
        for field, f in families:
            if fam is None:
                fam, source = f, '%s %s' % (field, obj.get(field, ''))
            elif f != fam:
                if fam == 4 and f == 6 and field.endswith('gateway'):
                    # an IPv4 route through an IPv6 next hop (RFC 5549: `ip route add DST via inet6 GW dev DEV`)
                    vias = True
                    continue
                what = source
                raise EdgenetError('%s is IPv%d but %s is IPv%d' % (field, f, what, fam), field=field)
        if fam is None and scope_family:
            fam = scope_family
        if vias and 'gateway' in obj and 'dev' not in obj:
            raise EdgenetError('an IPv6 gateway of an IPv4 route needs dev (the device the next hop is on)',
                               field='dev')
        if fam is not None:
            obj['family'] = fam
            if scope_family and fam != scope_family:
                raise EdgenetError('the route is IPv%d but the module acts only on IPv%d (option family)'
                                   % (fam, scope_family), field='family')

        if 'table' in obj:
            obj['table'] = _norm.table(obj['table'], 'table')
            if scope_table is not None and obj['table'] != scope_table:
                raise EdgenetError('the route is in table %s but the module acts only on table %s (option table)'
                                   % (obj['table'], scope_table), field='table')
        elif scope_table is not None:
            obj['table'] = scope_table
        if 'metric' in obj:
            obj['metric'] = _norm.int_range(obj['metric'], 0, 2 ** 32 - 1, 'metric')
            if obj['metric'] == 0 and fam == 6:
                obj['metric'] = IP6_RT_PRIO_USER  # the kernel turns IPv6 metric 0 into 1024
        if 'protocol' in obj:
            obj['protocol'] = _norm.lookup_byte(obj['protocol'], _norm.PROTOCOLS, 'protocol', 'protocol')
            if obj['protocol'] in ('unspec', 0):
                raise EdgenetError("protocol 'unspec' (0) cannot be set", field='protocol')
        if 'scope' in obj:
            obj['scope'] = _norm.lookup_byte(obj['scope'], _norm.SCOPES, 'scope', 'scope')
            if fam == 6 and obj['scope'] != 'global':
                raise EdgenetError('IPv6 routes have no scope (the kernel reports global)', field='scope')
        if 'mtu' in obj:
            obj['mtu'] = _norm.int_range(obj['mtu'], 68, 65535, 'mtu')
        rtype = obj.get('type', 'unicast')
        if rtype in NO_NEXTHOP_TYPES:
            for f in ('gateway', 'dev', 'nexthops', 'onlink', 'prefsrc'):
                if obj.get(f):
                    raise EdgenetError("a %s route has no '%s'" % (rtype, f), field=f)
        if rtype == 'local' and ('gateway' in obj or 'nexthops' in obj):
            raise EdgenetError('a local route has no gateway', field='gateway' if 'gateway' in obj else 'nexthops')
        if obj.get('onlink') and 'gateway' not in obj:
            raise EdgenetError('onlink needs a gateway', field='onlink')
        scope = obj.get('scope')
        if fam == 4 and scope is not None and rtype not in NO_NEXTHOP_TYPES:
            self._check_scope(obj, scope)
        if fam == 6 and 'nexthops' in obj:
            # (the kernel keeps an IPv4 next hop listed twice, as listed: a gathered route with one feeds back; it
            # refuses an IPv6 one, "File exists")
            if len(set(self._hop_key(h) for h in obj['nexthops'])) != len(obj['nexthops']):
                raise EdgenetError('the same next hop is listed twice; the kernel refuses that of an IPv6 route (File '
                                   'exists)', field='nexthops')
        if fam == 6:
            for i, nh in enumerate(obj.get('nexthops', ())):
                if 'gateway' not in nh:
                    # (the kernel: "Device only routes can not be added for IPv6 using the multipath API")
                    raise EdgenetError('every next hop of an IPv6 multipath route needs a gateway (the kernel takes '
                                       'no device-only next hop for IPv6)', field='nexthops[%d].gateway' % i)
        return obj

    @staticmethod
    def _check_scope(obj, scope):
        """Refuse the IPv4 scopes the kernel refuses of a route with next hops whatever the host holds
        (fib_create_info, fib_check_nh_v4_gw): they would have passed check mode and failed the real run."""
        if scope in ('nowhere', RT_SCOPE_NOWHERE):
            raise EdgenetError("scope nowhere is only for routes without a next hop (blackhole, unreachable, prohibit, "
                               "throw); the kernel refuses it of a %s route (Invalid scope)" % obj.get('type', 'unicast'),
                               field='scope')
        if obj.get('type') in ('broadcast', 'anycast') and scope not in ('link', 'host', 253, 254):
            raise EdgenetError('the kernel refuses a %s route of a scope wider than link (Invalid scope); give scope '
                               'link (its default) or host' % obj['type'], field='scope')
        hops = obj.get('nexthops') or ()
        if scope in ('host', 254):
            if obj.get('gateway') or hops:
                raise EdgenetError('a route of scope host has one next hop and no gateway: the kernel refuses %s '
                                   '(Route with host scope can not have %s)'
                                   % (('a gateway', 'a gateway') if obj.get('gateway') else
                                      ('nexthops', 'multiple nexthops')), field='scope')
        if scope in ('link', 253) and (obj.get('onlink') or any(h.get('onlink') and h.get('gateway') for h in hops)):
            raise EdgenetError('an onlink gateway needs a route of scope global (or a scope below link): the kernel '
                               'refuses scope link with it (Nexthop has invalid scope)', field='scope')

    def overlay(self, base, top):
        rtype = base.get('type')
        if rtype in NO_NEXTHOP_TYPES and 'type' not in top:
            # merged keeps the type the route has, and a route of that type has no next hop: the next hop given
            # would be dropped without a word (the route left as it is, changed=false); the element must say the
            # type it wants with it
            for f in ('gateway', 'dev', 'nexthops', 'onlink', 'prefsrc'):
                if top.get(f):
                    raise EdgenetError("the route is a %s route on the host, which has no '%s'; to make it a route "
                                       "with a next hop, give its type too (type: unicast)" % (rtype, f),
                                       obj=self.label(base), field=f)
        out = {**base, **top}
        # a new gateway without a dev: the device the route had is kept while it still reaches the gateway, else the
        # kernel picks one (validate predicts it), as `ip route replace DST via GATEWAY` does: the old device, sent
        # with a gateway it does not reach, made the kernel refuse a change that check mode had shown
        if ('gateway' in top and 'dev' not in top and base.get('dev') and top['gateway'] != base.get('gateway')
                and not self._reaches(base['dev'], out)):
            del out['dev']
        return out

    def match_index(self, have):
        return index_by(have, operator.itemgetter('dst'))

    def match_have(self, item, index, ctx):
        # Only fields that normalize checks on their own, and then only the canonical text the kernel's
        # route has: a valid prefix, address, table, metric, protocol or family. A default route (whose
        # family may come from the gateway), a type, multipath, an unsettable protocol: normalized as usual.
        dst = item['dst']
        found = index.get(dst)
        if found is None or dst == 'default' or not _FAST_FIELDS.issuperset(item) or item.get('protocol') in (
                'unspec', 0):
            return None
        table = item.get('table')
        if table is None:
            table = self._scope_params(ctx)[0] or 'main'
        metric = item.get('metric')
        for h in found:
            if h['table'] != table or h['metric'] != (
                    metric if metric is not None else IP6_RT_PRIO_USER if h['family'] == 6 else 0):
                continue
            if spells(item, h):
                return h
        return None

    @staticmethod
    def _hop_key(nh):
        gw = nh.get('gateway')
        return (nh.get('dev', ''), _norm.addr_int(gw) if gw else -1)

    @staticmethod
    def _default_scope(obj):
        """The scope iproute2 derives: host for local routes, link for device routes and broadcast, anycast and
        multicast ones, else global."""
        if obj.get('family', 4) == 6:
            return 'global'
        rtype = obj.get('type', 'unicast')
        if rtype == 'local':
            return 'host'
        if rtype in LINK_SCOPE_TYPES:
            return 'link'
        if rtype == 'unicast' and 'gateway' not in obj and 'nexthops' not in obj:
            return 'link'
        return 'global'

    def defaults(self, obj):
        # (twice per route of a plan: made once for each family, type and kind of next hop, what _default_scope reads)
        fam = obj.get('family', 4)
        sig = (fam, obj.get('type', 'unicast'), 'gateway' in obj, 'nexthops' in obj)
        made = _DEFAULTS.get(sig)
        if made is None:
            made = _DEFAULTS[sig] = {'family': fam, 'table': 'main', 'metric': IP6_RT_PRIO_USER if fam == 6 else 0,
                                     'type': 'unicast', 'protocol': 'boot', 'scope': self._default_scope(obj),
                                     'onlink': False}
        return dict(made)

    def label(self, obj):
        fam = obj.get('family')
        dst = obj.get('dst', '?')
        if dst == 'default' and fam:
            dst = 'default (IPv%d)' % fam
        return 'route %s table %s metric %s' % (dst, obj.get('table', 'main'),
                                                obj.get('metric', '?'))

    def sort_key(self, obj):
        # (runs for every route of every dump: the network comes from the memo the decoder filled)
        table = obj.get('table', 'main')
        dst = obj.get('dst', 'default')
        net = _NETWORKS.get(dst) or _network(dst, None)
        return (table if table.__class__ is str else '%010d' % table, obj.get('family', 4), net,
                obj.get('metric', 0))

    def rank(self, obj):
        # device routes before the gateway routes that may need them
        return 1 if obj.get('gateway') or obj.get('nexthops') else 0

    def in_scope(self, obj, ctx):
        table, family = self._scope_params(ctx)
        return (table is None or obj.get('table') == table) and (family is None or obj.get('family') == family)

    def scoped(self, ctx):
        return self._scope_params(ctx) != (None, None)

    @staticmethod
    def _unmanaged(obj):
        """``(field, text)``: why :meth:`protected` holds for ``obj``, a route of a plan."""
        if obj.get('protocol') in KERNEL_PROTOCOLS:
            return 'protocol', 'routes of protocol %s (the kernel\'s, or a daemon\'s)' % obj['protocol']
        if obj.get('table') == 'local' and obj.get('type') in KERNEL_LOCAL_TYPES:
            return 'type', '%s routes in table local' % obj['type']
        return 'dst', 'IPv6 routes inside fe80::/64 (link-local) or ff00::/8 (multicast)'

    def protected(self, obj):
        if obj.get('protocol') in KERNEL_PROTOCOLS:
            return True
        if obj.get('table') == 'local' and obj.get('type') in KERNEL_LOCAL_TYPES:
            return True
        dst = obj.get('dst')
        # fe80::/64 and ff00::/8 print as fe80:... and ff..:...; nothing else can be inside them
        if obj.get('family') == 6 and dst and dst[:2] in ('fe', 'ff'):
            number, plen = _network(dst, 6)
            return any(plen >= kplen and _contains((knum, kplen), 6, number) for knum, kplen in V6_KERNEL_NETS)
        return False

    def reconcile(self, have, target):
        # merged keeps unnamed attributes; a single-path field given for a multipath route (or the other way
        # round) replaces the whole next-hop description.
        if 'nexthops' in target and ('gateway' in target or 'dev' in target):
            if 'nexthops' in have:
                target.pop('nexthops')
            else:
                for f in ('gateway', 'dev', 'onlink'):
                    target.pop(f, None)
                target['onlink'] = False
        rtype = target.get('type', 'unicast')
        if rtype in NO_NEXTHOP_TYPES:
            for f in ('gateway', 'dev', 'nexthops', 'prefsrc'):
                target.pop(f, None)
            target['onlink'] = False
        elif rtype == 'local':
            target.pop('gateway', None)
            target.pop('nexthops', None)
            target['onlink'] = False
        # a scope that was iproute2's derived default follows the route's new shape (the derived scope
        # depends only on family, type and whether there is a gateway or nexthops: unchanged, it is the same)
        scope = target.get('scope')
        if scope == have.get('scope') and (
                target.get('type') != have.get('type') or target.get('family') != have.get('family')
                or ('gateway' in target) != ('gateway' in have) or ('nexthops' in target) != ('nexthops' in have)):
            if scope == self._default_scope(have):
                target['scope'] = self._default_scope(target)
        return target

    def validate(self, ctx, plan, after):
        # (runs for every route of a plan: a known device is looked up in the name cache, and the label,
        # the key and the prediction's index are built only when needed)
        names = ctx.nl.links()[0]
        hidden = self._hidden
        predicted = None
        planned = [None]  # (the index of the plan's device routes, once a check-mode warning needs it)
        ipv6 = {}  # device -> (the first route of the plan with an IPv6 next hop on it, field): _refuse_without_ipv6
        for op in plan:
            if op.action == 'delete':
                continue
            obj = op.after
            dev, gw = obj.get('dev'), obj.get('gateway')
            if dev:
                if dev not in names:
                    ctx.nl.ifindex(dev, obj=self.label(obj), field='dev')
                if dev not in ipv6 and (obj.get('family') == 6 or gw and ':' in gw):
                    ipv6[dev] = (obj, 'dev')
            for i, nh in enumerate(obj.get('nexthops', ())):
                if nh['dev'] not in names:
                    ctx.nl.ifindex(nh['dev'], obj=self.label(obj), field='nexthops[%d].dev' % i)
                if nh['dev'] not in ipv6 and (obj.get('family') == 6 or ':' in nh.get('gateway', '')):
                    ipv6[nh['dev']] = (obj, 'nexthops[%d].dev' % i)
            rtype = obj.get('type', 'unicast')
            if rtype in ('broadcast', 'anycast') and obj.get('family') == 4:
                self._refuse_gateway(obj, rtype)
            if op.action == 'add' and hidden and self.key(obj) in hidden:
                owner = hidden[self.key(obj)]
                raise EdgenetError('a route with this key is owned by the kernel (protocol %s, type %s) and '
                                   'cannot be replaced; use another metric or table'
                                   % (owner.get('protocol'), owner.get('type')), obj=self.label(obj), field='dst')
            if self.protected(obj):
                # (it would be made, and then be one of the routes the module leaves to the kernel: never shown, and
                # the next run would refuse it as such)
                field, why = self._unmanaged(obj)
                raise EdgenetError('the module does not manage %s: it leaves such routes to the kernel and does not '
                                   'show them' % why, obj=self.label(obj), field=field)
            if gw and not dev:
                if _is_link_local(gw):
                    raise EdgenetError('a link-local gateway needs dev: every link has fe80::/64, so only dev tells '
                                       'the kernel which one (it refuses the route without one)', obj=self.label(obj),
                                       field='dev')
                # predict the device the kernel will choose, so check mode shows it
                dev = self._gateway_dev(obj)
                if not dev and not obj.get('onlink'):
                    # a device route of this very plan (added before the routes through gateways: rank)
                    if planned[0] is None:
                        planned[0] = self._index_device_routes(after)
                    dev = self._held(planned[0], obj['family'], (obj.get('table', 'main'), 'main'),
                                     _norm.addr_int(gw), None)
                if dev:
                    obj['dev'] = dev
                    if predicted is None:
                        predicted = dict((self.key(o), o) for o in after)
                    if self.key(obj) in predicted:
                        predicted[self.key(obj)]['dev'] = dev
            if not (dev or gw or obj.get('nexthops')) and rtype not in NO_NEXTHOP_TYPES:
                raise EdgenetError('a %s route needs dev, gateway or nexthops: the kernel refuses one without '
                                   '(No such device)' % rtype, obj=self.label(obj), field='dev')
            if ctx.check_mode and (gw or obj.get('nexthops') or obj.get('prefsrc')):
                self._warn_refused(ctx, obj, after, planned)
        if ipv6:
            self._refuse_without_ipv6(ctx, ipv6)

    def _refuse_gateway(self, obj, rtype):
        """Refuse a gateway of an IPv4 broadcast or anycast route (its own, or a next hop's), which the kernel refuses
        at every scope: "Nexthop has invalid gateway" at link, its default, "Invalid scope" wider, and at host "Route
        with host scope can not have a gateway". (In validate: a merged element that gives a gateway alone takes the
        type of the route it changes.)"""
        fields = ['gateway'] if obj.get('gateway') else [
            'nexthops[%d].gateway' % i for i, nh in enumerate(obj.get('nexthops') or ()) if nh.get('gateway')]
        if fields:
            raise EdgenetError('the kernel refuses a gateway on a %s route, of any scope (Nexthop has invalid gateway); '
                               'give its device alone (dev, or nexthops of dev)' % rtype, obj=self.label(obj),
                               field=fields[0])

    def _refuse_without_ipv6(self, ctx, ipv6):
        """Refuse an IPv6 next hop (of an IPv6 route, or an IPv6 gateway of an IPv4 one) on a device whose IPv6 the
        kernel has disabled (net.ipv6.conf.DEV.disable_ipv6: EACCES, "IPv6 is disabled on nexthop device") or does not
        have (an MTU below 1280 removes it: ENODEV), before anything is sent; the real run failed there and rolled
        back. Check mode warns instead, and predicts the route made: an earlier task of the play may set disable_ipv6
        to 0 or raise the MTU (:func:`_rtnl.ipv6_remedy`; not IPv6 off in the kernel, which it refuses too), and
        check mode runs none. ``ipv6``: ``{device: (the first route of the plan with such a next hop on it, its
        field)}``, in the plan's order; the devices' IPv6 state is read from one device dump, only for them
        (:func:`_rtnl.ipv6_off`). A device check mode assumes an earlier task makes is not there: nothing to check it
        against. Deletes need no IPv6 on the device (and the kernel deletes a device's IPv6 routes when it disables or
        removes its IPv6); the routes without a next hop (blackhole...) have no dev."""
        off = ctx.nl.ipv6_off(ipv6)
        for dev, (obj, field) in ipv6.items():
            why = off.get(dev)
            if why is not None:
                self.refuse_or_warn(ctx, self.label(obj), field, '%s; the kernel refuses an IPv6 next hop on it (%s)'
                                    % (why[1], 'IPv6 is disabled on nexthop device' if why[0] == _rtnl.IPV6_DISABLED
                                       else 'No such device'), _rtnl.ipv6_remedy(dev, why))

    # -- check mode: what the kernel would refuse as the host stands -----------------------------------------
    def _warn_refused(self, ctx, obj, after, planned):
        """Warn of a route the kernel would refuse of the host as it stands: a gateway that no device route (of
        the route's table or main, or of this plan) holds and the kernel's own lookup does not reach, a gateway
        that is the host's own IPv6 address, or a prefsrc that is no address of the host. An earlier task of the
        play may add the address or route it needs, and check mode runs no earlier task: so check mode says so and
        goes on, and the real run meets the kernel's refusal (and rolls back). The routes gathered and planned
        are looked up in indexes (:meth:`_held`); the kernel is asked (a route lookup) only where they do not
        tell. ``planned``: a one-element list, the plan's index once built."""
        fam = obj['family']
        table = obj.get('table', 'main')
        own = self._own_addresses()
        hops = obj.get('nexthops') or ([obj] if obj.get('gateway') else [])
        for i, hop in enumerate(hops):
            gw = hop.get('gateway')
            if not gw or hop.get('onlink'):
                continue
            # (a plan's routes share few gateways: each is worked out once)
            memo = (6 if _via_other(fam, gw) else fam, table, gw, hop.get('dev'), obj.get('scope') == 'link')
            why = self._memo.get(memo, _MISSING)
            if why is _MISSING:
                why = None if _is_link_local(gw) else self._unreached(ctx, memo, after, planned, own)
                self._memo[memo] = why
            if why:
                ctx.warn('check mode: %s: %s %s %s; this prediction assumes an earlier task of the play adds the '
                         'address or route that reaches it, else the real run fails there and rolls back'
                         % (self.label(obj), 'nexthops[%d].gateway' % i if obj.get('nexthops') else 'gateway', gw,
                            why))
        src = obj.get('prefsrc')
        if src and (fam, src) not in own and not any(
                o.get('type') == 'local' and o.get('dst', '').split('/')[0] == src for o in after):
            found = self._lookup(ctx, fam, src, None)
            if found is None or found[0] != 'local':
                ctx.warn('check mode: %s: prefsrc %s is no address of this host (the kernel refuses it: %s); this '
                         'prediction assumes an earlier task of the play adds it, else the real run fails there and '
                         'rolls back' % (self.label(obj), src,
                                         'Invalid prefsrc address' if fam == 4 else 'Invalid source address'))

    def _unreached(self, ctx, memo, after, planned, own):
        """Why the kernel would refuse the gateway of ``memo`` (family, table, gateway, dev, whether the route is
        of IPv4 scope link) as the host stands, or None (:meth:`_warn_refused`)."""
        fam, table, gw, dev, own_only = memo
        tables = (table, 'main')
        if fam == 6 and (6, gw) in own:
            return 'is an address of this host (the kernel refuses it: Gateway can not be a local address)'
        number = _norm.addr_int(gw)
        if fam == 4 and own_only:
            # IPv4 scope link: the kernel looks the gateway up among routes of scope host only (the host's own
            # addresses, and device routes of scope host), of any table its rules reach
            if (4, gw) in own or self._held(self._device_index(('host',)), 4, None, number, dev):
                return None
            return ('is no address of this host and no route of scope host holds it, and a route of scope link '
                    'takes no other gateway (the kernel refuses it: Nexthop has invalid gateway)')
        if fam == 4 and (4, gw) in own:
            return None
        index = self._device_index()
        if self._held(index, fam, tables, number, dev):
            return None
        if planned[0] is None:
            planned[0] = self._index_device_routes(after)
        if self._held(planned[0], fam, tables, number, dev):
            return None
        if self._held(index, fam, None, number, dev):
            # a device route of another table holds it, which the kernel's lookup (through the rules, routes of
            # scope link or host only) may reach: no warning (the lookup below takes no scope, so a more specific
            # route through a gateway would hide it)
            return None
        found = self._lookup(ctx, fam, gw, dev)
        if found is not None and found[0] == 'unicast' and not found[2] and (fam == 6 or found[1] in ('link', 'host')):
            return None  # (a device route the kernel reaches through its rules)
        return ('is held by no device route %sof table %s (the kernel refuses it: %s)'
                % ('on dev %s ' % dev if dev else '', table if table == 'main' else '%s or main' % table,
                   'Nexthop has invalid gateway' if fam == 4 else 'No route to host'))

    def _own_addresses(self):
        """``{(family, address)}``: the host's addresses, as the local routes of table local show them (the gather
        keeps every one of them: :meth:`_Decoder._passes`)."""
        own = self.__dict__.get('_own')
        if own is None:
            own = self._own = set((r['family'], r['dst'].split('/')[0]) for r in self._all
                                  if r.get('type') == 'local' and r.get('table') == 'local' and r.get('dst'))
        return own

    def _device_index(self, scopes=('link', 'host')):
        indexes = self.__dict__.get('_devices')
        if indexes is None:
            indexes = self._devices = {}
        if scopes not in indexes:
            indexes[scopes] = self._index_device_routes(self._all, scopes)
        return indexes[scopes]

    @staticmethod
    def _index_device_routes(routes, scopes=('link', 'host')):
        """``{(family, table): {prefix length: {network as int: {devices}}}}`` of the device routes of ``routes``
        that hold a gateway as the kernel checks one (fib_check_nh): IPv4 ones of ``scopes`` only (a device route
        of scope global does not make its addresses neighbours)."""
        index = {}
        for r in routes:
            if not _device_route(r) or r.get('family') == 4 and r.get('scope') not in scopes:
                continue
            number, plen = _network(r['dst'], r['family'])
            index.setdefault((r['family'], r.get('table', 'main')), {}).setdefault(plen, {}).setdefault(
                number, set()).add(r['dev'])
        return index

    @staticmethod
    def _held(index, fam, tables, number, dev):
        """The device of the longest device route of ``index`` (:meth:`_index_device_routes`) that holds the
        address ``number`` (on ``dev`` when given), of the first of ``tables`` that has one (None: of any table);
        None without."""
        bits = 32 if fam == 4 else 128
        if tables is None:
            tables = sorted(set(t for f, t in index if f == fam), key=str)
        for table in tables:
            nets_of = index.get((fam, table))
            if not nets_of:
                continue
            for plen in sorted(nets_of, reverse=True):
                devs = nets_of[plen].get(number >> (bits - plen) << (bits - plen) if plen else 0)
                if devs and (dev is None or dev in devs):
                    return dev or min(devs)
        return None

    @staticmethod
    def _lookup(ctx, fam, address, dev):
        """The kernel's route for ``address`` (out of ``dev`` when given), as ``ip route get fibmatch`` shows it:
        ``(type, scope, has a gateway)``, or None where it has none."""
        raw = socket.inet_pton(AF_INET6 if fam == 6 else AF_INET, address)
        body = RTMSG.pack(AF_INET6 if fam == 6 else AF_INET, 8 * len(raw), 0, 0, 0, 0, 0, 0, RTM_F_FIB_MATCH)
        body += _rtnl.attr(RTA_DST, raw)
        if dev:
            index = ctx.nl.links()[0].get(dev)
            if index:
                body += _rtnl.attr_u32(RTA_OIF, index)
        try:
            reply = ctx.nl.rtnl.get(_rtnl.RTM_GETROUTE, body)
        except (OSError, _rtnl.RtnlError):
            return None
        scope, rtype = RTMSG.unpack_from(reply, 0)[6:8]
        gateway = False
        offset, end = RTMSG.size, len(reply)
        while offset + 4 <= end:
            length, kind = _rtnl.NLA.unpack_from(reply, offset)
            if length < 4:
                break
            if kind & 0x3fff in (RTA_GATEWAY, RTA_VIA, RTA_MULTIPATH, RTA_NH_ID):
                gateway = True
            offset += (length + 3) & ~3
        return TYPES.get(rtype, rtype), _norm.SCOPES.get(scope, scope), gateway

    def _on_link(self, obj, tables, dev=None):
        """``(prefix length, device)`` of the device routes of ``tables`` that hold ``obj``'s gateway (of ``dev``
        only, when given), in that order. As the kernel checks a gateway (fib_check_nh): an IPv4 route of scope link
        or host only (a device route of scope global does not make its addresses neighbours)."""
        fam = obj.get('family', 6 if ':' in obj['gateway'] else 4)
        gw = _norm.addr_int(obj['gateway'])
        for table in tables:
            for r in self._all:
                if (r['table'] != table or r['family'] != fam or r.get('type') != 'unicast'
                        or not r.get('dev') or r.get('gateway') or r.get('nexthops')
                        or (dev is not None and r['dev'] != dev)
                        or (fam == 4 and r.get('scope') not in ('link', 'host'))):
                    continue
                net = _network(r['dst'], fam)
                if _contains(net, fam, gw):
                    yield net[1], r['dev']

    def _gateway_dev(self, obj):
        for table in (obj.get('table', 'main'), 'main'):
            best = max(self._on_link(obj, (table,)), default=None, key=operator.itemgetter(0))
            if best:
                return best[1]
        return None

    def _reaches(self, dev, obj):
        """Whether ``dev`` has a device route (of ``obj``'s table or main) that holds ``obj``'s gateway, or the
        gateway is link-local (every link has fe80::/64), or the route is onlink."""
        if obj.get('onlink') or _is_link_local(obj['gateway']):
            return True
        return next(self._on_link(obj, (obj.get('table', 'main'), 'main'), dev), None) is not None

    # -- kernel I/O (the bulk path: _rtnl) --------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        names = nl.links()[1]
        self._hidden, self._all, self._extras = {}, [], {}
        self._own = self._devices = None  # (built from _all when check mode asks: _own_addresses, _device_index)
        self._memo = {}  # (gateway checks of check mode: _warn_refused)
        hidden, everything = self._hidden, self._all
        out = []
        decoder = _Decoder(names, self.protected, self._extras)
        decode = decoder.decode
        key = self.key
        append, keep = out.append, everything.append
        dumped = 0  # (the messages of the dump, to start the filter)
        # the routes through gateways that the task does not name are passed over (Route._wanted) once the dump has
        # held more routes than twice the config: a config about as large as the table (a re-check) never pays
        # for working out its dsts, and a few routes on a full table pay for a few
        config = ctx.params.get('config')
        named = 2 * len(config) + 64 if config and ctx.params.get('state') in _NAMING_STATES else -1
        # one dump of every family (AF_UNSPEC); only IPv4 and IPv6 unicast tables are kept
        for _kind, buf, start, end in nl.rdump(_rtnl.RTM_GETROUTE, RTMSG.pack(0, 0, 0, 0, 0, 0, 0, 0, 0), 'routes'):
            dumped += 1
            if dumped == named:
                decoder.wanted = self._wanted(ctx)
            obj, kernel_owned = decode(buf, start, end)
            if obj is None:
                continue
            keep(obj)
            if kernel_owned:
                hidden[key(obj)] = obj
            else:
                append(obj)
        self._passed = decoder.passed
        if self._extras:
            # some route has attributes the resource does not model: its writes (and their rollback) carry them
            # over. Only then are encode and render the methods that look for them: a table of plain routes
            # pays nothing per route for it
            self.encode, self.render = self._encode_kept, self._render_kept
        return out

    # (_Decoder and _from_msg make each route's dict in FIELD_ORDER: test_route.py checks it)
    gathered_in_order = True

    # a real run's ``after``: the kernel echoes each route it adds, replaces or deletes (rtmsg_fib and
    # inet6_rt_notify honour NLM_F_ECHO, one message per request, multipath routes whole), as its dump
    # shows it; a write changes only the route of its key (table, family, dst, metric: the kernel's own
    # identity of a route, but for the TOS, which is 0 in every request of the resource and in every route it shows)
    echo = True
    held_twice_hint = ('a second route of one table, dst and metric is made with `ip route append` or `prepend`, '
                       'and a write of the key reaches the first of them; `ip route del` with its dev or gateway '
                       'deletes one')

    def dumped(self, have):
        # (the routes of the table, those the filter passed over too: what a second dump would cost)
        return len(have) + (self.__dict__.get('_passed') or 0)

    def _wanted(self, ctx):
        """The dsts of the routes a task is about, as ``{(4 or 6, prefix length, network as int)}``, when it is
        about the routes its config names alone (merged, replaced, or deleted with a config, every element with a
        dst); None otherwise (overridden, gathered, deleted without a config or by other fields).

        Once its dump has held more routes than twice the config (plus 64), the gather decodes only the routes
        with one of these dsts (of any table or metric: the keys are worked out later, by normalize), and the device
        routes (the gateway's device of a route without a dev is looked up among them: _gateway_dev). A task that
        adds 10 routes to a router with a full table decodes 10 routes, its device routes and the dump's first 84,
        not the table; the kernel still sends the whole dump (it cannot filter one by prefix). Nothing else reads
        the routes passed over: ``before``, ``after`` and the plan are about the keys the config names, and
        validate looks only at the plan's keys (kernel-owned ones among them) and at device routes. A dst that
        does not parse here is left to normalize to refuse: the gather then decodes every route."""
        params = ctx.params
        config = params.get('config')
        if params.get('state') not in _NAMING_STATES or not config:
            return None
        memo = self.__dict__.get('_wanted_memo')
        if memo is not None and memo[0] is config:
            return memo[1]  # (the gather after a real run's writes: the same config)
        wanted = self._wanted_of(config)
        self._wanted_memo = (config, wanted)
        return wanted

    @staticmethod
    def _wanted_of(config):
        wanted = set()
        for item in config:
            dst = item.get('dst') if isinstance(item, dict) else None
            if dst is None:
                return None
            text = (dst if isinstance(dst, str) else str(dst)).strip()
            if text in _DEFAULT_DSTS:
                wanted.update(((4, 0, 0), (6, 0, 0)))
                continue
            try:
                text, number, plen = _norm.prefix_parts(text, 'dst', strict=True)
            except EdgenetError:
                return None
            wanted.add((6 if ':' in text else 4, plen, number))
        return wanted

    def refine_error(self, op, error):
        """A refusal for a next hop the kernel cannot reach (IPv4 ENETUNREACH "Nexthop has invalid gateway", IPv6
        EHOSTUNREACH) names the first hop whose gateway the kernel's check would not find, and says why: a hop whose
        device is down has lost its device routes (the kernel keeps the hop, dead, but refuses every write of the
        route, and a change sends every hop again). Looked up as the kernel looks: for a route of IPv4 scope link,
        the host's addresses and routes of scope host; else device routes of any table first, then of the route's
        table or main (the kernel looks there, then wherever its rules lead)."""
        obj = op.after
        if error.code not in (101, 113) or not obj or not (obj.get('gateway') or obj.get('nexthops')):
            return error
        fam, table = obj['family'], obj.get('table', 'main')
        own = self._own_addresses()
        link = fam == 4 and obj.get('scope') == 'link'
        index = self._device_index(('host',) if link else ('link', 'host'))
        hops = [(i, hop) for i, hop in enumerate(obj.get('nexthops') or [obj])
                if hop.get('gateway') and not hop.get('onlink') and not _is_link_local(hop['gateway'])]
        # (first a hop no device route of any table holds: the kernel refuses it whatever its rules; then one that
        # none of the route's table or main holds, which the rules may or may not reach)
        for tables in ((None,) if link else (None, (table, 'main'))):
            for i, hop in hops:
                gw, dev = hop['gateway'], hop.get('dev')
                if (fam, gw) in own and fam == 4:
                    continue
                if (fam, gw) in own:
                    why = 'is an address of this host (the kernel takes no own IPv6 address as a gateway)'
                elif self._held(index, fam, tables, _norm.addr_int(gw), dev):
                    continue
                elif link:
                    why = ('is no address of this host and no route of scope host holds it, and a route of scope link '
                           'takes no other gateway')
                else:
                    why = ('is held by no device route %sof %s (is its device down? a device that is down has lost '
                           'its device routes): bring the device up or add a route that reaches it, or leave the hop '
                           'out' % ('on dev %s ' % dev if dev else '', 'this host' if tables is None else
                                    'table %s' % (table if table == 'main' else '%s or main' % table)))
                error.field = 'nexthops[%d].gateway' % i if obj.get('nexthops') else 'gateway'
                error.msg += '; %s %s %s' % (error.field, gw, why)
                return error
        return error

    def decode_echo(self, ctx, mtype, body):
        decoder = self.__dict__.get('_echo_decoder')
        if decoder is None:
            decoder = self._echo_decoder = _Decoder(ctx.nl.links()[1], self.protected)
        obj, kernel_owned = decoder.decode(body, 0, len(body))
        return mtype == _rtnl.RTM_DELROUTE, None if kernel_owned else obj

    @staticmethod
    def _from_msg(buf, start, end, names, unmodelled=None):
        """One RTM_NEWROUTE of a dump as a canonical object, or None (cache clones, other families, routes with a
        TOS: see the module's docstring).

        The general decoder: every attribute the resource uses, in one pass; :class:`_Decoder` uses it
        for the first message of each layout and for the rare ones (multipath, metrics, unmodelled attributes).
        With a list as ``unmodelled``, what the route has that the resource does not model is appended to it, if
        anything: ``(attributes, metrics, nexthop object, hops)``, the top-level attributes to send again as they are
        (bytes; an expiry as the RTA_EXPIRES a request sets it with), the RTA_METRICS entries but mtu (``((RTAX
        type, attribute bytes), ...)``), for a route that uses a nexthop object, ``(its id, (gateway, dev,
        nexthops))``: the next hops the kernel shows for it (:meth:`_nhid`), and for a multipath route whose next hops
        have attributes of their own beyond the gateway (a realm, an encap...), ``{(dev, gateway): their bytes}``
        (None without).
        """
        family, dst_len, src_len, tos, table, proto, scope, rtype, flags = RTMSG.unpack_from(buf, start)
        if flags & RTM_F_CLONED or (family != AF_INET and family != AF_INET6) or tos or src_len:
            return None
        unpack_nla, unpack_u32, ntop = _rtnl.NLA.unpack_from, _rtnl.U32.unpack_from, socket.inet_ntop
        dst = gateway = prefsrc = metrics = multipath = None
        extra = []  # (unmodelled is not None) the unmodelled top-level attributes
        nhid = None
        oif = metric = 0
        offset = start + RTMSG.size
        while offset + 4 <= end:
            length, kind = unpack_nla(buf, offset)
            if length < 4:
                break
            kind &= 0x3fff
            if kind == RTA_DST:
                raw = bytes(buf[offset + 4:offset + length])
                dst = '%s/%d' % (ntop(family, raw), dst_len)
                if dst not in _NETWORKS:  # the sort key, now that the bytes are at hand
                    _NETWORKS[dst] = (int.from_bytes(raw, 'big'), dst_len)
            elif kind == RTA_GATEWAY:
                gateway = ntop(family, buf[offset + 4:offset + length])
            elif kind == RTA_VIA and family == AF_INET and length == 22 and buf[offset + 4:offset + 6] == _VIA6:
                gateway = ntop(AF_INET6, buf[offset + 6:offset + 22])  # (an IPv4 route through an IPv6 next hop)
            elif kind == RTA_OIF:
                oif = unpack_u32(buf, offset + 4)[0]
            elif kind == RTA_PRIORITY:
                metric = unpack_u32(buf, offset + 4)[0]
            elif kind == RTA_TABLE:
                table = unpack_u32(buf, offset + 4)[0]
            elif kind == RTA_PREFSRC:
                prefsrc = ntop(family, buf[offset + 4:offset + length])
            elif kind == RTA_METRICS:
                metrics = (offset + 4, offset + length)
            elif kind == RTA_MULTIPATH:
                multipath = (offset + 4, offset + length)
            elif unmodelled is not None:
                if kind == RTA_CACHEINFO:
                    # an IPv6 route's expiry (clock ticks left; a request gives it in seconds)
                    if family == AF_INET6 and length >= 16:
                        ticks = _rtnl.I32.unpack_from(buf, offset + 12)[0]
                        if ticks:
                            extra.append(_rtnl.attr_u32(RTA_EXPIRES, max(1, ticks // _clock_ticks())))
                elif kind == RTA_NH_ID and length == 8:
                    nhid = unpack_u32(buf, offset + 4)[0]
                elif kind not in _OUTPUT_ONLY and (kind != RTA_PREF or any(buf[offset + 4:offset + length])):
                    extra.append(bytes(buf[offset:offset + length]) + b'\0' * (((length + 3) & ~3) - length))
            offset += (length + 3) & ~3
        rtype = TYPES.get(rtype, rtype)
        obj = {'dst': dst if dst_len else 'default', 'family': 4 if family == AF_INET else 6,
               'type': rtype}
        if gateway:
            obj['gateway'] = gateway
        # IPv6 blackhole/unreachable/prohibit routes are reported on lo; they have no device
        if oif and rtype not in NO_NEXTHOP_TYPES:
            obj['dev'] = names.get(oif) or 'if%d' % oif
        obj['onlink'] = bool(flags & RTNH_F_ONLINK)
        hop_extra = None
        if multipath:
            if unmodelled is not None:
                hop_extra = {}
            obj['nexthops'] = Route._hops(buf, multipath, family, names, hop_extra)
            obj['onlink'] = False
        obj['table'] = _norm.TABLES.get(table, table)
        obj['metric'] = metric
        obj['protocol'] = _norm.PROTOCOLS.get(proto, proto)
        obj['scope'] = _norm.SCOPES.get(scope, scope)
        if prefsrc:
            obj['prefsrc'] = prefsrc
        kept = ()
        if metrics:
            found = _rtnl.attrs(buf, metrics[0], metrics[1])
            if RTAX_MTU in found and _rtnl.get_u32(buf, found[RTAX_MTU]):
                obj['mtu'] = _rtnl.get_u32(buf, found[RTAX_MTU])
            if unmodelled is not None:
                kept = tuple((kind, bytes(buf[a - 4:b]) + b'\0' * (-(b - a) & 3))
                             for kind, (a, b) in sorted(found.items()) if kind != RTAX_MTU)
        if extra or kept or nhid is not None or hop_extra:
            unmodelled.append((b''.join(extra), kept, None if nhid is None else (
                nhid, (obj.get('gateway'), obj.get('dev'), obj.get('nexthops'))), hop_extra or None))
        return obj

    @staticmethod
    def _hops(buf, span, family, names, kept=None):
        """The next hops of an RTA_MULTIPATH; with a dict as ``kept``, each hop's attributes but its gateway (a realm,
        an encap, a via of another family...: the resource does not model them) go in it, by (dev, gateway)."""
        hops = []
        offset, stop = span
        while offset + RTNEXTHOP.size <= stop:
            length, nh_flags, nh_hops, index = RTNEXTHOP.unpack_from(buf, offset)
            if length < RTNEXTHOP.size:
                break
            hop = {'dev': names.get(index, 'if%d' % index), 'weight': nh_hops + 1,
                   'onlink': bool(nh_flags & RTNH_F_ONLINK)}
            found = _rtnl.attrs(buf, offset + RTNEXTHOP.size, offset + length)
            if RTA_GATEWAY in found:
                start, end = found[RTA_GATEWAY]
                hop['gateway'] = socket.inet_ntop(family, buf[start:end])
            elif RTA_VIA in found and family == AF_INET:
                start, end = found[RTA_VIA]
                if end - start == 18 and buf[start:start + 2] == _VIA6:
                    hop['gateway'] = socket.inet_ntop(AF_INET6, buf[start + 2:end])
            if kept is not None and len(found) > ('gateway' in hop):
                kept[(hop['dev'], hop.get('gateway'))] = b''.join(
                    bytes(buf[a - 4:b]) + b'\0' * (-(b - a) & 3) for kind, (a, b) in sorted(found.items())
                    if kind != RTA_GATEWAY and not (kind == RTA_VIA and 'gateway' in hop))
            hops.append(hop)
            offset += (length + 3) & ~3
        return hops  # in the kernel's order, which is the order they were given in

    def _templated(self, ctx, op, which):
        """``(route, template, templates, key)`` of ``op`` for :meth:`encode` (``which`` 1) or :meth:`render` (2):
        the template of its request or command (None: not made yet, to be kept in ``templates[key]``; False: the
        route is made field by field, a default route, one with prefsrc, mtu or nexthops). ``templates``: this task's,
        which hold its device indexes and netns (a new ``ctx`` starts anew)."""
        obj = op.after if op.after is not None else op.before
        if obj['dst'] == 'default' or 'prefsrc' in obj or 'mtu' in obj or 'nexthops' in obj:
            return obj, False, None, None
        memo = self._templates
        if memo[0] is not ctx:
            memo = self._templates = (ctx, {}, {})
        # (the fields every planned or gathered route has, by one getter; twice per route of a plan)
        try:
            sig = op.action, _SHAPE_SET(obj), obj.get('gateway'), obj.get('dev')
        except KeyError:
            sig = (op.action,) + tuple(map(obj.get, _SHAPE_FIELDS))
        return obj, memo[which].get(sig), memo[which], sig

    def encode(self, ctx, op):
        """RTM_NEWROUTE (add: create+excl; change: replace) or RTM_DELROUTE, as ``ip route`` sends them.

        The routes of a big table differ in their dst alone: a request is the request of the first route alike in
        every other field (:data:`_SHAPE_FIELDS`, the same action) with its dst bytes and prefix length put in
        (the rtmsg, then RTA_DST, come first in every request). That first one is encoded by :meth:`_encode_one`."""
        obj, template, templates, sig = self._templated(ctx, op, 1)
        if template is None:
            mtype, flags, body = self._encode_one(ctx, op)
            size = 4 if obj['family'] == 4 else 16
            # (the rtmsg's family, the dst length, the rest of the rtmsg and RTA_DST's header; the attributes after)
            template = templates[sig] = (mtype, flags, body[:1], body[2:16], size, body[16 + size:], {})
            if _rtnl.NLA.unpack_from(body, 12) != (4 + size, RTA_DST):
                template = templates[sig] = False  # (never: every request starts so)
            return mtype, flags, body
        if template is False:
            return self._encode_one(ctx, op)
        mtype, flags, family, rest, size, tail, heads = template
        dst = obj['dst']
        number, dst_len = _NETWORKS.get(dst) or _network(dst, None)
        head = heads.get(dst_len)
        if head is None:
            head = heads[dst_len] = family + bytes((dst_len,)) + rest
        return mtype, flags, head + number.to_bytes(size, 'big') + tail

    def _encode_one(self, ctx, op):
        """:meth:`encode` of one route, field by field. A route with only dst, gateway, dev, table and metric
        attributes is packed by one precompiled struct for its shape (:data:`_BODIES`); prefsrc, mtu and nexthops
        take :meth:`_encode_attrs`, which builds the same attributes one by one."""
        obj = op.obj
        fam = obj['family']
        table = obj['table']
        if not isinstance(table, int):
            table = _TABLE_NUMBERS.get(table)
            if table is None:
                table = _norm.number(_norm.TABLES, obj['table'])
        dst = obj['dst']
        if dst != 'default':
            number, dst_len = _network(dst, fam)
            dst_bytes = number.to_bytes(4 if fam == 4 else 16, 'big')
        else:
            dst_len, dst_bytes = 0, b''
        if op.action == 'delete':
            # like ip route del: any type, protocol and (IPv4) scope; the key selects the route
            values = [AF_INET if fam == 4 else AF_INET6, dst_len, 0, 0, table if table < 256 else 0, 0,
                      RT_SCOPE_NOWHERE if fam == 4 else 0, 0, 0]
            gateway = index = None
        else:
            if obj.get('prefsrc') or obj.get('mtu') or obj.get('nexthops'):
                return self._encode_attrs(ctx, op, table, dst_len, dst_bytes)
            protocol, scope = obj['protocol'], obj['scope']
            protocol = protocol if isinstance(protocol, int) else _PROTOCOL_NUMBERS.get(protocol)
            scope = scope if isinstance(scope, int) else _SCOPE_NUMBERS.get(scope)
            if protocol is None or scope is None:
                return self._encode_attrs(ctx, op, table, dst_len, dst_bytes)
            values = [AF_INET if fam == 4 else AF_INET6, dst_len, 0, 0, table if table < 256 else 0, protocol, scope,
                      TYPE_NUMBERS[obj['type']], RTNH_F_ONLINK if obj.get('onlink') else 0]
            gateway = obj.get('gateway')
            if gateway and fam == 4 and ':' in gateway:  # (through an IPv6 next hop: RTA_VIA)
                return self._encode_attrs(ctx, op, table, dst_len, dst_bytes)
            gateway = _rtnl.addr_bytes(gateway)[1] if gateway else None
            dev = obj.get('dev')
            index = (ctx.nl.links()[0].get(dev) or ctx.nl.ifindex(dev, obj=self.label(obj), field='dev')) if dev else None
        shape = (len(dst_bytes), len(gateway) if gateway else 0, index is not None)
        body = _BODIES.get(shape)
        if body is None:
            fmt = ['=BBBBBBBBI']
            if shape[0]:
                fmt.append('HH%ds' % shape[0])
            fmt.append('HHIHHI')
            if shape[1]:
                fmt.append('HH%ds' % shape[1])
            if shape[2]:
                fmt.append('HHI')
            body = _BODIES[shape] = struct.Struct(''.join(fmt))
        if dst_bytes:
            values += (4 + len(dst_bytes), RTA_DST, dst_bytes)
        values += (8, RTA_TABLE, table, 8, RTA_PRIORITY, obj['metric'])
        if gateway:
            values += (4 + len(gateway), RTA_GATEWAY, gateway)
        if index is not None:
            values += (8, RTA_OIF, index)
        if op.action == 'delete':
            return _rtnl.RTM_DELROUTE, _rtnl.DELETE, body.pack(*values)
        return _rtnl.RTM_NEWROUTE, _rtnl.ADD if op.action == 'add' else _rtnl.REPLACE, body.pack(*values)

    def _encode_kept(self, ctx, op):
        """:meth:`encode` of a run whose gather found routes with attributes the resource does not model: a
        write of such a route carries them over (in every state: the request replaces the whole route; see the
        module's notes). A rollback's request re-makes the route it undoes the write of, which has the same
        key: that route's attributes come back with it."""
        obj = op.obj
        extra = None if op.action == 'delete' else self._extras.get(self.key(obj))
        if extra is None:
            return Route.encode(self, ctx, op)
        # the table number and the dst as encode computes them
        table = obj['table']
        if not isinstance(table, int):
            table = _TABLE_NUMBERS.get(table)
            if table is None:
                table = _norm.number(_norm.TABLES, obj['table'])
        if obj['dst'] != 'default':
            number, dst_len = _network(obj['dst'], obj['family'])
            dst_bytes = number.to_bytes(4 if obj['family'] == 4 else 16, 'big')
        else:
            dst_len, dst_bytes = 0, b''
        return self._encode_attrs(ctx, op, table, dst_len, dst_bytes, extra)

    def _encode_attrs(self, ctx, op, table, dst_len, dst_bytes, extra=None):
        """RTM_NEWROUTE of any route, attribute by attribute (the order ip route sends them in); with ``extra``,
        what the kernel's route of the key has that the resource does not model (:meth:`_encode_kept`)."""
        obj = op.obj
        names = ctx.nl.links()[0]
        fam = obj['family']
        af = AF_INET if fam == 4 else AF_INET6
        nhid = self._nhid(obj, extra)
        parts = []
        if dst_bytes:
            parts.append(_rtnl.attr(RTA_DST, dst_bytes))
        parts.append(_rtnl.attr_u32(RTA_TABLE, table))
        parts.append(_rtnl.attr_u32(RTA_PRIORITY, obj['metric']))
        head = RTMSG.pack(af, dst_len, 0, 0, table if table < 256 else 0,
                          _norm.number(_norm.PROTOCOLS, obj['protocol']), _norm.number(_norm.SCOPES, obj['scope']),
                          TYPE_NUMBERS[obj['type']], RTNH_F_ONLINK if obj.get('onlink') and nhid is None else 0)
        if nhid is not None:  # the nexthop object instead of the next hops it resolves to
            parts.append(_rtnl.attr_u32(RTA_NH_ID, nhid))
        elif obj.get('gateway'):
            parts.append(_gateway_attr(fam, obj['gateway']))
        if obj.get('dev') and nhid is None:
            index = names.get(obj['dev']) or ctx.nl.ifindex(obj['dev'], obj=self.label(obj), field='dev')
            parts.append(_rtnl.attr_u32(RTA_OIF, index))
        if obj.get('prefsrc'):
            parts.append(_rtnl.attr(RTA_PREFSRC, _rtnl.addr_bytes(obj['prefsrc'])[1]))
        metrics = self._metrics(obj, extra)
        if metrics:
            parts.append(_rtnl.attr_nested(RTA_METRICS, *metrics))
        if extra:
            parts.append(extra[0])
        if obj.get('nexthops') and nhid is None:
            hops = []
            kept = extra[3] if extra and extra[3] else {}  # (what the kernel's hops of the same dev and gateway have)
            for i, nh in enumerate(obj['nexthops']):
                index = names.get(nh['dev']) or ctx.nl.ifindex(nh['dev'], obj=self.label(obj), field='nexthops[%d].dev' % i)
                attrs = _gateway_attr(fam, nh['gateway']) if nh.get('gateway') else b''
                attrs += kept.get((nh['dev'], nh.get('gateway')), b'')
                hops.append(RTNEXTHOP.pack(RTNEXTHOP.size + len(attrs), RTNH_F_ONLINK if nh.get('onlink') else 0,
                                           nh['weight'] - 1, index) + attrs)
            parts.append(_rtnl.attr(RTA_MULTIPATH, b''.join(hops)))
        flags = _rtnl.ADD if op.action == 'add' else _rtnl.REPLACE
        return _rtnl.RTM_NEWROUTE, flags, head + b''.join(parts)

    @staticmethod
    def _nhid(obj, extra):
        """The id of the nexthop object the kernel's route uses (``extra``: what it has that the resource does not
        model), for a request for ``obj``; None without one, or when ``obj`` names other next hops than the ones
        the kernel shows for the object (the task then asks for those instead of the object)."""
        if not extra or extra[2] is None:
            return None
        nhid, hops = extra[2]
        return nhid if (obj.get('gateway'), obj.get('dev'), obj.get('nexthops')) == hops else None

    @staticmethod
    def _metrics(obj, extra):
        """The RTA_METRICS entries of a request for ``obj``: its mtu, and the metrics ``extra`` (what the
        kernel's route has that the resource does not model) keeps; the lock of mtu only with an mtu."""
        mtu = obj.get('mtu')
        out = [_rtnl.attr_u32(RTAX_MTU, mtu)] if mtu else []
        if extra:
            for kind, raw in extra[1]:
                if kind == RTAX_LOCK:
                    lock = _rtnl.U32.unpack_from(raw, 4)[0] & (~0 if mtu else ~(1 << RTAX_MTU))
                    if lock:
                        out.insert(0, _rtnl.attr_u32(RTAX_LOCK, lock))
                else:
                    out.append(raw)
        return out

    @staticmethod
    def _extra_words(extra):
        """``(words, lock, unsaid)``: the iproute2 words of what ``extra`` keeps, the lock bits of the metrics
        (for ``mtu lock``), and the names of what ``ip route`` has no words for (for a closing comment)."""
        words, unsaid, lock = [], [], 0
        metrics = dict(extra[1])
        if RTAX_LOCK in metrics:
            lock = _rtnl.U32.unpack_from(metrics[RTAX_LOCK], 4)[0]
        found = _payloads(extra[0])
        words += _realm_words(found)
        for kind, raw in sorted(metrics.items()):
            name = METRIC_NAMES.get(kind)
            if name is None:  # (the lock is said with each metric it locks)
                if kind != RTAX_LOCK:
                    unsaid.append('metric %d' % kind)
                continue
            if kind == 16:  # congctl: the algorithm's name
                value = raw[4:].split(b'\0', 1)[0].decode('ascii', 'replace')
            else:
                value = _rtnl.U32.unpack_from(raw, 4)[0]
                if kind == 4 and not value % 8:  # rtt: kept in 1/8 ms; a bare number is taken as it is
                    value = '%dms' % (value // 8)
                elif kind == 5 and not value % 4:  # rttvar: in 1/4 ms
                    value = '%dms' % (value // 4)
                elif kind == 13:
                    value = '%dms' % value
                elif kind == 12:
                    if value != 1:  # iproute2 can set only ecn (1)
                        unsaid.append('features %#x' % value)
                        continue
                    value = 'ecn'
            words += [name, 'lock', value] if lock & (1 << kind) else [name, value]
        if RTA_PREF in found and found[RTA_PREF][:1]:
            pref = found[RTA_PREF][0]
            words += ['pref', PREFS.get(pref, pref)]
        if RTA_EXPIRES in found and len(found[RTA_EXPIRES]) == 4:
            words += ['expires', _rtnl.U32.unpack_from(found[RTA_EXPIRES])[0]]
        if RTA_TTL_PROPAGATE in found and found[RTA_TTL_PROPAGATE][:1]:
            words += ['ttl-propagate', 'enabled' if found[RTA_TTL_PROPAGATE][0] else 'disabled']
        for kind in sorted(found):
            if kind not in (RTA_FLOW, RTA_PREF, RTA_EXPIRES, RTA_TTL_PROPAGATE):
                name = _UNSAYABLE.get(kind, 'attribute %d' % kind)
                if name not in unsaid:
                    unsaid.append(name)
        return words, lock, unsaid

    def render(self, ctx, op):
        """The ``ip route`` command of ``op``. Like :meth:`encode`, the command of a route alike in every field but
        dst (:data:`_SHAPE_FIELDS`) to one rendered before is that one's with the dst put in."""
        obj, line, lines, sig = self._templated(ctx, op, 2)
        if line is None:
            # (rendered with a dst no other word can hold: the text on each side of it is the template)
            probe = self._render_one(ctx, Op(op.action, None, dict(obj, dst='\0dst\0')))[0].split('\0dst\0')
            line = lines[sig] = (probe[0], probe[1]) if len(probe) == 2 else False
        if line is False:
            return self._render_one(ctx, op)
        return [line[0] + obj['dst'] + line[1]]

    def _render_one(self, ctx, op):
        """:meth:`render`, word by word."""
        obj = op.obj
        fam = obj.get('family', 4)
        head = ['-6'] if fam == 6 else []
        metric = IP6_RT_PRIO_USER if fam == 6 else 0  # the default (defaults(), without building its dict)
        table = obj.get('table', 'main')
        if op.action == 'delete':
            words = head + ['route', 'del', obj['dst']]
            if table != 'main':
                words += ['table', table]
            words += ['metric', obj.get('metric', metric)]
            return [ctx.cmd('ip', *words)]
        words = head + ['route', 'add' if op.action == 'add' else 'replace']
        if obj.get('type', 'unicast') != 'unicast':
            words.append(obj['type'])
        words.append(obj['dst'])
        if obj.get('gateway'):
            words += _via(fam, obj['gateway'])
        if obj.get('dev'):
            words += ['dev', obj['dev']]
        if obj.get('onlink'):
            words.append('onlink')
        if table != 'main' or obj.get('type') in ('local', 'broadcast', 'anycast', 'nat'):
            words += ['table', table]  # (without a table, iproute2 puts a route of these types in table local)
        if obj.get('metric', metric) != metric:
            words += ['metric', obj['metric']]
        if obj.get('protocol', 'boot') != 'boot':
            words += ['proto', obj['protocol']]
        if 'scope' in obj and obj['scope'] != self._default_scope(obj):
            words += ['scope', obj['scope']]
        if obj.get('prefsrc'):
            words += ['src', obj['prefsrc']]
        if obj.get('mtu'):
            words += ['mtu', obj['mtu']]
        if obj.get('nexthops'):
            words += self._hop_words(obj)
        return [ctx.cmd('ip', *words)]

    @staticmethod
    def _hop_words(obj, kept=None, unsaid=None):
        """The ``nexthop`` words of ``obj``; with ``kept`` (what the kernel's hops have that the resource does not
        model, by dev and gateway), each hop's realm too, and the names of the rest appended to ``unsaid``."""
        words = []
        for nh in obj['nexthops']:
            words.append('nexthop')
            if nh.get('gateway'):
                words += _via(obj.get('family', 4), nh['gateway'])
            words += ['dev', nh['dev'], 'weight', nh.get('weight', 1)]
            if nh.get('onlink'):
                words.append('onlink')
            raw = kept.get((nh['dev'], nh.get('gateway'))) if kept else None
            if raw:
                found = _payloads(raw)
                words += _realm_words(found)
                for kind in sorted(found):
                    name = '%s of the next hop %s' % (_UNSAYABLE.get(kind, 'attribute %d' % kind),
                                                      nh.get('gateway') or nh['dev'])
                    if kind != RTA_FLOW and name not in unsaid:
                        unsaid.append(name)
        return words

    def _render_kept(self, ctx, op):
        """:meth:`render` of a run whose gather found routes with attributes the resource does not model: the
        command of a write of such a route spells them too (:meth:`_encode_kept` sends them), after the
        route's own words and before its nexthops (which end the line); the ones ``ip route`` has no word for
        are named in a closing shell comment. A route that keeps its nexthop object is written with
        ``nhid`` instead of its next hops."""
        obj = op.obj
        extra = None if op.action == 'delete' else self._extras.get(self.key(obj))
        if extra is None:
            return Route.render(self, ctx, op)
        nhid = self._nhid(obj, extra)
        left = ('mtu', 'nexthops') + (('gateway', 'dev', 'onlink') if nhid is not None else ())
        shown = dict((k, v) for k, v in obj.items() if k not in left)
        if 'scope' in obj and obj['scope'] == self._default_scope(obj):  # (iproute2 derives it from the whole line)
            shown['scope'] = self._default_scope(shown)
        line = Route.render(self, ctx, Op(op.action, None, shown))[0]
        kept, lock, unsaid = self._extra_words(extra)
        words = ['nhid', nhid] if nhid is not None else []
        if obj.get('mtu'):
            words += ['mtu', 'lock', obj['mtu']] if lock & (1 << RTAX_MTU) else ['mtu', obj['mtu']]
        words += kept
        if obj.get('nexthops') and nhid is None:
            words += self._hop_words(obj, extra[3], unsaid)
        if unsaid:  # (a shell comment: the line still pastes)
            words += ['#', 'also', 'keeps', 'the', "route's", ', '.join(unsaid)]
        return [' '.join([line] + [str(w) for w in words])]
