# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge and VXLAN forwarding database entries (AF_BRIDGE RTM_NEWNEIGH / RTM_DELNEIGH), like ``bridge fdb``.

One kernel entry is one object.  It lives either in the bridge's table (``master``: the device is a
bridge port, or the bridge itself) or in the device's own table (``self``: a VXLAN device's remote
table, or a plain device's unicast address list).  The key is ``(dev, mac, vlan, dst, src_vni, self)``:
a VXLAN head-end replication list (``00:00:00:00:00:00`` to several VTEPs) is several entries, one per
``dst``; on a VXLAN device in external (collect metadata) mode the kernel keeps a separate table per VNI
(``src_vni``), so the head-end list of each VNI is its own set of entries; and the same MAC may sit in a
VXLAN port's bridge entry and in its VXLAN entry at once (EVPN).

What the module sees ("the view"), measured on a 6.18 kernel:

* every ``permanent`` and ``static`` entry, and every ``extern_learn`` entry;
* not the kernel's own entries: the ``self permanent`` multicast entries every device reports from its
  multicast list (``33:33:...``, ``01:00:5e:...``; VXLAN devices excepted), and the ``master permanent``
  entries that carry a port's or the bridge's own MAC address;
* dynamic entries (``state: dynamic``) only with the module option ``include_learned``: the kernel
  reports an entry added with ``bridge fdb add ... dynamic`` exactly like one it learned, so they are
  managed together.  They then carry ``age`` (seconds since last update; output only).

Reported form: the kernel reports an entry added with ``self`` on a bridge device as ``master`` of
itself; gather reports it as ``self`` again.  A VXLAN entry's ``vni`` and ``port`` are reported only when
they differ from the device's own (as the kernel does); a wish that names the device's value is
settled to it.

Writes: entries in the bridge's table and plain devices' entries are sent as NLM_F_CREATE|NLM_F_REPLACE
(``bridge fdb replace``; a learned entry with the same key is taken over).  VXLAN entries for the
all-zero or a multicast MAC are appended (NLM_F_APPEND, ``bridge fdb append``), as the kernel keeps
several destinations under one MAC; unicast VXLAN entries are replaced.  A change to a VXLAN entry is a
delete then an add (the kernel identifies a destination by dst, port, vni and via together).
An entry pointing at an FDB nexthop group (``nhid``; ``ip nexthop add id N group ... fdb``) carries no dst:
the kernel refuses to replace or append a nexthop entry for the all-zero or a multicast MAC, so such an
entry is added (NLM_F_CREATE|NLM_F_EXCL), and changed by a delete then an add.  A ``vlan`` on an entry in
the bridge's table needs that VLAN on the port; a kernel without bridge VLAN filtering refuses every VLAN
(EINVAL, no extended ACK), which is reported on the ``vlan`` field.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_BRIDGE = 7
NDMSG = struct.Struct('=BxxxiHBB')        # struct ndmsg
CACHEINFO = struct.Struct('=IIII')       # struct nda_cacheinfo: confirmed, used, updated, refcnt
U16, BE16 = struct.Struct('=H'), struct.Struct('>H')
NDA_DST, NDA_LLADDR, NDA_CACHEINFO, NDA_VLAN, NDA_PORT, NDA_VNI, NDA_IFINDEX, NDA_MASTER = 1, 2, 3, 5, 6, 7, 8, 9
NDA_SRC_VNI, NDA_NH_ID = 11, 13
IFLA_VXLAN_ID, IFLA_VXLAN_PORT, IFLA_VXLAN_COLLECT_METADATA = 1, 15, 25
AF_INET, AF_INET6 = 2, 10
NTF_SELF = 0x02
NTF_MASTER = 0x04
NTF_EXT_LEARNED = 0x10
NTF_STICKY = 0x40
NUD_REACHABLE = 0x02
NUD_STALE = 0x04
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
#: what iproute2 sends for each state keyword (bridge/fdb.c)
STATE_NUD = {'permanent': NUD_PERMANENT | NUD_NOARP, 'static': NUD_REACHABLE | NUD_NOARP,
             'dynamic': NUD_REACHABLE}
STATES = ('permanent', 'static', 'dynamic')
VXLAN_ONLY = ('dst', 'vni', 'port', 'src_vni', 'via', 'nhid')
#: an entry pointing at a nexthop group carries none of these (the group holds the destinations)
NOT_WITH_NHID = ('dst', 'vni', 'port', 'via')
EINVAL = 22


def _state_name(nud):
    if nud & NUD_PERMANENT:
        return 'permanent'
    if nud & NUD_NOARP:
        return 'static'
    return 'dynamic'


def _group_mac(mac):
    """The all-zero MAC or a multicast MAC: VXLAN keeps a list of destinations under it."""
    return mac == '00:00:00:00:00:00' or int(mac.split(':')[0], 16) & 1 == 1


class BridgeFdb(Resource):
    name = 'bridge_fdb'
    bulk = True
    keys = ('dev', 'mac', 'vlan', 'dst', 'src_vni', 'self')
    sparse_keys = True
    required = ('dev', 'mac')
    options = {
        'mac': {'type': 'str'},
        'dev': {'type': 'str'},
        'vlan': {'type': 'int'},
        'dst': {'type': 'str'},
        'self': {'type': 'bool'},
        'master': {'type': 'bool'},
        'state': {'type': 'str', 'choices': list(STATES)},
        'vni': {'type': 'int'},
        'port': {'type': 'int'},
        'src_vni': {'type': 'int'},
        'via': {'type': 'str'},
        'nhid': {'type': 'int'},
        'extern_learn': {'type': 'bool'},
        'sticky': {'type': 'bool'},
        'age': {'type': 'int'},
    }
    scope_options = {'dev': {'type': 'str'}}
    module_options = {'include_learned': {'type': 'bool', 'default': False}}
    volatile = ('age',)

    def __init__(self):
        #: {dev: {'kind':, 'address':, 'vni':, 'port':, 'external':}} from the last gather
        self.devices = {}

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        obj.pop('age', None)  # output only
        if 'mac' in obj:
            obj['mac'] = _norm.mac(obj['mac'], 'mac')
        if 'dst' in obj:
            obj['dst'] = _norm.ip(obj['dst'], 'dst')
        if 'vlan' in obj:
            obj['vlan'] = _norm.int_range(obj['vlan'], 1, 4094, 'vlan')
        for field, hi in (('vni', 2 ** 24 - 1), ('src_vni', 2 ** 24 - 1), ('port', 65535), ('nhid', 2 ** 32 - 1)):
            if field in obj:
                obj[field] = _norm.int_range(obj[field], 1 if field in ('port', 'nhid') else 0, hi, field)
        if 'nhid' in obj:
            for field in NOT_WITH_NHID:
                if field in obj:
                    raise EdgenetError('an entry pointing at a nexthop group (nhid) takes its destinations from the '
                                       'group; %s cannot be given with it' % field, field=field)
        if 'self' in obj and 'master' in obj:
            if obj['self'] == obj['master']:
                raise EdgenetError('an entry is either in the bridge\'s table (master: true) or in the device\'s own '
                                   'table (self: true); for both, give two entries', field='master')
        elif 'self' in obj:
            obj['master'] = not obj['self']
        elif 'master' in obj:
            obj['self'] = not obj['master']
        if obj.get('master'):
            for field in VXLAN_ONLY:
                if field in obj:
                    raise EdgenetError('%s belongs to a VXLAN device\'s own entries (self: true), not to the '
                                       'bridge\'s table (master: true)' % field, field=field)
        if obj.get('extern_learn') and obj.get('master') and obj.get('state', 'dynamic') != 'dynamic':
            raise EdgenetError('the bridge keeps an extern_learn entry as dynamic (it is not aged); '
                               'leave state out or give dynamic', field='state')
        return obj

    def defaults(self, obj):
        out = {'self': True, 'master': False, 'state': 'permanent', 'extern_learn': False, 'sticky': False}
        if obj.get('master'):
            out.update({'self': False, 'master': True})
        if obj.get('extern_learn') and obj.get('master'):
            out['state'] = 'dynamic'
        return out

    def label(self, obj):
        words = ['bridge_fdb', obj.get('mac', '?'), 'dev', obj.get('dev', '?')]
        for field in ('vlan', 'dst', 'src_vni'):
            if obj.get(field) is not None:
                words += [field, str(obj[field])]
        if 'self' in obj:
            words.append('self' if obj['self'] else 'master')
        return ' '.join(words)

    def sort_key(self, obj):
        return (obj.get('dev') or '', obj.get('mac') or '', obj.get('vlan') or 0, obj.get('dst') or '',
                obj.get('src_vni') or 0, not obj.get('self', True))

    def in_scope(self, obj, ctx):
        dev = ctx.params.get('dev')
        return dev is None or obj['dev'] == dev

    def _vxlan_default(self, dev, field):
        return self.devices.get(dev, {}).get(field)

    def settle(self, want, obj):
        for field in ('vni', 'port'):
            if field in want and field not in obj and want[field] == self._vxlan_default(obj['dev'], field):
                obj[field] = want[field]
        return obj

    def reconcile(self, have, target):
        target = dict(target)
        for field in ('vni', 'port'):
            if field in target and field not in have and target[field] == self._vxlan_default(have['dev'], field):
                del target[field]
        if 'age' in have:
            target['age'] = have['age']
        return target

    @staticmethod
    def _is_vxlan_entry(obj):
        # validate() makes sure that dst or nhid is given exactly for the entries of a VXLAN device's own table
        return bool(obj.get('self') and (obj.get('dst') or obj.get('nhid')))

    def plan_change(self, have, target, ctx):
        if self._is_vxlan_entry(have) or have.get('extern_learn') != target.get('extern_learn'):
            return [Op('delete', have, None), Op('add', None, target)]
        return [Op('change', have, target)]

    def validate(self, ctx, plan, after):
        for op in plan:
            if op.action == 'delete':
                continue
            obj = op.after
            ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
            if obj.get('state') == 'dynamic' and not obj.get('extern_learn') and not ctx.params.get('include_learned'):
                raise EdgenetError('a dynamic entry cannot be told from one the kernel learned: managing dynamic '
                                   'entries needs include_learned: true', obj=self.label(obj), field='state')
            if obj.get('sticky') and obj.get('state') == 'permanent':
                raise EdgenetError('a permanent (local) entry cannot be sticky; give state static',
                                   obj=self.label(obj), field='sticky')
            if obj.get('via'):
                ctx.nl.ifindex(obj['via'], obj=self.label(obj), field='via')
            info = self.devices.get(obj['dev'])
            if info is None:
                continue  # check mode: a device an earlier task creates
            if obj.get('self') and info['kind'] == 'vxlan' and 'dst' not in obj and 'nhid' not in obj:
                raise EdgenetError('an entry of a VXLAN device needs dst (the remote VTEP) or nhid (an FDB nexthop '
                                   'group)', obj=self.label(obj), field='dst')
            if obj.get('self') and info['kind'] != 'vxlan':
                for field in VXLAN_ONLY:
                    if field in obj:
                        raise EdgenetError("%s needs a VXLAN device; '%s' is %s" % (
                            field, obj['dev'], info['kind'] or 'not a VXLAN device'),
                            obj=self.label(obj), field=field)
            if 'src_vni' in obj and not info.get('external'):
                raise EdgenetError("src_vni needs a VXLAN device in external (collect metadata) mode; '%s' "
                                   "is not" % obj['dev'], obj=self.label(obj), field='src_vni')
            if obj.get('master') and not info.get('master') and info['kind'] != 'bridge':
                raise EdgenetError("'%s' is not a bridge port: an entry in the bridge's table (master: true) "
                                   "needs one" % obj['dev'], obj=self.label(obj), field='master')
            if obj.get('master') and info['kind'] == 'bridge' and not info.get('master'):
                raise EdgenetError("an entry of the bridge '%s' itself is given as self: true" % obj['dev'],
                                   obj=self.label(obj), field='master')

    # -- kernel I/O ----------------------------------------------------------
    @staticmethod
    def _devices(ctx):
        devices = {}
        for name, link in ctx.nl.link_info().items():
            dev = {'index': link['index'], 'kind': link['kind'], 'address': link['address'], 'master': link['master']}
            if link['kind'] == 'vxlan':
                buf, data = link['buf'], link['data']
                dev['vni'] = _rtnl.get_u32(buf, data[IFLA_VXLAN_ID]) if IFLA_VXLAN_ID in data else None
                dev['port'] = BE16.unpack_from(buf, data[IFLA_VXLAN_PORT][0])[0] if IFLA_VXLAN_PORT in data else None
                dev['external'] = bool(IFLA_VXLAN_COLLECT_METADATA in data and buf[data[IFLA_VXLAN_COLLECT_METADATA][0]])
            devices[name] = dev
        return devices

    def gather(self, ctx):
        nl = ctx.nl
        self.devices = self._devices(ctx)
        names = dict((dev['index'], name) for name, dev in self.devices.items())  # the same dump, not a second one
        include_learned = ctx.params.get('include_learned')
        get_u32 = _rtnl.get_u32
        out = []
        for _kind, buf, start, end in nl.rdump(_rtnl.RTM_GETNEIGH, NDMSG.pack(AF_BRIDGE, 0, 0, 0, 0), 'FDB entries'):
            family, index, nud, flags, _type = NDMSG.unpack_from(buf, start)
            if family != AF_BRIDGE:
                continue
            a = _rtnl.attrs(buf, start + NDMSG.size, end)
            if NDA_LLADDR not in a:
                continue
            mac = ':'.join('%02x' % b for b in buf[a[NDA_LLADDR][0]:a[NDA_LLADDR][1]])
            if not mac:
                continue
            dev = names.get(index) or 'if%d' % index
            info = self.devices.get(dev, {})
            master = get_u32(buf, a[NDA_MASTER]) if NDA_MASTER in a else None
            own_table = bool(flags & NTF_SELF) or not master or master == index
            state = _state_name(nud)
            ext = bool(flags & NTF_EXT_LEARNED)
            if own_table and info.get('kind') != 'vxlan' and master != index and _group_mac(mac):
                continue  # the device's multicast list
            if state == 'permanent' and mac == info.get('address') and (master or info.get('kind') == 'bridge'):
                continue  # the bridge's local entry for a port's (or its own) address
            if state == 'dynamic' and not ext and not include_learned:
                continue  # learned
            obj = {'dev': dev, 'mac': mac, 'self': own_table, 'master': not own_table, 'state': state,
                   'extern_learn': ext, 'sticky': bool(flags & NTF_STICKY)}
            if NDA_VLAN in a:
                vlan = U16.unpack_from(buf, a[NDA_VLAN][0])[0]
                if vlan:
                    obj['vlan'] = vlan
            if NDA_DST in a:
                obj['dst'] = _rtnl.get_addr(buf, a[NDA_DST])
            if NDA_VNI in a:
                obj['vni'] = get_u32(buf, a[NDA_VNI])
            if NDA_PORT in a:
                obj['port'] = BE16.unpack_from(buf, a[NDA_PORT][0])[0]
            if NDA_SRC_VNI in a:
                obj['src_vni'] = get_u32(buf, a[NDA_SRC_VNI])
            if NDA_NH_ID in a:
                obj['nhid'] = get_u32(buf, a[NDA_NH_ID])
            if NDA_IFINDEX in a and get_u32(buf, a[NDA_IFINDEX]):
                via = get_u32(buf, a[NDA_IFINDEX])
                obj['via'] = names.get(via) or 'if%d' % via
            if state == 'dynamic' and not ext and NDA_CACHEINFO in a:
                obj['age'] = int(CACHEINFO.unpack_from(buf, a[NDA_CACHEINFO][0])[2] // 100)
            out.append(obj)
        return out

    def _command(self, obj):
        if self._is_vxlan_entry(obj) and _group_mac(obj['mac']):
            # the kernel neither appends to nor replaces a nexthop entry for a group MAC: it is added
            return 'add' if obj.get('nhid') else 'append'
        return 'replace'

    def encode(self, ctx, op):
        """RTM_NEWNEIGH (add, append or replace, as ``bridge fdb`` sends them) or RTM_DELNEIGH, family AF_BRIDGE."""
        obj = op.obj
        delete = op.action == 'delete'
        flags = NTF_SELF if obj.get('self') else NTF_MASTER
        if not delete:
            if obj.get('extern_learn'):
                flags |= NTF_EXT_LEARNED
            if obj.get('sticky'):
                flags |= NTF_STICKY
        links = ctx.nl.links()[0]
        index = links.get(obj['dev']) or ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        parts = [NDMSG.pack(AF_BRIDGE, index, STATE_NUD[obj.get('state', 'permanent')], flags, 0),
                 _rtnl.attr(NDA_LLADDR, bytes(int(b, 16) for b in obj['mac'].split(':')))]
        if obj.get('vlan'):
            parts.append(_rtnl.attr_u16(NDA_VLAN, obj['vlan']))
        if obj.get('dst'):
            parts.append(_rtnl.attr(NDA_DST, _rtnl.addr_bytes(obj['dst'])[1]))
        if 'port' in obj:
            parts.append(_rtnl.attr(NDA_PORT, BE16.pack(obj['port'])))
        for field, kind in (('vni', NDA_VNI), ('src_vni', NDA_SRC_VNI), ('nhid', NDA_NH_ID)):
            if field in obj:
                parts.append(_rtnl.attr_u32(kind, obj[field]))
        if obj.get('via'):
            via = links.get(obj['via']) or ctx.nl.ifindex(obj['via'], obj=self.label(obj), field='via')
            parts.append(_rtnl.attr_u32(NDA_IFINDEX, via))
        body = b''.join(parts)
        if delete:
            return _rtnl.RTM_DELNEIGH, _rtnl.DELETE, body
        command = self._command(obj)
        nlflags = {'add': _rtnl.ADD, 'append': _rtnl.APPEND, 'replace': _rtnl.REPLACE}[command]
        return _rtnl.RTM_NEWNEIGH, nlflags, body

    def error_field(self, op):
        return ','.join(f for f in op.changed_fields() if f != 'age') if op.action == 'change' else None

    def refine_error(self, op, error):
        obj = op.obj
        if error.code == EINVAL and obj.get('vlan') and op.action != 'delete' and not error.extack:
            error.msg = ('the kernel refused VLAN %d: it is not a VLAN of %s (bridge_vlan), or the kernel lacks '
                         'bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)' % (obj['vlan'], obj['dev']))
            error.field = 'vlan'
        elif obj.get('nhid') and 'nexthop' in (error.extack or '').lower():
            error.field = 'nhid'
        return error

    def _words(self, obj):
        words = [obj['mac'], 'dev', obj['dev']]
        for field in ('dst', 'vlan', 'port', 'vni', 'src_vni', 'via', 'nhid'):
            if obj.get(field) is not None:
                words += [field, str(obj[field])]
        words.append('self' if obj.get('self', True) else 'master')
        return words

    def render(self, ctx, op):
        obj = op.obj
        if op.action == 'delete':
            return [ctx.cmd('bridge', 'fdb', 'del', *self._words(obj))]
        words = self._words(obj) + [obj.get('state', 'permanent')]
        if obj.get('sticky'):
            words.append('sticky')
        if obj.get('extern_learn'):
            words.append('extern_learn')
        return [ctx.cmd('bridge', 'fdb', self._command(obj), *words)]
