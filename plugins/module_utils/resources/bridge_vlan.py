# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge VLAN membership and VLAN-to-tunnel mappings (IFLA_BRIDGE_VLAN_INFO, IFLA_BRIDGE_VLAN_TUNNEL_INFO).

One object per device: a port of a bridge, or a bridge itself (its own VLANs, ``bridge vlan ... self``).
The object holds the device's whole VLAN set (``vlans``) and, on a VXLAN port with ``vlan_tunnel`` on,
its VLAN-to-VNI map (``tunnels``), so ``replaced`` and ``overridden`` make a port's set exactly as given
and ``merged`` adds to it.

Canonical form: VLANs sorted, consecutive VIDs with the same flags folded into a range ``'10-20'``
(a single VID is an int), each with ``pvid`` and ``untagged``; tunnels folded the same way when both the
VIDs and the VNIs are consecutive.  A device with no VLANs is not shown, so removing every VLAN of a
device is a delete.

On the engine's bulk path, without pyroute2.  Read with an AF_BRIDGE RTM_GETLINK dump
(RTEXT_FILTER_BRVLAN_COMPRESSED: VLAN ranges and tunnel ranges) and, for the per-VLAN STP states, the
RTM_GETVLAN dump, both parsed raw; written with AF_BRIDGE RTM_SETLINK / RTM_DELLINK carrying IFLA_AF_SPEC
with VLAN_INFO and VLAN_TUNNEL_INFO entries (range_begin/range_end pairs), with BRIDGE_FLAGS_SELF for a
bridge's own VLANs, and RTM_NEWVLAN (BRIDGE_VLANDB_ENTRY, only options) for the states.

Every op is one request whose inverse is one request too, so the engine pipelines the plan and rolls back
exactly what the kernel applied: a change is planned as steps (states of the VLANs about to go set back to
forwarding; tunnel deletes; VLAN deletes; flag updates; new VLANs; new tunnels; states).  Only adding a
whole device's list with a VLAN in another STP state than forwarding (RTM_SETLINK, then RTM_NEWVLAN), or
deleting one (whose inverse is such an add), needs two requests; a plan holding such an op goes op by op
(``apply``, the same requests, the same socket).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_BRIDGE = 7
EOPNOTSUPP = 95
RTM_DELLINK, RTM_SETLINK = 17, 19
RTM_NEWVLAN, RTM_GETVLAN = 112, 114
IFLA_IFNAME, IFLA_MASTER, IFLA_AF_SPEC, IFLA_EXT_MASK = 3, 10, 26, 29
IFLA_BR_STP_STATE, BR_KERNEL_STP, IFLA_BRPORT_VLAN_TUNNEL = 5, 1, 29
IFLA_BR_VLAN_PROTOCOL = 8  # (in a bridge's IFLA_INFO_DATA only on a kernel with CONFIG_BRIDGE_VLAN_FILTERING)
RTEXT_FILTER_BRVLAN_COMPRESSED = 4
IFLA_BRIDGE_FLAGS, IFLA_BRIDGE_VLAN_INFO, IFLA_BRIDGE_VLAN_TUNNEL_INFO = 0, 2, 3
TUNNEL_ID, TUNNEL_VID, TUNNEL_FLAGS = 1, 2, 3
BRIDGE_VLANDB_ENTRY = 1
ENTRY_INFO, ENTRY_RANGE, ENTRY_STATE = 1, 2, 3
BRIDGE_FLAGS_SELF = 2
VLAN_ONLY_OPTS = 0x40
VLAN_PVID = 0x2
VLAN_UNTAGGED = 0x4
VLAN_RANGE_BEGIN = 0x8
VLAN_RANGE_END = 0x10
VLAN_BRENTRY = 0x20
STP_STATES = ('disabled', 'listening', 'learning', 'forwarding', 'blocking')
FORWARDING = 'forwarding'
#: (pvid, untagged, state) of a VLAN an element gives without them
UNSET_DEFAULTS = (False, False, FORWARDING)
#: struct br_vlan_msg; struct bridge_vlan_info
BR_VLAN_MSG = struct.Struct('=BBHI')
VLAN_INFO = struct.Struct('=HH')
U16 = _rtnl.U16
#: the largest request body sent: one op is one request, and the socket's send buffer bounds a datagram
MAX_BODY = 160 << 10
#: the largest payload of one attribute (its length is 16 bits, with its 4-byte header)
NEST_MAX = 0xFFFF - 4


_span = _norm.span
_text = _norm.span_text


def fold_vlans(by_vid):
    """{vid: (pvid, untagged, state)} -> canonical list of ranges."""
    out = []
    run = None
    for vid in sorted(by_vid):
        flags = by_vid[vid]
        if run and vid == run[1] + 1 and flags == run[2] and not flags[0]:
            run[1] = vid
            continue
        if run:
            out.append(run)
        run = [vid, vid, flags]
    if run:
        out.append(run)
    return [{'vid': _text(a, b), 'pvid': f[0], 'untagged': f[1], 'state': f[2]} for a, b, f in out]


def fold_tunnels(by_vid):
    """{vid: vni} -> canonical list of ranges."""
    out = []
    run = None
    for vid in sorted(by_vid):
        vni = by_vid[vid]
        if run and vid == run[1] + 1 and vni == run[3] + 1:
            run[1], run[3] = vid, vni
            continue
        if run:
            out.append(run)
        run = [vid, vid, vni, vni]
    if run:
        out.append(run)
    return [{'vid': _text(a, b), 'vni': _text(c, d)} for a, b, c, d in out]


def expand_vlans(vlans, unset=False):
    """Canonical list of ranges -> {vid: (pvid, untagged, state)}; with ``unset``, a field a merged element leaves
    out stays None."""
    out = {}
    for entry in vlans or []:
        first, last = _span(entry['vid'], 'vlans', 1, 4094)
        if unset:
            flags = (entry.get('pvid'), entry.get('untagged'), entry.get('state'))
        else:
            flags = (bool(entry.get('pvid')), bool(entry.get('untagged')), entry.get('state', FORWARDING))
        for vid in range(first, last + 1):
            out[vid] = flags
    return out


def expand_tunnels(tunnels):
    out = {}
    for entry in tunnels or []:
        first, last = _span(entry['vid'], 'tunnels', 1, 4094)
        vfirst, vlast = _span(entry['vni'], 'tunnels', 1, 2 ** 24 - 1)
        for i in range(last - first + 1):
            out[first + i] = vfirst + i
    return out


def _ranges(items):
    """[(vid, value)] sorted -> [(first, last, value_of_first)] of consecutive runs with equal flags/steps."""
    out = []
    for vid, value in items:
        if out and vid == out[-1][1] + 1 and value == out[-1][3]:
            out[-1][1] = vid
            continue
        out.append([vid, vid, value, value])
    return [(a, b, v) for a, b, v, _w in out]


class BridgeVlan(Resource):
    name = 'bridge_vlan'
    keys = ('dev',)
    required = ('dev', 'vlans')
    device_fields = ('dev',)  # (by an altname too)
    device_options = ('master',)
    options = {
        'dev': {'type': 'str'},
        'vlans': {'type': 'list', 'elements': 'dict', 'options': {
            'vid': {'type': 'raw'},
            'pvid': {'type': 'bool'},
            'untagged': {'type': 'bool'},
            'state': {'type': 'str', 'choices': list(STP_STATES)},
        }},
        'tunnels': {'type': 'list', 'elements': 'dict', 'options': {
            'vid': {'type': 'raw'},
            'vni': {'type': 'raw'},
        }},
    }
    scope_options = {'master': {'type': 'str'}}

    bulk = True

    def __init__(self):
        #: {dev: bridge} for ports, {bridge: None} for bridges, and {dev: ifindex}, from the last gather
        self.devices = {}
        self.index = {}
        self._gathered_vlans = True  # whether the last gather found a VLAN on any device (none yet: not known)

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        # merged keeps what a listed VLAN leaves out as the kernel has it (None until overlay); the other states
        # make the VLAN as given, with the defaults
        unset = (None, None, None) if ctx.params.get('state') == 'merged' else (False, False, FORWARDING)
        if 'vlans' in obj:
            by_vid = {}
            pvids = []
            for index, entry in enumerate(obj['vlans']):
                entry = dict((k, v) for k, v in entry.items() if v is not None)
                if 'vid' not in entry:
                    raise EdgenetError('vlans[%d] has no vid' % index, field='vlans')
                first, last = _span(entry['vid'], 'vlans', 1, 4094)
                if entry.get('pvid') and first != last:
                    raise EdgenetError('vlans[%d]: a range (%s) cannot be the pvid; give one VID' % (
                        index, entry['vid']), field='vlans')
                for vid in range(first, last + 1):
                    if vid in by_vid:
                        raise EdgenetError('vlans[%d]: VID %d is given twice' % (index, vid), field='vlans')
                    by_vid[vid] = tuple(unset[i] if entry.get(f) is None else entry[f] if i == 2 else bool(entry[f])
                                        for i, f in enumerate(('pvid', 'untagged', 'state')))
                if entry.get('pvid'):
                    pvids.append(first)
            if len(pvids) > 1:
                raise EdgenetError('more than one pvid (%s); a port has one' % ', '.join(map(str, pvids)),
                                   field='vlans')
            if not by_vid:
                raise EdgenetError('an empty VLAN list; to remove every VLAN of a device use state deleted',
                                   field='vlans')
            obj['vlans'] = fold_vlans(by_vid)
        if 'tunnels' in obj:
            by_vid = {}
            for index, entry in enumerate(obj['tunnels']):
                if entry.get('vid') is None or entry.get('vni') is None:
                    raise EdgenetError('tunnels[%d] needs vid and vni' % index, field='tunnels')
                first, last = _span(entry['vid'], 'tunnels', 1, 4094)
                vfirst, vlast = _span(entry['vni'], 'tunnels', 1, 2 ** 24 - 1)
                if last - first != vlast - vfirst:
                    raise EdgenetError('tunnels[%d]: the VID range %s and the VNI range %s differ in length' % (
                        index, entry['vid'], entry['vni']), field='tunnels')
                for i in range(last - first + 1):
                    if first + i in by_vid:
                        raise EdgenetError('tunnels[%d]: VID %d is given twice' % (index, first + i),
                                           field='tunnels')
                    by_vid[first + i] = vfirst + i
            if len(set(by_vid.values())) != len(by_vid):
                raise EdgenetError('a VNI is mapped to two VLANs', field='tunnels')
            obj['tunnels'] = fold_tunnels(by_vid)
            if 'vlans' in obj:
                missing = sorted(set(by_vid) - set(expand_vlans(obj['vlans'])))
                if missing:
                    raise EdgenetError('tunnels map VID %d, which is not in vlans' % missing[0], field='tunnels')
        return obj

    def defaults(self, obj):
        return {'tunnels': []}

    def overlay(self, base, top):
        out = dict(base, **top)
        if 'vlans' in top:
            merged = expand_vlans(base.get('vlans'))
            new = expand_vlans(top['vlans'], unset=True)
            if any(f[0] for f in new.values()):
                merged = dict((vid, (False, f[1], f[2])) for vid, f in merged.items())
            # (a VLAN of a merged element keeps what it leaves out, of the VLAN the kernel has, or gets the default)
            for vid, flags in new.items():
                if None in flags:
                    was = merged.get(vid, UNSET_DEFAULTS)
                    flags = tuple(was[i] if f is None else f for i, f in enumerate(flags))
                merged[vid] = flags
            out['vlans'] = fold_vlans(merged)
        if base.get('tunnels') and 'tunnels' in top:
            merged = expand_tunnels(base['tunnels'])
            merged.update(expand_tunnels(top['tunnels']))
            out['tunnels'] = fold_tunnels(merged)
        return out

    def label(self, obj):
        return 'bridge_vlan dev %s' % obj.get('dev', '?')

    def in_scope(self, obj, ctx):
        master = ctx.params.get('master')
        return master is None or obj['dev'] == master or self.devices.get(obj['dev']) == master

    def plan_change(self, have, target, ctx):
        """A change as steps that each are one request with a one-request inverse (see the module doc)."""
        if not target.get('vlans'):
            return [Op('delete', have, None)]
        hv, av = expand_vlans(have.get('vlans')), expand_vlans(target.get('vlans'))
        ht, at = expand_tunnels(have.get('tunnels')), expand_tunnels(target.get('tunnels'))
        cur_v, cur_t = dict(hv), dict(ht)
        ops = []

        def step(changed):
            if not changed:
                return
            before = ops[-1].after if ops else have
            ops.append(Op('change', before, dict(have, vlans=fold_vlans(cur_v), tunnels=fold_tunnels(cur_t))))

        # VLANs about to go, back to forwarding (so re-adding them undoes their delete)
        gone = [v for v in hv if v not in av]
        resets = [v for v in gone if cur_v[v][2] != FORWARDING]
        for vid in resets:
            cur_v[vid] = cur_v[vid][:2] + (FORWARDING,)
        step(resets)
        old_tunnels = [v for v, n in ht.items() if at.get(v) != n]
        for vid in old_tunnels:
            del cur_t[vid]
        step(old_tunnels)
        for vid in gone:
            del cur_v[vid]
        step(gone)
        updates = [v for v in av if v in cur_v and cur_v[v][:2] != av[v][:2]]
        for vid in updates:
            cur_v[vid] = av[vid][:2] + cur_v[vid][2:]
        step(updates)
        new = [v for v in av if v not in cur_v]
        for vid in new:
            cur_v[vid] = av[vid][:2] + (FORWARDING,)
        step(new)
        new_tunnels = [v for v, n in at.items() if cur_t.get(v) != n]
        for vid in new_tunnels:
            cur_t[vid] = at[vid]
        step(new_tunnels)
        states = [v for v in av if cur_v[v] != av[v]]
        cur_v = dict(av)
        step(states)
        if not ops:
            return [Op('change', have, target)]
        ops[-1].after = target
        return ops

    def validate(self, ctx, plan, after):
        diffs = [self._diff(op) for op in plan]  # (each op's VLANs expanded once, for both checks below)
        # the bulk path needs every op, and its inverse, to be one request
        self.bulk = all(len(self._kinds(op, d)) <= 1 and len(self._kinds(op.inverse())) <= 1 and not self._splits(d)
                        for op, d in zip(plan, diffs))
        for op in plan:
            obj = op.after
            if obj is None:
                continue
            index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
            if index != -1 and obj['dev'] not in self.devices:
                # (check mode: an earlier task of the play, a link task with master, may make it a port)
                self.refuse_or_warn(ctx, self.label(obj), 'dev', "'%s' is neither a bridge nor a bridge port"
                                    % obj['dev'], 'makes it one')
                continue
            size = self._report_size(obj)
            if size > NEST_MAX:
                raise EdgenetError(
                    'the kernel reports the VLANs and VLAN-to-VNI maps of a device in one attribute of at most 64 KiB, '
                    'and these would take %d bytes (a VLAN or a tunnel that is no range of consecutive VIDs, and '
                    'VNIs, takes 8 and 28 bytes): the kernel could not report them whole. Give fewer, or fold them '
                    'into ranges' % size, obj=self.label(obj), field='tunnels' if obj.get('tunnels') else 'vlans')
            tunnels = expand_tunnels(obj.get('tunnels'))
            missing = sorted(set(tunnels) - set(expand_vlans(obj.get('vlans'))))
            if missing:
                raise EdgenetError('tunnels map VID %d, which is not in the VLANs of %s' % (missing[0], obj['dev']),
                                   obj=self.label(obj), field='tunnels')
            seen = {}
            for vid in sorted(tunnels):
                if tunnels[vid] in seen:  # the kernel refuses it halfway through the request (EEXIST)
                    raise EdgenetError('tunnels map VNI %d to both VID %d and VID %d of %s (the device already maps '
                                       'one of them, or the config does); a port maps a VNI to one VLAN'
                                       % (tunnels[vid], seen[tunnels[vid]], vid, obj['dev']),
                                       obj=self.label(obj), field='tunnels')
                seen[tunnels[vid]] = vid
        self._check_vlan_filtering(ctx, plan)
        self._check_ports(ctx, plan, diffs)

    def _check_ports(self, ctx, plan, diffs):
        """Refuse, before anything is sent, what the kernel refuses of a device (EINVAL or EBUSY after the plan's
        earlier requests): a VLAN-to-VNI map on a bridge's own VLANs or on a port without ``vlan_tunnel``, and a
        VLAN's STP state on a bridge that runs kernel STP (``stp_state 1``). Check mode warns instead where an
        earlier task of the play may make it right (a bridge_port or link task). One device dump, only for a
        plan that writes a tunnel or a state. ``diffs``: :meth:`_diff` of each op of ``plan``."""
        info = None
        for op, d in zip(plan, diffs):
            obj = op.after
            if obj is None:
                continue
            if not (d['add_tunnels'] or d['states']):
                continue
            dev = obj['dev']
            if dev not in self.devices:
                continue  # (check mode, a port to be: warned of above)
            if info is None:
                info = ctx.nl.link_info()
            label = self.label(obj)
            bridge = dev if self.devices[dev] is None else self.devices[dev]
            if d['add_tunnels'] and bridge == dev:
                raise EdgenetError('a bridge maps no VLAN to a VNI of its own; map them on its VXLAN port',
                                   obj=label, field='tunnels')
            port = info.get(dev) or {}
            span = port.get('slave', {}).get(IFLA_BRPORT_VLAN_TUNNEL)
            if d['add_tunnels'] and not (span and port['buf'][span[0]]):
                self.refuse_or_warn(ctx, label, 'tunnels', "%s has no vlan_tunnel (a VXLAN port in external mode needs "
                                    "it on, see edgenet.linux.bridge_port), and the kernel refuses a VLAN-to-VNI map "
                                    "there (EINVAL)" % dev, 'changes that')
            span = (info.get(bridge) or {}).get('data', {}).get(IFLA_BR_STP_STATE)
            if d['states'] and span and _rtnl.get_u32(info[bridge]['buf'], span) == BR_KERNEL_STP:
                self.refuse_or_warn(ctx, label, 'vlans', "bridge %s runs kernel STP (stp_state 1), and the kernel "
                                    "refuses a VLAN's STP state then (EBUSY)" % bridge, 'changes that')

    @staticmethod
    def _report_size(obj):
        """The bytes of the IFLA_AF_SPEC attribute in which the kernel reports ``obj`` (RTEXT_FILTER_BRVLAN_COMPRESSED):
        a VLAN_INFO of 8 bytes per VLAN, two per range; a TUNNEL_INFO of 28 bytes per tunnel, two per range."""
        size = 0
        for entry in obj.get('vlans') or ():
            size += 16 if '-' in str(entry['vid']) else 8
        for entry in obj.get('tunnels') or ():
            size += 56 if '-' in str(entry['vid']) else 28
        return size

    def _check_vlan_filtering(self, ctx, plan):
        """Refuse a plan that writes VLANs on a kernel without bridge VLAN filtering, as the kernel would refuse
        its first write (EOPNOTSUPP): in check mode too, which sends nothing. Such a kernel shows no VLAN on any
        device and no VLAN options on its bridges (IFLA_BR_VLAN_PROTOCOL, as the link module reads it); so the
        device dump that tells is made only when the gather found no VLAN at all (a bridge port of a kernel with
        the feature has its default PVID) and there is a write. With no bridge to look at, nothing is known:
        the real run then reports the kernel's refusal."""
        first = next((op for op in plan if op.after is not None), None)
        if first is None or self._gathered_vlans:
            return
        bridges = [dev for dev in ctx.nl.link_info().values() if dev['kind'] == 'bridge']
        if bridges and all(IFLA_BR_VLAN_PROTOCOL not in dev['data'] for dev in bridges):
            raise EdgenetError('the kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): its bridges '
                               'show no VLAN support, and it refuses every VLAN write (EOPNOTSUPP)',
                               obj=self.label(first.after), field=self.error_field(first))

    def repair(self, ctx, op):
        """The kernel applies the VLAN and tunnel entries of a request one by one, a range VID by VID, and keeps
        what it applied when it refuses one (a VNI another VLAN maps already): read the device again and restore
        the VIDs and tunnels ``op`` touched to what they were before it."""
        d = self._diff(op)
        vids = set(v for v, _f in d['del_vlans'] + d['add_vlans']) | set(v for v, _s in d['states'])
        tvids = set(d['del_tunnels']) | set(d['add_tunnels'])
        dev = (op.after or op.before)['dev']
        now = [o for o in self.gather(ctx) if o['dev'] == dev]
        now = now[0] if now else {'dev': dev}
        before = op.before or {'dev': dev}
        nv, nt = expand_vlans(now.get('vlans')), expand_tunnels(now.get('tunnels'))
        bv, bt = expand_vlans(before.get('vlans')), expand_tunnels(before.get('tunnels'))
        want_v = dict((v, f) for v, f in nv.items() if v not in vids)
        want_v.update((v, f) for v, f in bv.items() if v in vids)
        want_t = dict((v, n) for v, n in nt.items() if v not in tvids)
        want_t.update((v, n) for v, n in bt.items() if v in tvids)
        if want_v == nv and want_t == nt:
            return []
        have = dict(now, vlans=fold_vlans(nv), tunnels=fold_tunnels(nt))
        return self.plan_change(have, dict(have, vlans=fold_vlans(want_v), tunnels=fold_tunnels(want_t)), ctx)

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        self.devices, self.index = {}, {}
        self._gathered_vlans = False
        names, masters, objs = {}, {}, {}
        for index, dev, master, vlans, tunnels in each_device(nl):
            names[index] = dev
            self.index[dev] = index
            masters[dev] = master if master and master != index else None
            if vlans:
                objs[dev] = ({'dev': dev, 'tunnels': fold_tunnels(tunnels)}, vlans)
        self._gathered_vlans = bool(objs)
        for dev, master in masters.items():
            self.devices[dev] = (names.get(master) or nl.ifname(master)) if master else None
        if objs:
            self._vlan_states(nl, objs, names)
        return [dict(obj, vlans=fold_vlans(vlans)) for obj, vlans in objs.values()]

    @staticmethod
    def _vlan_states(nl, objs, names):
        """Per-VLAN STP states from the RTM_GETVLAN dump (ranges of equal options folded by the kernel)."""
        found = []
        for _type, buf, start, end in nl.rdump(RTM_GETVLAN, BR_VLAN_MSG.pack(AF_BRIDGE, 0, 0, 0), 'the VLAN states'):
            ifindex = BR_VLAN_MSG.unpack_from(buf, start)[3]
            dev = names.get(ifindex)
            if dev not in objs:
                continue
            for kind, s, e in _each(buf, start + BR_VLAN_MSG.size, end):
                if kind != BRIDGE_VLANDB_ENTRY:
                    continue
                entry = _rtnl.attrs(buf, s, e)
                if ENTRY_INFO not in entry or ENTRY_STATE not in entry:
                    continue
                state = buf[entry[ENTRY_STATE][0]]
                if state >= len(STP_STATES):
                    continue
                flags, vid = VLAN_INFO.unpack_from(buf, entry[ENTRY_INFO][0])
                last = U16.unpack_from(buf, entry[ENTRY_RANGE][0])[0] if ENTRY_RANGE in entry else vid
                found.append((dev, vid, last, STP_STATES[state], flags & VLAN_PVID))
        covered = set((dev, vid) for dev, first, last, _s, _p in found for vid in range(first, last + 1))
        for dev, first, last, state, pvid in found:
            vlans = objs[dev][1]
            if pvid and first == last:
                # the kernel's dump lets the VLANs right after the PVID, of the same flags and options, join the
                # PVID's entry, which it then sends without their range (br_vlan_fill_vids puts no range on a PVID
                # entry): the VLANs the RTM_GETLINK list has, and no entry of this dump covers, that follow it
                while last + 1 in vlans and (dev, last + 1) not in covered:
                    last += 1
            for vid in range(first, last + 1):
                if vid in vlans:
                    vlans[vid] = vlans[vid][:2] + (state,)

    def _is_bridge(self, ctx, dev):
        if dev in self.devices:
            return self.devices[dev] is None
        return False

    @staticmethod
    def _vlan_attrs(items):
        """The IFLA_BRIDGE_VLAN_INFO attributes of ``items``, one unit (bytes) per VLAN or range: a range's begin
        and end go in one request."""
        out = []
        for first, last, flags in _ranges([(vid, flags[:2]) for vid, flags in items]):
            bits = (VLAN_PVID if flags[0] else 0) | (VLAN_UNTAGGED if flags[1] else 0)
            if first == last:
                out.append(_rtnl.attr(IFLA_BRIDGE_VLAN_INFO, VLAN_INFO.pack(bits, first)))
            else:
                out.append(_rtnl.attr(IFLA_BRIDGE_VLAN_INFO, VLAN_INFO.pack(bits | VLAN_RANGE_BEGIN, first))
                           + _rtnl.attr(IFLA_BRIDGE_VLAN_INFO, VLAN_INFO.pack(bits | VLAN_RANGE_END, last)))
        return out

    @staticmethod
    def _tunnel_attrs(by_vid):
        """The IFLA_BRIDGE_VLAN_TUNNEL_INFO attributes of ``by_vid``, one unit (bytes) per tunnel or range."""
        out = []
        steps = [(vid, by_vid[vid] - vid) for vid in sorted(by_vid)]
        for first, last, offset in _ranges(steps):
            out.append(b''.join(
                _rtnl.attr_nested(IFLA_BRIDGE_VLAN_TUNNEL_INFO, _rtnl.attr_u32(TUNNEL_ID, vid + offset),
                                  _rtnl.attr_u16(TUNNEL_VID, vid), _rtnl.attr_u16(TUNNEL_FLAGS, flags))
                for vid, flags in (((first, VLAN_RANGE_BEGIN), (last, VLAN_RANGE_END)) if first != last
                                   else ((first, 0),))))
        return out

    @staticmethod
    def _af_spec_parts(head, units):
        """``units`` in groups that each fit one IFLA_AF_SPEC attribute (with ``head``): an attribute's length is
        16 bits, so some thousands of single VLANs or tunnels take several requests."""
        room = NEST_MAX - sum(map(len, head))
        parts, part, size = [], [], 0
        for unit in units:
            if part and size + len(unit) > room:
                parts.append(part)
                part, size = [], 0
            part.append(unit)
            size += len(unit)
        parts.append(part)
        return parts

    @staticmethod
    def _splits(d):
        """Whether a request of the diff ``d`` may be more than one IFLA_AF_SPEC attribute carries (at the largest
        size of a unit: a tunnel range, 56 bytes): then its op takes several requests."""
        return 56 * max(len(d['del_tunnels']) + len(d['del_vlans']), len(d['add_tunnels']) + len(d['add_vlans'])) \
            > NEST_MAX - 8

    @staticmethod
    def _state_attrs(states):
        out = []
        for first, last, state in _ranges(states):
            entry = [_rtnl.attr(ENTRY_INFO, VLAN_INFO.pack(VLAN_ONLY_OPTS, first))]
            if last != first:
                entry.append(_rtnl.attr_u16(ENTRY_RANGE, last))
            entry.append(_rtnl.attr_u8(ENTRY_STATE, STP_STATES.index(state)))
            out.append(_rtnl.attr_nested(BRIDGE_VLANDB_ENTRY, *entry))
        return out

    def _diff(self, op):
        before, after = op.before or {}, op.after or {}
        hv, av = expand_vlans(before.get('vlans')), expand_vlans(after.get('vlans'))
        ht, at = expand_tunnels(before.get('tunnels')), expand_tunnels(after.get('tunnels'))
        return {
            'del_tunnels': dict((v, n) for v, n in ht.items() if at.get(v) != n),
            'del_vlans': sorted((v, f) for v, f in hv.items() if v not in av),
            'add_vlans': sorted((v, f) for v, f in av.items() if (hv.get(v) or ())[:2] != f[:2]),
            'states': sorted((v, f[2]) for v, f in av.items() if (hv.get(v) or (None, None, FORWARDING))[2] != f[2]),
            'add_tunnels': dict((v, n) for v, n in at.items() if ht.get(v) != n),
        }

    def _kinds(self, op, d=None):
        """The requests ``op`` needs, in order: ``del`` (RTM_DELLINK), ``set`` (RTM_SETLINK), ``state``
        (RTM_NEWVLAN)."""
        d = d or self._diff(op)
        kinds = []
        if d['del_tunnels'] or d['del_vlans']:
            kinds.append('del')
        if d['add_vlans'] or d['add_tunnels']:
            kinds.append('set')
        if d['states']:
            kinds.append('state')
        return kinds

    def _requests(self, ctx, op):
        """``[(nlmsg_type, nlmsg_flags, body, field)]`` of ``op``."""
        obj = op.obj
        label = self.label(obj)
        index = self.index.get(obj['dev']) or ctx.nl.ifindex(obj['dev'], obj=label)
        head = [_rtnl.attr_u16(IFLA_BRIDGE_FLAGS, BRIDGE_FLAGS_SELF)] if self._is_bridge(ctx, obj['dev']) else []
        d = self._diff(op)
        out = []
        for kind in self._kinds(op, d):
            if kind == 'state':
                mtype, field = RTM_NEWVLAN, 'vlans'
                body = BR_VLAN_MSG.pack(AF_BRIDGE, 0, 0, index) + b''.join(self._state_attrs(d['states']))
            else:
                if kind == 'del':
                    mtype, tunnels, vlans = RTM_DELLINK, d['del_tunnels'], d['del_vlans']
                    attrs = self._tunnel_attrs(tunnels) + self._vlan_attrs(vlans)
                else:
                    mtype, tunnels, vlans = RTM_SETLINK, d['add_tunnels'], d['add_vlans']
                    attrs = self._vlan_attrs(vlans) + self._tunnel_attrs(tunnels)
                field = ','.join(f for f, there in (('vlans', vlans), ('tunnels', tunnels)) if there)
                for part in self._af_spec_parts(head, attrs):
                    out.append((mtype, _rtnl.DELETE, _rtnl.IFINFOMSG.pack(AF_BRIDGE, 0, index, 0, 0)
                                + _rtnl.attr_nested(IFLA_AF_SPEC, *(head + part)), field))
                continue
            if len(body) > MAX_BODY:
                raise EdgenetError('the change of %s is more than one netlink message carries; split it over '
                                   'several tasks' % field, obj=label, field=field)
            out.append((mtype, _rtnl.DELETE, body, field))
        return out

    def encode(self, ctx, op):
        requests = self._requests(ctx, op)
        if len(requests) != 1:
            raise EdgenetError('internal error: %d requests for one op on the bulk path' % len(requests),
                               obj=self.label(op.obj))
        return requests[0][:3]

    def error_field(self, op):
        d = self._diff(op)
        if d['states'] or d['add_vlans'] or d['del_vlans']:
            return 'vlans' if not (d['add_tunnels'] or d['del_tunnels']) else 'vlans,tunnels'
        return 'tunnels'

    def refine_error(self, op, error):
        if error.code == EOPNOTSUPP:
            error.msg = 'the kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): %s' % error.msg
        return error

    def apply(self, ctx, op):
        """The per-op path, for a plan where an op needs two requests (see the module doc)."""
        from ansible_collections.edgenet.linux.plugins.module_utils._netlink import kernel_error

        label = self.label(op.obj)
        for mtype, flags, body, field in self._requests(ctx, op):
            _applied, errors = ctx.nl.transact([(mtype, flags, body)])
            if errors:
                raise self.refine_error(op, kernel_error(errors[0], label, field=field,
                                                         action='%s %s' % (self.name, op.action)))

    def render(self, ctx, op):
        obj = op.obj
        dev = obj['dev']
        where = ['self'] if self._is_bridge(ctx, dev) else []
        d = self._diff(op)
        lines = []
        for first, last, offset in _ranges([(v, d['del_tunnels'][v] - v) for v in sorted(d['del_tunnels'])]):
            lines.append(ctx.cmd('bridge', 'vlan', 'del', 'dev', dev, 'vid', _text(first, last),
                                 'tunnel_info', 'id', _text(first + offset, last + offset)))
        for first, last, _flags in _ranges(d['del_vlans']):
            lines.append(ctx.cmd('bridge', 'vlan', 'del', 'dev', dev, 'vid', _text(first, last), *where))
        for first, last, flags in _ranges([(vid, flags[:2]) for vid, flags in d['add_vlans']]):
            words = ['vid', _text(first, last)]
            if flags[0]:
                words.append('pvid')
            if flags[1]:
                words.append('untagged')
            lines.append(ctx.cmd('bridge', 'vlan', 'add', 'dev', dev, *(words + where)))
        for first, last, offset in _ranges([(v, d['add_tunnels'][v] - v) for v in sorted(d['add_tunnels'])]):
            lines.append(ctx.cmd('bridge', 'vlan', 'add', 'dev', dev, 'vid', _text(first, last),
                                 'tunnel_info', 'id', _text(first + offset, last + offset)))
        for first, last, state in _ranges(d['states']):
            lines.extend(ctx.cmd('bridge', 'vlan', 'set', 'dev', dev, 'vid', vid, 'state', state)
                         for vid in range(first, last + 1))
        return lines


def each_device(nl):
    """``(index, dev, master, vlans, tunnels)`` of every device of the AF_BRIDGE link dump (bridges and their
    ports): ``vlans`` ``{vid: (pvid, untagged, 'forwarding')}`` (the STP states are read apart), ``tunnels``
    ``{vid: vni}``; a bridge's own VLANs are those of its own table (``self``), as the kernel reports them."""
    body = _rtnl.IFINFOMSG.pack(AF_BRIDGE, 0, 0, 0, 0) + _rtnl.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN_COMPRESSED)
    for _type, buf, start, end in nl.rdump(_rtnl.RTM_GETLINK, body, 'the bridge VLANs'):
        index = _rtnl.IFINFOMSG.unpack_from(buf, start)[2]
        a = _rtnl.attrs(buf, start + _rtnl.IFINFOMSG.size, end)
        if IFLA_IFNAME not in a:
            continue
        master = _rtnl.get_u32(buf, a[IFLA_MASTER]) if IFLA_MASTER in a else None
        vlans, tunnels, begin = {}, {}, {}
        if IFLA_AF_SPEC in a:
            for kind, s, e in _each(buf, *a[IFLA_AF_SPEC]):
                if kind == IFLA_BRIDGE_VLAN_INFO:
                    flags, vid = VLAN_INFO.unpack_from(buf, s)
                    first = begin.pop('vlan', vid) if flags & VLAN_RANGE_END else vid
                    if flags & VLAN_RANGE_BEGIN:
                        begin['vlan'] = vid
                        continue
                    for v in range(first, vid + 1):
                        vlans[v] = (bool(flags & VLAN_PVID), bool(flags & VLAN_UNTAGGED), FORWARDING)
                elif kind == IFLA_BRIDGE_VLAN_TUNNEL_INFO:
                    t = _rtnl.attrs(buf, s, e)
                    vid = U16.unpack_from(buf, t[TUNNEL_VID][0])[0] if TUNNEL_VID in t else 0
                    vni = _rtnl.get_u32(buf, t[TUNNEL_ID]) if TUNNEL_ID in t else 0
                    flags = U16.unpack_from(buf, t[TUNNEL_FLAGS][0])[0] if TUNNEL_FLAGS in t else 0
                    if not vid or not vni:
                        continue
                    if flags & VLAN_RANGE_BEGIN:
                        begin['tunnel'] = (vid, vni)
                        continue
                    first, first_vni = begin.pop('tunnel', (vid, vni)) if flags & VLAN_RANGE_END else (vid, vni)
                    for i in range(vid - first + 1):
                        tunnels[first + i] = first_vni + i
        yield index, _rtnl.get_str(buf, a[IFLA_IFNAME]), master, vlans, tunnels


def _each(buf, offset, end):
    """``(type, start, end)`` of every attribute in ``buf[offset:end]``, repeated types included."""
    unpack = _rtnl.NLA.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(buf, offset)
        if length < 4:
            break
        yield kind & _rtnl.NLA_TYPE_MASK, offset + 4, offset + length
        offset += (length + 3) & ~3
