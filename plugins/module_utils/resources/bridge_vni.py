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

On the engine's bulk path: the device dump is the engine's raw one (``ctx.nl.link_info``: kind and
IFLA_VXLAN_VNIFILTER), the VNI dump is parsed raw, and every op is one pipelined request.  A change is
planned as steps that each are one request with a one-request inverse (deletes; then runs of updates and of
new VNIs, in VNI order), so a refusal rolls back exactly what the kernel applied.  The kernel applies one
request VNI by VNI and keeps those it applied when it refuses one: :meth:`repair` reads the device again and
undoes them too.

Wire format (linux/if_link.h, 5.18+; pyroute2 0.9 has no class for it):
``struct tunnel_msg {u8 family (AF_BRIDGE); u8 flags; u16 reserved; u32 ifindex}`` followed by nested
``VXLAN_VNIFILTER_ENTRY`` attributes holding ``START``/``END`` (u32, host order) and ``GROUP`` (4 bytes) or
``GROUP6`` (16 bytes).  The kernel treats an add of an existing VNI as an update (group/remote replaced,
or cleared when the entry has none), so a change is one add, except one group/remote for another, which
is a delete then an add: the update keeps the kernel's flood entry to the old one; a delete of a VNI that does not exist is
ENOENT, so only existing ranges are deleted.  The dump (RTM_GETTUNNEL, NLM_F_DUMP) lists every device
with ``vnifilter`` on, with ranges already folded by the kernel.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_BRIDGE = 7
EMSGSIZE = 90
IFLA_VXLAN_LINK, IFLA_VXLAN_VNIFILTER = 3, 30
RTM_NEWTUNNEL, RTM_DELTUNNEL, RTM_GETTUNNEL = 120, 121, 122
VXLAN_VNIFILTER_ENTRY = 1
ENTRY_START, ENTRY_END, ENTRY_GROUP, ENTRY_GROUP6 = 1, 2, 3, 4
VNI_MAX = 2 ** 24 - 1
#: struct tunnel_msg
TUNNEL_MSG = struct.Struct('=BBHI')
#: the largest request body sent: one op is one request, and the socket's send buffer bounds a datagram
MAX_BODY = 160 << 10


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


def _drop(runs, gone):
    """``runs`` without the VNIs of ``gone`` (run lists)."""
    return fold([(a, b, da) for a, b, da, db in segments(runs, gone) if da is not False and db is False])


def _lay(runs, top):
    """``runs`` with the runs of ``top`` laid over them."""
    return fold([(a, b, db if db is not False else da) for a, b, da, db in segments(runs, top)])


class BridgeVni(Resource):
    name = 'bridge_vni'
    bulk = True
    keys = ('dev',)
    required = ('dev', 'vnis')
    device_fields = ('dev',)  # (by an altname too)
    device_options = ('dev',)
    options = {
        'dev': {'type': 'str'},
        'vnis': {'type': 'list', 'elements': 'dict', 'options': {
            'vni': {'type': 'raw'},
            'group': {'type': 'str'},
            'remote': {'type': 'str'},
        }},
    }
    scope_options = {'dev': {'type': 'str'}}
    scope_fields = ('dev',)

    def __init__(self):
        #: {dev: {'kind':, 'vnifilter':, 'index':}} from the last gather
        self.devices = {}

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
                if remote in ('0.0.0.0', '::'):
                    raise EdgenetError('vnis[%d]: remote %s is no address (the kernel keeps no remote then); leave '
                                       'remote out for none' % (index, remote), field='vnis')
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
            if not info['lower']:
                group = next((run for run in self._diff(op)[1] if run[2] and run[2][0] == 'group'), None)
                if group is not None:  # (the kernel: "Local interface required for multicast remote group")
                    raise EdgenetError("VNI %s: a multicast group needs a VXLAN device with a lower device (vxlan dev), "
                                       "to send and join the group on; '%s' has none, and the kernel refuses the group "
                                       "(EINVAL)" % (_text(group[0], group[1]), obj['dev']),
                                       obj=self.label(obj), field='vnis')

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

    def plan_change(self, have, target, ctx):
        """A change as steps that each are one request whose inverse is one request too: the deletes
        (RTM_DELTUNNEL; undone by adds), then, in VNI order, runs of updates of existing VNIs' group/remote
        (an add of an existing VNI replaces it; undone the same way) and runs of new VNIs (undone by deletes)."""
        before = runs_of(have.get('vnis'))
        after = runs_of(target.get('vnis'))
        deletes, steps = [], []
        for first, last, old, new in segments(before, after):
            if new is False:
                deletes.append((first, last, None))
            elif old != new:
                if old and (new or old[0] == 'group'):
                    # one group/remote for another: an update keeps the kernel's flood entry (the all-zero FDB
                    # entry) to the old one beside the new (seen on 6.18, and with `bridge vni add` alike), so
                    # flooded traffic still goes there; a delete then an add leaves only the new one. A group for
                    # none: the update leaves the group, which the device has left already when another VNI of it
                    # did (6.18 leaves a group as the first of its VNIs leaves it), and the kernel refuses it
                    # (EADDRNOTAVAIL); a delete goes on regardless
                    deletes.append((first, last, None))
                    old = False
                kind = 'add' if old is False else 'update'
                if steps and steps[-1][0] == kind:
                    steps[-1][1].append((first, last, new))
                else:
                    steps.append((kind, [(first, last, new)]))
        ops, cur = [], have
        runs = before
        if deletes:
            runs = _drop(runs, deletes)
            nxt = dict(have, vnis=entries_of(runs))
            ops.append(Op('change', cur, nxt))
            cur = nxt
        for _kind, items in steps:
            runs = _lay(runs, items)
            nxt = dict(have, vnis=entries_of(runs))
            ops.append(Op('change', cur, nxt))
            cur = nxt
        if ops:
            ops[-1].after = target
        return ops or [Op('change', have, target)]

    def repair(self, ctx, op):
        """The kernel applies a VNI request entry by entry, a range VNI by VNI, and keeps what it applied when
        it refuses one (``VNI in use``: another vnifilter device on the port has it): read the device's VNIs
        again and restore the ones ``op`` touched to what they were before it."""
        deletes, adds = self._diff(op)
        touched = deletes or adds
        dev = (op.after or op.before)['dev']
        now = [o for o in self.gather(ctx) if o['dev'] == dev]

        def within(runs):
            return fold([(a, b, da) for a, b, da, db in segments(runs, touched) if da is not False and db is not False])
        have = within(runs_of(now[0]['vnis'] if now else []))
        want = within(runs_of((op.before or {}).get('vnis')))
        if have == want:
            return []
        return self.plan_change({'dev': dev, 'vnis': entries_of(have)}, {'dev': dev, 'vnis': entries_of(want)}, ctx)

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        self.devices = {}
        names = {}
        for dev, link in nl.link_info().items():
            data = link['data']
            vnifilter = link['kind'] == 'vxlan' and IFLA_VXLAN_VNIFILTER in data and \
                bool(link['buf'][data[IFLA_VXLAN_VNIFILTER][0]])
            lower = IFLA_VXLAN_LINK in data and _rtnl.get_u32(link['buf'], data[IFLA_VXLAN_LINK])
            self.devices[dev] = {'kind': link['kind'], 'vnifilter': vnifilter, 'index': link['index'],
                                 'lower': bool(lower)}
            names[link['index']] = dev
        if not any(d['vnifilter'] for d in self.devices.values()):
            return []  # nothing to dump (and a kernel before 5.18 has no RTM_GETTUNNEL)
        by_dev = {}
        unpack = _rtnl.NLA.unpack_from
        for _type, buf, start, end in nl.rdump(RTM_GETTUNNEL, TUNNEL_MSG.pack(AF_BRIDGE, 0, 0, 0),
                                               'the VNI filters'):
            ifindex = TUNNEL_MSG.unpack_from(buf, start)[3]
            runs = by_dev.setdefault(names.get(ifindex) or nl.ifname(ifindex), [])
            offset = start + TUNNEL_MSG.size
            while offset + 4 <= end:
                length, kind = unpack(buf, offset)
                if length < 4:
                    break
                if kind & _rtnl.NLA_TYPE_MASK == VXLAN_VNIFILTER_ENTRY:
                    entry = _rtnl.attrs(buf, offset + 4, offset + length)
                    if ENTRY_START in entry:
                        first = _rtnl.get_u32(buf, entry[ENTRY_START])
                        last = _rtnl.get_u32(buf, entry[ENTRY_END]) if ENTRY_END in entry else first
                        dest = None
                        for attr in (ENTRY_GROUP, ENTRY_GROUP6):
                            if attr in entry:
                                ip = _rtnl.get_addr(buf, entry[attr])
                                if ip not in ('0.0.0.0', '::'):
                                    dest = ('group' if _multicast(ip) else 'remote', _norm.ip(ip))
                        runs.append((first, last, dest))
                offset += (length + 3) & ~3
        return [{'dev': dev, 'vnis': entries_of(sorted(runs))} for dev, runs in by_dev.items() if runs]

    def encode(self, ctx, op):
        """RTM_DELTUNNEL of the op's deletes, or RTM_NEWTUNNEL of its adds (an add of an existing VNI
        updates its group/remote): :meth:`plan_change` makes every op one or the other."""
        obj = op.obj
        label = self.label(obj)
        deletes, adds = self._diff(op)
        if deletes and adds:
            raise EdgenetError('internal error: one request cannot both delete and add VNIs', obj=label)
        info = self.devices.get(obj['dev'])
        index = info['index'] if info else ctx.nl.ifindex(obj['dev'], obj=label)
        parts = [TUNNEL_MSG.pack(AF_BRIDGE, 0, 0, index)]
        for first, last, dest in deletes or adds:
            entry = [_rtnl.attr_u32(ENTRY_START, first)]
            if last != first:
                entry.append(_rtnl.attr_u32(ENTRY_END, last))
            if dest:
                packed = _rtnl.addr_bytes(dest[1])[1]
                entry.append(_rtnl.attr(ENTRY_GROUP6 if len(packed) == 16 else ENTRY_GROUP, packed))
            parts.append(_rtnl.attr_nested(VXLAN_VNIFILTER_ENTRY, *entry))
        body = b''.join(parts)
        if len(body) > MAX_BODY:
            raise EdgenetError('%d VNI ranges in one request are more than one netlink message carries; give '
                               'fewer, longer ranges or split the change over several tasks' % len(deletes or adds),
                               obj=label, field='vnis', code=EMSGSIZE)
        return (RTM_DELTUNNEL if deletes else RTM_NEWTUNNEL), _rtnl.DELETE, body

    def error_field(self, op):
        return 'vnis'

    def refine_error(self, op, error):
        deletes, adds = self._diff(op)
        runs = deletes or adds
        error.msg += ' (bridge vni %s vni %s)' % ('delete' if deletes else 'add', ','.join(
            str(_text(a, b)) for a, b, _d in runs[:3]) + (',...' if len(runs) > 3 else ''))
        return error

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
