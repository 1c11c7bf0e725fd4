# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""edgenet.linux.netlink_events: rtnetlink notifications as Event-Driven Ansible events.

A raw ``NETLINK_ROUTE`` socket subscribed to the link, neighbour (bridge FDB and ARP/NDP),
IPv4/IPv6 address and IPv4/IPv6 route multicast groups, optionally inside a named network
namespace.  Each notification becomes one flat dict (see ``DOCUMENTATION``).

When the socket's receive buffer overruns (``ENOBUFS``: the kernel dropped notifications), the
plugin dumps the links and the bridge FDB again and emits one ``resync`` event, so a consumer
always knows when it may have missed something: never a silent gap.

The namespace is entered only by a short-lived helper thread that opens the sockets and then
ends; a netlink socket stays bound to the namespace it was created in, and ``setns(2)`` changes
only the calling thread, so the ansible-rulebook process and its other sources stay where they are.

Only the standard library is used (no pyroute2); ``ctypes`` is imported only to enter a namespace.
"""

from __future__ import absolute_import, division, print_function

import asyncio
import datetime
import errno
import fnmatch
import os
import socket
import struct
import threading
import time

__metaclass__ = type

DOCUMENTATION = r"""
---
short_description: Link, bridge FDB, neighbour, address and route changes from rtnetlink
description:
  - An Event-Driven Ansible event source. It listens to the kernel's rtnetlink notifications
    (the link, neighbour, address and route multicast groups) and emits one event per change.
  - Events are dicts with C(type), C(netns), C(timestamp) and the fields of the object, named as in
    iproute2's JSON output (C(mac), C(dev), C(master), C(vlan), C(ifname), C(address), C(dst)...).
  - Event types are C(fdb_add), C(fdb_move) (a known MAC now on another port; C(old_dev) names the
    previous one), C(fdb_del), C(neigh_add), C(neigh_del), C(link_add), C(link_del), C(link_up),
    C(link_down), C(link_change), C(addr_add), C(addr_del), C(route_add), C(route_del), C(ready)
    (once, when the plugin listens; always emitted) and C(resync).
  - A C(link_up) of a link the plugin saw go down has C(down_at) (the time of that C(link_down)) and
    C(down_seconds), so one condition matches a link that went down and came back up
    (C(event.down_seconds is defined and event.down_seconds <= 60)).
  - When the kernel drops notifications because the receive buffer overran (ENOBUFS), the plugin
    dumps the links and the FDB again and emits a C(resync) event, whatever O(types) says.
options:
  netns:
    description:
      - A named network namespace (C(/run/netns/NAME)) or a path to a namespace file to watch.
        Only a helper thread enters it; the rulebook process stays in its own namespace.
      - By default the namespace of the ansible-rulebook process.
    type: str
  types:
    description:
      - Event types to emit (all when not given). C(ready) and C(resync) are always emitted.
      - Group names select several types - C(fdb), C(neigh), C(link), C(addr), C(route).
    type: list
    elements: str
  devices:
    description:
      - Shell-style patterns (C(br*), C(veth?)); only events whose C(dev), C(ifname) or C(master)
        matches one of them are emitted. Events without a device (a blackhole route) are dropped.
      - A multipath route has its next hops in C(nexthops) (C(dev), C(gateway), C(weight)); it
        matches when the C(dev) of one of them does.
    type: list
    elements: str
  groups:
    description:
      - Multicast groups to join - C(link), C(neigh), C(ipv4_addr), C(ipv6_addr), C(ipv4_route),
        C(ipv6_route). All by default.
    type: list
    elements: str
  rcvbuf:
    description:
      - The socket receive buffer in bytes (the kernel doubles it). A small buffer overruns sooner.
    type: int
    default: 4194304
  resync_snapshot:
    description:
      - Put the whole FDB (C(fdb)) into the C(resync) event, not only the counts and the links.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: L2 events
  hosts: all
  sources:
    - edgenet.linux.netlink_events:
        netns: blue
        types: [fdb_move, link_up, link_down]
        devices: ["br*", "veth*"]
  rules:
    - name: A MAC moved
      condition: event.type == "fdb_move"
      action:
        debug:
          msg: "{{ event.mac }} moved from {{ event.old_dev }} to {{ event.dev }}"
"""

# -- netlink constants (linux/netlink.h, linux/rtnetlink.h, linux/neighbour.h, linux/if_link.h) --
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLM_F_DUMP_INTR = 0x10

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR = 20, 21
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30

GROUPS = {'link': 1, 'neigh': 3, 'ipv4_addr': 5, 'ipv4_route': 7, 'ipv6_addr': 9, 'ipv6_route': 11}

AF_INET, AF_BRIDGE, AF_INET6 = 2, 7, 10
FAMILY = {AF_INET: 4, AF_INET6: 6}

IFF_UP, IFF_RUNNING = 0x1, 0x40
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_OPERSTATE, IFLA_LINKINFO = 1, 3, 4, 10, 16, 18
IFLA_INFO_KIND = 1
LINK_FIELDS = ('ifname', 'admin_up', 'operstate', 'mtu', 'address', 'master_index')  # link_change
OPERSTATES = ('UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP')

IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3

RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 6, 7, 9, 15
RTNEXTHOP = struct.Struct('=HBBi')  # struct rtnexthop: len, flags, hops (weight - 1), ifindex
RTM_F_CLONED = 0x200
ROUTE_TYPES = {1: 'unicast', 2: 'local', 3: 'broadcast', 4: 'anycast', 5: 'multicast', 6: 'blackhole',
               7: 'unreachable', 8: 'prohibit', 9: 'throw', 10: 'nat'}
PROTOCOLS = {0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 186: 'bgp', 187: 'isis',
             188: 'ospf', 189: 'rip', 192: 'eigrp'}
SCOPES = {0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere'}
TABLES = {253: 'default', 254: 'main', 255: 'local'}

NDA_DST, NDA_LLADDR, NDA_VLAN, NDA_PORT, NDA_VNI, NDA_IFINDEX, NDA_MASTER = 1, 2, 5, 6, 7, 8, 9
NDA_SRC_VNI, NDA_NH_ID = 11, 13
NTF_FLAGS = ((0x02, 'self'), (0x04, 'master'), (0x08, 'proxy'), (0x10, 'extern_learn'),
             (0x20, 'offload'), (0x40, 'sticky'), (0x80, 'router'))
NTF_SELF, NTF_MASTER = 0x02, 0x04
NUD_STATES = ((0x01, 'INCOMPLETE'), (0x02, 'REACHABLE'), (0x04, 'STALE'), (0x08, 'DELAY'),
              (0x10, 'PROBE'), (0x20, 'FAILED'), (0x40, 'NOARP'), (0x80, 'PERMANENT'))
NUD_NOARP, NUD_PERMANENT = 0x40, 0x80

TYPE_GROUPS = {
    'fdb': ('fdb_add', 'fdb_move', 'fdb_del'),
    'neigh': ('neigh_add', 'neigh_del'),
    'link': ('link_add', 'link_del', 'link_up', 'link_down', 'link_change'),
    'addr': ('addr_add', 'addr_del'),
    'route': ('route_add', 'route_del'),
}
ALL_TYPES = frozenset(sum(TYPE_GROUPS.values(), ('ready', 'resync')))

NLMSGHDR = struct.Struct('=IHHII')
NLATTR = struct.Struct('=HH')
IFINFOMSG = struct.Struct('=BxHiII')
IFADDRMSG = struct.Struct('=BBBBi')
RTMSG = struct.Struct('=BBBBBBBBI')
NDMSG = struct.Struct('=BxxxiHBB')
CLONE_NEWNET = 0x40000000
INT_MAX = 2147483647
RECV_SIZE = 1 << 17


class NetlinkEventsError(Exception):
    """A bad argument or a namespace that cannot be entered."""


# -- the parser: bytes in, dicts out (no state) ---------------------------------------------------
def messages(data):
    """Split one datagram into (type, flags, seq, payload) tuples."""
    out = []
    off = 0
    end = len(data)
    while off + NLMSGHDR.size <= end:
        length, mtype, flags, seq, _pid = NLMSGHDR.unpack_from(data, off)
        if length < NLMSGHDR.size or off + length > end:
            break
        out.append((mtype, flags, seq, data[off + NLMSGHDR.size:off + length]))
        off += (length + 3) & ~3
    return out


def attrs(data, off=0):
    """The rtattrs of ``data`` from ``off`` as {type: bytes} (the last one wins; nested flag cleared)."""
    out = {}
    end = len(data)
    while off + NLATTR.size <= end:
        length, atype = NLATTR.unpack_from(data, off)
        if length < NLATTR.size or off + length > end:
            break
        out[atype & 0x3fff] = data[off + NLATTR.size:off + length]
        off += (length + 3) & ~3
    return out


def _u32(b):
    return struct.unpack('=I', b[:4])[0]


def _u16(b):
    return struct.unpack('=H', b[:2])[0]


def _str(b):
    return b.split(b'\0', 1)[0].decode('utf-8', 'replace')


def _mac(b):
    return bytes(b).hex(':')


def _ip(family, b):
    try:
        return socket.inet_ntop(family, b)
    except (ValueError, OSError):
        return _mac(b)


_BITS = {}


def _bits(value, table):
    key = (value, table)
    names = _BITS.get(key)
    if names is None:
        names = _BITS[key] = tuple(name for bit, name in table if value & bit)
    return list(names)


def parse_link(mtype, payload):
    """An RTM_NEWLINK/RTM_DELLINK payload as a dict (None for AF_BRIDGE port messages)."""
    if len(payload) < IFINFOMSG.size:
        return None
    family, _type, index, flags, _change = IFINFOMSG.unpack_from(payload)
    if family == AF_BRIDGE:
        return None
    a = attrs(payload, IFINFOMSG.size)
    link = {'ifindex': index, 'admin_up': bool(flags & IFF_UP),
            'up': bool(flags & IFF_UP) and bool(flags & IFF_RUNNING), 'deleted': mtype == RTM_DELLINK}
    if IFLA_IFNAME in a:
        link['ifname'] = _str(a[IFLA_IFNAME])
    if IFLA_OPERSTATE in a:
        st = a[IFLA_OPERSTATE][0]
        link['operstate'] = OPERSTATES[st] if st < len(OPERSTATES) else str(st)
    if IFLA_MTU in a:
        link['mtu'] = _u32(a[IFLA_MTU])
    if IFLA_ADDRESS in a and len(a[IFLA_ADDRESS]) == 6:
        link['address'] = _mac(a[IFLA_ADDRESS])
    if IFLA_MASTER in a:
        link['master_index'] = _u32(a[IFLA_MASTER])
    if IFLA_LINKINFO in a:
        info = attrs(a[IFLA_LINKINFO])
        if IFLA_INFO_KIND in info:
            link['kind'] = _str(info[IFLA_INFO_KIND])
    return link


def parse_neigh(mtype, payload):
    """An RTM_NEWNEIGH/RTM_DELNEIGH payload: an FDB entry (AF_BRIDGE) or an ARP/NDP neighbour."""
    if len(payload) < NDMSG.size:
        return None
    family, index, state, flags, _type = NDMSG.unpack_from(payload)
    a = attrs(payload, NDMSG.size)
    add = mtype == RTM_NEWNEIGH
    if family == AF_BRIDGE:
        ev = {'type': 'fdb_add' if add else 'fdb_del', 'ifindex': index}
        if NDA_LLADDR in a:
            ev['mac'] = _mac(a[NDA_LLADDR])
        if NDA_VLAN in a:
            ev['vlan'] = _u16(a[NDA_VLAN])
        if NDA_MASTER in a:
            ev['master_index'] = _u32(a[NDA_MASTER])
        if NDA_DST in a:
            ev['dst'] = _ip(AF_INET6 if len(a[NDA_DST]) == 16 else AF_INET, a[NDA_DST])
        if NDA_VNI in a:
            ev['vni'] = _u32(a[NDA_VNI])
        if NDA_SRC_VNI in a:
            ev['src_vni'] = _u32(a[NDA_SRC_VNI])
        if NDA_PORT in a:
            ev['port'] = struct.unpack('!H', a[NDA_PORT][:2])[0]
        if NDA_IFINDEX in a:
            ev['via_index'] = _u32(a[NDA_IFINDEX])
        if NDA_NH_ID in a:
            ev['nhid'] = _u32(a[NDA_NH_ID])
        ev['state'] = ('permanent' if state & NUD_PERMANENT else 'static' if state & NUD_NOARP
                       else 'dynamic')
        ev['flags'] = _bits(flags, NTF_FLAGS)
        return ev
    if family not in FAMILY:
        return None
    ev = {'type': 'neigh_add' if add else 'neigh_del', 'family': FAMILY[family], 'ifindex': index}
    if NDA_DST in a:
        ev['dst'] = _ip(family, a[NDA_DST])
    if NDA_LLADDR in a:
        ev['lladdr'] = _mac(a[NDA_LLADDR])
    ev['state'] = _bits(state, NUD_STATES)
    ev['flags'] = _bits(flags, NTF_FLAGS)
    return ev


def parse_addr(mtype, payload):
    if len(payload) < IFADDRMSG.size:
        return None
    family, prefixlen, _flags, scope, index = IFADDRMSG.unpack_from(payload)
    if family not in FAMILY:
        return None
    a = attrs(payload, IFADDRMSG.size)
    raw = a.get(IFA_LOCAL, a.get(IFA_ADDRESS))
    ev = {'type': 'addr_add' if mtype == RTM_NEWADDR else 'addr_del', 'family': FAMILY[family],
          'ifindex': index, 'prefixlen': prefixlen, 'scope': SCOPES.get(scope, scope)}
    if raw is not None:
        ev['address'] = _ip(family, raw)
    if IFA_ADDRESS in a and IFA_LOCAL in a and a[IFA_ADDRESS] != a[IFA_LOCAL]:
        ev['peer'] = _ip(family, a[IFA_ADDRESS])
    if IFA_LABEL in a:
        ev['label'] = _str(a[IFA_LABEL])
    return ev


def parse_route(mtype, payload):
    if len(payload) < RTMSG.size:
        return None
    family, dst_len, _src_len, _tos, table, proto, scope, rtype, flags = RTMSG.unpack_from(payload)
    if family not in FAMILY or flags & RTM_F_CLONED:
        return None
    a = attrs(payload, RTMSG.size)
    if RTA_TABLE in a:
        table = _u32(a[RTA_TABLE])
    if RTA_DST in a:
        dst = '%s/%d' % (_ip(family, a[RTA_DST]), dst_len)
    else:
        dst = 'default' if dst_len == 0 else '?/%d' % dst_len
    ev = {'type': 'route_add' if mtype == RTM_NEWROUTE else 'route_del', 'family': FAMILY[family],
          'dst': dst, 'table': TABLES.get(table, table), 'route_type': ROUTE_TYPES.get(rtype, rtype),
          'protocol': PROTOCOLS.get(proto, proto), 'scope': SCOPES.get(scope, scope)}
    if RTA_OIF in a:
        ev['ifindex'] = _u32(a[RTA_OIF])
    if RTA_GATEWAY in a:
        ev['gateway'] = _ip(family, a[RTA_GATEWAY])
    if RTA_PRIORITY in a:
        ev['metric'] = _u32(a[RTA_PRIORITY])
    if RTA_PREFSRC in a:
        ev['prefsrc'] = _ip(family, a[RTA_PREFSRC])
    if RTA_MULTIPATH in a:
        ev['nexthops'] = nexthops(family, a[RTA_MULTIPATH])
    return ev


def nexthops(family, data):
    """RTA_MULTIPATH: a multipath route's next hops as [{ifindex, gateway, weight}].

    Such a route has no RTA_OIF or RTA_GATEWAY of its own: each next hop is a struct rtnexthop
    followed by its own attributes.
    """
    out = []
    off = 0
    while off + RTNEXTHOP.size <= len(data):
        length, _flags, hops, index = RTNEXTHOP.unpack_from(data, off)
        if length < RTNEXTHOP.size or off + length > len(data):
            break
        hop = {'ifindex': index, 'weight': hops + 1}
        a = attrs(data[off:off + length], RTNEXTHOP.size)
        if RTA_GATEWAY in a:
            hop['gateway'] = _ip(family, a[RTA_GATEWAY])
        out.append(hop)
        off += (length + 3) & ~3
    return out


PARSERS = {
    RTM_NEWNEIGH: parse_neigh, RTM_DELNEIGH: parse_neigh,
    RTM_NEWADDR: parse_addr, RTM_DELADDR: parse_addr,
    RTM_NEWROUTE: parse_route, RTM_DELROUTE: parse_route,
}


# -- state: names, link up/down, FDB ports (for moves) ---------------------------------------------
def _fdb_key(ev, index):
    """An FDB entry's identity: a bridge's entries are one table (a MAC that changes port there moved);
    a device's own entries (self: VXLAN, a NIC) are a table per device."""
    master = ev.get('master_index')
    table = ('self', index) if master is None or 'self' in ev.get('flags', ()) else master
    return (table, ev.get('mac'), ev.get('vlan'), ev.get('dst'))


class Tracker(object):
    """Turns parsed notifications into events: resolves ifindexes, detects up/down and MAC moves."""

    def __init__(self, netns=None, resolve=None):
        self.netns = netns
        self.resolve = resolve  # ifindex -> parsed link or None: asks the kernel for a name not seen yet
        self.links = {}      # ifindex -> parsed link (the last one seen)
        self.names = {}      # ifindex -> name (kept after deletion: late FDB flushes still resolve)
        self.fdb = {}        # _fdb_key -> ifindex
        self.down_since = {}  # ifindex -> (monotonic time, timestamp) of a link_down this tracker saw

    def name(self, index):
        if not index:
            return None
        if index not in self.names and self.resolve is not None:
            # the bridge announces its own FDB entry before the RTM_NEWLINK of the new bridge
            link = self.resolve(index)
            if link is not None and 'ifname' in link:
                self.names[index] = link['ifname']
        return self.names.get(index, str(index))

    def load(self, links, fdb):
        """Replace the state with a dump (parsed links, fdb_add dicts)."""
        # a link still down after a resync went down when we saw it (if we did); any other state
        # change was missed, so its down time is forgotten rather than guessed
        self.down_since = dict((link['ifindex'], self.down_since[link['ifindex']]) for link in links
                               if not link['up'] and link['ifindex'] in self.down_since)
        self.links = {}
        for link in links:
            self._learn(link)
        self.fdb = dict((_fdb_key(e, e['ifindex']), e['ifindex']) for e in fdb)

    def _learn(self, link):
        self.links[link['ifindex']] = link
        if 'ifname' in link:
            self.names[link['ifindex']] = link['ifname']

    def _stamp(self, ev):
        ev['netns'] = self.netns
        ev['timestamp'] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        return ev

    def link_event(self, mtype, payload):
        link = parse_link(mtype, payload)
        if link is None:
            return None
        index = link['ifindex']
        old = self.links.get(index)
        if link['deleted']:
            self.links.pop(index, None)
            self.down_since.pop(index, None)
            if 'ifname' in link:
                self.names[index] = link['ifname']
            etype = 'link_del'
        else:
            self._learn(link)
            if old is None:
                etype = 'link_add'
            elif old['up'] != link['up']:
                etype = 'link_up' if link['up'] else 'link_down'
            elif any(old.get(k) != link.get(k) for k in LINK_FIELDS):
                etype = 'link_change'
            else:
                return None
        ev = dict((k, v) for k, v in link.items() if k not in ('deleted', 'master_index'))
        ev['type'] = etype
        if 'master_index' in link:
            ev['master'] = self.name(link['master_index'])
        if etype == 'link_change' and old is not None and old.get('ifname') != link.get('ifname'):
            ev['old_ifname'] = old.get('ifname')
        return self._down_time(index, self._stamp(ev))

    def _down_time(self, index, ev):
        """Remember when a link went down; give its link_up when (down_at) and how long (down_seconds).

        Only a down this tracker saw counts: a rule on down_seconds then matches a down followed by an
        up, never an up followed by a down (what an unordered pair of events would also match).
        """
        if ev['type'] == 'link_down':
            self.down_since[index] = (time.monotonic(), ev['timestamp'])
        elif ev['type'] == 'link_up' and index in self.down_since:
            since, ev['down_at'] = self.down_since.pop(index)
            ev['down_seconds'] = round(time.monotonic() - since, 3)
        return ev

    def event(self, mtype, payload):
        """One notification as an event dict, or None (not an event we report, or no change)."""
        if mtype in (RTM_NEWLINK, RTM_DELLINK):
            return self.link_event(mtype, payload)
        parser = PARSERS.get(mtype)
        ev = parser(mtype, payload) if parser else None
        if ev is None:
            return None
        index = ev.pop('ifindex', None)
        if index:
            ev['dev'] = self.name(index)
        for hop in ev.get('nexthops', ()):
            hop['dev'] = self.name(hop.pop('ifindex'))
        if ev['type'].startswith('fdb_'):
            master = ev.pop('master_index', None)
            if master:
                ev['master'] = self.name(master)
            via = ev.pop('via_index', None)
            if via:
                ev['via'] = self.name(via)
            key = _fdb_key(dict(ev, master_index=master), index)
            if ev['type'] == 'fdb_add':
                prev = self.fdb.get(key)
                if prev is not None and prev != index:
                    ev['type'] = 'fdb_move'
                    ev['old_dev'] = self.name(prev)
                self.fdb[key] = index
            else:
                self.fdb.pop(key, None)
        return self._stamp(ev)


# -- sockets -----------------------------------------------------------------------------------
def _setns(fd):
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _open_sockets(groups, rcvbuf):
    """(event socket, dump socket) in the current thread's namespace."""
    ev = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
    dump = None
    try:
        try:
            ev.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_RCVBUFFORCE', 33), rcvbuf)
        except OSError:  # not CAP_NET_ADMIN: capped at net.core.rmem_max
            ev.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        ev.bind((0, 0))
        for group in groups:
            ev.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
        dump = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        dump.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        dump.bind((0, 0))
    except BaseException:
        ev.close()
        if dump is not None:
            dump.close()
        raise
    return ev, dump


def open_sockets(netns, groups, rcvbuf):
    """The sockets, created inside ``netns`` by a helper thread that ends afterwards.

    setns(2) with CLONE_NEWNET moves only the calling thread.  The helper is a fresh thread (never
    a pooled executor thread) and moves back before it ends; if even that failed, the thread dies
    with the foreign namespace, and no other code ever runs on it.
    """
    if not netns:
        return _open_sockets(groups, rcvbuf)
    path = netns if '/' in netns else os.path.join('/run/netns', netns)
    result = {}

    def helper():
        try:
            result['sockets'] = _open_sockets_in(path, netns, groups, rcvbuf)
        except (NetlinkEventsError, OSError) as e:
            result['error'] = e
        except Exception as e:  # pylint: disable=broad-except
            # whatever fails here must reach the caller as an error, not end as a thread's traceback
            result['error'] = NetlinkEventsError("cannot open netlink sockets in network namespace '%s': "
                                                 "%s: %s" % (netns, type(e).__name__, e))

    t = threading.Thread(target=helper, name='netlink_events-setns', daemon=True)
    t.start()
    t.join()
    if 'sockets' not in result:
        raise result.get('error') or NetlinkEventsError(
            "cannot open netlink sockets in network namespace '%s'" % netns)
    return result['sockets']


def _open_sockets_in(path, netns, groups, rcvbuf):
    """open_sockets' helper thread: enter the namespace, open the sockets, move back."""
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise NetlinkEventsError("network namespace '%s' cannot be opened: %s" % (netns, e.strerror))
    try:
        own = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
        try:
            try:
                _setns(target)
            except OSError as e:
                raise NetlinkEventsError("cannot enter network namespace '%s': %s" % (netns, e.strerror))
            try:
                return _open_sockets(groups, rcvbuf)
            finally:
                _setns(own)
        finally:
            os.close(own)
    finally:
        os.close(target)


def dump(sock, mtype, header, seq):
    """A blocking NLM_F_DUMP request on ``sock``: the list of payloads (restarted when interrupted)."""
    for _attempt in range(10):
        seq += 1
        sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(header), mtype, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
                  + header)
        out = []
        interrupted = False
        done = False
        while not done:
            data = sock.recv(RECV_SIZE)
            for rtype, flags, rseq, payload in messages(data):
                if rseq != seq:
                    continue
                if flags & NLM_F_DUMP_INTR:
                    interrupted = True
                if rtype == NLMSG_DONE:
                    done = True
                    break
                if rtype == NLMSG_ERROR:
                    code = -struct.unpack('=i', payload[:4])[0]
                    raise OSError(code, os.strerror(code))
                out.append((rtype, payload))
        if not interrupted:
            return out, seq
    return out, seq


def snapshot(sock, seq=0):
    """(links, fdb): parsed links and fdb_add dicts from dumps on ``sock``."""
    raw, seq = dump(sock, RTM_GETLINK, IFINFOMSG.pack(0, 0, 0, 0, 0), seq)
    links = [x for x in (parse_link(t, p) for t, p in raw) if x]
    raw, seq = dump(sock, RTM_GETNEIGH, NDMSG.pack(AF_BRIDGE, 0, 0, 0, 0), seq)
    fdb = [x for x in (parse_neigh(t, p) for t, p in raw) if x]
    return links, fdb, seq


# -- filters and the main loop --------------------------------------------------------------------
def _names(value, what, allowed=None):
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise NetlinkEventsError('netlink_events: %s must be a list of strings' % what)
    if allowed is not None:
        bad = [v for v in value if v not in allowed]
        if bad:
            raise NetlinkEventsError('netlink_events: unknown %s %s (known: %s)'
                                     % (what, ', '.join(bad), ', '.join(sorted(allowed))))
    return list(value)


class Options(object):
    """The validated arguments."""

    def __init__(self, args):
        args = dict(args or {})
        known = ('netns', 'types', 'devices', 'groups', 'rcvbuf', 'resync_snapshot')
        unknown = sorted(k for k in args if k not in known)
        if unknown:
            raise NetlinkEventsError('netlink_events: unknown argument(s) %s (known: %s)'
                                     % (', '.join(unknown), ', '.join(known)))
        self.netns = args.get('netns') or None
        if self.netns is not None and not isinstance(self.netns, str):
            raise NetlinkEventsError('netlink_events: netns must be a string')
        types = _names(args.get('types'), 'types', ALL_TYPES | set(TYPE_GROUPS))
        if types is None:
            self.types = None
        else:
            self.types = set()
            for t in types:
                self.types.update(TYPE_GROUPS.get(t, (t,)))
            self.types.update(('ready', 'resync'))
        self.devices = _names(args.get('devices'), 'devices')
        groups = _names(args.get('groups'), 'groups', set(GROUPS)) or sorted(GROUPS)
        self.groups = [GROUPS[g] for g in groups]
        rcvbuf = args.get('rcvbuf', 4194304)
        # setsockopt takes a C int: a larger Python int is not an int to it (TypeError)
        if isinstance(rcvbuf, bool) or not isinstance(rcvbuf, int) or not 1024 <= rcvbuf <= INT_MAX:
            raise NetlinkEventsError('netlink_events: rcvbuf must be an integer from 1024 to %d bytes'
                                     % INT_MAX)
        self.rcvbuf = rcvbuf
        snap = args.get('resync_snapshot', False)
        if not isinstance(snap, bool):
            raise NetlinkEventsError('netlink_events: resync_snapshot must be true or false')
        self.resync_snapshot = snap

    def wanted(self, ev):
        if self.types is not None and ev['type'] not in self.types:
            return False
        if self.devices is None or ev['type'] in ('resync', 'ready'):
            return True
        # a multipath route's devices are its next hops'
        names = [ev.get(key) for key in ('dev', 'ifname', 'master')]
        names.extend(hop.get('dev') for hop in ev.get('nexthops', ()))
        return any(name and fnmatch.fnmatchcase(name, p) for name in names for p in self.devices)


class Listener(object):
    """The sockets and the state of one source."""

    def __init__(self, opts):
        self.opts = opts
        self.tracker = Tracker(opts.netns, self.get_link)
        self.sock, self.dump_sock = open_sockets(opts.netns, opts.groups, opts.rcvbuf)
        self.sock.setblocking(False)
        self.seq = 0
        self.overruns = 0
        links, fdb, self.seq = snapshot(self.dump_sock, self.seq)
        self.tracker.load(links, fdb)

    def close(self):
        self.sock.close()
        self.dump_sock.close()

    def get_link(self, index):
        """RTM_GETLINK for one ifindex on the dump socket: the parsed link, or None."""
        self.seq += 1
        hdr = IFINFOMSG.pack(0, 0, index, 0, 0)
        try:
            self.dump_sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(hdr), RTM_GETLINK, NLM_F_REQUEST,
                                              self.seq, 0) + hdr)
            while True:
                for rtype, _flags, rseq, payload in messages(self.dump_sock.recv(RECV_SIZE)):
                    if rseq != self.seq:
                        continue
                    if rtype == RTM_NEWLINK:
                        return parse_link(rtype, payload)
                    return None
        except OSError:
            return None

    def ready(self):
        return self.tracker._stamp({'type': 'ready', 'links': len(self.tracker.links),
                                    'fdb_entries': len(self.tracker.fdb)})

    def events(self, data):
        out = []
        for mtype, _flags, _seq, payload in messages(data):
            ev = self.tracker.event(mtype, payload)
            if ev is not None and self.opts.wanted(ev):
                out.append(ev)
        return out

    def discard_queued(self, limit=1 << 20):
        """Drop what the socket holds: all of it is older than the dump that follows.

        Applied after the dump, such stale notifications could undo newer state whose own
        notification was the one the kernel dropped.  Emptying the queue also clears the kernel's
        congestion mark (NETLINK_S_CONGESTED): until then it reports no further ENOBUFS, so a reader
        that never emptied it would lose later notifications silently.
        """
        n = 0
        while n < limit:
            try:
                self.sock.recv(RECV_SIZE)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
            n += 1
        return n

    def resync(self):
        """After ENOBUFS: dump again, compare with what we knew, and describe it in one event."""
        self.overruns += 1
        discarded = self.discard_queued()
        before = dict(self.tracker.fdb)
        links, fdb, self.seq = snapshot(self.dump_sock, self.seq)
        self.tracker.load(links, fdb)
        after = self.tracker.fdb
        t = self.tracker
        ev = {'type': 'resync', 'reason': 'ENOBUFS', 'overruns': self.overruns, 'discarded': discarded,
              'fdb_entries': len(after),
              'fdb_added': sum(1 for k in after if k not in before),
              'fdb_removed': sum(1 for k in before if k not in after),
              'fdb_moved': sum(1 for k, v in after.items() if k in before and before[k] != v),
              'links': [dict(ifname=t.name(i), up=lk['up'], operstate=lk.get('operstate'))
                        for i, lk in sorted(t.links.items())]}
        if self.opts.resync_snapshot:
            ev['fdb'] = [dict((k, v) for k, v in
                              (('mac', e.get('mac')), ('dev', t.name(e['ifindex'])),
                               ('master', t.name(e.get('master_index'))), ('vlan', e.get('vlan')),
                               ('dst', e.get('dst')), ('state', e['state']), ('flags', e['flags']))
                              if v is not None) for e in fdb]
        return t._stamp(ev)


async def _start(loop, opts):
    """The Listener, built in an executor thread; closed if the source is cancelled meanwhile.

    Cancelling the await does not stop the thread: the Listener it builds afterwards would be
    dropped with its sockets open.  The thread is awaited through a shield, and on cancellation
    its result is closed when it comes (this task waits for it unless cancelled again).
    """
    fut = loop.run_in_executor(None, Listener, opts)
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        fut.add_done_callback(_close_built)
        await asyncio.wait([fut])
        raise


def _close_built(fut):
    if not fut.cancelled() and fut.exception() is None:
        fut.result().close()


async def main(queue, args):
    """The event source entry point (ansible-rulebook calls it with its queue and the source args)."""
    opts = Options(args)
    loop = asyncio.get_running_loop()
    listener = await _start(loop, opts)
    try:
        ready = listener.ready()
        if opts.wanted(ready):
            await queue.put(ready)
        while True:
            batch = []
            try:
                data = await loop.sock_recv(listener.sock, RECV_SIZE)
                batch.extend(listener.events(data))
                # drain what is already queued without going back to the loop for each datagram
                for _i in range(256):
                    try:
                        data = listener.sock.recv(RECV_SIZE)
                    except BlockingIOError:
                        break
                    batch.extend(listener.events(data))
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                # the events of the datagrams read before the overrun came first (the tracker has
                # applied them): they go out, then the resync
                batch.append(await loop.run_in_executor(None, listener.resync))
            for ev in batch:
                await queue.put(ev)
    finally:
        listener.close()


if __name__ == '__main__':
    import json
    import sys

    class _PrintQueue(object):
        async def put(self, event):
            print(json.dumps(event, sort_keys=True), flush=True)

    _args = {'netns': sys.argv[1]} if len(sys.argv) > 1 else {}
    try:
        asyncio.run(main(_PrintQueue(), _args))
    except KeyboardInterrupt:
        pass
    except NetlinkEventsError as _e:
        sys.exit('netlink_events: %s' % _e)
