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
  multicast list (``33:33:...``, ``01:00:5e:...``; VXLAN devices excepted), the ``master permanent``
  entries that carry a port's or the bridge's own MAC address, and on a VXLAN device in ``external
  vnifilter`` mode the flood entry the kernel makes for each VNI of its VNI list with a remote or group
  (``00:00:00:00:00:00 dst REMOTE vni N src_vni N self permanent``, ``via`` the device's lower device if it
  has one; bridge_vni manages them, through the VNI list).  The VNI lists are read (RTM_GETTUNNEL) only
  when such a device is in scope, and an element that spells such an entry is refused (the kernel answers
  its write as done, while the view never shows it);
* dynamic entries (``state: dynamic``) only with the module option ``include_learned``: the kernel
  reports an entry added with ``bridge fdb add ... dynamic`` exactly like one it learned, so they are
  managed together.  They then carry ``age`` (seconds since last update; output only).

Reported form: the kernel reports an entry added with ``self`` on a bridge device as ``master`` of
itself; gather reports it as ``self`` again.  A VXLAN entry's ``vni`` and ``port`` are reported only when
they differ from the device's own (as the kernel does: it stores the device's own as its default); a wish
that names the device's value is that default, so the entry planned (its request and its ``after``) leaves
it out, as gather shows the entry.

Writes: entries in the bridge's table and plain devices' entries are sent as NLM_F_CREATE|NLM_F_REPLACE
(``bridge fdb replace``; a learned entry with the same key is taken over).  VXLAN entries for the
all-zero or a multicast MAC are appended (NLM_F_APPEND, ``bridge fdb append``), as the kernel keeps
several destinations under one MAC; unicast VXLAN entries are replaced.  A change to a VXLAN entry is a
delete then an add (the kernel identifies a destination by dst, port, vni and via together).
An entry pointing at an FDB nexthop group (``nhid``; ``ip nexthop add id N group ... fdb``) carries no dst:
the kernel refuses to replace or append a nexthop entry for the all-zero or a multicast MAC, so such an
entry is added (NLM_F_CREATE|NLM_F_EXCL), and changed by a delete then an add.  A ``vlan`` on an entry in
the bridge's table needs that VLAN on the port (the bridge's own VLANs for its own entries), and a kernel without
bridge VLAN filtering refuses every VLAN (both EINVAL, no extended ACK): validate refuses both before anything
is sent, naming the ``vlan`` field (check mode warns instead for a VLAN the port lacks: an earlier task may add it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import operator
import os
import re
import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, OwnOp, Resource, index_by, spells
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_BRIDGE = 7
NDMSG = struct.Struct('=BxxxiHBB')        # struct ndmsg
CACHEINFO = struct.Struct('=IIII')       # struct nda_cacheinfo: confirmed, used, updated, refcnt
U16, BE16 = struct.Struct('=H'), struct.Struct('>H')
NLA = struct.Struct('=HH')
NDA_DST, NDA_LLADDR, NDA_CACHEINFO, NDA_VLAN, NDA_PORT, NDA_VNI, NDA_IFINDEX, NDA_MASTER = 1, 2, 3, 5, 6, 7, 8, 9
NDA_SRC_VNI, NDA_NH_ID, NDA_FLAGS_EXT = 11, 13, 15
U32 = struct.Struct('=I')
#: The common message, an entry of a bridge port's table without VLAN (br_fdb_fill_info): ndmsg, then
#: NDA_LLADDR (6 bytes), NDA_MASTER, NDA_FLAGS_EXT (since Linux 5.19; absent before) and NDA_CACHEINFO.
#: By message length: the struct of its attribute headers, their expected (length, type) values and the
#: offset of NDA_CACHEINFO's payload.  A message whose headers are exactly these is read at these fixed
#: offsets (one unpack instead of a walk over its attributes); any other is decoded attribute by attribute.
BRIDGE_ENTRY = {
    60: (struct.Struct('=12xHH8xHH4xHH4xHH16x'), (10, NDA_LLADDR, 8, NDA_MASTER, 8, NDA_FLAGS_EXT, 20, NDA_CACHEINFO),
         44),
    52: (struct.Struct('=12xHH8xHH4xHH16x'), (10, NDA_LLADDR, 8, NDA_MASTER, 20, NDA_CACHEINFO), 36),
}
FIXED_MAC, FIXED_MASTER = 16, 28
LLADDR6 = NLA.pack(10, NDA_LLADDR)  # the header of a 6-byte NDA_LLADDR (padded to 8 bytes)
NLFLAGS = {'add': _rtnl.ADD, 'append': _rtnl.APPEND, 'replace': _rtnl.REPLACE}  # payload offsets of NDA_LLADDR and NDA_MASTER in BRIDGE_ENTRY messages
IFLA_VXLAN_ID, IFLA_VXLAN_LINK, IFLA_VXLAN_PORT, IFLA_VXLAN_COLLECT_METADATA, IFLA_VXLAN_VNIFILTER = 1, 3, 15, 25, 30
IFLA_VXLAN_GROUP, IFLA_VXLAN_LOCAL, IFLA_VXLAN_GROUP6, IFLA_VXLAN_LOCAL6, IFLA_VXLAN_LABEL = 2, 4, 16, 17, 26
#: (attribute, family, what it is) of a VXLAN device's addresses: the family of its default destination, which is the
#: family of every dst its table takes (vxlan_fdb_add: EAFNOSUPPORT); its remote (or group) first, else its local
#: address (vxlan_config_validate: the remote takes the local's family), else a flow label (IPv6 devices only)
VXLAN_FAMILY = ((IFLA_VXLAN_GROUP, 4, 'remote or group'), (IFLA_VXLAN_GROUP6, 6, 'remote or group'),
                (IFLA_VXLAN_LOCAL, 4, 'local address'), (IFLA_VXLAN_LOCAL6, 6, 'local address'))
IFLA_BR_VLAN_PROTOCOL = 8  # in a bridge's IFLA_INFO_DATA only on a kernel with CONFIG_BRIDGE_VLAN_FILTERING
IFLA_BRPORT_STATE = 1  # in a bridge port's IFLA_INFO_SLAVE_DATA: its STP state (BR_STATE_*, a u8)
BR_STATE_LEARNING, BR_STATE_FORWARDING = 2, 3
STP_STATES = ('disabled', 'listening', 'learning', 'forwarding', 'blocking')  # (as bridge_port names them)
ZERO_MAC = '00:00:00:00:00:00'
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
#: what the destinations of one VXLAN group MAC share (one entry to the kernel: BridgeFdb._amend_groups)
GROUP_FIELDS = ('state', 'extern_learn', 'sticky')
#: what the kernel's flood entries of a VNI list have of them (vxlan_vni_update_group: permanent, no flag)
KERNEL_FLOOD_SHARED = ('permanent', False, False)
VXLAN_ONLY = ('dst', 'vni', 'port', 'src_vni', 'via', 'nhid')
#: an entry pointing at a nexthop group carries none of these (the group holds the destinations)
NOT_WITH_NHID = ('dst', 'vni', 'port', 'via')
EINVAL = 22
RARE_FIELDS = frozenset(('vlan',) + VXLAN_ONLY)
#: the fields of a config element that BridgeFdb.match_have compares with a gathered entry
_FAST_FIELDS = frozenset(('dev', 'mac', 'self', 'master', 'state', 'vlan'))
INT_RANGES = (('vni', 0, 2 ** 24 - 1), ('src_vni', 0, 2 ** 24 - 1), ('port', 1, 65535), ('nhid', 1, 2 ** 32 - 1))


def _kernel_before(major, minor):
    """Whether the running kernel's release is older than ``major.minor``."""
    found = re.match(r'(\d+)\.(\d+)', os.uname()[2])
    return bool(found) and (int(found.group(1)), int(found.group(2))) < (major, minor)


def _aged(obj):
    """Whether an entry is one the bridge ages (dynamic, not extern_learn): gather reports its ``age``, and only a
    port that learns takes one."""
    return obj.get('state') == 'dynamic' and not obj.get('extern_learn')


def _same(a, b):
    """Whether two entries (or None) are the same but for their age."""
    if a is None or b is None:
        return a is b
    if 'age' in a or 'age' in b:
        a, b = dict(a), dict(b)
        a.pop('age', None)
        b.pop('age', None)
    return a == b


class _Fixup(OwnOp):
    """A copy per VLAN of an entry without one (BridgeFdb.amend), written with its VLAN (``obj``) or deleted
    (``obj`` None: ``gone`` is what the kernel holds), as the op it belongs to sends it (``follow``) or as the
    rollback of that op does (``restore``)."""

    __slots__ = ()

    def __init__(self, res, obj, gone=None):
        super(_Fixup, self).__init__(res, Op('add', None, obj) if obj is not None else Op('delete', gone, None))


def _field_text(obj, field):
    """``state static``, ``extern_learn true``: the value of one of the fields a VXLAN group shares."""
    value = obj.get(field)
    return '%s %s' % (field, str(value).lower() if isinstance(value, bool) else value)


def _state_name(nud):
    if nud & NUD_PERMANENT:
        return 'permanent'
    if nud & NUD_NOARP:
        return 'static'
    return 'dynamic'


def _group_mac(mac):
    """The all-zero MAC or a multicast MAC: VXLAN keeps a list of destinations under it."""
    return mac == ZERO_MAC or int(mac.split(':')[0], 16) & 1 == 1


class BridgeFdb(Resource):
    name = 'bridge_fdb'
    bulk = True
    keys = ('dev', 'mac', 'vlan', 'dst', 'src_vni', 'self')
    duplicate_field = 'mac'  # (the field a duplicate key error names)
    sparse_keys = True
    required = ('dev', 'mac')
    device_fields = ('dev', 'via')  # (by an altname too)
    device_options = ('dev',)
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
    scope_fields = ('dev',)
    module_options = {'include_learned': {'type': 'bool', 'default': False}}
    volatile = ('age',)
    #: defaults() fills only the key field self (normalize derives it from master when master is given)
    default_keys = ('self',)
    validate_reads_after = False

    def __init__(self):
        #: {dev: {'kind':, 'address':, 'vni':, 'port':, 'external':, 'vnifilter':, 'link':, 'family':}} from the last
        #: gather (family: (4 or 6, what says so) of a VXLAN device that reports an address or a flow label)
        self.devices = {}
        self._entries = []  # the entries of the last gather
        self._families = None  # {dev: (family, why) or None}: the family of a VXLAN device's dsts (_entries_family)
        self._names = {}  # {ifindex: dev} of the last gather
        self._floods = None  # {dev: {dst: [(first VNI, last VNI)]}} of the VNI lists, read when first needed
        self._vlan_kernel = False  # whether the kernel has bridge VLANs (then a port has VLAN 1 by default)
        self._vids = None  # {dev: (vid, ...)}: the VLANs of every bridge port and bridge, read when first needed
        self._implied = set()  # (dev, mac, vlan) of the entries per VLAN that implied() made (for their label)

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = item  # the engine's own copy
        obj.pop('age', None)  # output only
        if 'mac' in obj:
            obj['mac'] = _norm.mac(obj['mac'], 'mac')
        rare = not RARE_FIELDS.isdisjoint(obj)  # most entries (a bridge port's) have none of these
        if rare:
            if 'dst' in obj:
                obj['dst'] = _norm.ip(obj['dst'], 'dst')
            if 'vlan' in obj:
                obj['vlan'] = _norm.int_range(obj['vlan'], 1, 4094, 'vlan')
            for field, lo, hi in INT_RANGES:
                if field in obj:
                    obj[field] = _norm.int_range(obj[field], lo, hi, field)
            if obj.get('src_vni') == 0 and ctx.params.get('state') != 'deleted':
                # (what the kernel gives an entry made without one, and never reports; a deleted selector keeps it,
                # so that it does not select every VNI's entries)
                del obj['src_vni']
            if 'nhid' in obj:
                for field in NOT_WITH_NHID:
                    if field in obj:
                        raise EdgenetError('an entry pointing at a nexthop group (nhid) takes its destinations from '
                                           'the group; %s cannot be given with it' % field, field=field)
            if 'dst' in obj or 'nhid' in obj:
                # (a VXLAN entry: _amend_groups tells the entries config names from the ones it leaves to the kernel)
                named = self.__dict__.get('_named')
                if named is None or named[0] is not ctx:
                    named = self._named = (ctx, [])
                named[1].append(obj)
        if 'self' in obj and 'master' in obj:
            if obj['self'] == obj['master']:
                raise EdgenetError('an entry is either in the bridge\'s table (master: true) or in the device\'s own '
                                   'table (self: true); for both, give two entries', field='master')
        elif 'self' in obj:
            obj['master'] = not obj['self']
        elif 'master' in obj:
            obj['self'] = not obj['master']
        if rare and obj.get('master'):
            for field in VXLAN_ONLY:
                if field in obj:
                    raise EdgenetError('%s belongs to a VXLAN device\'s own entries (self: true), not to the '
                                       'bridge\'s table (master: true)' % field, field=field)
        if obj.get('extern_learn') and obj.get('master') and obj.get('state', 'dynamic') != 'dynamic':
            raise EdgenetError('the bridge keeps an extern_learn entry as dynamic (it is not aged); '
                               'leave state out or give dynamic', field='state')
        return obj

    def match_index(self, have):
        return index_by(have, operator.itemgetter('dev', 'mac'))

    def match_have(self, item, index, ctx):
        # Only fields normalize checks on their own (and only the gathered entry's own values: a canonical MAC,
        # a valid VLAN and state); self and master as normalize completes them (self alone, master alone,
        # neither: the bridge port's own table, or both: different). Anything else is normalized as usual.
        found = index.get((item['dev'], item['mac']))
        if found is None or not _FAST_FIELDS.issuperset(item):
            return None
        own = item.get('self')
        master = item.get('master')
        if own is None:
            own = not master if master is not None else True
        elif master is not None and master == own:
            return None  # normalize refuses it
        for h in found:
            if h['self'] == own and h['master'] != own and spells(item, h):
                return h
        return None

    def defaults(self, obj):
        out = {'self': True, 'master': False, 'state': 'permanent', 'extern_learn': False, 'sticky': False}
        if obj.get('master'):
            out.update({'self': False, 'master': True})
        if obj.get('extern_learn') and obj.get('master'):
            out['state'] = 'dynamic'
        elif _aged(obj):
            out['age'] = 0  # (gather reports a dynamic entry's age: a new one's, read right after the write, is 0)
        return out

    def label(self, obj):
        words = ['bridge_fdb', obj.get('mac', '?'), 'dev', obj.get('dev', '?')]
        for field in ('vlan', 'dst', 'src_vni'):
            if obj.get(field) is not None:
                words += [field, str(obj[field])]
        if 'self' in obj:
            words.append('self' if obj['self'] else 'master')
        if self._implied and (obj.get('dev'), obj.get('mac'), obj.get('vlan')) in self._implied:
            words.append('(the entry the kernel makes for VLAN %s of the element without a VLAN)' % obj['vlan'])
        return ' '.join(words)

    def sort_key(self, obj):
        get = obj.get
        return (get('dev') or '', get('mac') or '', get('vlan') or 0, get('dst') or '', get('src_vni') or 0,
                not get('self', True))

    def overlay(self, base, top):
        obj = dict(base, **top)
        if 'vni' in top or 'port' in top:
            # the VXLAN device's own VNI or port is what the kernel stores for an entry without one, and it
            # reports neither (gather shows the entry without it): the entry asked for is that entry, so that
            # check mode, the request and after all show it as gather does
            info = self.devices.get(obj.get('dev'))
            if info is not None:
                for field in ('vni', 'port'):
                    if field in top and top[field] == info.get(field):
                        del obj[field]
        return obj

    def reconcile(self, have, target):
        copied = False
        if target.get('extern_learn') and target.get('master') and target.get('state') != 'dynamic':
            # merged turns extern_learn on for an entry it does not give a state: the bridge keeps such an
            # entry as dynamic (normalize refuses the two given together), whatever state it had
            target, copied = dict(target), True
            target['state'] = 'dynamic'
        # gather reports the age of a dynamic entry (not extern_learn): the kernel's, kept when nothing else
        # changes; a write of the entry restarts it (a real run reads it back right after: 0); after a write
        # that makes it static, it has none
        aged = _aged(target)
        if aged or 'age' in target:
            if not copied:
                target = dict(target)
            target.pop('age', None)
            if 'age' in have and _same(have, target):
                target['age'] = have['age']
            elif aged:
                target['age'] = 0
        return target

    def identity(self, obj):
        """What the kernel tells entries apart by, where the key is finer: a bridge keeps one entry per MAC
        and VLAN in its table, whichever port (or the bridge itself) it names, and a VXLAN device one
        destination per unicast MAC (in each VNI's table), whichever dst or nhid it names. Writing one
        moves the other (``bridge fdb replace`` does the same)."""
        dev = obj.get('dev')
        info = self.devices.get(dev)
        if info is not None and info['kind'] == 'bridge':
            return ('dev', dev, obj.get('mac'), obj.get('vlan') or 0)
        if obj.get('master') or obj.get('self') is False:
            master = info.get('master') if info is not None else None
            bridge = self._names.get(master) if master else None
            return ('dev', bridge or dev, obj.get('mac'), obj.get('vlan') or 0)
        if self._is_vxlan_entry(obj) and obj.get('mac') and not _group_mac(obj['mac']):
            return ('dst', dev, obj.get('mac'), obj.get('src_vni') or 0)
        return None

    @staticmethod
    def _is_vxlan_entry(obj):
        # validate() makes sure that dst or nhid is given exactly for the entries of a VXLAN device's own table
        return bool(obj.get('self') and (obj.get('dst') or obj.get('nhid')))

    def plan_change(self, have, target, ctx):
        if self._is_vxlan_entry(have) or have.get('extern_learn') != target.get('extern_learn'):
            return [Op('delete', have, None), Op('add', None, target)]
        return [Op('change', have, target)]

    # -- the copies per VLAN of an entry without one ------------------------------------------------------------
    # On a kernel with bridge VLANs (CONFIG_BRIDGE_VLAN_FILTERING: distribution kernels), every port and the bridge
    # itself have VLANs (VLAN 1, the bridge's default_pvid, even with vlan_filtering off). br_fdb_add without
    # NDA_VLAN writes the entry without a VLAN and one entry per VLAN of the port (of the bridge, for its own
    # entries: its VLANs with ``self``), all with the same state and flags; br_fdb_delete without NDA_VLAN deletes
    # all of them (and the kernel refuses NDA_VLAN 0, so the entry without a VLAN is never deleted alone). So an
    # element without a VLAN stands for what ``bridge fdb replace MAC dev PORT master`` makes: its copies are
    # wanted with it (implied), and every write or delete of such an entry is amended for what it does to them.

    def _copy_vids(self, ctx, obj):
        """The VLANs the kernel copies ``obj`` to (an entry of a bridge's table without a VLAN), else ()."""
        if not self._vlan_kernel or obj.get('vlan'):
            return ()
        return self._table_vids(ctx, obj)

    def _table_vids(self, ctx, obj):
        """The VLANs of the device of ``obj``, an entry of a bridge's table (a port's, or the bridge's own: its
        VLANs with ``self``), on a kernel with bridge VLANs; else ()."""
        info = self.devices.get(obj.get('dev'))
        if info is None:
            return ()  # (check mode: a device an earlier task creates; validate warns)
        if obj.get('master'):
            if not info.get('master'):
                return ()
        elif not (obj.get('self') and info['kind'] == 'bridge'):
            return ()
        vids = self._vids
        if vids is None:
            vids = self._vids = self._read_vids(ctx)
        return vids.get(obj['dev'], ())

    @staticmethod
    def _read_vids(ctx):
        # pylint: disable=import-outside-toplevel
        from ansible_collections.edgenet.linux.plugins.module_utils.resources import bridge_vlan

        return dict((dev, tuple(sorted(vlans))) for _i, dev, _m, vlans, _t in bridge_vlan.each_device(ctx.nl)
                    if vlans)

    def implied(self, target, ctx):
        vids = self._copy_vids(ctx, target)
        if not vids:
            return ()
        base = dict(target)
        base.pop('age', None)
        copies = [dict(base, vlan=vid) for vid in vids]
        self._implied.update((target['dev'], target['mac'], vid) for vid in vids)
        return copies

    def amend(self, ctx, ops, have_by_key):
        """The plan, with each write or delete of an entry without a VLAN that has copies (:meth:`implied`) in the
        order the kernel needs and with what it does to the copies made good: the deletes of copies before the
        delete of their entry (after it, the kernel would not find them) and the writes of copies after the write
        of their entry (before it, it would overwrite them); ``follow``: what brings each copy that no later op
        of the plan writes to what the plan predicts for it (a copy that config keeps with its VLAN, made again
        after the delete that took it, or written again after the write that changed it); ``restore``: what
        brings the copies back to what they were before the op, after the op that undoes it (a rollback)."""
        if ctx.params.get('state') != 'deleted':  # (deletes alone change no other entry of a group)
            ops = self._amend_groups(ctx, ops, have_by_key)
        if not self._vlan_kernel:
            return ops
        if not any(self._copy_vids(ctx, op.obj) for op in ops):
            return ops
        deletes = [op for op in ops if op.action == 'delete']
        others = [op for op in ops if op.action != 'delete']
        ops = (sorted(deletes, key=lambda op: not op.before.get('vlan')) +
               sorted(others, key=lambda op: bool(op.after.get('vlan'))))
        key = self.key_function()
        final = dict(have_by_key)  # what the plan predicts, key by key
        last = {}
        for i, op in enumerate(ops):
            k = key(op.obj)
            last[k] = i
            if op.action == 'delete':
                final.pop(k, None)
            else:
                final[k] = op.after
        now = dict(have_by_key)  # what the kernel holds as the ops run
        out = []
        for i, op in enumerate(ops):
            obj = op.obj
            k = key(obj)
            vids = self._copy_vids(ctx, obj)
            if op.action == 'delete':
                if k not in now:
                    continue  # the delete of an entry without a VLAN took it along already
                now.pop(k)
            else:
                now[k] = op.after
            out.append(op)
            if not vids:
                continue
            keys = [key(dict(obj, vlan=vid)) for vid in vids]
            was = list(map(now.get, keys))  # (now, before the op's effect on its copies)
            if op.action == 'delete':
                made = [None] * len(keys)
                undone = [self._copy(op.before, vid) for vid in vids]  # (the add that undoes it)
            else:
                made = [self._copy(op.after, vid) for vid in vids]
                undone = ([None] * len(keys) if op.action == 'add' else
                          [self._copy(op.before, vid) for vid in vids])
            follow, restore = [], []
            for ck, before, effect, inverse in zip(keys, was, made, undone):
                if last.get(ck, -1) <= i:  # no later op writes it: it must end as predicted
                    wanted = final.get(ck)
                    if not _same(effect, wanted):
                        follow.append(_Fixup(self, wanted, effect))
                        effect = wanted
                if effect is None:
                    now.pop(ck, None)
                else:
                    now[ck] = effect
                if not _same(inverse, before):
                    restore.append(_Fixup(self, before, inverse))
            op.follow, op.restore = tuple(follow), tuple(restore)
        return out

    # -- the destinations of a VXLAN group MAC -----------------------------------------------------------------
    # A VXLAN device keeps one FDB entry per MAC and source VNI (vxlan_fdb); for the all-zero or a multicast MAC it
    # holds a list of remote destinations, which the module reports as one entry per dst. The entry's state and
    # flags (extern_learn, sticky) are the entry's, not a destination's: a write of one dst (an append) sets them
    # for all of its dsts (vxlan_fdb_update_existing), except an extern_learn write onto the entry a user made,
    # which keeps its state and flags; a nexthop group (nhid) is the whole entry, never beside a dst.

    @staticmethod
    def _group_id(obj):
        """``(dev, MAC, src_vni)`` of a VXLAN entry of the all-zero or a multicast MAC (a dst or an nhid one), else
        None."""
        if RARE_FIELDS.isdisjoint(obj) or not obj.get('self') or not (obj.get('dst') or obj.get('nhid')):
            return None
        mac = obj.get('mac')
        if not mac or not _group_mac(mac):
            return None
        return (obj['dev'], mac, obj.get('src_vni') or 0)

    def _amend_groups(self, ctx, ops, have_by_key):
        """The plan, checked and amended for the groups of destinations its writes reach (see above): every group's
        entries after the plan (what the kernel keeps, what the plan deletes and writes) are either one nhid entry
        or dst entries; the dst entries config names share one state, extern_learn and sticky (the kernel keeps
        one of each per group); and the other dst entries of the group, which the writes take along, get a
        ``change`` each (an append of the same destination, which sets nothing else): check mode, before, after
        and the diff show them, and a rollback sets them back. A write with extern_learn does not change the
        state or flags of a group that keeps other entries, so a plan that needs it to is refused. Refusals name
        the config element and the field, before anything is sent."""
        gid = self._group_id
        touched = {}  # {group: None} of the groups the plan writes to, in plan order
        for op in ops:
            if op.action != 'delete' and not RARE_FIELDS.isdisjoint(op.after):
                g = gid(op.after)
                if g is not None:
                    touched[g] = None
        if not touched:
            return ops
        key = self.key_function()
        members = dict((g, {}) for g in touched)  # {group: {key: entry}}: the group's entries after the plan
        for k, h in have_by_key.items():
            if not RARE_FIELDS.isdisjoint(h):
                g = gid(h)
                if g in members:
                    members[g][k] = h
        written = {}
        for op in ops:
            obj = op.obj
            if RARE_FIELDS.isdisjoint(obj):
                continue
            g = gid(obj)
            if g not in members:
                continue
            if op.action == 'delete':
                members[g].pop(key(obj), None)
            else:
                members[g][key(obj)] = written[key(obj)] = obj
        named = self.__dict__.get('_named')
        named = [key(o) for o in named[1]] if named is not None and named[0] is ctx else list(written)
        extra = []
        for g in touched:
            entries = members[g]
            pinned = [entries[k] for k in named if k in entries]  # (config's entries of the group, in its order)
            hops = [o for o in entries.values() if o.get('nhid')]
            if hops and len(hops) != len(entries):
                raise self._nhid_and_dst(ctx, hops[0], [o for o in entries.values() if not o.get('nhid')], written)
            if hops or not pinned:
                continue
            first = pinned[0]
            shared = tuple(first.get(f) for f in GROUP_FIELDS)
            for o in pinned[1:]:
                for f in GROUP_FIELDS:
                    if o.get(f) != first.get(f):
                        raise EdgenetError(
                            'this destination has %s, but %s, a destination of the same %s entry of %s%s, has %s: the '
                            'kernel keeps one state and one set of flags (extern_learn, sticky) for all the '
                            'destinations of the all-zero or a multicast MAC (a write of one sets them for all). Give '
                            'the destinations of one MAC the same %s' % (
                                _field_text(o, f), self._element(ctx, first), g[1], g[0],
                                ' src_vni %d' % g[2] if g[2] else '', _field_text(first, f), f),
                            obj=self._element(ctx, o), field=f)
            if g[2] and shared != KERNEL_FLOOD_SHARED and self.devices.get(g[0], {}).get('vnifilter'):
                self._check_flood_sibling(ctx, g, first)
            pinned_keys = set(map(key, pinned))
            for k, o in entries.items():
                if k in pinned_keys or tuple(o.get(f) for f in GROUP_FIELDS) == shared:
                    continue
                if first.get('extern_learn'):
                    # (vxlan_fdb_update_existing: an extern_learn write keeps the state and flags of an entry a user
                    # made, so the written destination would end with this one's, on every run)
                    w = next(w for w in written.values() if gid(w) == g)
                    f = next(f for f in GROUP_FIELDS if o.get(f) != w.get(f))
                    raise EdgenetError(
                        'this extern_learn destination would join %s (%s, which the task keeps), whose state and '
                        'flags the kernel keeps for an extern_learn write: all the destinations of the all-zero or a '
                        'multicast MAC share them, so this one would have %s on every run. Give the other '
                        'destinations of the MAC in this task too (each is then made again), or leave extern_learn '
                        'out' % (self.label(o), _field_text(o, f), _field_text(o, f)),
                        obj=self._element(ctx, w), field=f)
                target = dict(o)
                target.update(zip(GROUP_FIELDS, shared))
                target = dict((f, v) for f, v in target.items() if v is not None)
                extra.append(Op('change', o, self.reconcile(o, target)))
        return ops + extra if extra else ops

    def _check_flood_sibling(self, ctx, g, obj):
        """Refuses ``obj``, a destination of group ``g`` of a vnifilter device, whose state or flags would change the
        flood entry the kernel keeps for that VNI of the device's VNI list (permanent, no flag: it is a destination of
        the same entry, which gather leaves out and bridge_vni manages)."""
        floods = self._floods
        if floods is None:
            floods = self._floods = self._read_floods(ctx)
        for dst, ranges in sorted(floods.get(g[0], {}).items()):
            if any(first <= g[2] <= last for first, last in ranges):
                f = next(f for f, v in zip(GROUP_FIELDS, KERNEL_FLOOD_SHARED) if obj.get(f) != v)
                raise EdgenetError(
                    "this destination has %s, but the flood entry the kernel keeps for VNI %d of the VNI list of '%s' "
                    "(dst %s; edgenet.linux.bridge_vni manages it, and this module does not show it) is a destination "
                    "of the same %s entry, which has one state and one set of flags for all of them: it is permanent, "
                    "without extern_learn or sticky, and a write of this one would change it along. Give state "
                    "permanent, without extern_learn or sticky" % (_field_text(obj, f), g[2], g[0], dst, g[1]),
                    obj=self._element(ctx, obj), field=f)

    def _nhid_and_dst(self, ctx, hop, dsts, written):
        """The refusal of a plan that would leave a group MAC of a VXLAN device with a nexthop group entry (``hop``)
        and dst entries (``dsts``): the kernel refuses the nhid entry beside them (EEXIST), and takes a dst appended
        to it as done without adding it. Names the element that writes one of them (the later in config order when
        the task writes both)."""
        key = self.key_function()
        written_dsts = [o for o in dsts if key(o) in written]
        if key(hop) in written and (not written_dsts or (self._position(ctx, hop) or 0) >
                                    (self._position(ctx, written_dsts[0]) or 0)):
            obj, field, other = hop, 'nhid', written_dsts[0] if written_dsts else dsts[0]
        else:
            obj, field, other = written_dsts[0], 'dst', hop
        where = '%s dev %s%s' % (hop['mac'], hop['dev'], ' src_vni %d' % hop['src_vni'] if hop.get('src_vni') else '')
        return EdgenetError(
            'the kernel keeps for %s either a nexthop group (nhid) or a list of destinations (dst), never both: this '
            'element gives %s %s, and %s %s. The kernel refuses the nhid entry beside a dst (EEXIST), and drops a dst '
            'appended to an nhid entry without a word. Delete the other kind first (state deleted or overridden), or '
            'give one kind only' % (
                where, field, obj[field],
                '%s gives' % self._element(ctx, other) if key(other) in written else 'the kernel holds',
                'nhid %s' % other['nhid'] if field == 'dst' else 'dst %s' % other['dst']),
            obj=self._element(ctx, obj), field=field)

    def _position(self, ctx, obj):
        """The index of the config element that gives the entry ``obj`` (by key), or None."""
        key = self.key_function()
        k = key(obj)
        named = self.__dict__.get('_named')  # (normalize records what it normalizes: kept as it was)
        try:
            for i, item in enumerate(ctx.params.get('config') or ()):
                if not isinstance(item, dict) or not (item.get('dst') or item.get('nhid')):
                    continue
                try:
                    o = self.normalize(dict((f, v) for f, v in item.items() if v is not None), ctx)
                except (EdgenetError, AttributeError, TypeError, ValueError):  # (an element normalize refused)
                    continue
                o.setdefault('self', True)
                if key(o) == k:
                    return i
        finally:
            self._named = named
        return None

    def _element(self, ctx, obj):
        """``config[N] (label)`` of the config element that gives the entry ``obj``; its label if none does."""
        i = self._position(ctx, obj)
        return self.label(obj) if i is None else 'config[%d] (%s)' % (i, self.label(obj))

    @staticmethod
    def _copy(obj, vid):
        copy = dict(obj, vlan=vid)
        copy.pop('age', None)
        return copy

    def validate(self, ctx, plan, after):
        links = ctx.nl.links()[0]
        passed = set()  # entries without optional fields: the checks depend only on these fields
        owners = self._local_entries() if plan else None
        for op in plan:
            if op.action == 'delete':
                if self._vlan_kernel and op.before.get('vlan') and op.before.get('master'):
                    self._check_delete(ctx, op.before)
                continue
            obj = op.after
            if owners:
                self._check_local(obj, owners)
            if RARE_FIELDS.isdisjoint(obj):
                get = obj.get
                kind = (obj['dev'], get('self'), get('master'), get('state'), get('extern_learn'), get('sticky'),
                        _group_mac(obj['mac']))
                if kind in passed:
                    continue
                self._check(ctx, obj, links)
                passed.add(kind)
            else:
                self._check(ctx, obj, links)

    def _local_entries(self):
        """``{(bridge ifindex, MAC): device}`` of the bridges' local entries: the permanent entry a bridge keeps for
        its own address and for each port's (gather leaves them out)."""
        bridges = set(dev['index'] for dev in self.devices.values() if dev['kind'] == 'bridge')
        out = {}
        for name, dev in sorted(self.devices.items(), key=lambda item: item[1]['kind'] != 'bridge'):
            bridge = dev['index'] if dev['index'] in bridges else dev.get('master')
            if bridge in bridges and dev.get('address'):
                out.setdefault((bridge, dev['address']), name)  # (a bridge has the address of a port: named as it)
        return out

    def _check_local(self, obj, owners):
        """Refuses an entry of a bridge's table for the address of the bridge or of one of its ports: the bridge
        keeps its local entry for it (gather leaves it out), a write of such an entry takes that one over (and its
        rollback deleted it), and a task that named the local entry itself changed it on every run."""
        info = self.devices.get(obj['dev'])
        if info is None or not (obj.get('master') or info['kind'] == 'bridge'):
            return
        bridge = info['index'] if info['kind'] == 'bridge' else info.get('master')
        owner = owners.get((bridge, obj['mac']))
        if owner is None:
            return
        whose = "the bridge '%s'" % owner if self.devices[owner]['kind'] == 'bridge' else "port '%s'" % owner
        raise EdgenetError("%s is the address of %s: the bridge keeps its own local entry for it (permanent; this "
                           "module leaves it out and never writes it, as an entry written for it would take it over)"
                           "; leave this entry out of config" % (obj['mac'], whose), obj=self.label(obj), field='mac')

    def _check_delete(self, ctx, obj):
        """A port's entry of a VLAN the port no longer has: the kernel kept it when the VLAN went (it flushes only
        learned entries then) and, before Linux 6.13, refuses to delete it (EINVAL) while the port lacks the VLAN
        (br_fdb_delete looked the VLAN up first; "bridge: Allow deleting FDB entries with non-existent VLAN")."""
        vlan = obj['vlan']
        if vlan not in self._table_vids(ctx, obj) and _kernel_before(6, 13):
            raise EdgenetError("the kernel keeps this entry of VLAN %d, which '%s' no longer has (removing a VLAN from "
                               "a port deletes only its learned entries), and refuses to delete it while the port "
                               "lacks the VLAN (Linux 6.13 lifted that): add VLAN %d to '%s' again "
                               "(edgenet.linux.bridge_vlan), then delete the entry, then remove the VLAN"
                               % (vlan, obj['dev'], vlan, obj['dev']),
                               obj=self.label(obj), field='vlan')

    def _check(self, ctx, obj, links):
        """validate() of one entry to add or change."""
        if obj['dev'] not in links:
            ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        if obj.get('state') == 'dynamic' and not obj.get('extern_learn') and not ctx.params.get('include_learned'):
            raise EdgenetError('a dynamic entry cannot be told from one the kernel learned: managing dynamic '
                               'entries needs include_learned: true', obj=self.label(obj), field='state')
        if obj.get('sticky') and obj.get('state') == 'permanent':
            raise EdgenetError('a permanent (local) entry cannot be sticky; give state static',
                               obj=self.label(obj), field='sticky')
        if obj.get('sticky') and obj.get('extern_learn') and obj.get('master'):
            # (br_fdb_external_learn_add takes no sticky flag: the write is answered as done, without it)
            raise EdgenetError('the bridge keeps no sticky flag on an extern_learn entry (it drops it without a '
                               'word); give one of them', obj=self.label(obj), field='sticky')
        if obj.get('via'):
            ctx.nl.ifindex(obj['via'], obj=self.label(obj), field='via')
        if obj.get('master') and obj['mac'] == ZERO_MAC:
            raise EdgenetError("a bridge's table has no entry for the all-zero MAC (it is a VXLAN device's default "
                               "destination: self: true, with dst)", obj=self.label(obj), field='mac')
        info = self.devices.get(obj['dev'])
        if info is None:
            return  # check mode: a device an earlier task creates
        if obj.get('self') and info['kind'] == 'vxlan' and 'dst' not in obj and 'nhid' not in obj:
            raise EdgenetError('an entry of a VXLAN device needs dst (the remote VTEP) or nhid (an FDB nexthop '
                               'group)', obj=self.label(obj), field='dst')
        if obj.get('self') and info['kind'] == 'vxlan' and obj.get('dst'):
            self._check_family(obj, info)
        if info.get('vnifilter') and obj['mac'] == ZERO_MAC and obj.get('self') and self._vni_flood(ctx, obj):
            # its write would be answered as done, and gather never shows it: never changed=0
            raise EdgenetError("this is the flood entry the kernel keeps for VNI %d of the VNI list of '%s' (the "
                               "VNI's remote or group): it is managed there, with edgenet.linux.bridge_vni, not as "
                               "an FDB entry" % (obj['vni'], obj['dev']), obj=self.label(obj), field='dst')
        if obj.get('self') and info['kind'] != 'vxlan' and obj.get('state', 'permanent') != 'permanent':
            # (__br_fdb_add: the bridge's own entries are NUD_PERMANENT only; ndo_dflt_fdb_add: a device's own table
            # is its unicast and multicast address lists, "FDB only supports static addresses")
            raise EdgenetError("the own table of %s takes only permanent entries (the kernel refuses state %s)"
                               % ("the bridge '%s'" % obj['dev'] if info['kind'] == 'bridge' else "'%s'" % obj['dev'],
                                  obj['state']), obj=self.label(obj), field='state')
        if obj.get('self') and info['kind'] not in ('vxlan', 'bridge'):
            for field in ('extern_learn', 'sticky'):
                if obj.get(field):
                    # (ndo_dflt_fdb_add adds the address to the device's lists, and keeps no flag)
                    raise EdgenetError("the own table of '%s' is its address lists, which keep no %s flag (the "
                                       "kernel drops it without a word)" % (obj['dev'], field),
                                       obj=self.label(obj), field=field)
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
            # (check mode: an earlier task of the play, a link task with master, may make it a port)
            copies = (", and leaves out the entries per VLAN of the port that the kernel makes of an entry "
                      "without a VLAN (it has bridge VLANs)") if self._vlan_kernel and not obj.get('vlan') else ''
            self.refuse_or_warn(ctx, self.label(obj), 'master', "'%s' is not a bridge port: an entry in the bridge's "
                                "table (master: true) needs one" % obj['dev'], 'makes it one', copies)
        if obj.get('master') and _aged(obj) and \
                info.get('port_state', BR_STATE_FORWARDING) not in (BR_STATE_LEARNING, BR_STATE_FORWARDING):
            self._port_does_not_learn(ctx, obj, info['port_state'])
        if obj.get('self') and info['kind'] not in ('vxlan', 'bridge') and _group_mac(obj['mac']):
            raise EdgenetError("a multicast MAC in the own table of '%s' is its multicast list (ip maddr), which "
                               "the kernel keeps and this module leaves alone; only a VXLAN device or a bridge "
                               "takes one as an FDB entry" % obj['dev'], obj=self.label(obj), field='mac')
        if obj.get('master') and info['kind'] == 'bridge' and not info.get('master'):
            raise EdgenetError("an entry of the bridge '%s' itself is given as self: true" % obj['dev'],
                               obj=self.label(obj), field='master')
        if obj.get('vlan'):
            self._check_vlan(ctx, obj, info)

    def _check_family(self, obj, info):
        """A dst of another address family than the VXLAN device's: the kernel refuses it (vxlan_fdb_add:
        EAFNOSUPPORT), and check mode had shown it. The device's family is that of its remote or group, else of its
        local address; a device with neither that the kernel reports (none given, or an any address such as ``local
        ::``) is IPv4 unless it was made with an IPv6 one, which the kernel does not report: then the family of the
        destinations it has is the evidence, and without any the kernel answers."""
        family = info.get('family')
        if family is None:
            family = self._entries_family(obj['dev'])
        if family is None:
            return
        mine = 6 if ':' in obj['dst'] else 4
        if mine != family[0]:
            raise EdgenetError("dst %s is an IPv%d address, and the VXLAN device '%s' is IPv%d (%s): the kernel takes "
                               "only destinations of the device's address family (EAFNOSUPPORT)"
                               % (obj['dst'], mine, obj['dev'], family[0], family[1]),
                               obj=self.label(obj), field='dst')

    def _entries_family(self, dev):
        """(family, why) of the destinations the table of VXLAN device ``dev`` has (the kernel holds them all in
        the device's family), or None without any."""
        found = self._families.get(dev, False) if self._families is not None else False
        if found is False:
            if self._families is None:
                self._families = {}
            found = None
            for o in self._entries:
                if o['dev'] == dev and o.get('dst'):
                    found = (6 if ':' in o['dst'] else 4, 'the destinations it has, such as %s' % o['dst'])
                    break
            self._families[dev] = found
        return found

    def _port_does_not_learn(self, ctx, obj, state):
        """A dynamic entry of a port that does not learn: br_fdb_add takes one only from a port in STP state learning
        or forwarding (EPERM otherwise; a static, permanent or extern_learn entry from any port). The real run refuses
        it before anything is sent; check mode warns that it assumes an earlier task of the play brings the port up
        (a port is disabled while its link or its bridge is down)."""
        name = STP_STATES[state] if state < len(STP_STATES) else 'in STP state %d' % state
        text = ("the bridge takes a dynamic entry only from a port that learns (STP state learning or forwarding), "
                "and '%s' is %s (a port is disabled while its link or its bridge is down, listening or blocking while "
                "STP holds it)" % (obj['dev'], name))
        self.refuse_or_warn(ctx, self.label(obj), 'state', text + '; give state static, or bring the port up first',
                            'brings it up', '. Without that the real run fails and changes nothing.')

    def _check_vlan(self, ctx, obj, info):
        """An entry with a VLAN in a bridge's table (a port's, or the bridge's own) needs that VLAN on its device:
        br_fdb_add answers EINVAL otherwise, and every VLAN on a kernel without bridge VLANs. Both are refused here,
        before anything is sent; check mode refuses the second, and for the first warns that it assumes an
        earlier task of the play (edgenet.linux.bridge_vlan) adds the VLAN."""
        if obj.get('master') and info.get('master'):
            bridge = self.devices.get(self._names.get(info['master']))
        elif obj.get('self') and info['kind'] == 'bridge':
            bridge = info
        else:
            return  # (not a bridge's table: a VXLAN device's own entry, or a device that is not a port yet)
        if bridge is None or bridge.get('kind') != 'bridge':
            return
        vlan = obj['vlan']
        if not bridge.get('vlan_kernel'):
            raise EdgenetError('this kernel has no bridge VLANs (CONFIG_BRIDGE_VLAN_FILTERING is not set), and refuses '
                               'every entry with a VLAN in a bridge\'s table; leave vlan out',
                               obj=self.label(obj), field='vlan')
        if vlan in self._table_vids(ctx, obj):
            return
        self.refuse_or_warn(ctx, self.label(obj), 'vlan', "VLAN %d is not a VLAN of %s, and the kernel refuses an "
                            "entry of a VLAN its device lacks: add the VLAN first (edgenet.linux.bridge_vlan)"
                            % (vlan, obj['dev']), 'adds it')

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
                dev['vnifilter'] = bool(IFLA_VXLAN_VNIFILTER in data and buf[data[IFLA_VXLAN_VNIFILTER][0]])
                if dev['vnifilter'] and IFLA_VXLAN_LINK in data:
                    dev['link'] = _rtnl.get_u32(buf, data[IFLA_VXLAN_LINK])
                for attr, family, what in VXLAN_FAMILY:
                    if attr in data:
                        dev['family'] = (family, 'its %s %s' % (what, _rtnl.get_addr(buf, data[attr])))
                        break
                else:
                    if IFLA_VXLAN_LABEL in data and _rtnl.get_u32(buf, data[IFLA_VXLAN_LABEL]):
                        dev['family'] = (6, 'its flow label (an IPv6 device)')
            elif link['kind'] == 'bridge':
                dev['vlan_kernel'] = IFLA_BR_VLAN_PROTOCOL in link['data']  # (the kernel has bridge VLANs)
            if link.get('slave_kind') == 'bridge' and IFLA_BRPORT_STATE in link['slave']:
                dev['port_state'] = link['buf'][link['slave'][IFLA_BRPORT_STATE][0]]  # (the STP state: a u8)
            devices[name] = dev
        return devices

    def _vni_flood(self, ctx, obj):
        """Whether ``obj``, an all-zero entry of a VXLAN device in vnifilter mode, is the flood entry the kernel
        makes for a VNI of the device's VNI list with a remote or group (vxlan_vni_update_group): that
        destination, the VNI as both vni and src_vni, the device's port (not reported) and its lower device
        as via.  gather reads the VNI lists first when a device in scope has one; else they are read here."""
        vni = obj.get('vni')
        if vni is None or obj.get('src_vni') != vni or 'port' in obj or 'nhid' in obj:
            return False
        info = self.devices[obj['dev']]
        if obj.get('via') != (self._names.get(info['link']) if info.get('link') else None):
            return False
        floods = self._floods
        if floods is None:
            floods = self._floods = self._read_floods(ctx)
        for first, last in floods.get(obj['dev'], {}).get(obj.get('dst'), ()):
            if first <= vni <= last:
                return True
        return False

    @staticmethod
    def _read_floods(ctx):
        """{dev: {dst: [(first, last)]}}: the VNI ranges of each vnifilter device's list by remote or group,
        through bridge_vni's own dump (its addresses in the same canonical text as dst)."""
        # pylint: disable=import-outside-toplevel
        from ansible_collections.edgenet.linux.plugins.module_utils.resources import bridge_vni

        floods = {}
        for obj in bridge_vni.BridgeVni().gather(ctx):
            for first, last, dest in bridge_vni.runs_of(obj['vnis']):
                if dest is not None:
                    floods.setdefault(obj['dev'], {}).setdefault(dest[1], []).append((first, last))
        return floods

    def _entry_kind(self, ctx, names, index, nud, flags, master):
        """What gather makes of every entry with this device, state, flags and master (computed once for
        each distinct combination): ``None`` when such entries are not in the view, else ``(template,
        group_check, own_address, aged, flood_check)``: the object without its MAC and optional fields,
        whether a group MAC marks an entry of the device's multicast list, the address whose permanent entry
        is the bridge's local entry, whether the entry carries ``age``, and whether an all-zero entry may be
        the kernel's flood entry for a VNI of the device's VNI list (:meth:`_vni_flood`)."""
        dev = names.get(index) or 'if%d' % index
        scope = ctx.params.get('dev')  # the module's dev option: other devices' entries are not read
        if scope is not None and dev != scope:
            return None
        info = self.devices.get(dev, {})
        own_table = bool(flags & NTF_SELF) or not master or master == index
        state = _state_name(nud)
        ext = bool(flags & NTF_EXT_LEARNED)
        if state == 'dynamic' and not ext and not ctx.params.get('include_learned'):
            return None  # learned
        group_check = own_table and info.get('kind') != 'vxlan' and master != index
        own_address = (info.get('address') if state == 'permanent' and (master or info.get('kind') == 'bridge')
                       else None)
        sticky = bool(flags & NTF_STICKY)
        template = {'dev': dev, 'mac': '', 'self': own_table, 'master': not own_table, 'state': state,
                    'extern_learn': ext, 'sticky': sticky}
        # the kernel's flood entries for the VNIs of a VNI list look like this (self permanent, no other flag)
        flood_check = bool(info.get('vnifilter') and own_table and state == 'permanent' and not ext and not sticky)
        return template, group_check, own_address, state == 'dynamic' and not ext, flood_check

    def gather(self, ctx):
        nl = ctx.nl
        self.devices = self._devices(ctx)
        names = self._names = dict((dev['index'], name) for name, dev in self.devices.items())  # (the same dump)
        self._vlan_kernel = any(dev.get('vlan_kernel') for dev in self.devices.values())
        self._vids = None
        scope = ctx.params.get('dev')
        # the VNI lists, for the kernel's flood entries: read first (one dump at a time on the socket), and only
        # when a device in scope has one
        self._floods = self._read_floods(ctx) if any(
            dev.get('vnifilter') for name, dev in self.devices.items() if scope is None or name == scope) else None
        get_u32, unpack_ndmsg, fixed = _rtnl.get_u32, NDMSG.unpack_from, BRIDGE_ENTRY.get
        kinds = {}
        out = []
        for _kind, buf, start, end in nl.rdump(_rtnl.RTM_GETNEIGH, NDMSG.pack(AF_BRIDGE, 0, 0, 0, 0), 'FDB entries'):
            family, index, nud, flags, _type = unpack_ndmsg(buf, start)
            if family != AF_BRIDGE:
                continue
            layout = fixed(end - start)
            if layout is not None and layout[0].unpack_from(buf, start) == layout[1]:
                a = None  # the common message: NDA_LLADDR, NDA_MASTER and NDA_CACHEINFO at fixed offsets
                mac = buf[start + FIXED_MAC:start + FIXED_MAC + 6].hex(':')
                master = U32.unpack_from(buf, start + FIXED_MASTER)[0]
                cacheinfo = start + layout[2]
            else:
                a = _rtnl.attrs(buf, start + NDMSG.size, end)
                if NDA_LLADDR not in a:
                    continue
                mac = buf[a[NDA_LLADDR][0]:a[NDA_LLADDR][1]].hex(':')
                if not mac:
                    continue
                master = get_u32(buf, a[NDA_MASTER]) if NDA_MASTER in a else None
                cacheinfo = a[NDA_CACHEINFO][0] if NDA_CACHEINFO in a else None
            kind = (index, nud, flags, master)
            if kind in kinds:
                found = kinds[kind]
            else:
                found = kinds[kind] = self._entry_kind(ctx, names, index, nud, flags, master)
            if found is None:
                continue
            template, group_check, own_address, aged, flood_check = found
            if group_check and _group_mac(mac):
                continue  # the device's multicast list
            if mac == own_address:
                continue  # the bridge's local entry for a port's (or its own) address
            obj = dict(template)
            obj['mac'] = mac
            if a:
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
                if flood_check and mac == ZERO_MAC and self._vni_flood(ctx, obj):
                    continue  # the kernel's own, from the device's VNI list
            if aged and cacheinfo is not None:
                obj['age'] = int(CACHEINFO.unpack_from(buf, cacheinfo)[2] // 100)
            out.append(obj)
        self._entries, self._families = out, None
        return out

    def _command(self, obj):
        if RARE_FIELDS.isdisjoint(obj):  # neither dst nor nhid: not an entry of a VXLAN device
            return 'replace'
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
        head = NDMSG.pack(AF_BRIDGE, index, STATE_NUD[obj.get('state', 'permanent')], flags, 0)
        mac = bytes.fromhex(obj['mac'].replace(':', ''))
        if RARE_FIELDS.isdisjoint(obj):  # an entry of a bridge port's table: ndmsg and NDA_LLADDR only
            body = head + (LLADDR6 + mac + b'\0\0' if len(mac) == 6 else _rtnl.attr(NDA_LLADDR, mac))
        else:
            body = b''.join([head, _rtnl.attr(NDA_LLADDR, mac)] + self._optional_attrs(ctx, obj, links))
        if delete:
            return _rtnl.RTM_DELNEIGH, _rtnl.DELETE, body
        return _rtnl.RTM_NEWNEIGH, NLFLAGS[self._command(obj)], body

    def _optional_attrs(self, ctx, obj, links):
        parts = []
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
        return parts

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
        if not RARE_FIELDS.isdisjoint(obj):
            for field in ('dst', 'vlan', 'port', 'vni', 'src_vni', 'via', 'nhid'):
                if obj.get(field) is not None:
                    words += [field, str(obj[field])]
        words.append('self' if obj.get('self', True) else 'master')
        return words

    def render(self, ctx, op):
        obj = op.after if op.after is not None else op.before
        words = self._words(obj)  # no word is empty: joined here, one argument of ctx.cmd
        if op.action == 'delete':
            return [ctx.cmd('bridge', 'fdb', 'del', ' '.join(words))]
        words.append(obj.get('state', 'permanent'))
        if obj.get('sticky'):
            words.append('sticky')
        if obj.get('extern_learn'):
            words.append('extern_learn')
        return [ctx.cmd('bridge', 'fdb', self._command(obj), ' '.join(words))]
