# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VNI filter list of a VXLAN device in ``external vnifilter`` mode (RTM_NEWTUNNEL / RTM_DELTUNNEL), like
``bridge vni``: the single-VXLAN-device design, where one VXLAN device carries many VNIs.

One object per device: its whole VNI list (``vnis``), so ``replaced`` and ``overridden`` make a device's
set exactly as given and ``merged`` adds to it.  Each VNI may carry its own multicast ``group`` or unicast
``remote`` (the default destination for flooded traffic of that VNI).  A device with no VNIs is not shown,
so removing every VNI of a device is a delete.

Canonical form: VNIs sorted, consecutive VNIs with the same group/remote folded into a range ``'100-200'``
(a single VNI is an int).  Ranges are never expanded into single VNIs here (planning and requests work on
ranges); the kernel keeps one node per VNI, so a huge range (``1-16777215``) costs it gigabytes and minutes.

Wire format (linux/if_link.h, 5.18+; pyroute2 0.9 has no class for it, so the messages are built here):
``struct tunnel_msg {u8 family (AF_BRIDGE); u8 flags; u16 reserved; u32 ifindex}`` followed by nested
``VXLAN_VNIFILTER_ENTRY`` attributes holding ``START``/``END`` (u32, host order) and ``GROUP`` (4 bytes) or
``GROUP6`` (16 bytes).  The kernel treats an add of an existing VNI as an update (group/remote replaced,
or cleared when the entry has none), so a change is one add; a delete of a VNI that does not exist is
ENOENT, so only existing ranges are deleted.  The dump (RTM_GETTUNNEL, NLM_F_DUMP) lists every device
with ``vnifilter`` on, with ranges already folded by the kernel.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import os
import socket
import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_BRIDGE = 7
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP = 0x300
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED = 0x8000
RTM_NEWTUNNEL, RTM_DELTUNNEL, RTM_GETTUNNEL = 120, 121, 122
VXLAN_VNIFILTER_ENTRY = 1
ENTRY_START, ENTRY_END, ENTRY_GROUP, ENTRY_GROUP6 = 1, 2, 3, 4
VNI_MAX = 2 ** 24 - 1
#: entries per request: a request stays well below a page-sized socket buffer's limits
CHUNK = 400
COMMAND = {'add': RTM_NEWTUNNEL, 'delete': RTM_DELTUNNEL}


def _span(value, field):
    """``100`` or ``'100-200'`` as (first, last)."""
    return _norm.span(value, field, 1, VNI_MAX, what='a VNI', example='100-200')


_text = _norm.span_text


def fold(runs):
    """[(first, last, dest)] sorted and disjoint -> the same with adjacent runs of equal dest joined."""
    out = []
    for first, last, dest in runs:
        if out and first == out[-1][1] + 1 and dest == out[-1][2]:
            out[-1] = (out[-1][0], last, dest)
        else:
            out.append((first, last, dest))
    return out


def runs_of(vnis):
    """Canonical ``vnis`` -> [(first, last, dest)] where dest is None, ('group', ip) or ('remote', ip)."""
    out = []
    for entry in vnis or []:
        first, last = _span(entry['vni'], 'vnis')
        dest = None
        for kind in ('group', 'remote'):
            if entry.get(kind):
                dest = (kind, entry[kind])
        out.append((first, last, dest))
    return out


def entries_of(runs):
    out = []
    for first, last, dest in fold(runs):
        entry = {'vni': _text(first, last)}
        if dest:
            entry[dest[0]] = dest[1]
        out.append(entry)
    return out


def segments(a, b):
    """Walk two run lists together: [(first, last, dest_in_a, dest_in_b)] over every VNI in either
    (``False`` where a list lacks the VNI), without expanding ranges."""
    points = set()
    for runs in (a, b):
        for first, last, _dest in runs:
            points.add(first)
            points.add(last + 1)
    points = sorted(points)

    def finder(runs):
        starts = [r[0] for r in runs]

        def find(vni):
            i = bisect.bisect_right(starts, vni) - 1
            if i >= 0 and runs[i][0] <= vni <= runs[i][1]:
                return runs[i][2]
            return False
        return find

    in_a, in_b = finder(a), finder(b)
    out = []
    for first, nxt in zip(points, points[1:]):
        da, db = in_a(first), in_b(first)
        if da is not False or db is not False:
            out.append((first, nxt - 1, da, db))
    return out


class BridgeVni(Resource):
    name = 'bridge_vni'
    keys = ('dev',)
    required = ('dev', 'vnis')
    options = {
        'dev': {'type': 'str'},
        'vnis': {'type': 'list', 'elements': 'dict', 'options': {
            'vni': {'type': 'raw'},
            'group': {'type': 'str'},
            'remote': {'type': 'str'},
        }},
    }
    scope_options = {'dev': {'type': 'str'}}

    def __init__(self):
        #: {dev: {'kind':, 'vnifilter':}} from the last gather
        self.devices = {}
        self._sock = None
        self._seq = 0

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        if 'vnis' not in obj:
            return obj
        runs = []
        for index, entry in enumerate(obj['vnis']):
            entry = dict((k, v) for k, v in entry.items() if v is not None)
            if 'vni' not in entry:
                raise EdgenetError('vnis[%d] has no vni' % index, field='vnis')
            first, last = _span(entry['vni'], 'vnis')
            if 'group' in entry and 'remote' in entry:
                raise EdgenetError('vnis[%d]: group and remote are mutually exclusive' % index, field='vnis')
            dest = None
            if 'group' in entry:
                group = _norm.ip(entry['group'], 'vnis')
                if not _multicast(group):
                    raise EdgenetError('vnis[%d]: group %s is not a multicast address (use remote)' % (index, group),
                                       field='vnis')
                dest = ('group', group)
            if 'remote' in entry:
                remote = _norm.ip(entry['remote'], 'vnis')
                if _multicast(remote):
                    raise EdgenetError('vnis[%d]: remote %s is a multicast address (use group)' % (index, remote),
                                       field='vnis')
                dest = ('remote', remote)
            runs.append((first, last, dest))
        if not runs:
            raise EdgenetError('an empty VNI list; to remove every VNI of a device use state deleted', field='vnis')
        runs.sort()
        for prev, cur in zip(runs, runs[1:]):
            if cur[0] <= prev[1]:
                raise EdgenetError('VNI %d is given twice' % cur[0], field='vnis')
        obj['vnis'] = entries_of(runs)
        return obj

    def overlay(self, base, top):
        out = dict(base, **top)
        if 'vnis' in base and 'vnis' in top:
            merged = []
            for first, last, old, new in segments(runs_of(base['vnis']), runs_of(top['vnis'])):
                merged.append((first, last, new if new is not False else old))
            out['vnis'] = entries_of(merged)
        return out

    def label(self, obj):
        return 'bridge_vni dev %s' % obj.get('dev', '?')

    def in_scope(self, obj, ctx):
        dev = ctx.params.get('dev')
        return dev is None or obj['dev'] == dev

    def validate(self, ctx, plan, after):
        for op in plan:
            obj = op.after
            if obj is None:
                continue
            index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
            info = self.devices.get(obj['dev'])
            if index == -1 or info is None:
                continue  # check mode: a device an earlier task creates
            if info['kind'] != 'vxlan' or not info['vnifilter']:
                what = 'a VXLAN device without vnifilter' if info['kind'] == 'vxlan' else (
                    'not a VXLAN device' if not info['kind'] else 'a %s device' % info['kind'])
                raise EdgenetError("'%s' is %s; a VNI filter list needs a VXLAN device with external and "
                                   "vnifilter (edgenet.linux.link vxlan.vnifilter)" % (obj['dev'], what),
                                   obj=self.label(obj), field='dev')

    # -- planning helpers ------------------------------------------------------
    @staticmethod
    def _diff(op):
        """(deletes, adds): run lists; adds also update the group/remote of existing VNIs."""
        before = runs_of((op.before or {}).get('vnis'))
        after = runs_of((op.after or {}).get('vnis'))
        deletes, adds = [], []
        for first, last, old, new in segments(before, after):
            if new is False:
                deletes.append((first, last, None))
            elif old != new:
                adds.append((first, last, new))
        return fold(deletes), fold(adds)

    # -- kernel I/O ----------------------------------------------------------
    def _socket(self, ctx):
        if self._sock is None:
            ctx.nl.ipr  # pylint: disable=pointless-statement  # enters the task's netns
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
            try:
                sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            except OSError:
                pass
            sock.bind((0, 0))
            self._sock = sock
        return self._sock

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _message(self, command, ifindex, runs, flags=NLM_F_REQUEST | NLM_F_ACK):
        """One netlink request: RTM_NEWTUNNEL/RTM_DELTUNNEL (or the RTM_GETTUNNEL dump with no runs)."""
        body = struct.pack('=BBHI', AF_BRIDGE, 0, 0, ifindex)
        for first, last, dest in runs:
            attrs = struct.pack('=HHI', 8, ENTRY_START, first)
            if last != first:
                attrs += struct.pack('=HHI', 8, ENTRY_END, last)
            if dest:
                packed = socket.inet_pton(socket.AF_INET6 if ':' in dest[1] else socket.AF_INET, dest[1])
                attrs += struct.pack('=HH', 4 + len(packed), ENTRY_GROUP6 if len(packed) == 16 else ENTRY_GROUP)
                attrs += packed
            body += struct.pack('=HH', 4 + len(attrs), VXLAN_VNIFILTER_ENTRY | NLA_F_NESTED) + attrs
        self._seq += 1
        return struct.pack('=IHHII', 16 + len(body), command, flags, self._seq, 0) + body

    def _talk(self, ctx, data, obj, action, field='vnis'):
        """Send one request; return the payloads of its answers (a dump), or raise on a NLMSG_ERROR."""
        sock = self._socket(ctx)
        seq = struct.unpack_from('=I', data, 8)[0]
        sock.send(data)
        out = []
        while True:
            buf = sock.recv(1 << 20)
            offset = 0
            while offset + 16 <= len(buf):
                length, kind, flags, mseq, _pid = struct.unpack_from('=IHHII', buf, offset)
                if length < 16:
                    break
                payload = buf[offset + 16:offset + length]
                offset += (length + 3) & ~3
                if mseq != seq:
                    continue
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from('=i', payload, 0)[0]
                    if code == 0:
                        return out
                    raise _kernel_error(code, payload, flags, obj, action, field)
                if kind == NLMSG_DONE:
                    return out
                out.append(payload)

    def gather(self, ctx):
        from ansible_collections.edgenet.linux.plugins.module_utils.resources.link import _vxlan_nla_vnifilter

        nl = ctx.nl
        _vxlan_nla_vnifilter()
        self.devices = {}
        for msg in nl.dump('get_links'):
            info = msg.get_attr('IFLA_LINKINFO')
            kind = info.get_attr('IFLA_INFO_KIND') if info else None
            data = info.get_attr('IFLA_INFO_DATA') if kind == 'vxlan' else None
            vnifilter = bool(data.get_attr('IFLA_VXLAN_VNIFILTER')) if data is not None and \
                hasattr(data, 'get_attr') else False
            self.devices[msg.get_attr('IFLA_IFNAME')] = {'kind': kind, 'vnifilter': vnifilter}
        if not any(d['vnifilter'] for d in self.devices.values()):
            return []  # nothing to dump (and a kernel before 5.18 has no RTM_GETTUNNEL)
        by_dev = {}
        request = self._message(RTM_GETTUNNEL, 0, [], flags=NLM_F_REQUEST | NLM_F_DUMP)
        for payload in self._talk(ctx, request, 'bridge_vni', 'VNI filter dump', field=None):
            _family, _flags, _res, ifindex = struct.unpack_from('=BBHI', payload, 0)
            runs = by_dev.setdefault(nl.ifname(ifindex), [])
            for kind, value in _attrs(payload, 8):
                if kind & ~NLA_F_NESTED != VXLAN_VNIFILTER_ENTRY:
                    continue
                entry = dict(_attrs(value, 0))
                if ENTRY_START not in entry:
                    continue
                first = struct.unpack('=I', entry[ENTRY_START][:4])[0]
                last = struct.unpack('=I', entry[ENTRY_END][:4])[0] if ENTRY_END in entry else first
                dest = None
                for attr, family in ((ENTRY_GROUP, socket.AF_INET), (ENTRY_GROUP6, socket.AF_INET6)):
                    if attr in entry:
                        ip = socket.inet_ntop(family, entry[attr])
                        if ip not in ('0.0.0.0', '::'):
                            dest = ('group' if _multicast(ip) else 'remote', _norm.ip(ip))
                runs.append((first, last, dest))
        return [{'dev': dev, 'vnis': entries_of(sorted(runs))} for dev, runs in by_dev.items() if runs]

    def _send(self, ctx, op, command, runs):
        obj = op.obj
        label = self.label(obj)
        if ctx.nl.readonly:
            raise EdgenetError('internal error: a write was attempted in check mode', obj=label)
        index = ctx.nl.ifindex(obj['dev'], obj=label)
        for i in range(0, len(runs), CHUNK):
            chunk = runs[i:i + CHUNK]
            what = 'bridge vni %s vni %s' % (command, ','.join(str(_text(a, b)) for a, b, _d in chunk[:3]) +
                                             (',...' if len(chunk) > 3 else ''))
            ctx.nl.writes += 1
            self._talk(ctx, self._message(COMMAND[command], index, chunk), label, what)

    def apply(self, ctx, op):
        deletes, adds = self._diff(op)
        if deletes:
            self._send(ctx, op, 'delete', deletes)
        if adds:
            self._send(ctx, op, 'add', adds)

    def render(self, ctx, op):
        dev = op.obj['dev']
        deletes, adds = self._diff(op)
        lines = [ctx.cmd('bridge', 'vni', 'delete', 'dev', dev, 'vni', _text(a, b)) for a, b, _d in deletes]
        for first, last, dest in adds:
            words = ['vni', _text(first, last)] + (list(dest) if dest else [])
            lines.append(ctx.cmd('bridge', 'vni', 'add', 'dev', dev, *words))
        return lines


def _multicast(ip):
    import ipaddress

    return ipaddress.ip_address(ip).is_multicast


def _attrs(data, offset):
    """[(type, value bytes)] of the netlink attributes in ``data`` from ``offset``."""
    out = []
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from('=HH', data, offset)
        if length < 4:
            break
        out.append((kind, data[offset + 4:offset + length]))
        offset += (length + 3) & ~3
    return out


def _kernel_error(code, payload, flags, obj, action, field):
    extack = None
    if flags & NLM_F_ACK_TLVS and len(payload) >= 20:
        inner_len = struct.unpack_from('=I', payload, 4)[0]
        offset = 4 + (16 if flags & NLM_F_CAPPED else ((inner_len + 3) & ~3))
        for kind, value in _attrs(payload, offset):
            if kind == NLMSGERR_ATTR_MSG:
                extack = value.split(b'\0')[0].decode('utf-8', 'replace')
    if extack == os.strerror(code):
        extack = None
    return EdgenetError('the kernel refused the %s' % action, obj=obj, field=field, code=code, extack=extack)
