# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network devices (RTM_NEWLINK / RTM_DELLINK): veth, vxlan, bridge, macvlan, ipvlan, dummy, vlan,
bond, ifb and vrf, plus the common attributes of any device (mtu, state, master, ...).

Kind-specific options live under the kind's name (``vxlan: {id: 100}``).  Devices of other kinds
(``lo``, physical NICs, tun) are gathered without ``kind``; their common attributes can be
changed, but they are never deleted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

IFF_UP = 0x1
KINDS = ('veth', 'vxlan', 'bridge', 'macvlan', 'ipvlan', 'dummy', 'vlan', 'bond', 'ifb', 'vrf')
MASTER_KINDS = ('bridge', 'bond', 'vrf')
LOWER_FIELD = {'vlan': 'link', 'macvlan': 'link', 'ipvlan': 'link', 'vxlan': 'dev'}
# the kind option gather names after IFLA_LINK (the peer of a veth, the lower device of the others)
LOWER_NAME = {'veth': 'peer', 'vlan': 'link', 'macvlan': 'link', 'ipvlan': 'link'}

MACVLAN_MODES = {1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source'}
IPVLAN_MODES = {0: 'l2', 1: 'l3', 2: 'l3s'}
BOND_MODES = {0: 'balance-rr', 1: 'active-backup', 2: 'balance-xor', 3: 'broadcast', 4: '802.3ad',
              5: 'balance-tlb', 6: 'balance-alb'}
LACP_RATES = {0: 'slow', 1: 'fast'}
XMIT_HASH = {0: 'layer2', 1: 'layer3+4', 2: 'layer2+3', 3: 'encap2+3', 4: 'encap3+4', 5: 'vlan+srcmac'}
VLAN_PROTOCOLS = {0x8100: '802.1Q', 0x88a8: '802.1ad'}
VXLAN_DEFAULT_PORT = 8472  # the kernel's default when no port is given (IANA's 4789 must be asked for)

# Per kind: {option: argspec}.  Names follow `ip -j -d link` / the `ip link add ... type KIND` keywords.
KIND_OPTIONS = {
    'veth': {'peer': {'type': 'str'}},
    'vxlan': {
        'id': {'type': 'int'}, 'local': {'type': 'str'}, 'remote': {'type': 'str'}, 'group': {'type': 'str'},
        'dev': {'type': 'str'}, 'dstport': {'type': 'int'}, 'learning': {'type': 'bool'},
        'external': {'type': 'bool'}, 'vnifilter': {'type': 'bool'},
    },
    'bridge': {
        'stp_state': {'type': 'bool'}, 'forward_delay': {'type': 'int'}, 'vlan_filtering': {'type': 'bool'},
        'vlan_protocol': {'type': 'str'}, 'vlan_default_pvid': {'type': 'int'}, 'mcast_snooping': {'type': 'bool'},
    },
    'macvlan': {'link': {'type': 'str'}, 'mode': {'type': 'str', 'choices': list(MACVLAN_MODES.values())}},
    'ipvlan': {'link': {'type': 'str'}, 'mode': {'type': 'str', 'choices': list(IPVLAN_MODES.values())}},
    'vlan': {'link': {'type': 'str'}, 'id': {'type': 'int'}, 'protocol': {'type': 'str'}},
    'bond': {
        'mode': {'type': 'str', 'choices': list(BOND_MODES.values())}, 'miimon': {'type': 'int'},
        'lacp_rate': {'type': 'str', 'choices': list(LACP_RATES.values())},
        'xmit_hash_policy': {'type': 'str', 'choices': list(XMIT_HASH.values())},
    },
    'vrf': {'table': {'type': 'int'}},
}

# What the kernel reports for a freshly created device of each kind (measured on 6.1 and 6.18).
# mtu is absent where it follows the lower device (vlan, macvlan, ipvlan, vxlan with dev).
KIND_DEFAULTS = {
    'veth': {'mtu': 1500, 'txqlen': 1000},
    'vxlan': {'txqlen': 1000},
    'bridge': {'txqlen': 1000},  # mtu: the smallest of its ports' (1500 without ports)
    'macvlan': {'txqlen': 1000},
    'ipvlan': {'txqlen': 1000},
    'dummy': {'mtu': 1500, 'txqlen': 1000},
    'vlan': {'txqlen': 1000},
    'bond': {'mtu': 1500, 'txqlen': 1000},
    'ifb': {'mtu': 1500, 'txqlen': 32},
    'vrf': {'mtu': 65575, 'txqlen': 1000},
}
NESTED_DEFAULTS = {
    'vxlan': {'dstport': VXLAN_DEFAULT_PORT, 'learning': True, 'external': False},
    'bridge': {'stp_state': False, 'forward_delay': 1500, 'vlan_filtering': False, 'vlan_protocol': '802.1Q',
               'vlan_default_pvid': 1, 'mcast_snooping': True},
    'macvlan': {'mode': 'vepa'},
    'ipvlan': {'mode': 'l3'},
    'vlan': {'protocol': '802.1Q'},
    'bond': {'mode': 'balance-rr', 'miimon': 0, 'lacp_rate': 'slow', 'xmit_hash_policy': 'layer2'},
}
# bond_options.c: the modes the kernel takes a bond option in (the others refuse it: unsuppmodes, EACCES "option
# not supported in mode"; xmit_hash_policy and miimon are taken in every mode), and the options it changes only
# while the bond is down (BOND_OPTFLAG_IFDOWN, EBUSY "unable to set option because the bond is up"; mode is also
# BOND_OPTFLAG_NOSLAVES, and changes by recreate only)
BOND_OPTION_MODES = {'lacp_rate': ('802.3ad',)}
BOND_IFDOWN = ('mode', 'lacp_rate')
#: the modes that cannot use ARP monitoring (bond_mode_uses_arp): the kernel sets miimon 100 with them, unless given
BOND_MII_MODES = ('802.3ad', 'balance-tlb', 'balance-alb')
#: the modes with an active port (bond_uses_primary)
BOND_ACTIVE_MODES = ('active-backup', 'balance-tlb', 'balance-alb')
#: IFLA_BOND_FAIL_OVER_MAC (an option this module does not set: a bond made otherwise may have it)
BOND_FAIL_OVER_MAC = {0: 'none', 1: 'active', 2: 'follow'}
#: the bridge options of VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)
VLAN_FILTERING_FIELDS = ('vlan_filtering', 'vlan_protocol', 'vlan_default_pvid')
#: the place of each option of a kind (``Link.shape``)
_NESTED_RANK = dict((kind, dict((k, i) for i, k in enumerate(opts))) for kind, opts in KIND_OPTIONS.items())
# Fields the kernel cannot change in place: a change needs delete + add (option recreate).
IMMUTABLE = ('kind', 'veth.peer', 'vxlan.id', 'vxlan.dev', 'vxlan.dstport', 'vxlan.external', 'vxlan.vnifilter',
             'vlan.id',
             'vlan.link', 'vlan.protocol', 'macvlan.link', 'ipvlan.link', 'bond.mode', 'vrf.table')
# Kind options without a default that a change can still remove: the kernel takes the zero address as none.
# (Every other option a change leaves out has a default it is set to, or is in IMMUTABLE.)
CLEARABLE = {'vxlan': ('local', 'remote', 'group')}
# The largest MTU of each kind (the kernel's max_mtu: ETH_MAX_MTU, IP6_MAX_MTU for vrf; a dummy has no limit
# and lo's own MTU is 65536). A vxlan over a lower device, a vlan, macvlan and ipvlan are limited by it: validate.
MAX_MTU = {'vrf': 65575, 'dummy': 65536, None: 65536}
ETH_MAX_MTU = 65535
VXLAN_HEADROOM = {4: 50, 6: 70}  # the outer IP, UDP and VXLAN headers and the inner Ethernet header


def _ifname(value, field, ctx=None):
    v = str(value)
    if not _norm.ifname_ok(v):
        if ctx is not None and _norm.altname_ok(v):
            # a name that could be a device's alternative name (altname): a run has taken every altname of a device
            # for the device's name already (Engine.normalize_config), so this one is no device's; only the kernel
            # knows, and a check without one (the roles' preflight) is skipped as it reaches for it
            ctx.nl  # pylint: disable=pointless-statement
            raise EdgenetError("'%s' is not a valid device name (1 to 15 bytes, no '/', ':', space or control "
                               "character), and no device has it as an alternative name (altname)" % value,
                               field=field)
        raise EdgenetError("'%s' is not a valid device name (1 to 15 bytes, no '/', ':', space or control "
                           "character)" % value, field=field)
    return v


def _altnames(values, ifname):
    """The alternative names given to device ``ifname`` (option altnames), checked, in their order."""
    out = []
    for value in values:
        v = str(value)
        if not _norm.altname_ok(v):
            raise EdgenetError("'%s' is not a valid alternative name (1 to %d bytes, not '.' or '..', no '/', white "
                               "space or control character)" % (value, _norm.ALTNAME_MAX), field='altnames')
        if v == ifname:
            raise EdgenetError("'%s' is the device's own name" % v, field='altnames')
        if v in out:
            raise EdgenetError("'%s' is given twice" % v, field='altnames')
        out.append(v)
    return out


def _get(obj, path):
    cur = obj
    for part in path.split('.'):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _vlan_protocol(value, field):
    v = str(value).strip().lower()
    for name in VLAN_PROTOCOLS.values():
        if v == name.lower():
            return name
    raise EdgenetError("unknown VLAN protocol '%s' (802.1Q or 802.1ad)" % value, field=field)


def _proto_number(name):
    return _norm.number(VLAN_PROTOCOLS, name)


IFLA_VXLAN_VNIFILTER = 30  # linux/if_link.h (5.18)

# linux/if_link.h, linux/veth.h: the attributes gather reads and encode writes (the bulk path)
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_TXQLEN = 1, 3, 4, 5, 10, 13
IFLA_LINKINFO, IFLA_IFALIAS, IFLA_LINK_NETNSID = 18, 20, 37
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
IFLA_BOND_SLAVE_PERM_HWADDR = 4
IFLA_MIN_MTU, IFLA_MAX_MTU = 50, 51  # (4.18; 0: no limit)
IFLA_MACVLAN_MODE = 1
IFLA_IPVLAN_MODE = 1
IFLA_VLAN_ID, IFLA_VLAN_PROTOCOL = 1, 5
IFLA_VXLAN_ID, IFLA_VXLAN_GROUP, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LEARNING = 1, 2, 3, 4, 7
IFLA_VXLAN_PORT, IFLA_VXLAN_GROUP6, IFLA_VXLAN_LOCAL6, IFLA_VXLAN_COLLECT_METADATA = 15, 16, 17, 25
IFLA_BR_FORWARD_DELAY, IFLA_BR_STP_STATE, IFLA_BR_VLAN_FILTERING, IFLA_BR_VLAN_PROTOCOL = 1, 5, 7, 8
IFLA_BR_MCAST_SNOOPING, IFLA_BR_VLAN_DEFAULT_PVID = 23, 39
IFLA_BOND_MODE, IFLA_BOND_MIIMON, IFLA_BOND_XMIT_HASH_POLICY, IFLA_BOND_AD_LACP_RATE = 1, 3, 14, 21
IFLA_BOND_ACTIVE_SLAVE, IFLA_BOND_FAIL_OVER_MAC, IFLA_BOND_ARP_INTERVAL = 2, 13, 7
IFLA_VRF_TABLE = 1
VETH_INFO_PEER = 1
RTM_NEWLINKPROP, RTM_DELLINKPROP = 108, 109  # a device's alternative names (IFLA_PROP_LIST), added or deleted
ADD_PROP = _rtnl.NLM_F_REQUEST | _rtnl.NLM_F_ACK | _rtnl.NLM_F_CREATE | _rtnl.NLM_F_EXCL | _rtnl.NLM_F_APPEND
U8, U16, U32, BE16 = struct.Struct('=B'), struct.Struct('=H'), struct.Struct('=I'), struct.Struct('>H')
RTM_DELLINK = 17
MODIFY = _rtnl.NLM_F_REQUEST | _rtnl.NLM_F_ACK  # RTM_NEWLINK on an existing device, as `ip link set`


def _be16(kind, value):
    return _rtnl.attr(kind, BE16.pack(value))


def _kept_centiseconds(value):
    """What the kernel keeps of a bridge timer of ``value`` centiseconds (USER_HZ 100), so that check mode shows it:
    it stores jiffies (clock_t_to_jiffies) and reports clock_t again (jiffies_to_clock_t), which both round down
    where HZ is not a multiple of 100 (HZ 250: an odd value reads one less, 1 reads 0). With HZ unknown (no kernel
    configuration to read), the value itself (reconcile takes a kernel value one off as the one given)."""
    from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig  # pylint: disable=import-outside-toplevel

    hz = _kconfig.hz()
    if not hz or hz <= 0:
        return value

    def kept(v):
        jiffies = v * (hz // 100) if hz % 100 == 0 else v * hz // 100
        tick_nsec = (10 ** 9 + hz // 2) // hz
        if tick_nsec % (10 ** 9 // 100) == 0:
            return jiffies * (100 // hz) if hz < 100 else jiffies // (hz // 100)
        return jiffies * tick_nsec // (10 ** 9 // 100)
    out = kept(value)
    # (where the value read back would read back as another again (HZ 300 reads 1500 as 1499, and 1499 as 1498),
    # sending what check mode shows would not keep the value: the value given is sent, as without HZ)
    return out if kept(out) == out else value


def _first_addr(buf, data, v4, v6):
    """The first of two address attributes that is there (text), as pyroute2's ``get(v4) or get(v6)``."""
    for nla in (v4, v6):
        if nla in data:
            return _rtnl.get_addr(buf, data[nla])
    return None


def _shown(value):
    """A field's value in a message: 'not set' for none."""
    return 'not set' if value is None else value


class _SetAgain(object):
    """A field of a device that a rollback sets again right after the add that makes the device again (the
    inverse of a delete; its ``follow``), by a change of the device without that field to the device with it:
    its alias (the kernel ignores an alias on create; the add's command already spells it, so ``words`` is
    empty), or its master for a port the kernel released when it deleted the master (``ip link set PORT master
    MASTER``)."""

    __slots__ = ('res', 'obj', 'field', 'words')

    def __init__(self, res, obj, field, words=()):
        self.res = res
        self.obj = obj
        self.field = field
        self.words = words

    @property
    def label(self):
        return self.res.label(self.obj)

    def request(self, ctx):
        bare = dict((k, v) for k, v in self.obj.items() if k != self.field)
        return self.res.encode(ctx, Op('change', bare, self.obj))

    def render(self, ctx):
        return [ctx.cmd('ip', 'link', 'set', self.obj['ifname'], *self.words)] if self.words else []


#: the path costs the kernel gives a port itself, from its link speed (br_if.c port_cost: 10G 2, 5G 3, 2.5G and 1G 4,
#: 100M 19, 10M and unknown 100, faster than 10G 1; by name, lec* 7 and plip* 2500): a port's cost that is one of
#: these is left to the kernel when the port joins its bridge again
AUTO_COSTS = frozenset((1, 2, 3, 4, 7, 19, 100, 2500))


class _PortAgain(object):
    """The bridge-port settings (those of edgenet.linux.bridge_port) a port had in its bridge, set again right after it
    joins that bridge again: the kernel gives a port that joins a bridge the defaults (learning and flooding on,
    priority 32, the cost of its link speed), so a port that a recreate or a rollback puts back lost them. Sent as
    ``bridge link set`` sends them (RTM_SETLINK of family AF_BRIDGE, IFLA_BRPORT_* in IFLA_PROTINFO). ``settings``:
    [(bridge_port field, value)], those that differ from what the port gets by joining."""

    __slots__ = ('res', 'port', 'settings')

    def __init__(self, res, port, settings):
        self.res = res
        self.port = port
        self.settings = settings

    @property
    def label(self):
        return 'bridge_port %s' % self.port

    def request(self, ctx):
        from ansible_collections.edgenet.linux.plugins.module_utils.resources import bridge_port  # pylint: disable=import-outside-toplevel

        # (the index of a device a rollback makes again: the one encode chose)
        return bridge_port.setlink(self.res._index(ctx, self.port, self.label, 'master'), self.settings)

    def render(self, ctx):
        from ansible_collections.edgenet.linux.plugins.module_utils.resources import bridge_port  # pylint: disable=import-outside-toplevel

        return bridge_port.link_set(ctx, self.port, self.settings)


class Link(Resource):
    name = 'link'
    keys = ('ifname',)
    options = dict([
        ('ifname', {'type': 'str', 'required': True}),
        ('kind', {'type': 'str', 'choices': list(KINDS)}),
        ('mtu', {'type': 'int'}),
        ('address', {'type': 'str'}),
        ('state', {'type': 'str', 'choices': ['up', 'down']}),
        ('master', {'type': 'str'}),
        ('alias', {'type': 'str'}),
        ('txqlen', {'type': 'int'}),
        ('altnames', {'type': 'list', 'elements': 'str'}),
    ] + [(kind, {'type': 'dict', 'options': KIND_OPTIONS[kind]}) for kind in KINDS if kind in KIND_OPTIONS])
    module_options = {'recreate': {'type': 'bool', 'default': False}}
    volatile = ('address',)
    immutable = IMMUTABLE
    # (a device named by one of its altnames is taken by its name)
    device_fields = ('ifname', 'master', 'veth.peer', 'vxlan.dev', 'macvlan.link', 'ipvlan.link', 'vlan.link')
    set_fields = ('altnames',)
    protected_changes = True
    bulk = True

    def __init__(self):
        self._want = {}  # ifname -> normalized config item (dependency lookups for rank/defaults)
        self._have = {}  # ifname -> gathered object
        self._no_vlan_filtering = False  # a bridge of the last gather showed that the kernel lacks VLAN filtering
        self._vlan_filtering_seen = False  # one showed that it has it
        self._new = {}  # ifname -> the ifindex chosen for a device the plan creates (encode)
        self._perm = {}  # the port of a bond -> the MAC address it had when it joined (the kernel gives it back)
        self._fom = {}  # bond -> its fail_over_mac, where not none
        self._arp = {}  # bond -> its arp_interval (ARP monitoring, not an option of this module), where above 0
        self._active = {}  # bond -> its active port (modes active-backup, balance-tlb and balance-alb)
        self._elsewhere = {}  # ifname -> netnsid: the veths of the last gather whose other end is in another netns
        self._mtu_range = {}  # ifname -> (min_mtu, max_mtu) of the devices of no kind this module manages

    # -- description ---------------------------------------------------------
    def given_altnames(self, config, names):
        items = [item for item in config or () if isinstance(item, dict) and isinstance(item.get('ifname'), str)]
        # (a name an element gives as its ifname names that device: another element that gives it as an altname is
        # refused by validate, naming its altnames)
        named = set(item['ifname'] for item in items)
        out = {}
        for item in items:
            if isinstance(item.get('altnames'), list):
                name = names.get(item['ifname'], item['ifname'])
                out.update((alt, name) for alt in item['altnames'] if isinstance(alt, str) and alt not in named)
        return out

    def normalize(self, item, ctx):
        obj = dict(item)
        obj['ifname'] = _ifname(obj['ifname'], 'ifname', ctx)
        if 'altnames' in obj:
            # (an empty list is kept: replaced gives a device of no kind this module manages none, see reconcile)
            obj['altnames'] = _altnames(obj['altnames'], obj['ifname'])
        given = [k for k in KIND_OPTIONS if isinstance(obj.get(k), dict)]
        if 'kind' not in obj and len(given) == 1:
            obj['kind'] = given[0]
        for k in given:
            if k != obj.get('kind'):
                raise EdgenetError("options '%s' given for a device of kind '%s'" % (k, obj.get('kind', '(none)')),
                                   field=k)
        if 'mtu' in obj:
            # (the kind is known here only when given; validate checks the largest MTU of the kind of the device as
            # it will be: without a kind, a range here would name the limit of another kind than the device's)
            if obj.get('kind'):
                obj['mtu'] = _norm.int_range(obj['mtu'], 68, MAX_MTU.get(obj['kind'], ETH_MAX_MTU), 'mtu')
            else:
                obj['mtu'] = _norm.int_range(obj['mtu'], 0, 2 ** 32 - 1, 'mtu')
                if obj['mtu'] < 68:
                    raise EdgenetError('%d is below the smallest MTU, 68 (the IPv4 minimum)' % obj['mtu'], field='mtu')
        if 'address' in obj:
            obj['address'] = _norm.mac(obj['address'], 'address')
            if int(obj['address'][:2], 16) & 1:
                raise EdgenetError("'%s' is a multicast MAC address; a device needs a unicast one" % obj['address'],
                                   field='address')
        if 'txqlen' in obj:
            obj['txqlen'] = _norm.int_range(obj['txqlen'], 0, 2 ** 32 - 1, 'txqlen')
        if 'master' in obj:
            obj['master'] = _ifname(obj['master'], 'master', ctx)
            if obj['master'] == obj['ifname']:
                raise EdgenetError('a device cannot be its own master', field='master')
        if 'alias' in obj and len(obj['alias'].encode('utf-8')) > 255:
            raise EdgenetError('alias is longer than 255 bytes', field='alias')
        if '\0' in obj.get('alias', ''):
            # (the kernel keeps the alias up to the NUL: the device would never show what was asked)
            raise EdgenetError('an alias cannot hold a NUL character', field='alias')
        if obj.get('alias') == '':
            # the kernel takes an empty alias as none: the device would never show it
            raise EdgenetError('an empty alias is no alias: leave alias out (state replaced removes a '
                               "device's alias)", field='alias')
        kind = obj.get('kind')
        if kind in KIND_OPTIONS and kind in obj:
            obj[kind] = self._normalize_kind(kind, dict((k, v) for k, v in obj[kind].items() if v is not None), obj,
                                             ctx)
            if not obj[kind]:
                del obj[kind]
        self._want[obj['ifname']] = obj
        return obj

    def _normalize_kind(self, kind, d, obj, ctx=None):
        def f(name):
            return '%s.%s' % (kind, name)

        for name in ('peer', 'dev', 'link'):
            if name in d:
                d[name] = _ifname(d[name], f(name), ctx)
                if d[name] == obj['ifname']:
                    raise EdgenetError('a device cannot refer to itself', field=f(name))
        if kind == 'vxlan':
            if 'id' in d:
                d['id'] = _norm.int_range(d['id'], 1, 16777215, f('id'))
            for name in ('local', 'remote', 'group'):
                if name in d:
                    d[name] = _norm.ip(d[name], f(name))
            import ipaddress
            if 'group' in d and not ipaddress.ip_address(d['group']).is_multicast:
                raise EdgenetError('%s is not a multicast address' % d['group'], field=f('group'))
            if 'remote' in d and ipaddress.ip_address(d['remote']).is_multicast:
                raise EdgenetError('%s is a multicast address: use group' % d['remote'], field=f('remote'))
            if 'remote' in d and 'group' in d:
                raise EdgenetError('remote and group are mutually exclusive', field=f('group'))
            fams = set(_norm.family(d[n]) for n in ('local', 'remote', 'group') if n in d)
            if len(fams) > 1:
                raise EdgenetError('local and remote/group must be of the same address family', field=f('local'))
            if 'dstport' in d:
                d['dstport'] = _norm.int_range(d['dstport'], 1, 65535, f('dstport'))
            if d.get('external') and 'id' in d:
                raise EdgenetError('external (collect metadata) and a VNI are mutually exclusive', field=f('external'))
            if d.get('vnifilter') and not d.get('external'):
                raise EdgenetError('a VNI filter needs external: true (the kernel filters VNIs only on a device in '
                                   'collect-metadata mode)', field=f('vnifilter'))
        elif kind == 'bridge':
            if 'forward_delay' in d:
                d['forward_delay'] = _norm.int_range(d['forward_delay'], 0, 2 ** 32 - 1, f('forward_delay'))
            if 'vlan_protocol' in d:
                d['vlan_protocol'] = _vlan_protocol(d['vlan_protocol'], f('vlan_protocol'))
            if 'vlan_default_pvid' in d:
                d['vlan_default_pvid'] = _norm.int_range(d['vlan_default_pvid'], 0, 4094, f('vlan_default_pvid'))
            if d.get('stp_state') and 'forward_delay' in d and not 200 <= d['forward_delay'] <= 3000:
                raise EdgenetError('%d is out of range with STP on (200 to 3000 centiseconds)' % d['forward_delay'],
                                   field=f('forward_delay'))
            if 'forward_delay' in d:
                d['forward_delay'] = _kept_centiseconds(d['forward_delay'])
        elif kind == 'vlan':
            if 'id' in d:
                d['id'] = _norm.int_range(d['id'], 0, 4094, f('id'))
            if 'protocol' in d:
                d['protocol'] = _vlan_protocol(d['protocol'], f('protocol'))
        elif kind == 'bond':
            if 'miimon' in d:
                d['miimon'] = _norm.int_range(d['miimon'], 0, 2 ** 31 - 1, f('miimon'))
        elif kind == 'vrf':
            if 'table' in d:
                d['table'] = _norm.int_range(d['table'], 1, 2 ** 32 - 1, f('table'))
        return d

    def _lookup(self, name):
        found = self._want.get(name) or self._have.get(name)
        if found is None:
            # the other end of a veth the task creates (a macvlan on it): it exists once that veth's add made it, so
            # a device on it ranks after that veth
            found = next((o for o in self._want.values() if o.get('kind') == 'veth' and
                          _get(o, 'veth.peer') == name), None)
        return found

    def defaults(self, obj):
        kind = obj.get('kind')
        if kind not in KINDS:
            return {}
        out = {'state': 'down'}
        out.update(KIND_DEFAULTS[kind])
        if kind == 'vxlan' and 'dev' not in obj.get('vxlan', {}):
            out['mtu'] = 1500
        if kind in NESTED_DEFAULTS:
            out[kind] = dict(NESTED_DEFAULTS[kind])
        if kind == 'bond' and (obj.get('bond') or {}).get('mode') in BOND_MII_MODES:
            # bond_option_mode_set: a mode that cannot use ARP monitoring starts MII monitoring at 100 ms when
            # miimon is 0 (a miimon given after the mode, in the same request, still wins)
            out['bond']['miimon'] = 100
        master = self._lookup(obj.get('master')) if obj.get('master') else None
        if master and master.get('kind') == 'bond':
            out['state'] = 'up'  # the bond opens its ports
            out.pop('mtu', None)  # and gives them its MTU (validate predicts it)
        return out

    def overlay(self, base, top):
        out = dict(base, **top)
        if base.get('altnames') and 'altnames' in top:
            # (merged adds the altnames it gives to the device's; replaced lays a config element over the defaults,
            # which have none: its altnames are the device's)
            out['altnames'] = base['altnames'] + [n for n in top['altnames'] if n not in base['altnames']]
        for kind in KIND_OPTIONS:
            if isinstance(base.get(kind), dict) and isinstance(top.get(kind), dict):
                out[kind] = dict(base[kind], **top[kind])
                if kind == 'vxlan':
                    # one destination (IFLA_VXLAN_GROUP): a new remote replaces the group and a group the remote
                    for name, other in (('remote', 'group'), ('group', 'remote')):
                        if name in top[kind] and other not in top[kind]:
                            out[kind].pop(other, None)
            if kind != out.get('kind'):
                out.pop(kind, None)
        return out

    def label(self, obj):
        return 'link %s' % obj.get('ifname', '?')

    def protected(self, obj):
        return obj.get('ifname') == 'lo' or obj.get('kind') not in KINDS

    def named_protected(self, obj):
        if obj.get('ifname') == 'lo':
            return 'the loopback device is never deleted'
        return 'a device of no kind this module manages (a physical NIC, tun ...) is never deleted'

    def spared(self, obj, ctx):
        """A veth whose other end is in another network namespace (a container's interface): deleting it deletes
        that end too, which no task of this namespace describes; so only a deleted element that names it does."""
        if obj.get('kind') == 'veth' and obj.get('ifname') in self._elsewhere:
            return ('its other end is in another network namespace (netnsid %s), which deleting it would delete too'
                    % self._elsewhere[obj['ifname']])
        return None

    def undo_loses(self, op):
        if op.action == 'delete' and op.before.get('kind') == 'veth' and op.before['ifname'] in self._elsewhere:
            return ('its other end was in another network namespace and went with it: the rollback makes the veth '
                    'again with a new other end in this namespace')
        return None

    def _depth(self, obj, seen=()):
        deps = [obj.get('master')]
        kind = obj.get('kind')
        if kind in LOWER_FIELD:
            deps.append(_get(obj, '%s.%s' % (kind, LOWER_FIELD[kind])))
        depth = 0
        for name in deps:
            if not name or name in seen or name == obj.get('ifname'):
                continue
            dep = self._lookup(name)
            depth = max(depth, 1 + (self._depth(dep, seen + (obj.get('ifname'),)) if dep else 0))
        return depth

    def rank(self, obj):
        return self._depth(obj)

    def settle(self, want, obj):
        # vxlan.vnifilter is reported only when on: a wish for it off matches a device without it
        if _get(want, 'vxlan.vnifilter') is False and obj.get('kind') == 'vxlan' and \
                'vnifilter' not in obj.get('vxlan', {}):
            obj['vxlan'] = dict(obj.get('vxlan', {}), vnifilter=False)
        return obj

    def reconcile(self, have, target):
        kind = target.get('kind')
        # values that follow the lower device or the kernel: keep the kernel's when not asked for. So does the
        # state of a device of no kind this module makes (lo, a NIC): it has no default to reset to, and a replaced
        # task that leaves state out must not take the host's uplink down
        for field in ('mtu', 'txqlen') if kind in KINDS else ('mtu', 'txqlen', 'state'):
            if field not in target and field in have:
                target[field] = have[field]
        target = self._real_lower(target)
        self._altnames_in_order(have, target)
        if kind == 'bridge' and 'bridge' in target and 'bridge' in have:
            h, t = have['bridge'].get('forward_delay'), target['bridge'].get('forward_delay')
            if isinstance(h, int) and isinstance(t, int) and abs(h - t) <= 1:  # clock_t <-> jiffies rounding
                target['bridge']['forward_delay'] = h
        return target

    @staticmethod
    def _altnames_in_order(have, target):
        """Give ``target`` the altnames in the order the kernel will have them: it keeps a device's altnames in the
        order they were added (a task cannot choose it), so the ones ``have`` keeps stay in its order and the new ones
        follow, in the order given. A device of no kind this module manages keeps the altnames it has (udev's) when
        the task gives none: replaced resets what this module makes, and its altnames are the system's."""
        old = have.get('altnames') or []
        if 'altnames' not in target:
            if old and target.get('kind') not in KINDS:
                target['altnames'] = list(old)
            return
        new = target['altnames']
        order = [n for n in old if n in new] + [n for n in new if n not in old]
        if order:
            target['altnames'] = order
        else:
            del target['altnames']

    def _real_lower(self, obj):
        """``obj`` with the lower device the kernel uses: a macvlan asked to sit on a macvlan sits on that one's
        lower device, and an ipvlan on an ipvlan likewise (the kernel resolves it when it creates the device, and
        ``ip -d link`` shows that one)."""
        kind = obj.get('kind')
        name = _get(obj, '%s.link' % kind) if kind in ('macvlan', 'ipvlan') else None
        seen = set([obj.get('ifname')])
        while name and name not in seen:
            seen.add(name)
            want, have = self._want.get(name) or {}, self._have.get(name) or {}
            if (want.get('kind') or have.get('kind')) != kind:
                break
            lower = _get(want, '%s.link' % kind) or _get(have, '%s.link' % kind)
            if not lower:
                break
            name = lower
        if not name or name == _get(obj, '%s.link' % kind):
            return obj
        return dict(obj, **{kind: dict(obj[kind], link=name)})

    @staticmethod
    def _vxlan_family(obj):
        """4 or 6: the address family of a vxlan's addresses; None without any, 0 for both."""
        values = [_get(obj, 'vxlan.' + n) for n in ('local', 'remote', 'group')]
        fams = set(_norm.family(v) for v in values if v)
        return fams.pop() if len(fams) == 1 else (None if not fams else 0)

    def _vxlan_needs_dev(self, obj):
        """Why the kernel refuses the vxlan ``obj`` (as it will be) without ``vxlan.dev``, as (field, text), or None.

        vxlan_config_validate refuses, on create and on every change (EINVAL), a device without a lower device whose
        destination (IFLA_VXLAN_GROUP: ``group``, and ``remote`` is the same attribute) is multicast, IPv4 or IPv6
        ("Local interface required for multicast remote destination"), and, outside collect-metadata mode, one with an
        IPv6 link-local ``local`` ("... for link-local local/remote addresses"); a link-local ``remote`` needs a
        link-local ``local`` ("Invalid combination of local and remote address scopes")."""
        import ipaddress

        if obj.get('kind') != 'vxlan':
            return None
        d = obj.get('vxlan') or {}
        local, dst = d.get('local'), d.get('group') or d.get('remote')
        field = 'vxlan.group' if d.get('group') else 'vxlan.remote'
        if not d.get('dev') and dst and ipaddress.ip_address(dst).is_multicast:
            return field, ('the multicast %s %s needs vxlan.dev, the lower device to send and join it on (the kernel '
                           'refuses a multicast destination without one: EINVAL)' % (field[6:], dst))
        if d.get('external') or _norm.family(local or dst or '0.0.0.0') != 6:
            return None
        local_ll = bool(local) and ipaddress.ip_address(local).is_link_local
        if dst and not local_ll and ipaddress.ip_address(dst).is_link_local:
            return field, ('the link-local remote %s needs a link-local vxlan.local (the kernel refuses the '
                           'combination: EINVAL)' % dst)
        if local_ll and dst and not (ipaddress.ip_address(dst).is_link_local or
                                     (ipaddress.ip_address(dst).is_multicast and
                                      ipaddress.ip_address(dst).packed[1] & 0xf == 2)):
            return field, ('%s is not link-local, and the link-local vxlan.local %s needs a link-local destination '
                           '(the kernel refuses the combination: EINVAL)' % (dst, local))
        if local_ll and not d.get('dev'):
            return 'vxlan.local', ('the link-local local %s needs vxlan.dev (the kernel refuses a link-local address '
                                   'without a lower device: EINVAL)' % local)
        return None

    def _differ(self, have, target):
        """The fields of ``target`` the kernel cannot change in place on ``have``, with why (or '')."""
        differ = [(f, '') for f in self.immutable if _get(have, f) != _get(target, f)]
        kind = target.get('kind')
        if kind != have.get('kind'):
            return differ
        if kind == 'vxlan':
            # a VXLAN device keeps the address family it was created with (the kernel refuses a local, remote
            # or group of the other one)
            fam = self._vxlan_family(have)
            for name in ('local', 'remote', 'group'):
                value = _get(target, 'vxlan.' + name)
                if fam and value and _norm.family(value) != fam:
                    differ.append(('vxlan.' + name, '; a VXLAN device keeps the address family it was created with '
                                   '(IPv%d)' % fam))
        if kind == 'macvlan' and (_get(have, 'macvlan.mode') == 'passthru') != \
                (_get(target, 'macvlan.mode') == 'passthru'):
            differ.append(('macvlan.mode', '; the kernel sets or leaves passthru mode only when it creates the device'))
        return differ

    def plan_change(self, have, target, ctx):
        if have.get('kind') == 'veth' and have['ifname'] in self._elsewhere and _get(target, 'veth.peer'):
            # (the other end is not in this namespace: a veth.peer given names none of it, and the recreate it asks
            # for would delete that end)
            raise EdgenetError("the other end of this veth is in another network namespace (netnsid %s), which this "
                               "task neither sees nor changes: leave veth.peer out (to make a new pair, delete this "
                               "one by a state=deleted task first)" % self._elsewhere[have['ifname']],
                               obj=self.label(have), field='veth.peer')
        if target.get('kind') == 'vxlan' and self._vxlan_family(target) == 0:
            raise EdgenetError('local and remote/group must be of the same address family', obj=self.label(have),
                               field='vxlan.local')
        differ = self._differ(have, target)
        if not differ:
            return [Op('change', have, target)]
        field, why = differ[0]
        if field == 'kind' and target.get('kind') is None:
            # state replaced describes the whole device, kind first
            raise EdgenetError("kind is not given; state replaced describes the whole device: give its kind (%s)"
                               % have.get('kind'), obj=self.label(have), field='kind')
        if not ctx.params.get('recreate'):
            raise EdgenetError('%s cannot be changed in place (%s -> %s)%s; set recreate: true to delete and re-create '
                               'the device' % (field, _shown(_get(have, field)), _shown(_get(target, field)), why),
                               obj=self.label(have), field=field)
        if self.protected(have):
            raise EdgenetError('device is not of a kind this module manages and is never deleted',
                               obj=self.label(have), field=field)
        ctx.warn('%s: %s cannot be changed in place: the device is deleted and created again (recreate), and the '
                 'kernel deletes with it its addresses, routes, neighbours, FDB entries, tc qdiscs and filters and '
                 'the devices on top of it; the tasks that make them must run after this one%s'
                 % (self.label(have), field, ' (its ports are put back into it)' if target.get('kind') in MASTER_KINDS
                    and have.get('kind') in MASTER_KINDS else ''))
        kind = target.get('kind')
        if kind in NESTED_DEFAULTS and kind != have.get('kind'):
            # (the device made anew has its new kind's defaults for the options not given, as any new one)
            target = dict(target, **{kind: dict(self.defaults(target).get(kind) or NESTED_DEFAULTS[kind],
                                                **(target.get(kind) or {}))})
        return [Op('delete', have, None), Op('add', None, target)]

    # -- the plan as a whole -------------------------------------------------
    def validate(self, ctx, plan, after):
        """Cross-device checks, and the kernel's side effects on the plan and the predicted state:
        a veth pair is created and deleted as one; deleting a device deletes its upper devices
        (vlan, macvlan, ipvlan, vxlan) and releases its ports."""
        after_by = dict((o['ifname'], o) for o in after)
        for i, op in enumerate(plan):
            if op.action == 'add':
                real = self._real_lower(op.after)
                if real.get('altnames') == []:  # (none asked for: a new device has none)
                    real = dict((k, v) for k, v in real.items() if k != 'altnames')
                if real is not op.after:
                    plan[i] = Op('add', None, real)
                    after_by[real['ifname']] = real
        config_names = self._given()
        deleted = set(op.before['ifname'] for op in plan if op.action == 'delete')
        added = dict((op.after['ifname'], op) for op in plan if op.action == 'add')
        recreated = deleted & set(added)
        keep, deferred = [], []
        # the other end of a veth the plan creates, listed in config without its kind (only updated, as the docs
        # allow): the veth's add makes it; what the element asks beyond that is a change after that add
        peers = dict((_get(op.after, 'veth.peer'), op) for op in plan
                     if op.action == 'add' and op.after.get('kind') == 'veth' and _get(op.after, 'veth.peer'))
        for op in plan:
            obj = op.obj
            name = obj['ifname']
            if op.action == 'add' and obj.get('kind') is None and name in peers:
                implicit = self._implicit_peer(peers[name].after)
                target = after_by[name] = self.shape(self.overlay(implicit, obj))
                if target != implicit:
                    deferred.append(Op('change', implicit, target))
                continue
            if op.action == 'delete' and obj.get('kind') == 'veth':
                if name in self._elsewhere:
                    ctx.warn('%s: its other end is in another network namespace (netnsid %s), and the kernel deletes '
                             'it with it' % (self.label(obj), self._elsewhere[name]))
                peer = _get(obj, 'veth.peer')
                if peer in deleted and peer != name and any(k is not op and k.action == 'delete' and
                                                            k.before['ifname'] == peer for k in keep):
                    continue  # deleting the peer already deleted this end
                if peer and peer not in deleted and peer in after_by and name not in recreated:
                    if peer in config_names and name not in added:
                        # the wanted peer needs this end: keep it
                        after_by[name] = self._have[name]
                        continue
                    after_by.pop(peer, None)  # the kernel removes the peer with it
                    deleted.add(peer)
            if op.action == 'add' and obj.get('kind') == 'veth':
                peer = _get(obj, 'veth.peer')
                if not peer:
                    raise EdgenetError('a new veth needs its peer name', obj=self.label(obj), field='veth.peer')
                first = added.get(peer)
                if first is not None and first.after.get('kind') is None:
                    first = None  # (this add makes it: above)
                if first is not None and first is not op and plan.index(first) < plan.index(op):
                    if _get(first.after, 'veth.peer') != name:
                        raise EdgenetError("'%s' is created as the peer of '%s', whose peer is '%s'"
                                           % (name, peer, _get(first.after, 'veth.peer')),
                                           obj=self.label(obj), field='veth.peer')
                    # the first end's add created this one: only its own attributes remain to set
                    implicit = self._implicit_peer(first.after)
                    target = dict(obj)
                    if 'address' not in target:
                        implicit.pop('address', None)
                    if target != implicit:
                        keep.append(Op('change', implicit, target))
                    continue
                if peer in self._have and peer not in deleted:
                    raise EdgenetError("device '%s' already exists" % peer, obj=self.label(obj), field='veth.peer')
                if peer not in added:
                    after_by[peer] = self._implicit_peer(obj)
            keep.append(op)
        plan[:] = keep + deferred
        # cascades of deletes on devices left untouched
        written = set(op.after['ifname'] for op in plan if op.action != 'delete')
        changed = True
        while changed:
            changed = False
            for name, o in list(after_by.items()):
                kind = o.get('kind')
                lower = _get(o, '%s.%s' % (kind, LOWER_FIELD[kind])) if kind in LOWER_FIELD else None
                if lower and lower not in after_by and name not in written:
                    del after_by[name]
                    changed = True
                elif o.get('master') and o['master'] not in after_by and name not in written:
                    after_by[name] = dict((k, v) for k, v in o.items() if k != 'master')
        # references of what is written
        for op in plan:
            if op.action == 'delete':
                continue
            obj = op.after
            kind = obj.get('kind')
            if op.action == 'add' and kind not in KINDS:
                raise EdgenetError("device '%s' does not exist; give its kind to create it" % obj['ifname'],
                                   obj=self.label(obj), field='kind')
            refs = [('master', obj.get('master'))]
            if kind in LOWER_FIELD:
                refs.append(('%s.%s' % (kind, LOWER_FIELD[kind]), _get(obj, '%s.%s' % (kind, LOWER_FIELD[kind]))))
            for field, ref in refs:
                if ref and ref not in after_by and ref in self._have and ref not in added:
                    # (the host has it, and this plan deletes it: check mode would take it for one an earlier task
                    # makes, and the real run would fail after the delete)
                    raise EdgenetError(
                        "device '%s' is deleted by this task%s; keep it, or give %s another %s" % (
                            ref, ' (state overridden deletes every device the config does not list: list it)'
                            if ctx.params.get('state') == 'overridden' else '', obj['ifname'], field),
                        obj=self.label(obj), field=field)
                if ref and ref not in after_by:
                    where = " in network namespace '%s'" % ctx.netns if ctx.netns else ''
                    self.refuse_or_warn(ctx, self.label(obj), field, "device '%s' does not exist%s and is not created "
                                        "by this task" % (ref, where), 'creates it')
            refused = self._vxlan_needs_dev(obj) if kind == 'vxlan' else None
            if refused:
                raise EdgenetError(refused[1], obj=self.label(obj), field=refused[0])
            if 'mtu' in obj and (op.action == 'add' or obj['mtu'] != op.before.get('mtu')):
                limit, why = self._max_mtu(obj, after_by, op.action == 'add')
                if limit is not None and obj['mtu'] > limit:
                    # (the kernel refuses it, or, creating a vxlan over a lower device, silently takes the limit)
                    raise EdgenetError('%d is above the largest MTU of this %s, %d%s' % (
                        obj['mtu'], kind or 'device', limit, why), obj=self.label(obj), field='mtu')
                low = self._mtu_range.get(obj['ifname'], (0, 0))[0] if kind not in KINDS else 0
                if obj['mtu'] < low:
                    raise EdgenetError("%d is below the smallest MTU of this device, %d: the device's own limit"
                                       % (obj['mtu'], low), obj=self.label(obj), field='mtu')
            chain, up = [obj['ifname']], obj.get('master')
            while up:
                if up in chain:  # the kernel would refuse the last link of it, after making the others
                    raise EdgenetError('the masters make a cycle: %s' % ' -> '.join(chain + [up]),
                                       obj=self.label(obj), field='master')
                chain.append(up)
                up = (after_by.get(up) or {}).get('master')
            master = after_by.get(obj.get('master')) if obj.get('master') else None
            if master is not None and kind == 'bridge' and master.get('kind') == 'bridge':
                raise EdgenetError("'%s' is a bridge: a bridge cannot be a port of another bridge (the kernel "
                                   "refuses it: ELOOP)" % master['ifname'], obj=self.label(obj), field='master')
            if master is not None and master.get('kind') in KINDS and master.get('kind') not in MASTER_KINDS:
                raise EdgenetError("'%s' is a %s, not a bridge, bond or vrf" % (master['ifname'], master['kind']),
                                   obj=self.label(obj), field='master')
            if kind == 'bridge' and any(_get(obj, 'bridge.' + f) not in (None, NESTED_DEFAULTS['bridge'][f])
                                        for f in VLAN_FILTERING_FIELDS) and self._lacks_vlan_filtering():
                # such a kernel ignores vlan_protocol and vlan_default_pvid (no error) and reports neither: every run
                # would set them again; it refuses vlan_filtering on (EOPNOTSUPP), after the requests before it
                for f in VLAN_FILTERING_FIELDS:
                    if _get(obj, 'bridge.' + f) not in (None, NESTED_DEFAULTS['bridge'][f]):
                        raise EdgenetError('the kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): '
                                           'it %s %s' % ('refuses' if f == 'vlan_filtering' else 'ignores', f),
                                           obj=self.label(obj), field='bridge.' + f)
            if op.action == 'add':
                if kind == 'vxlan' and 'id' not in obj.get('vxlan', {}) and not _get(obj, 'vxlan.external'):
                    raise EdgenetError('a new vxlan needs a VNI (or external: true)', obj=self.label(obj),
                                       field='vxlan.id')
                if kind == 'vlan' and ('id' not in obj.get('vlan', {}) or 'link' not in obj.get('vlan', {})):
                    raise EdgenetError('a new vlan needs its id and link', obj=self.label(obj),
                                       field='vlan.id' if 'id' not in obj.get('vlan', {}) else 'vlan.link')
                if kind in ('macvlan', 'ipvlan') and 'link' not in obj.get(kind, {}):
                    raise EdgenetError('a new %s needs its link' % kind, obj=self.label(obj), field='%s.link' % kind)
                if kind == 'vrf' and 'table' not in obj.get('vrf', {}):
                    raise EdgenetError('a new vrf needs its table', obj=self.label(obj), field='vrf.table')
                # values the kernel derives from the lower device
                lower = after_by.get(_get(obj, '%s.%s' % (kind, LOWER_FIELD.get(kind, '-'))) or '')
                if 'mtu' not in obj and lower and 'mtu' in lower:
                    o = dict(after_by[obj['ifname']])
                    v6 = any(':' in str(_get(obj, 'vxlan.' + n) or '') for n in ('local', 'remote', 'group'))
                    o['mtu'] = lower['mtu'] - ((70 if v6 else 50) if kind == 'vxlan' else 0)
                    after_by[obj['ifname']] = o
        self._check_altnames(plan, after_by)
        self._check_bonds(ctx, plan, after_by)
        self._uppers_follow(plan, after_by)
        given = dict((f, self._given(f)) for f in ('mtu', 'address'))
        # (before the bridges: a bond is a bridge port whose address the bridge may follow)
        self._bond_ports(plan, after_by, added, given['address'])
        self._bond_macs(ctx, plan, after_by, recreated, given['address'])
        # a bridge whose MTU was not set by hand takes the smallest MTU of its ports (1500 without ports) when a
        # port joins, leaves or changes its MTU (br_mtu_auto_adjust); one set by hand keeps it. Whether it was is
        # not in the dump: a bridge is taken as set by hand when its MTU is not what the rule gives for its ports
        # Its MAC address likewise follows its ports (the smallest port address; all zeros without ports), unless
        # it was set (br_stp_recalculate_bridge_id): a bridge with ports is taken as set by hand when its address
        # is not its ports' smallest. A port address the kernel has yet to choose leaves the bridge's unknown, and so
        # does the kernel's choice for a new bridge without ports: a random address (br_dev_init), not all zeros.

        def ports_of(devices, bridge, field):
            return sorted((p.get(field) for p in devices.values() if p.get('master') == bridge),
                          key=lambda v: (v is None, v or 0))

        def rule(field, values):
            if not values:
                return 1500 if field == 'mtu' else '00:00:00:00:00:00'
            return None if None in values else min(values)
        for name, o in list(after_by.items()):
            if o.get('kind') != 'bridge':
                continue
            old = self._have.get(name) if name not in added else None
            for field in ('mtu', 'address'):
                if name in given[field]:
                    continue  # (a new bridge's MTU is set after its ports join: see _mtu_after_ports)
                if field == 'address' and name in added and added[name].after.get('address'):
                    continue  # (the add sends it, the old device's in a re-create: the kernel takes it as set)
                ports = ports_of(after_by, name, field)
                if old is not None:
                    was = ports_of(self._have, name, field)
                    if ports == was or (was and old.get(field) != rule(field, was)):
                        continue  # no port joined, left or changed it; or it was set by hand
                value = rule(field, ports)
                if old is None and field == 'address' and not ports:
                    value = None  # (random: unknown until the kernel picks it)
                if value != o.get(field):
                    o = after_by[name] = dict(o, **{field: value}) if value is not None else \
                        dict((k, v) for k, v in o.items() if k != field)
        # (after the checks of the config: a device of a kind this kernel lacks)
        if any(op.action == 'add' for op in plan):  # (imported only then: nothing to compile on a re-run)
            from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig  # pylint: disable=import-outside-toplevel

            _kconfig.refuse(plan, 'link', self.label, present=self._have.values())
        after[:] = [self.shape(o) for o in sorted(after_by.values(), key=self.sort_key)]
        # a new bridge with an MTU given that a port of this plan joins: the MTU is set after the ports (a change
        # to the MTU the bridge has would be none, which the kernel does not take as the user's)
        defer = set(name for name in given['mtu'] if name in added and added[name].after.get('kind') == 'bridge'
                    and any(o.get('master') == name for o in after_by.values())) if given['mtu'] else ()
        plan[:], losses, gains = self._altname_steps(plan)
        plan[:] = [step for op in self._release_first(plan, after_by) for step in self._steps(op, defer)]
        if defer:
            self._mtu_after_ports(plan, defer)
        if given['mtu']:
            self._mtu_again_after_ports(plan, given['mtu'], added, after_by)
        if recreated:
            self._rejoin_recreated(plan, recreated, after_by)
        self._keep_port_settings(ctx, plan)
        # (the altnames a device loses first, those it gets last: one device's may be another's, see _altname_steps)
        plan[:] = losses + plan + gains
        for op in plan:
            if op.action == 'change':
                self._unsendable(ctx, op)

    def _given(self, field=None):
        """The names of the devices the config elements name (by their name: an altname given is taken as it), or of
        those whose elements give ``field``."""
        return set(name for name, obj in self._want.items() if field is None or obj.get(field) is not None)

    def _check_altnames(self, plan, after_by):
        """Refuse, before anything is sent, an altname the plan gives a device that names another device once the
        plan is done (its name or one of its altnames): one name names one device of a namespace, and the kernel
        refuses the second (EEXIST). ``after_by``: the devices as the plan leaves them."""
        owners = {}
        for name, obj in after_by.items():
            owners.setdefault(name, []).append((name, 'name'))
            for alt in obj.get('altnames') or ():
                owners.setdefault(alt, []).append((name, 'altname'))
        for op in plan:
            if op.action == 'delete' or not op.after.get('altnames'):
                continue
            obj, old = op.after, set((op.before or {}).get('altnames') or ())
            for alt in obj['altnames']:
                other = [o for o in owners.get(alt, ()) if o[0] != obj['ifname']] if alt not in old else ()
                if not other:
                    continue
                name, how = other[0]
                now = self._have.get(name) or {}
                if how == 'name':
                    what = "the name of device '%s'" % name
                    now = bool(now)
                else:
                    what = "an altname of device '%s'" % name
                    now = alt in (now.get('altnames') or ())
                raise EdgenetError("'%s' is %s%s: a name names one device of a network namespace (the kernel "
                                   'refuses it: EEXIST)' % (alt, what, '' if now else ' as this task leaves it'),
                                   obj=self.label(obj), field='altnames')

    def _altname_steps(self, plan):
        """``(plan, removed, added)``: ``plan`` with the altname changes taken out of its ops, and the steps that make
        them (RTM_DELLINKPROP, RTM_NEWLINKPROP: requests of their own), which ``validate`` sends first (removed) and
        last (added), so that an altname one device loses and another gets is free when it is given.

        The kernel keeps a device's altnames in the order they were added: the steps keep the order ``reconcile``
        predicts (the altnames kept, in their order, then the new ones), and each step's inverse (the rollback)
        gives the device back the altnames it had in their order. So where an altname goes that is not one of the
        last, the ones after it go too, and come back with the new ones."""
        out, removed, added = [], [], []
        for op in plan:
            if op.action == 'delete':
                out.append(op)
                continue
            old = (op.before or {}).get('altnames') or []
            new = op.after.get('altnames') or []
            if old == new:
                out.append(op)
                continue
            rest = dict((k, v) for k, v in op.after.items() if k != 'altnames')
            if old:
                rest['altnames'] = old
                rest = self.shape(rest)
            if rest != op.before:
                out.append(Op(op.action, op.before, rest, follow=op.follow, restore=op.restore))
            same = 0  # (the altnames both lists start with)
            while same < min(len(old), len(new)) and old[same] == new[same]:
                same += 1
            kept = self.shape(dict(rest, altnames=old[:same])) if same else \
                dict((k, v) for k, v in rest.items() if k != 'altnames')
            if same < len(old):
                removed.append(Op('change', rest, kept))
            if same < len(new):
                added.append(Op('change', kept, op.after))
        return out, removed, added

    def _check_bonds(self, ctx, plan, after_by):
        """Refuse before anything is sent what the bonding driver refuses or overrides: an MTU given to a port of a
        bond that is not the bond's (the bond gives its ports its MTU as they join and as it changes: set it on the
        bond), a bond option in a mode that does not take it (EACCES), and a change of an option the kernel changes
        only while the bond is down, of a bond that stays up (EBUSY)."""
        mtu_given = self._given('mtu')
        for op in plan:
            if op.action == 'delete':
                continue
            obj = op.after
            master = after_by.get(obj.get('master')) if obj.get('master') else None
            if master is not None and master.get('kind') == 'bond' and obj['ifname'] in mtu_given and \
                    isinstance(master.get('mtu'), int) and obj.get('mtu') != master['mtu']:
                raise EdgenetError('%s is not the MTU of its bond %s (%d): the kernel gives the ports of a bond the '
                                   "bond's MTU (as they join it, and whenever the bond's MTU changes); leave mtu out, "
                                   'or set the MTU on the bond' % (obj.get('mtu'), master['ifname'], master['mtu']),
                                   obj=self.label(obj), field='mtu')
            if master is not None and master.get('kind') == 'bond' and self._stays_down(obj['ifname']) and \
                    ((op.before or {}).get('state') != 'down' or (op.before or {}).get('master') != master['ifname']):
                mode, fom = _get(master, 'bond.mode'), self._fom.get(master['ifname'])
                # (a bond made outside the task may watch its ports by ARP instead: the same failover)
                miimon, arp = _get(master, 'bond.miimon') or 0, self._arp.get(master['ifname'], 0)
                if (miimon > 0 or arp > 0) and \
                        (mode in ('balance-tlb', 'balance-alb') or (mode == 'active-backup' and fom)):
                    raise EdgenetError(
                        "a port that is down is a failed link to a bond that monitors its ports' links (%s): "
                        'a bond in mode %s then makes another port active and moves MAC addresses between its ports '
                        '(bond_select_active_slave), which the module cannot predict; leave state out (the bond '
                        'opens its ports), or give %s %s' % (
                            'miimon %d' % miimon if miimon else 'arp_interval %d' % arp,
                            mode + (' with fail_over_mac %s' % fom if fom else ''), master['ifname'],
                            'bond.miimon 0' if miimon else 'no ARP monitoring (ip link set %s type bond arp_interval 0, '
                                                           'which this module does not set)' % master['ifname']),
                        obj=self.label(obj), field='state')
            if obj.get('kind') != 'bond':
                continue
            before = op.before if op.action == 'change' and op.before.get('kind') == 'bond' else None
            sent = self._kind_changes(obj, before)
            mode = _get(obj, 'bond.mode') or NESTED_DEFAULTS['bond']['mode']
            for name in sorted(sent):
                modes = BOND_OPTION_MODES.get(name)
                if modes and mode not in modes:
                    raise EdgenetError('the kernel takes %s only in mode %s, not in mode %s (EACCES, option not '
                                       'supported in mode): leave it out, or give it its default (%s)'
                                       % (name, ' or '.join(modes), mode, NESTED_DEFAULTS['bond'][name]),
                                       obj=self.label(obj), field='bond.' + name)
                if name in BOND_IFDOWN and before is not None and before.get('state') == 'up' and \
                        obj.get('state') != 'down':
                    raise EdgenetError(
                        'the kernel changes %s only while the bond is down (EBUSY, unable to set option because the '
                        'bond is up), and %s is up: give state down in this element (the module then takes the bond '
                        'down before the change; the kernel removes its routes and IPv6 addresses with it), and '
                        'state up in a later task' % (name, obj['ifname']), obj=self.label(obj), field='bond.' + name)

    def _released(self, obj):
        """The port ``obj`` as the kernel leaves it when it takes it out of its master. A bond closes it and gives it
        back the MAC address (perm_hwaddr) and the MTU it had when it joined (__bond_release_one; an active-backup
        bond with fail_over_mac active leaves it the address it has); that MTU is in no dump, so it is left out here:
        the step after the release sets the MTU (:meth:`_steps`)."""
        out = dict((k, v) for k, v in obj.items() if k != 'master')
        bond = self._have.get(obj.get('master')) or {}
        if bond.get('kind') == 'bond':
            out['state'] = 'down'
            out.pop('mtu', None)
            if self._perm.get(obj['ifname']) and not self._keeps_mac(bond):
                out['address'] = self._perm[obj['ifname']]
        return out

    def _keeps_mac(self, bond):
        """Whether the bond ``bond`` (gathered) leaves a port it releases the MAC address it has: active-backup with
        fail_over_mac active (__bond_release_one)."""
        return _get(bond, 'bond.mode') == 'active-backup' and self._fom.get(bond.get('ifname')) == 'active'

    def _stays_down(self, name):
        """Whether the element of the device ``name`` gives state down: a bond opens a device as it joins it
        (bond_enslave), after the state of the same request, so such a port is set down by a step after the join
        (:meth:`_down_again`)."""
        return (self._want.get(name) or {}).get('state') == 'down'

    @staticmethod
    def _down_again(joined):
        """The step after the join that leaves ``joined`` (the port as the join's request gives it, down) down: from
        the port as the bond opened it."""
        return Op('change', dict(joined, state='up'), joined)

    def _release_step(self, before):
        """The step that takes the port ``before`` out of its bond, as a change to what the kernel leaves of it
        (:meth:`_released`), from the port with the address the kernel gives it back and without an MTU. So the step
        sends neither (the release sets them), and its inverse, which a rollback sends, only makes the port join the
        bond again: the bond gives it its MTU and address. An MTU and address sent before the join (those the port had
        in the bond) were kept by the kernel as the port's own: the address it gives back on the next release
        (perm_hwaddr), and the MTU."""
        released = self._released(before)
        joined = dict((k, v) for k, v in before.items() if k != 'mtu')
        if 'address' in released:
            joined['address'] = released['address']
        return Op('change', joined, released)

    def _bond_ports(self, plan, after_by, added, address_given):
        """Predict what the bonding driver does to ports, and make the plan end where predicted.

        A device that joins a bond takes the bond's MTU (bond_enslave), and so does every port of a bond whose MTU
        changes (bond_change_mtu). A port the plan takes out of a bond (a change, or the delete of the bond) is closed
        and given back the MAC address and the MTU it had when it joined (__bond_release_one): the MTU, which no dump
        shows, is set by a step of its own after the release (the one the element gives, else the port's MTU in the
        bond), and the address is the one it joined with unless the element gives one."""
        bonds = set(name for name, o in after_by.items() if o.get('kind') == 'bond')
        for name, o in list(after_by.items()):
            bond = o.get('master')
            if bond not in bonds or not isinstance(after_by[bond].get('mtu'), int):
                continue
            have, mtu = self._have.get(name) or {}, after_by[bond]['mtu']
            if name in added or have.get('master') != bond or bond in added or \
                    (self._have.get(bond) or {}).get('mtu') != mtu:
                after_by[name] = dict(o, mtu=mtu)
        for i, op in enumerate(plan):
            if op.action != 'change' or (self._have.get(op.before.get('master')) or {}).get('kind') != 'bond' or \
                    op.after.get('master') == op.before.get('master'):
                continue
            name = op.after['ifname']
            perm = self._released(op.before).get('address')
            if perm and name not in address_given and op.after.get('address') != perm:
                plan[i] = Op('change', op.before, dict(op.after, address=perm))
                after_by[name] = dict(after_by[name], address=perm)
        deleted = [op for op in plan if op.action == 'delete' and op.before.get('kind') == 'bond']
        written = set(op.obj['ifname'] for op in plan if op.action != 'delete')
        for op in deleted:
            bond = op.before['ifname']
            steps = []
            for name in sorted(self._have):
                port = self._have[name]
                if port.get('master') != bond or name in written or name not in after_by or \
                        after_by[name].get('master') == bond:
                    continue  # (written: a change takes it out; a recreated bond takes it back)
                released = self._released(port)
                after_by[name] = dict(released, mtu=port['mtu']) if isinstance(port.get('mtu'), int) else released
                if after_by[name] != released:
                    steps.append(Op('change', released, after_by[name]))
            at = plan.index(op) + 1
            plan[at:at] = steps

    @staticmethod
    def _gives_mac(mode, fom, active):
        """Whether the kernel gives a port of a bond in mode ``mode`` with fail_over_mac ``fom`` the bond's MAC address
        (the active port when ``active``): in every mode but balance-tlb and balance-alb, which give it only to the
        active port, and active-backup with fail_over_mac, which gives it to none (active: the bond takes the active
        port's) or only to the active port (follow) (bond_enslave, bond_alb_handle_active_change,
        bond_do_fail_over_mac)."""
        if mode == 'active-backup' and fom in ('active', 'follow'):
            return fom == 'follow' and active
        if mode in ('balance-tlb', 'balance-alb'):
            return active
        return True

    def _bond_macs(self, ctx, plan, after_by, recreated, address_given):
        """Predict the MAC addresses the bonding driver gives bonds and their ports along ``plan``; refuse an address
        given to a port that is not the one its bond gives it; send with a join only what the kernel keeps; and set
        the address given to a bond again after its last port leaves it.

        A bond with the kernel's random address takes the address of the first port that joins it; the port then gets
        the bond's address (bond_enslave): in modes balance-rr, balance-xor, broadcast, 802.3ad and active-backup
        every port, in balance-tlb and balance-alb (and active-backup with fail_over_mac follow) only the active port
        (the first to join, whose link is up), the others keep their own; with fail_over_mac active every port keeps
        its own and the bond takes the active port's (:meth:`_gives_mac`). The address a port has as it joins is the
        one the kernel gives back when it leaves (perm_hwaddr), and a bond whose last port leaves gets a random address
        (__bond_release_one). A new address of a bond goes to all its ports, only the active one in balance-alb
        (bond_set_mac_address); in active-backup with fail_over_mac the kernel ignores it (refused here).

        Whether a bond without ports has the kernel's random address (addr_assign_type) is in no dump: one whose
        address the task does not give is taken to have it (it was made without one, or its last port left it), one
        whose address the task gives, to have that one set. Which port becomes active when the active one leaves a bond
        with several others depends on their links: their addresses (and the bond's with fail_over_mac active) are then
        left out of the prediction, as a random address is. (The bond also opens a port as it joins: state up.)"""
        have = self._have
        if not any(o.get('kind') == 'bond' for o in have.values()) and \
                not any(op.action == 'add' and op.after.get('kind') == 'bond' for op in plan):
            return  # (no bond before or after the plan)
        mac, perm, state = {}, dict(self._perm), {}
        exists, opened = set(have), set()

        def addr(name):
            return mac[name] if name in mac else (have.get(name) or {}).get('address')

        def bond(name):
            """The bond ``name`` along the plan: mode, fail_over_mac, ports (the active one first), address (None:
            unknown) and whether it is random; None for a device that is not a bond (or no longer)."""
            if name in state or (have.get(name) or {}).get('kind') != 'bond':
                return state.get(name)
            ports = [n for n in have if have[n].get('master') == name]
            active = self._active.get(name)
            if active in ports:
                ports.remove(active)
                ports.insert(0, active)
            state[name] = {'mode': _get(have[name], 'bond.mode'), 'fom': self._fom.get(name), 'ports': ports,
                           'addr': have[name].get('address'), 'random': not ports and name not in address_given}
            return state[name]

        def join(name, b, sent):
            """``name`` joins bond ``b`` with the address ``sent`` by the same request (None: none sent); whether the
            address it joined with is not the one it ends with (the bond gives it its own)."""
            s = bond(b)
            own = sent if sent is not None else addr(name)
            first, took = not s['ports'], not s['ports'] and s['random']
            if took or (first and s['mode'] == 'active-backup' and s['fom'] == 'active'):
                s['addr'], s['random'] = own, False
            perm[name] = own
            gives = self._gives_mac(s['mode'], s['fom'], first)
            mac[name] = s['addr'] if gives else own
            s['ports'].append(name)
            opened.add(name)  # (the bond opens it)
            return gives and not took

        def release(name, b):
            s = bond(b)
            if s is None or name not in s['ports']:
                return  # (released already: by the delete of its bond)
            active = s['ports'][0] == name
            s['ports'].remove(name)
            if not (s['mode'] == 'active-backup' and s['fom'] == 'active'):
                mac[name] = perm.get(name)
            if not s['ports']:
                s['addr'], s['random'] = None, True
            elif active and s['mode'] in BOND_ACTIVE_MODES:
                # (another port becomes active: the only one left, or one the dump cannot tell)
                new = s['ports'][0] if len(s['ports']) == 1 else None
                if s['mode'] == 'active-backup' and s['fom'] == 'active':
                    s['addr'] = addr(new) if new else None
                elif self._gives_mac(s['mode'], s['fom'], True) and not self._gives_mac(s['mode'], s['fom'], False):
                    for port in s['ports']:
                        if addr(port) != s['addr'] and (new is None or port == new):
                            mac[port] = s['addr'] if new else None

        def rejoining(b, at):
            """The ports that rejoin the recreated bond ``b`` right after its add (:meth:`_rejoin_recreated`)."""
            later = set(op.after['ifname'] for op in plan[at + 1:] if op.action != 'delete' and
                        op.after.get('master') == b and (op.before or {}).get('master') != b)
            return [n for n, o in sorted(after_by.items()) if n != b and o.get('master') == b and n in exists and
                    n not in later]

        def again(b, out):
            """After the last port of bond ``b`` left it: the kernel gave it a random address, and the one the task
            gives it is set again."""
            s = state.get(b)
            if s is None or s['ports'] or b not in address_given or not (after_by.get(b) or {}).get('address') or \
                    ctx.params.get('state') == 'deleted':
                return
            obj = next((o.after for o in reversed(out) if o.action != 'delete' and o.after['ifname'] == b), have.get(b))
            obj = dict(obj, address=after_by[b]['address'])
            out.append(Op('change', dict((k, v) for k, v in obj.items() if k != 'address'), obj))
            s['addr'], s['random'] = obj['address'], False

        out = []
        for at, op in enumerate(plan):
            out.append(op)
            name = op.obj['ifname']
            if op.action == 'delete':
                exists.discard(name)
                master = op.before.get('master')
                if bond(name) is not None:
                    for port in list(state[name]['ports']):
                        release(port, name)
                    state[name] = None
                elif master and bond(master) is not None:
                    release(name, master)
                    again(master, out)
                mac.pop(name, None)
                continue
            before, after = op.before or {}, op.after
            old, new = before.get('master'), after.get('master')
            if op.action == 'add':
                exists.add(name)
                mac[name] = after.get('address')
                if after.get('kind') == 'bond':
                    state[name] = {'mode': _get(after, 'bond.mode') or NESTED_DEFAULTS['bond']['mode'], 'fom': None,
                                   'ports': [], 'addr': after.get('address'), 'random': not after.get('address')}
            elif bond(name) is not None and 'address' in after and after['address'] != before.get('address'):
                s = bond(name)
                if s['mode'] == 'active-backup' and s['fom']:
                    raise EdgenetError('the kernel ignores a new MAC address of a bond in mode active-backup with '
                                       'fail_over_mac %s (bond_set_mac_address): leave address out, or make the bond '
                                       'without fail_over_mac' % s['fom'], obj=self.label(after), field='address')
                s['addr'], s['random'] = after['address'], False
                for port in s['ports'][:1] if s['mode'] == 'balance-alb' else s['ports']:
                    mac[port] = s['addr']
            # (the port leaves a bond: by this request, or a step before the bond's delete, _release_first)
            left = bool(old) and old != new and (have.get(old) or {}).get('kind') == 'bond'
            from_bond = left and bond(old) is not None
            # the address it has as the request's own address is set
            joined = addr(name) if left and not from_bond else before.get('address')
            if from_bond:
                release(name, old)
                joined = addr(name)
                if 'address' in after and not (new and bond(new) is not None):
                    mac[name] = after['address']  # (set by a step after the release: _steps)
            if new and new != old and bond(new) is not None:
                sent = after.get('address') if after.get('address') != joined else None
                request = dict(after)
                if join(name, new, sent) and sent is not None:
                    # the bond gives it its address: one sent with the join the kernel would keep as the port's own,
                    # the address it gives back on release
                    del request['address']
                    if joined:
                        request['address'] = joined
                if op.action == 'change':
                    # and its MTU: likewise, the one the port has is the one it gets back (a new device is made with
                    # the MTU given, the bond's: _check_bonds)
                    request.pop('mtu', None)
                    if not left and 'mtu' in before:
                        request['mtu'] = before['mtu']  # (after a release from a bond, none: _release_step)
                if request != after:
                    out[-1] = Op(op.action, op.before, self.shape(request), follow=op.follow, restore=op.restore)
                if self._stays_down(name):
                    out.append(self._down_again(out[-1].after))
            elif new and new == old and bond(new) is not None and 'address' in after:
                mac[name] = after['address']  # (the kernel takes it; refused below where the bond gives its own)
            if op.action == 'add' and name in recreated and after.get('kind') == 'bond':
                for port in rejoining(name, at):
                    join(port, name, None)
            if from_bond:
                again(old, out)
        plan[:] = out
        # the prediction
        for name in opened & set(after_by):
            if after_by[name].get('master') and after_by[name].get('state') != 'up' and not self._stays_down(name):
                after_by[name] = dict(after_by[name], state='up')
        touched = set(mac) | set(n for n, s in state.items() if s is not None)
        for name in touched & set(after_by):
            value = state[name]['addr'] if state.get(name) is not None else mac[name]
            o = after_by[name]
            if value != o.get('address'):
                after_by[name] = dict(o, address=value) if value else dict((k, v) for k, v in o.items()
                                                                           if k != 'address')
        # an address given to a port that is not the one its bond gives it (where the bond gives one: a port's own
        # change of it, which the kernel takes, is lost as soon as the bond's address changes or the port rejoins)
        for name in sorted(address_given) if ctx.params.get('state') != 'deleted' else ():  # (selectors there)
            o, want = after_by.get(name) or {}, (self._want.get(name) or {}).get('address')
            s = state.get(o.get('master')) if o.get('master') in state else bond(o.get('master') or '')
            if s is None or not want:
                continue
            active = s['ports'][:1] == [name]
            gives = self._gives_mac(s['mode'], s['fom'], active)
            if (s['addr'] if gives else o.get('address')) == want:
                continue
            if self._gives_mac(s['mode'], s['fom'], False):
                why = "the kernel gives the ports of a bond in mode %s the bond's address (%%s) as they join it and " \
                      "whenever the bond's address changes" % s['mode']
            elif gives:
                why = "the kernel gives the active port of a bond in mode %s%s (the first port to join it) the " \
                      "bond's address (%%s)" % (s['mode'], ' with fail_over_mac follow' if s['fom'] else '')
            else:
                why = "the port that becomes active as the active one leaves (which one, the kernel does not tell " \
                      "before) gets the bond's address (%s)"
            raise EdgenetError("%s is not the MAC address this port of bond %s gets: %s; leave address out, or give "
                               "the address to the bond" % (want, o['master'], why % (
                                   s['addr'] or 'one the kernel chooses, not known before the run')),
                               obj=self.label(o), field='address')

    def _keep_port_settings(self, ctx, plan):
        """Keep the bridge-port settings of each port that the plan takes out of its bridge and puts back into it
        (its bridge or the port made again: recreate), or that the rollback of the plan would put back (a step that
        takes it out, a delete of the port or of its bridge): :class:`_PortAgain` follows the step that puts it
        back, and is in the ``restore`` of each step that takes it out (the rollback sends it after the inverse).
        Read only when the plan takes a port with settings out of a bridge (one dump of the ports)."""
        have = self._have
        bridges = set(name for name, o in have.items() if o.get('kind') == 'bridge')
        ports = dict((name, o['master']) for name, o in have.items() if o.get('master') in bridges)
        out = []  # (index in plan, port): the steps that take a port out of its bridge (of the gather)
        for i, op in enumerate(plan):
            name = op.obj['ifname']
            if name in ports and (op.before or {}).get('master') == ports[name] and \
                    (op.after or {}).get('master') != ports[name]:
                out.append((i, name))
            elif op.action == 'delete' and name in bridges:
                out.extend((i, port) for port, master in ports.items() if master == name)
        if not out:
            return
        settings = self._port_settings(ctx, set(port for _i, port in out))
        if not settings:
            return
        for i, port in out:
            op = plan[i]
            if port not in settings:
                continue
            again = _PortAgain(self, port, settings[port])
            if op.obj['ifname'] == port:
                op.restore = tuple(op.restore) + (again,)
            else:  # the delete of its bridge: after the step that makes the port join it again
                restore = []
                for obj in op.restore:
                    restore.append(obj)
                    if isinstance(obj, _SetAgain) and obj.field == 'master' and obj.obj['ifname'] == port:
                        restore.append(again)
                op.restore = tuple(restore)
        joins = {}  # port: the last step that puts it back into the bridge it was in
        for i, op in enumerate(plan):
            name = (op.after or {}).get('ifname')
            if name in settings and op.after.get('master') == ports[name] and \
                    (op.before or {}).get('master') != ports[name]:
                joins[name] = i
        for name, i in joins.items():
            plan[i].follow = tuple(plan[i].follow) + (_PortAgain(self, name, settings[name]),)

    def _port_settings(self, ctx, names):
        """{port: [(bridge_port field, value)]} of those of ``names`` whose settings a port that joins a bridge does
        not get by itself (the kernel's defaults; a cost it does not derive from the link speed, :data:`AUTO_COSTS`),
        read now (edgenet.linux.bridge_port's gather)."""
        from ansible_collections.edgenet.linux.plugins.module_utils.resources import bridge_port as bp  # pylint: disable=import-outside-toplevel

        out = {}
        for obj in bp.BridgePort().gather(ctx):
            if obj['dev'] not in names:
                continue
            found = [(f[0], obj[f[0]]) for f in bp.FLAGS if f[0] in obj and obj[f[0]] != f[3]]
            if obj.get('priority', bp.DEFAULT_PRIORITY) != bp.DEFAULT_PRIORITY:
                found.append(('priority', obj['priority']))
            if 'cost' in obj and obj['cost'] not in AUTO_COSTS:
                found.append(('cost', obj['cost']))
            if found:
                out[obj['dev']] = found
        return out

    def shape(self, obj):
        """``obj`` with its fields in order, and its kind's options in :data:`KIND_OPTIONS` order: a prediction lays
        a changed option over the gathered ones (last), where gather puts it in its place, and check mode's diff
        then listed it elsewhere than the real run's."""
        obj = Resource.shape(self, obj)
        kind = obj.get('kind')
        nested = obj.get(kind) if kind in KIND_OPTIONS else None
        if isinstance(nested, dict) and len(nested) > 1:
            rank = _NESTED_RANK[kind]
            keys = list(nested)
            ordered = sorted(keys, key=lambda k: (rank.get(k, len(rank)), keys.index(k)))
            if ordered != keys:
                obj = dict(obj)
                obj[kind] = dict((k, nested[k]) for k in ordered)
        return obj

    def rendered_plan(self, ctx, plan):
        """The adds of ``state=rendered`` in the steps a real run sends: a new bridge given an MTU is set it after the
        ports of the config join it (given on create, it was lost as the first port joined: the pasted commands made
        a bridge of its ports' MTU); the altnames of the new devices are given last."""
        defer = set(op.after['ifname'] for op in plan if op.action == 'add' and op.after.get('kind') == 'bridge' and
                    'mtu' in op.after and any(o.after.get('master') == op.after['ifname'] for o in plan))
        plan, _losses, gains = self._altname_steps(plan)  # (the altnames last, as validate sends them)
        out = [step for op in plan for step in self._steps(op, defer)]
        if defer:
            self._mtu_after_ports(out, defer)
        return out + gains

    def _uppers_follow(self, plan, after_by):
        """Make the kernel's MTU changes of the devices on top of a device whose MTU the plan changes steps of the
        plan: a macvlan or vlan whose MTU is above its lower device's new MTU is lowered to it, and an ipvlan takes
        its lower device's MTU whatever it was (their NETDEV_CHANGEMTU handlers). Check mode and ``after`` left them
        out, and a rollback that put the lower device's MTU back left them lowered. A step of their own, before the
        change that lowers the lower device (after one that raises it, for an ipvlan), shows them, predicts them and
        is undone in its turn."""
        written = set(op.obj['ifname'] for op in plan if op.action != 'change')  # (added or deleted)
        own_mtu = set(op.after['ifname'] for op in plan if op.action == 'change' and
                      op.after.get('mtu') != op.before.get('mtu'))
        steps = {}  # id(op) -> ([steps before it], [steps after it])
        for op in plan:
            if op.action != 'change' or not isinstance(op.after.get('mtu'), int) or \
                    op.after.get('mtu') == op.before.get('mtu'):
                continue
            lower, new = op.after['ifname'], op.after['mtu']
            for name in sorted(self._have):
                upper = self._have[name]
                kind = upper.get('kind')
                if kind not in ('macvlan', 'vlan', 'ipvlan') or _get(upper, '%s.link' % kind) != lower or \
                        name in written or name in own_mtu or name not in after_by or \
                        not isinstance(upper.get('mtu'), int):
                    continue
                if upper['mtu'] == new or (kind != 'ipvlan' and upper['mtu'] < new):
                    continue
                state = dict(after_by[name], mtu=upper['mtu'])
                step = Op('change', state, dict(state, mtu=new))
                where = steps.setdefault(id(op), ([], []))
                where[1 if kind == 'ipvlan' and new > op.before.get('mtu', 0) else 0].append(step)
                after_by[name] = dict(after_by[name], mtu=new)
        if not steps:
            return
        out = []
        for op in plan:
            first, then = steps.get(id(op), ((), ()))
            out.extend(first)
            if op.action == 'change' and op.after['ifname'] in after_by and any(
                    s.after['ifname'] == op.after['ifname'] for b, a in steps.values() for s in b + a):
                # the upper device's own change (of other fields) starts from its new MTU
                mtu = after_by[op.after['ifname']]['mtu']
                op = Op('change', dict(op.before, mtu=mtu), dict(op.after, mtu=mtu))
            out.append(op)
            out.extend(then)
        plan[:] = out

    def _max_mtu(self, obj, after_by, add):
        """The largest MTU the kernel takes for ``obj`` (as it will be; ``add``: as it creates it), and why;
        (None, '') for a device of another kind."""
        kind = obj.get('kind')
        if kind not in KINDS:
            # (lo, a NIC, tun: the kernel reports the device's own largest MTU; 0 for none)
            limit = self._mtu_range.get(obj.get('ifname'), (0, 0))[1]
            return (limit, ": the device's own limit") if limit else (None, '')
        limit, why = MAX_MTU.get(kind, ETH_MAX_MTU), ''
        # (the lower device limits an ipvlan as it is created; a change is left to the kernel)
        lower_name = _get(obj, '%s.%s' % (kind, LOWER_FIELD[kind])) if kind in LOWER_FIELD and \
            (add or kind != 'ipvlan') else None
        lower = after_by.get(lower_name) if lower_name else None
        if lower is None or not isinstance(lower.get('mtu'), int):
            return limit, why
        if kind == 'vxlan':
            fam = 6 if self._vxlan_family(obj) == 6 else 4
            room = VXLAN_HEADROOM[fam]
            limit = max(lower['mtu'] - room, 68)
            why = ': the MTU of its dev %s (%d) less %d bytes of VXLAN over IPv%d' % (
                lower_name, lower['mtu'], room, fam)
        else:
            limit = lower['mtu']
            why = ': the MTU of its link %s' % lower_name
        return limit, why

    def _release_first(self, plan, after_by):
        """``plan`` with each port that a change takes out of a master the plan deletes released by a step of its
        own right before that delete, and the deletes of masters told to put back their other ports.

        The kernel releases a device's ports when it deletes it; the rollback undoes the plan in reverse order,
        so it makes the master again before a port rejoins it (the change releasing the port came after the
        delete: its inverse named a master that was not there yet). A port the plan keeps in it (or does not
        write) rejoins it right after the rollback makes it again (:class:`_SetAgain`)."""
        deleted = dict((op.before['ifname'], op) for op in plan if op.action == 'delete')
        if not deleted:
            return plan
        before_delete = {}  # the name of a deleted master -> the release steps sent right before its delete
        leaving = set()  # the ports those release
        out = []
        for op in plan:
            master = op.before.get('master') if op.action == 'change' else None
            if master in deleted and op.after.get('master') != master:
                released = self._released(op.before)
                before_delete.setdefault(master, []).append(self._release_step(op.before) if
                                                            (self._have.get(master) or {}).get('kind') == 'bond'
                                                            else Op('change', op.before, released))
                leaving.add(op.before['ifname'])
                if released != op.after:
                    out.append(Op('change', released, op.after))
                continue
            out.append(op)
        for name, op in deleted.items():
            ports = [p for p in self._have.values() if p.get('master') == name and p['ifname'] in after_by and
                     p['ifname'] not in leaving and p['ifname'] not in deleted]
            if ports:
                op.restore = tuple(op.restore) + tuple(
                    _SetAgain(self, p, 'master', ('master', p['master'])) for p in ports)
            mtu = op.before.get('mtu')
            every = [p.get('mtu') for p in self._have.values() if p.get('master') == name]
            if op.before.get('kind') == 'bridge' and isinstance(mtu, int) and every and None not in every and \
                    mtu != min(every):
                # a bridge whose MTU was set by hand (not its ports' smallest): made again by a rollback, it takes
                # the MTU of its ports as they rejoin (one given on create is not the user's), so it is set again
                # after the last of them: the one a release step puts back last (the first such step), else after
                # those that rejoin with the add
                again = _SetAgain(self, op.before, 'mtu', ('mtu', mtu))
                first = (before_delete.get(name) or [op])[0]
                first.restore = tuple(first.restore) + (again,)
        if not before_delete:
            return out
        ordered = []
        for op in out:
            if op.action == 'delete':
                ordered.extend(before_delete.get(op.before['ifname'], ()))
            ordered.append(op)
        return ordered

    @staticmethod
    def _mtu_after_ports(plan, bridges):
        """Move the step that sets the MTU of each new bridge in ``bridges`` (the change right after its add, from
        :meth:`_steps`) after the last step that makes a device its port. A bridge takes the smallest MTU of its
        ports as each joins (br_mtu_auto_adjust) until a change sets its MTU; so set before they join, an MTU they
        differ from was lost (an MTU of 1500, a new bridge's own, was never set at all)."""
        for name in sorted(bridges):  # (the result does not depend on the order; a set's changes between processes)
            at = next(i for i, op in enumerate(plan) if op.action == 'add' and op.after['ifname'] == name)
            last = max([i for i, op in enumerate(plan) if op.action != 'delete' and op.after.get('master') == name
                        and (op.before or {}).get('master') != name] or [at])
            if last > at + 1:
                plan.insert(last + 1, plan[at + 1])
                del plan[at + 1]

    def _mtu_again_after_ports(self, plan, names, added, after_by):
        """Set the MTU of each existing bridge in ``names`` (given an MTU) again after the last step that changes
        its ports (one joins or leaves it, is deleted, or changes its MTU), where the bridge has that MTU already (so
        the plan has no change of it) and may follow its ports.

        A bridge whose MTU no change has set (BROPT_MTU_SET_BY_USER) takes the smallest MTU of its ports (1500
        without ports) as one joins, leaves or changes its MTU (br_mtu_auto_adjust). The dump does not show the
        mark: a bridge is taken as set by hand only when its MTU is not what that rule gives for its ports.
        Otherwise the given MTU is set again after those steps, as for a new bridge (:meth:`_mtu_after_ports`), so
        that the run ends at it (it was lost: check mode showed it, and the second run set it). Without such a step
        in the plan nothing is sent, so a re-run stays a no-op.

        Bridges are taken by name, and two set again after one step follow it in that order: ``names`` is a set,
        whose order changes from one Python process to the next (hash randomization), and check mode and the real
        run are two processes whose ``commands`` must be the same."""
        again = set()  # id() of the steps inserted here
        for name in sorted(names):
            have = self._have.get(name)
            if name in added or have is None or have.get('kind') != 'bridge' or 'mtu' not in have or \
                    (after_by.get(name) or {}).get('mtu') != have['mtu']:
                continue  # (a new bridge: _mtu_after_ports; an MTU that changes is set by a change already)
            ports = [p.get('mtu') for p in self._have.values() if p.get('master') == name]
            if ports and None not in ports and have['mtu'] != min(ports):
                continue  # set by hand: its ports do not move it

            def moves(op):
                before, after = op.before or {}, op.after or {}
                was, now = before.get('master') == name, after.get('master') == name
                return was != now or (now and op.action == 'change' and before.get('mtu') != after.get('mtu'))
            events = [i for i, op in enumerate(plan) if moves(op)]
            if not events:
                was = sorted((p['ifname'], p.get('mtu')) for p in self._have.values() if p.get('master') == name)
                now = sorted((p['ifname'], p.get('mtu')) for p in after_by.values() if p.get('master') == name)
                if was == now:
                    continue
                events = [len(plan) - 1]  # (a port the kernel deletes along with another device: at the end)
            own = [i for i, op in enumerate(plan) if op.action == 'change' and op.after['ifname'] == name]
            at = max(events + own)
            state = plan[max(own)].after if own else have
            at += 1
            while at < len(plan) and id(plan[at]) in again:
                at += 1  # (after another bridge's, set again after the same step)
            step = Op('change', dict((k, v) for k, v in state.items() if k != 'mtu'), state)
            again.add(id(step))
            plan.insert(at, step)

    def _rejoin_recreated(self, plan, recreated, after_by):
        """Put each port of a master that the plan deletes and creates again (recreate: a bond's mode, a vrf's
        table) back into it, by a step right after the add that makes it again, where the port is to stay in it
        and no later step of the plan puts it there.

        The kernel releases a master's ports when it deletes it; the add makes a master without ports. Check mode
        showed the ports still in it, and the real run left them out (those the task did not list were lost, and
        listed ones came back only in the next run)."""
        for name in sorted(recreated):
            at = next((i for i, op in enumerate(plan) if op.action == 'add' and op.after['ifname'] == name), None)
            if at is None or plan[at].after.get('kind') not in MASTER_KINDS:
                continue
            # (before the add's own steps: a bridge's MTU is set after its ports join, see _mtu_after_ports)
            steps = []
            for port, o in sorted(after_by.items()):
                if port == name or o.get('master') != name:
                    continue
                state = self._have.get(port)
                for op in plan[:at + 1]:
                    if op.obj['ifname'] == port:
                        state = op.after  # (None: deleted)
                if state is None or any(op.action != 'delete' and op.after['ifname'] == port for op in plan[at + 1:]
                                        if op.after.get('master') == name and (op.before or {}).get('master') != name):
                    continue  # not there yet (a later add makes it in the master), or a later step puts it back
                bare = dict((k, v) for k, v in state.items() if k != 'master')
                rejoin = dict(bare, master=name)
                for step in self._steps(Op('change', bare, rejoin)):
                    steps.append(step)
                if plan[at].after.get('kind') == 'bond' and rejoin.get('state') == 'down' and self._stays_down(port):
                    steps.append(self._down_again(rejoin))
                # the port's own later steps start from it in the master
            plan[at + 1:at + 1] = steps

    def _steps(self, op, defer=()):
        """``op`` as the ops of one request each (the bulk path sends one request per op).

        The kernel ignores the alias of a device it creates: the alias is set by a change after the
        add, and the rollback of a delete sets it after its add (:class:`_SetAgain`).  The MTU of a new bridge is
        set by a change after the add too: the kernel takes an MTU only a change sets as set by the user
        (BROPT_MTU_SET_BY_USER); one given on create is lost as soon as a port joins (br_mtu_auto_adjust). Where
        ports of the plan join it (``defer``), that change goes after them (:meth:`_mtu_after_ports`).  A
        bond refuses a port that is up: a device that is up is set down by a change of its own before it joins
        one.  A vxlan refuses a change of its MTU in the request that changes its options (vxlan_nl2conf:
        EOPNOTSUPP, "Cannot change mtu"): the MTU is a change of its own, first.  Each step has an exact inverse
        for the rollback.
        """
        if op.action == 'add':
            # (a new bridge has MTU 1500: a change to 1500 is no change, which the kernel does not mark, unless ports
            # joined first: ``defer``)
            later = ('alias', 'mtu') if op.after.get('kind') == 'bridge' and 'mtu' in op.after and (
                op.after['mtu'] != 1500 or op.after['ifname'] in defer) else ('alias',)
            if any(f in op.after for f in later if op.after.get(f) is not None):
                bare = dict((k, v) for k, v in op.after.items() if k not in later)
                return [Op('add', None, bare), Op('change', bare, op.after)]
            return [op]
        if op.action == 'delete':
            # (the kernel ignores an alias on create, and an add takes no altnames: their own requests, whose commands
            # the add's (render) spells)
            for field in ('alias', 'altnames'):
                if op.before.get(field):
                    op.restore = tuple(op.restore) + (_SetAgain(self, op.before, field),)
            return [op]
        steps = [op]
        master = op.before.get('master')
        if master and op.after.get('master') != master and (self._have.get(master) or {}).get('kind') == 'bond':
            # a bond releases a port after the MTU, address and state of the same request (it closes the port and
            # gives it back its MTU and address of when it joined): those are set by a step after the release, which
            # also makes it join another bond (closed: the bond opens it)
            released = self._released(op.before)
            steps = [self._release_step(op.before)] + ([Op('change', released, op.after)] if released != op.after
                                                       else [])
        elif op.before.get('state') == 'up' and self._joins_bond(op):
            down = dict(op.before, state='down')
            steps = [Op('change', op.before, down), Op('change', down, op.after)]
        elif op.after.get('kind') == 'bond' and op.before.get('kind') == 'bond' and op.before.get('state') == 'up' \
                and op.after.get('state') == 'down' and \
                any(name in BOND_IFDOWN for name in self._kind_changes(op.after, op.before)):
            # the kernel applies the options of a request before its state: the bond goes down first
            down = dict(op.before, state='down')
            steps = [Op('change', op.before, down), Op('change', down, op.after)]
        out = []
        for step in steps:
            before, after = step.before, step.after
            if after.get('kind') == 'vxlan' and 'mtu' in after and after['mtu'] != before.get('mtu') and \
                    self._kind_changes(after, before):
                mtu = dict(before, mtu=after['mtu'])
                out += [Op('change', before, mtu), Op('change', mtu, after)]
            else:
                out.append(step)
        return out

    def _implicit_peer(self, obj):
        """The other end the kernel creates with ``obj``."""
        out = self.defaults({'kind': 'veth'})
        out.update({'ifname': obj['veth']['peer'], 'kind': 'veth', 'veth': {'peer': obj['ifname']}})
        return self.shape(out)

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        """One raw device dump (the bulk path's socket), parsed only as far as the fields read here."""
        attrs, get_u32, get_str = _rtnl.attrs, _rtnl.get_u32, _rtnl.get_str
        rows = []  # objects whose references (master, lower device) are ifindexes until all names are known
        names = {}
        perm, fom, active, arp = {}, {}, {}, {}
        self._elsewhere = elsewhere = {}
        self._mtu_range = mtu_range = {}
        body = _rtnl.IFINFOMSG.pack(0, 0, 0, 0, 0)
        for _kind, buf, start, end in ctx.nl.rdump(_rtnl.RTM_GETLINK, body, 'the devices'):
            _family, _type, index, flags, _change = _rtnl.IFINFOMSG.unpack_from(buf, start)
            a = attrs(buf, start + _rtnl.IFINFOMSG.size, end)
            name = get_str(buf, a[IFLA_IFNAME]) if IFLA_IFNAME in a else None
            names[index] = name
            obj = {'ifname': name, 'mtu': get_u32(buf, a[IFLA_MTU]) if IFLA_MTU in a else None,
                   'state': 'up' if flags & IFF_UP else 'down',
                   'txqlen': get_u32(buf, a[IFLA_TXQLEN]) if IFLA_TXQLEN in a else None}
            span = a.get(IFLA_ADDRESS)
            if span and span[1] - span[0] == 6:
                obj['address'] = ':'.join('%02x' % b for b in buf[span[0]:span[1]])
            if IFLA_MASTER in a and get_u32(buf, a[IFLA_MASTER]):
                obj['master'] = get_u32(buf, a[IFLA_MASTER])  # an ifindex until every name is known
            if IFLA_IFALIAS in a:
                alias = get_str(buf, a[IFLA_IFALIAS])
                if alias:
                    obj['alias'] = alias
            if _rtnl.IFLA_PROP_LIST in a:  # (only a device with altnames has it)
                altnames = _rtnl.get_altnames(buf, a[_rtnl.IFLA_PROP_LIST])
                if altnames:
                    obj['altnames'] = altnames
            info = attrs(buf, *a[IFLA_LINKINFO]) if IFLA_LINKINFO in a else {}
            if IFLA_INFO_SLAVE_DATA in info and IFLA_INFO_SLAVE_KIND in info and \
                    get_str(buf, info[IFLA_INFO_SLAVE_KIND]) == 'bond':
                span = attrs(buf, *info[IFLA_INFO_SLAVE_DATA]).get(IFLA_BOND_SLAVE_PERM_HWADDR)
                if span and span[1] - span[0] == 6:
                    perm[name] = ':'.join('%02x' % b for b in buf[span[0]:span[1]])
            kind = get_str(buf, info[IFLA_INFO_KIND]) if IFLA_INFO_KIND in info else None
            if (kind not in KINDS or name == 'lo') and IFLA_MAX_MTU in a:
                mtu_range[name] = (get_u32(buf, a[IFLA_MIN_MTU]) if IFLA_MIN_MTU in a else 0,
                                   get_u32(buf, a[IFLA_MAX_MTU]))
            if kind in KINDS and name != 'lo':
                obj['kind'] = kind
                nested = {}
                lower = get_u32(buf, a[IFLA_LINK]) if IFLA_LINK in a and IFLA_LINK_NETNSID not in a else 0
                if kind == 'veth' and IFLA_LINK_NETNSID in a:
                    # (its other end is in another namespace, IFLA_LINK an ifindex there: rtnl_fill_link_netnsid)
                    elsewhere[name] = struct.unpack_from('=i', buf, a[IFLA_LINK_NETNSID][0])[0]
                if kind in LOWER_NAME and lower:
                    nested[LOWER_NAME[kind]] = lower  # an ifindex, as master
                data = attrs(buf, *info[IFLA_INFO_DATA]) if IFLA_INFO_DATA in info else {}
                nested.update(self._gather_kind(kind, buf, data))
                if kind == 'bond':
                    # (not options of this module: what the MAC addresses of the bond and its ports do depends on them)
                    span = data.get(IFLA_BOND_FAIL_OVER_MAC)
                    if span and buf[span[0]]:
                        fom[name] = BOND_FAIL_OVER_MAC.get(buf[span[0]], buf[span[0]])
                    span = data.get(IFLA_BOND_ACTIVE_SLAVE)
                    if span:
                        active[name] = get_u32(buf, span)
                    span = data.get(IFLA_BOND_ARP_INTERVAL)
                    interval = get_u32(buf, span) if span else 0
                    if interval:
                        arp[name] = interval
                if kind == 'bridge':
                    if IFLA_BR_VLAN_PROTOCOL not in data:
                        self._no_vlan_filtering = True  # (the kernel lacks CONFIG_BRIDGE_VLAN_FILTERING)
                    else:
                        self._vlan_filtering_seen = True
                obj[kind] = nested
            rows.append(obj)
        out = []
        for obj in rows:
            if 'master' in obj:
                obj['master'] = names.get(obj['master']) or 'if%d' % obj['master']
            kind = obj.get('kind')
            if kind:
                nested = obj[kind]
                field = LOWER_NAME.get(kind)
                if field in nested:
                    if names.get(nested[field]):
                        nested[field] = names[nested[field]]
                    else:  # an ifindex the dump did not name
                        del nested[field]
                if 'dev' in nested:
                    nested['dev'] = names.get(nested['dev']) or 'if%d' % nested['dev']
                if not nested:
                    del obj[kind]
            out.append(dict((k, v) for k, v in obj.items() if v is not None))
        self._have = dict((o['ifname'], o) for o in out)
        self._perm, self._fom, self._arp = perm, fom, arp
        self._active = dict((bond, names[index]) for bond, index in active.items() if names.get(index))
        return out

    @staticmethod
    def _gather_kind(kind, buf, data):
        """The options of one kind from the spans of its IFLA_INFO_DATA (``vxlan.dev`` as an ifindex)."""
        def num(nla, layout):
            span = data.get(nla)
            return layout.unpack_from(buf, span[0])[0] if span else None

        d = {}
        if kind == 'macvlan':
            mode = num(IFLA_MACVLAN_MODE, U32)
            if mode is not None:
                d['mode'] = MACVLAN_MODES.get(mode, mode)
        elif kind == 'ipvlan':
            mode = num(IFLA_IPVLAN_MODE, U16)
            if mode is not None:
                d['mode'] = IPVLAN_MODES.get(mode, mode)
        elif kind == 'vlan':
            d['id'] = num(IFLA_VLAN_ID, U16)
            proto = num(IFLA_VLAN_PROTOCOL, BE16)
            d['protocol'] = VLAN_PROTOCOLS.get(proto, proto)
        elif kind == 'vxlan':
            import ipaddress
            metadata = num(IFLA_VXLAN_COLLECT_METADATA, U8)
            if not metadata:
                d['id'] = num(IFLA_VXLAN_ID, U32) or None
            local = _first_addr(buf, data, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6)
            if local and local not in ('0.0.0.0', '::'):
                d['local'] = _norm.ip(local)
            dst = _first_addr(buf, data, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6)
            if dst and dst not in ('0.0.0.0', '::'):
                d['group' if ipaddress.ip_address(dst).is_multicast else 'remote'] = _norm.ip(dst)
            d['dev'] = num(IFLA_VXLAN_LINK, U32) or None
            d['dstport'] = num(IFLA_VXLAN_PORT, BE16)
            d['learning'] = bool(num(IFLA_VXLAN_LEARNING, U8))
            d['external'] = bool(metadata)
            if num(IFLA_VXLAN_VNIFILTER, U8):  # reported (like `ip -d`) only when on, and on 5.18+ only
                d['vnifilter'] = True
        elif kind == 'bridge':
            d['stp_state'] = bool(num(IFLA_BR_STP_STATE, U32))
            d['forward_delay'] = num(IFLA_BR_FORWARD_DELAY, U32)
            d['vlan_filtering'] = bool(num(IFLA_BR_VLAN_FILTERING, U8))
            proto = num(IFLA_BR_VLAN_PROTOCOL, BE16)
            # a kernel without CONFIG_BRIDGE_VLAN_FILTERING reports neither: it filters nothing, tags 802.1Q
            d['vlan_protocol'] = VLAN_PROTOCOLS.get(proto, proto) if proto else '802.1Q'
            pvid = num(IFLA_BR_VLAN_DEFAULT_PVID, U16)
            d['vlan_default_pvid'] = pvid if pvid is not None else 1
            d['mcast_snooping'] = bool(num(IFLA_BR_MCAST_SNOOPING, U8))
        elif kind == 'bond':
            for name, nla, layout, names in (('mode', IFLA_BOND_MODE, U8, BOND_MODES),
                                             ('miimon', IFLA_BOND_MIIMON, U32, None),
                                             ('lacp_rate', IFLA_BOND_AD_LACP_RATE, U8, LACP_RATES),
                                             ('xmit_hash_policy', IFLA_BOND_XMIT_HASH_POLICY, U8, XMIT_HASH)):
                v = num(nla, layout)
                d[name] = names.get(v, v) if names else v
        elif kind == 'vrf':
            d['table'] = num(IFLA_VRF_TABLE, U32)
        return dict((k, v) for k, v in d.items() if v is not None)

    # -- writes ----------------------------------------------------------------
    @staticmethod
    def _kind_changes(obj, before):
        """The kind-specific options to send: all that differ from the kernel's defaults on add,
        the changed ones on change."""
        kind = obj.get('kind')
        d = obj.get(kind) or {}
        if before is None:
            base = NESTED_DEFAULTS.get(kind, {})
            if kind == 'bond' and d.get('mode') in BOND_MII_MODES:
                base = dict(base, miimon=100)  # (the kernel's default in such a mode: defaults)
            return dict((k, v) for k, v in d.items() if base.get(k) != v or k in ('id', 'table', 'link', 'peer'))
        old = before.get(kind) or {} if before.get('kind') == kind else {}
        out = dict((k, v) for k, v in d.items() if old.get(k) != v)
        if kind == 'vxlan':
            # removed: set to the zero address of the device's family, which the kernel takes as none (a remote
            # and a group are one attribute; iproute2 takes the zero address only as a remote)
            dst = old.get('remote') or old.get('group')
            for name, value in (('local', old.get('local')), ('remote', None if 'group' in d else dst)):
                if value and name not in d:
                    out[name] = '::' if _norm.family(value) == 6 else '0.0.0.0'
        return out

    def _unsendable(self, ctx, op):
        """Refuse a change that would be predicted but not sent: a kind option the change drops that it cannot
        clear, or a change without a command."""
        before, after = op.before, op.after
        kind = after.get('kind')
        if kind in KINDS and before.get('kind') == kind:
            for name in sorted(set(before.get(kind) or {}) - set(after.get(kind) or {})):
                field = '%s.%s' % (kind, name)
                if name not in CLEARABLE.get(kind, ()) and field not in self.immutable:
                    raise EdgenetError('%s cannot be removed from an existing device (the kernel has no value for '
                                       'none): give it' % field, obj=self.label(after), field=field)
        if not self.render(ctx, op):
            fields = op.changed_fields()
            raise EdgenetError('the change of %s cannot be made in place' % (', '.join(fields) or 'nothing'),
                               obj=self.label(after), field=','.join(fields) or None)

    # -- the bulk path: one request per op ----------------------------------------
    def _index(self, ctx, name, label, field):
        """The ifindex of ``name``: one this plan creates (chosen before it is sent), else the kernel's."""
        if name in self._new:
            return self._new[name]
        return ctx.nl.ifindex(name, obj=label, field=field)

    def _assign(self, ctx, name):
        """Choose the ifindex of a device this plan creates: requests encoded later (its ports, upper
        devices, the rollback) refer to it before the kernel has made it."""
        used = list(ctx.nl.links()[1]) + list(self._new.values())
        self._new[name] = max(used + [0]) + 1
        return self._new[name]

    def encode(self, ctx, op):
        """RTM_NEWLINK (add: create; change: modify), RTM_DELLINK (delete) with the attributes pyroute2's
        ``link('add'|'set'|'del')`` sent; a new device's ifindex (and its veth peer's) is chosen here."""
        if op.action == 'delete':
            name = op.before['ifname']
            index = self._new.pop(name, None) or ctx.nl.ifindex(name, obj=self.label(op.before), field='ifname')
            return RTM_DELLINK, _rtnl.DELETE, _rtnl.IFINFOMSG.pack(0, 0, index, 0, 0)
        obj, before = op.after, op.before
        label = self.label(obj)
        if before is not None and set(before.get('altnames') or ()) != set(obj.get('altnames') or ()):
            return self._encode_altnames(ctx, op, label)
        old = before if before is not None else self.defaults(obj)
        if before is None:
            index = self._assign(ctx, obj['ifname'])
            parts = [_rtnl.attr_str(IFLA_IFNAME, obj['ifname'])]
        else:
            index = self._index(ctx, obj['ifname'], label, 'ifname')
            parts = []
        if 'mtu' in obj and obj['mtu'] != old.get('mtu'):
            parts.append(_rtnl.attr_u32(IFLA_MTU, obj['mtu']))
        if 'address' in obj and obj['address'] != old.get('address'):
            parts.append(_rtnl.attr(IFLA_ADDRESS, bytes(int(x, 16) for x in obj['address'].split(':'))))
        if 'txqlen' in obj and obj['txqlen'] != old.get('txqlen'):
            parts.append(_rtnl.attr_u32(IFLA_TXQLEN, obj['txqlen']))
        if obj.get('alias') != old.get('alias') and before is not None:  # on create, the kernel ignores it
            parts.append(_rtnl.attr_str(IFLA_IFALIAS, obj.get('alias', '')))
        if obj.get('master') != old.get('master'):
            master = self._index(ctx, obj['master'], label, 'master') if obj.get('master') else 0
            parts.append(_rtnl.attr_u32(IFLA_MASTER, master))
        flags = change = 0
        if obj.get('state') != old.get('state', 'down') and not self._joins_bond(op):
            # (a bond refuses a port that is up, and opens it itself)
            change = IFF_UP
            flags = IFF_UP if obj.get('state') == 'up' else 0
        kind = obj.get('kind')
        opts = self._kind_changes(obj, before) if kind in KINDS else {}
        if kind in ('macvlan', 'ipvlan', 'vlan') and 'link' in opts:
            parts.append(_rtnl.attr_u32(IFLA_LINK, self._index(ctx, opts['link'], label, '%s.link' % kind)))
        if before is None or opts:
            info = [_rtnl.attr_str(IFLA_INFO_KIND, kind)]
            data = self._encode_kind(ctx, kind, obj.get(kind) or {}, opts, before is None, label)
            if data:
                info.append(_rtnl.attr_nested(IFLA_INFO_DATA, *data))
            parts.append(_rtnl.attr_nested(IFLA_LINKINFO, *info))
        body = _rtnl.IFINFOMSG.pack(0, 0, index, flags, change) + b''.join(parts)
        return _rtnl.RTM_NEWLINK, _rtnl.ADD if before is None else MODIFY, body

    def _encode_altnames(self, ctx, op, label):
        """RTM_NEWLINKPROP (the altnames ``op`` adds) or RTM_DELLINKPROP (those it deletes), as `ip link property`
        sends them: the device's index and a nest (IFLA_PROP_LIST) of IFLA_ALT_IFNAME, one per altname. A step of
        its own (``_altname_steps``): one direction, no other change."""
        gone, came = self._altname_change(op)
        others = [f for f in op.changed_fields() if f != 'altnames']
        if (gone and came) or others:
            raise EdgenetError('internal error: a change of altnames with another change in one request (%s)'
                               % ', '.join(others or ['both added and deleted']), obj=label, field='altnames')
        index = self._index(ctx, op.after['ifname'], label, 'ifname')
        body = _rtnl.IFINFOMSG.pack(0, 0, index, 0, 0) + _rtnl.attr_nested(
            _rtnl.IFLA_PROP_LIST, *[_rtnl.attr_str(_rtnl.IFLA_ALT_IFNAME, n) for n in (came or gone)])
        return (RTM_NEWLINKPROP, ADD_PROP, body) if came else (RTM_DELLINKPROP, MODIFY, body)

    @staticmethod
    def _altname_change(op):
        """``(deleted, added)``: the altnames a change deletes and adds, each in its list's order."""
        old, new = (op.before or {}).get('altnames') or [], (op.after or {}).get('altnames') or []
        return [n for n in old if n not in new], [n for n in new if n not in old]

    def _encode_kind(self, ctx, kind, d, opts, add, label):
        """The IFLA_INFO_DATA attributes of one kind: the options in ``opts`` (``d``: all of them)."""
        out = []
        if kind == 'veth' and 'peer' in opts:
            index = self._assign(ctx, opts['peer'])
            out.append(_rtnl.attr(VETH_INFO_PEER, _rtnl.IFINFOMSG.pack(0, 0, index, 0, 0) +
                                  _rtnl.attr_str(IFLA_IFNAME, opts['peer'])))
        elif kind == 'macvlan' and 'mode' in opts:
            out.append(_rtnl.attr_u32(IFLA_MACVLAN_MODE, _norm.number(MACVLAN_MODES, opts['mode'])))
        elif kind == 'ipvlan' and 'mode' in opts:
            out.append(_rtnl.attr_u16(IFLA_IPVLAN_MODE, _norm.number(IPVLAN_MODES, opts['mode'])))
        elif kind == 'vlan':
            if 'id' in opts:
                out.append(_rtnl.attr_u16(IFLA_VLAN_ID, opts['id']))
            if 'protocol' in opts:
                out.append(_be16(IFLA_VLAN_PROTOCOL, _proto_number(opts['protocol'])))
        elif kind == 'vxlan':
            if 'id' in opts:
                out.append(_rtnl.attr_u32(IFLA_VXLAN_ID, opts['id']))
            if 'local' in opts:
                out.append(_rtnl.attr(IFLA_VXLAN_LOCAL6 if ':' in opts['local'] else IFLA_VXLAN_LOCAL,
                                      _rtnl.addr_bytes(opts['local'])[1]))
            for name in ('remote', 'group'):
                if name in opts:
                    out.append(_rtnl.attr(IFLA_VXLAN_GROUP6 if ':' in opts[name] else IFLA_VXLAN_GROUP,
                                          _rtnl.addr_bytes(opts[name])[1]))
            if 'dev' in opts:
                out.append(_rtnl.attr_u32(IFLA_VXLAN_LINK, self._index(ctx, opts['dev'], label, 'vxlan.dev')))
            if add or 'dstport' in opts:
                out.append(_be16(IFLA_VXLAN_PORT, d.get('dstport', VXLAN_DEFAULT_PORT)))
            if add or 'learning' in opts:
                out.append(_rtnl.attr_u8(IFLA_VXLAN_LEARNING, int(d.get('learning', True))))
            if opts.get('external'):
                out.append(_rtnl.attr_u8(IFLA_VXLAN_COLLECT_METADATA, 1))
            if opts.get('vnifilter'):
                out.append(_rtnl.attr_u8(IFLA_VXLAN_VNIFILTER, 1))
        elif kind == 'bridge':
            for name, nla, enc in (('stp_state', IFLA_BR_STP_STATE, _rtnl.attr_u32),
                                   ('forward_delay', IFLA_BR_FORWARD_DELAY, _rtnl.attr_u32),
                                   ('vlan_filtering', IFLA_BR_VLAN_FILTERING, _rtnl.attr_u8),
                                   ('vlan_default_pvid', IFLA_BR_VLAN_DEFAULT_PVID, _rtnl.attr_u16),
                                   ('mcast_snooping', IFLA_BR_MCAST_SNOOPING, _rtnl.attr_u8)):
                if name in opts:
                    out.append(enc(nla, int(opts[name])))
            if 'vlan_protocol' in opts:
                out.append(_be16(IFLA_BR_VLAN_PROTOCOL, _proto_number(opts['vlan_protocol'])))
        elif kind == 'bond':
            for name, nla, enc, names in (('mode', IFLA_BOND_MODE, _rtnl.attr_u8, BOND_MODES),
                                          ('miimon', IFLA_BOND_MIIMON, _rtnl.attr_u32, None),
                                          ('lacp_rate', IFLA_BOND_AD_LACP_RATE, _rtnl.attr_u8, LACP_RATES),
                                          ('xmit_hash_policy', IFLA_BOND_XMIT_HASH_POLICY, _rtnl.attr_u8, XMIT_HASH)):
                if name in opts:
                    out.append(enc(nla, _norm.number(names, opts[name]) if names else opts[name]))
        elif kind == 'vrf' and 'table' in opts:
            out.append(_rtnl.attr_u32(IFLA_VRF_TABLE, opts['table']))
        return out

    def _lacks_vlan_filtering(self):
        """Whether the kernel lacks bridge VLAN filtering: a bridge of the last gather shows it, or (none does) the
        kernel's configuration says so (_kconfig: only on evidence)."""
        if self._no_vlan_filtering:
            return True
        if self._vlan_filtering_seen:
            return False
        from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig  # pylint: disable=import-outside-toplevel

        return bool(_kconfig.kernel().lacks('CONFIG_BRIDGE_VLAN_FILTERING'))

    def repair(self, ctx, op):
        """What to send back after a refused change: the kernel applies a change request part by part (the kind's
        options, then the address, MTU, alias, flags, master ... in do_setlink) and keeps what it applied before the
        part it refuses (a master the device cannot join, EBUSY, left its new MTU and alias). The device is read
        again, and each field the change asked for that it now has is set back to what it was."""
        if op.action != 'change':
            return []  # (a create is undone by the kernel itself; a delete is all or nothing)
        saved = (self._have, self._no_vlan_filtering, self._vlan_filtering_seen, self._elsewhere, self._mtu_range,
                 self._perm, self._fom, self._active, self._arp)
        try:
            now = dict((o['ifname'], o) for o in self.gather(ctx)).get(op.before['ifname'])
        finally:
            (self._have, self._no_vlan_filtering, self._vlan_filtering_seen, self._elsewhere,
             self._mtu_range, self._perm, self._fom, self._active, self._arp) = saved
        if now is None:
            return []
        back = dict(now)
        for field in sorted(set(op.before) | set(op.after)):
            if op.before.get(field) == op.after.get(field) or now.get(field) == op.before.get(field):
                continue  # (not asked for, or not applied)
            if op.before.get(field) is None:
                back.pop(field, None)
            else:
                back[field] = op.before[field]
        return [Op('change', now, self.shape(back))] if back != now else []

    def error_field(self, op):
        if op.action == 'add':
            return 'kind'
        return super(Link, self).error_field(op)

    def refine_error(self, op, error):
        return self._explain(error, op)

    @staticmethod
    def _explain(e, op):
        """A clear message when the kernel lacks the kind or the feature."""
        obj = op.obj
        kind = obj.get('kind')
        if e.code == 95 and op.action == 'change' and \
                set(op.before.get('altnames') or ()) != set(op.after.get('altnames') or ()):
            # (a kernel before 5.5 knows no RTM_NEWLINKPROP)
            e.msg += '; alternative names (altnames) need Linux 5.5 or later'
            return e
        if e.code == 16 and op.action == 'add' and kind in ('macvlan', 'ipvlan'):  # EBUSY
            # (the lower device has a receive handler of another kind: it is a bridge or bond port, or the other
            # kind of the two sits on it already)
            e.field = '%s.link' % kind
            e.msg += ('; the lower device %s is taken by another receive handler: a %s cannot sit on a bridge or '
                      'bond port' % (_get(obj, kind + '.link'), kind))
            return e
        if e.code != 95 or kind not in KINDS:  # EOPNOTSUPP
            return e
        if op.action == 'add' and (e.extack or '').lower().startswith('unknown device type'):
            from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig  # pylint: disable=import-outside-toplevel

            e.msg = _kconfig.lacks_text('link', kind)
            e.field = 'kind'
        elif kind == 'bridge' and any(_get(obj, 'bridge.' + f) not in (None, NESTED_DEFAULTS['bridge'][f])
                                      for f in ('vlan_filtering', 'vlan_protocol', 'vlan_default_pvid')):
            e.msg = 'the kernel lacks bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)'
            e.field = 'bridge.vlan_filtering'
        return e

    def _joins_bond(self, op):
        master = op.after.get('master')
        return bool(master) and master != (op.before or {}).get('master') and \
            (self._lookup(master) or {}).get('kind') == 'bond'

    def render(self, ctx, op):
        import shlex

        obj = op.obj
        if op.action == 'delete':
            return [ctx.cmd('ip', 'link', 'del', obj['ifname'])]
        if op.action == 'add' and obj.get('altnames'):
            # (the add of a device with altnames: state rendered, or a rollback's add of a deleted device; a plan
            # adds them by a step of their own, _altname_steps)
            bare = dict((k, v) for k, v in obj.items() if k != 'altnames')
            return self.render(ctx, Op('add', None, bare)) + self.render(ctx, Op('change', bare, obj))
        if op.action == 'change' and set(op.before.get('altnames') or ()) != set(obj.get('altnames') or ()):
            gone, came = self._altname_change(op)
            return [ctx.cmd('ip', 'link', 'property', verb, 'dev', obj['ifname'],
                            *[w for n in names for w in ('altname', shlex.quote(n))])
                    for verb, names in (('del', gone), ('add', came)) if names]
        old = op.before if op.before is not None else self.defaults(obj)
        words = []
        kind = obj.get('kind')
        opts = self._kind_changes(obj, op.before) if kind in KINDS else {}
        lower = opts.pop('link', None) if kind in ('macvlan', 'ipvlan', 'vlan') else None
        if lower:
            words += ['link', lower]
        for field, word in (('address', 'address'), ('mtu', 'mtu'), ('txqlen', 'txqueuelen')):
            if field in obj and obj[field] != old.get(field):
                words += [word, obj[field]]
        later = []
        if obj.get('alias') != old.get('alias'):
            alias = ['alias', shlex.quote(obj.get('alias', ''))]
            if op.action == 'add':  # on create, the kernel ignores the alias
                later = [ctx.cmd('ip', 'link', 'set', obj['ifname'], *alias)]
            else:
                words += alias
        if obj.get('master') != old.get('master'):
            words += ['master', obj['master']] if obj.get('master') else ['nomaster']
        first = []
        if self._joins_bond(op):
            if op.before is not None and op.before.get('state') == 'up':
                first = [ctx.cmd('ip', 'link', 'set', obj['ifname'], 'down')]
        elif obj.get('state') != old.get('state', 'down'):
            words.append(obj.get('state', 'down'))
        if op.before is None or opts:
            words += ['type', kind] + self._render_kind(kind, obj.get(kind) or {}, opts, op.before is None)
        if op.action == 'add':
            return [ctx.cmd('ip', 'link', 'add', obj['ifname'], *words)] + later
        return first + [ctx.cmd('ip', 'link', 'set', obj['ifname'], *words)] if words else first

    @staticmethod
    def _render_kind(kind, d, opts, add):
        out = []
        if kind == 'veth' and 'peer' in opts:
            out += ['peer', 'name', opts['peer']]
        elif kind == 'vxlan':
            if 'id' in opts:
                out += ['id', opts['id']]
            for name in ('local', 'remote', 'group', 'dev'):
                if name in opts:
                    out += [name, opts[name]]
            if add or 'dstport' in opts:
                out += ['dstport', d.get('dstport', VXLAN_DEFAULT_PORT)]
            if add or 'learning' in opts:
                out.append('learning' if d.get('learning', True) else 'nolearning')
            if opts.get('external'):
                out.append('external')
            if opts.get('vnifilter'):
                out.append('vnifilter')
        elif kind == 'bridge':
            for name in ('stp_state', 'forward_delay', 'vlan_filtering', 'vlan_protocol', 'vlan_default_pvid',
                         'mcast_snooping'):
                if name in opts:
                    v = opts[name]
                    out += [name, int(v) if isinstance(v, bool) else v]
        elif kind in ('macvlan', 'ipvlan') and 'mode' in opts:
            out += ['mode', opts['mode']]
        elif kind == 'vlan':
            if 'protocol' in opts:
                out += ['protocol', opts['protocol']]
            if 'id' in opts:
                out += ['id', opts['id']]
        elif kind == 'bond':
            for name in ('mode', 'miimon', 'lacp_rate', 'xmit_hash_policy'):
                if name in opts:
                    out += [name, opts[name]]
        elif kind == 'vrf' and 'table' in opts:
            out += ['table', opts['table']]
        return out
