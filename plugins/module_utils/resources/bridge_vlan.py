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

Read with an AF_BRIDGE RTM_GETLINK dump (RTEXT_FILTER_BRVLAN, one entry per VID); written with AF_BRIDGE
RTM_SETLINK / RTM_DELLINK carrying VLAN_INFO entries (range_begin/range_end pairs), with
BRIDGE_FLAGS_SELF for a bridge's own VLANs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils import _norm
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_BRIDGE = 7
EOPNOTSUPP = 95
RTEXT_FILTER_BRVLAN = 2
BRIDGE_FLAGS_SELF = 2
VLAN_PVID = 0x2
VLAN_UNTAGGED = 0x4
VLAN_RANGE_BEGIN = 0x8
VLAN_RANGE_END = 0x10
VLAN_BRENTRY = 0x20
STP_STATES = ('disabled', 'listening', 'learning', 'forwarding', 'blocking')
FORWARDING = 'forwarding'


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


def expand_vlans(vlans):
    out = {}
    for entry in vlans or []:
        first, last = _span(entry['vid'], 'vlans', 1, 4094)
        for vid in range(first, last + 1):
            out[vid] = (bool(entry.get('pvid')), bool(entry.get('untagged')), entry.get('state', FORWARDING))
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

    def __init__(self):
        #: {dev: bridge} for ports, {bridge: None} for bridges, from the last gather
        self.devices = {}

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
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
                    by_vid[vid] = (bool(entry.get('pvid')), bool(entry.get('untagged')),
                                   entry.get('state', FORWARDING))
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
        if 'vlans' in base and 'vlans' in top:
            merged = expand_vlans(base['vlans'])
            new = expand_vlans(top['vlans'])
            if any(f[0] for f in new.values()):
                merged = dict((vid, (False, f[1], f[2])) for vid, f in merged.items())
            merged.update(new)
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
        if not target.get('vlans'):
            return [Op('delete', have, None)]
        return [Op('change', have, target)]

    def validate(self, ctx, plan, after):
        for op in plan:
            obj = op.after
            if obj is None:
                continue
            index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
            if index != -1 and obj['dev'] not in self.devices:
                if ctx.check_mode:
                    # an earlier task of the play (a link task with master) would have made it a port,
                    # but check mode did not run it; the real run still refuses it if it is not
                    ctx.warn("check mode: '%s' is not a bridge or bridge port yet; this prediction assumes an "
                             "earlier task of the play makes it one" % obj['dev'])
                    continue
                raise EdgenetError("'%s' is neither a bridge nor a bridge port" % obj['dev'], obj=self.label(obj),
                                   field='dev')
            missing = sorted(set(expand_tunnels(obj.get('tunnels'))) - set(expand_vlans(obj.get('vlans'))))
            if missing:
                raise EdgenetError('tunnels map VID %d, which is not in the VLANs of %s' % (missing[0], obj['dev']),
                                   obj=self.label(obj), field='tunnels')

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        self.devices = {}
        objs = {}
        for msg in nl.dump('get_links', family=AF_BRIDGE, ext_mask=RTEXT_FILTER_BRVLAN):
            dev = msg.get_attr('IFLA_IFNAME') or nl.ifname(msg['index'])
            master = msg.get_attr('IFLA_MASTER')
            if master and master != msg['index']:
                self.devices[dev] = nl.ifname(master)
            else:
                self.devices[dev] = None
            spec = msg.get_attr('IFLA_AF_SPEC')
            if spec is None:
                continue
            vlans, tunnels = {}, {}
            begin = {}
            for name, value in spec['attrs']:
                if name == 'IFLA_BRIDGE_VLAN_INFO':
                    flags = value['flags']
                    first = begin.pop('vlan', value['vid']) if flags & VLAN_RANGE_END else value['vid']
                    if flags & VLAN_RANGE_BEGIN:
                        begin['vlan'] = value['vid']
                        continue
                    for vid in range(first, value['vid'] + 1):
                        vlans[vid] = (bool(flags & VLAN_PVID), bool(flags & VLAN_UNTAGGED), FORWARDING)
                elif name == 'IFLA_BRIDGE_VLAN_TUNNEL_INFO':
                    # the kernel folds tunnel ranges even in an uncompressed dump
                    vid = value.get_attr('IFLA_BRIDGE_VLAN_TUNNEL_VID')
                    vni = value.get_attr('IFLA_BRIDGE_VLAN_TUNNEL_ID')
                    flags = value.get_attr('IFLA_BRIDGE_VLAN_TUNNEL_FLAGS') or 0
                    if not vid or not vni:
                        continue
                    if flags & VLAN_RANGE_BEGIN:
                        begin['tunnel'] = (vid, vni)
                        continue
                    first, first_vni = begin.pop('tunnel', (vid, vni)) if flags & VLAN_RANGE_END else (vid, vni)
                    for i in range(vid - first + 1):
                        tunnels[first + i] = first_vni + i
            if vlans:
                objs[dev] = ({'dev': dev, 'tunnels': fold_tunnels(tunnels)}, vlans)
        if objs:
            self._vlan_states(nl, objs)
        return [dict(obj, vlans=fold_vlans(vlans)) for obj, vlans in objs.values()]

    @staticmethod
    def _vlan_states(nl, objs):
        """Per-VLAN STP states from the RTM_GETVLAN dump (with stats: one entry per VID)."""
        for msg in nl.dump('vlandb', 'dump', dump_flags=1):
            dev = nl.ifname(msg['ifindex'])
            if dev not in objs:
                continue
            vlans = objs[dev][1]
            for name, entry in msg['attrs']:
                if name != 'BRIDGE_VLANDB_ENTRY':
                    continue
                info = entry.get_attr('BRIDGE_VLANDB_ENTRY_INFO')
                state = entry.get_attr('BRIDGE_VLANDB_ENTRY_STATE')
                if info is None or state is None or state >= len(STP_STATES):
                    continue
                last = entry.get_attr('BRIDGE_VLANDB_ENTRY_RANGE') or info['vid']
                for vid in range(info['vid'], last + 1):
                    if vid in vlans:
                        vlans[vid] = vlans[vid][:2] + (STP_STATES[state],)

    def _is_bridge(self, ctx, dev):
        if dev in self.devices:
            return self.devices[dev] is None
        return False

    @staticmethod
    def _vlan_attrs(items):
        attrs = []
        for first, last, flags in _ranges([(vid, flags[:2]) for vid, flags in items]):
            bits = (VLAN_PVID if flags[0] else 0) | (VLAN_UNTAGGED if flags[1] else 0)
            if first == last:
                attrs.append(['IFLA_BRIDGE_VLAN_INFO', {'flags': bits, 'vid': first}])
            else:
                attrs.append(['IFLA_BRIDGE_VLAN_INFO', {'flags': bits | VLAN_RANGE_BEGIN, 'vid': first}])
                attrs.append(['IFLA_BRIDGE_VLAN_INFO', {'flags': bits | VLAN_RANGE_END, 'vid': last}])
        return attrs

    @staticmethod
    def _tunnel_attrs(by_vid):
        attrs = []
        steps = [(vid, by_vid[vid] - vid) for vid in sorted(by_vid)]
        for first, last, offset in _ranges(steps):
            for vid, flags in ((first, VLAN_RANGE_BEGIN), (last, VLAN_RANGE_END)) if first != last else ((first, 0),):
                attrs.append(['IFLA_BRIDGE_VLAN_TUNNEL_INFO', {'attrs': [
                    ['IFLA_BRIDGE_VLAN_TUNNEL_ID', vid + offset],
                    ['IFLA_BRIDGE_VLAN_TUNNEL_VID', vid],
                    ['IFLA_BRIDGE_VLAN_TUNNEL_FLAGS', flags]]}])
        return attrs

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

    def apply(self, ctx, op):
        try:
            self._apply(ctx, op)
        except EdgenetError as e:
            if e.code == EOPNOTSUPP:
                e.msg = ('the kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): %s' % e.msg)
            raise

    def _apply(self, ctx, op):
        obj = op.obj
        label = self.label(obj)
        index = ctx.nl.ifindex(obj['dev'], obj=label)
        head = [['IFLA_BRIDGE_FLAGS', BRIDGE_FLAGS_SELF]] if self._is_bridge(ctx, obj['dev']) else []
        d = self._diff(op)
        steps = (('del', self._tunnel_attrs(d['del_tunnels']), 'tunnels'),
                 ('del', self._vlan_attrs(d['del_vlans']), 'vlans'),
                 ('add', self._vlan_attrs(d['add_vlans']), 'vlans'),
                 ('add', self._tunnel_attrs(d['add_tunnels']), 'tunnels'))
        for command, attrs, field in steps:
            if attrs:
                ctx.nl.write(label, 'vlan_filter', command, index=index, field=field,
                             IFLA_AF_SPEC={'attrs': head + attrs})
        for vid, state in d['states']:
            ctx.nl.write(label, 'vlandb', 'set', ifindex=index, vid=vid, state=STP_STATES.index(state),
                         field='vlans')

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
