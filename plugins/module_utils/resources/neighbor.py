# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 and IPv6 neighbour entries (RTM_NEWNEIGH / RTM_DELNEIGH), including proxy entries.

What the module sees ("the view"):

* every proxy entry (``ip neigh show proxy``, a separate kernel table);
* every ``permanent`` entry;
* ``noarp`` entries, except the ones the kernel makes itself: multicast and
  broadcast destinations, entries on ``lo`` and entries with an all-zero or
  all-ones link-layer address (measured in a fresh namespace: IPv6
  ``ff02::...`` entries appear as soon as a device is up; ``0.0.0.0 dev lo``
  and ``X.X.X.255 ... ff:ff:ff:ff:ff:ff`` appear with traffic);
* dynamic entries (reachable, stale, delay, probe) only when they carry a
  protocol (``NDA_PROTOCOL``): the module writes every entry with
  ``protocol static``, so the dynamic entries it made stay visible while
  the ones the kernel learned (no protocol) are never shown, changed or deleted.

A dynamic entry ages: ``reachable`` becomes ``stale`` after the reachable time,
and ``delay``/``probe`` are transient.  gather reports delay/probe as
``stale``, and reconcile() treats reachable and stale as the same wish when the
rest of the entry is unchanged, so a second run stays ``changed=false``.

An entry that a routing daemon learned from elsewhere (``extern_learn``,
NTF_EXT_LEARNED: EVPN, for example) keeps that flag through a write: a
replace without it would clear it (the kernel then ages the entry out as one of
its own). The flag is not modelled (before, after and the diff do not show it);
the command says it.

An entry is written with ``protocol static``, except when a rollback makes
an entry again as the gather read it (the undo of a delete, or of a change):
it then gets the protocol it had, or none.  The kernel cannot clear an
entry's protocol in place (a replace with NDA_PROTOCOL 0, or without it, keeps
the one it has), so the undo of a change of an entry that had none is a delete
and an add without protocol.

The kernel refuses an IPv6 entry on a device with IPv6 disabled
(``disable_ipv6``) or without IPv6 at all (an MTU below 1280 removes it), and
an IPv6 proxy entry on the latter: validate() refuses them first, from the
device's IFLA_AF_SPEC in the link dump of the task's namespace (check mode
warns and predicts instead: an earlier task of the play may give the device
IPv6, as ``_rtnl.ipv6_remedy`` says).

Every add is sent as NLM_F_CREATE|NLM_F_REPLACE (``ip neigh replace``): a
learned entry the module does not show may already hold the same key, and
``ip neigh add`` would then fail with EEXIST.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, OwnOp, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_INET, AF_INET6 = 2, 10
NDMSG = struct.Struct('=BxxxiHBB')   # struct ndmsg
NDA_DST, NDA_LLADDR, NDA_PROTOCOL = 1, 2, 12
NTF_PROXY = 0x08
NTF_EXT_LEARNED = 0x10
NTF_ROUTER = 0x80
RTPROT_STATIC = 4
NUD = {'incomplete': 0x01, 'reachable': 0x02, 'stale': 0x04, 'delay': 0x08, 'probe': 0x10,
       'failed': 0x20, 'noarp': 0x40, 'permanent': 0x80}
STATES = ('permanent', 'noarp', 'reachable', 'stale')
DYNAMIC = ('reachable', 'stale')
IFF_POINTOPOINT, IFF_NOARP = 0x10, 0x80


def _flags(link):
    """The ifi_flags of a device from :meth:`_rtnl.Rtnl.link_info` (its message, from the ifinfomsg on)."""
    return struct.unpack_from('=I', link['buf'], 8)[0]


_LLADDR = re.compile(r'^[0-9a-f]{1,2}([:.-][0-9a-f]{1,2}){0,31}$')


def lladdr(value, field='lladdr'):
    """A link-layer address (6 bytes for Ethernet, other lengths for other links), lower case."""
    v = str(value).strip().lower()
    if not _LLADDR.match(v):
        raise EdgenetError("'%s' is not a link-layer address (hex bytes separated by ':')" % (value,), field=field)
    return ':'.join('%02x' % int(p, 16) for p in re.split('[:.-]', v))


def _state_name(nud):
    """The canonical state of a kernel entry, or None when it is not a settled entry."""
    if nud & NUD['permanent']:
        return 'permanent'
    if nud & NUD['noarp']:
        return 'noarp'
    if nud & NUD['reachable']:
        return 'reachable'
    if nud & (NUD['stale'] | NUD['delay'] | NUD['probe']):
        return 'stale'
    return None  # incomplete, failed, none: no usable entry


def _without_state(obj):
    return dict((k, v) for k, v in obj.items() if k != 'state')


class _MadeAgain(OwnOp):
    """An entry that had no protocol, made again as the gather read it (an add without NDA_PROTOCOL), after the
    rollback of a change of it has deleted it: a replace cannot take back the protocol the change gave it (the
    kernel sets NDA_PROTOCOL when a request carries a non-zero one and otherwise keeps it). The ``restore`` of
    the change (see Neighbor.plan_change); the rollback sends it as its ``follow``."""

    __slots__ = ()

    def __init__(self, res, obj):
        super(_MadeAgain, self).__init__(res, Op('add', None, obj))


class Neighbor(Resource):
    name = 'neighbor'
    bulk = True
    keys = ('dev', 'dst', 'proxy')
    duplicate_field = 'dst'  # (the field a duplicate key error names)
    sparse_keys = True
    required = ('dev', 'dst')
    device_fields = ('dev',)  # (by an altname too)
    device_options = ('dev',)
    options = {
        'dev': {'type': 'str'},
        'dst': {'type': 'str'},
        'proxy': {'type': 'bool'},
        'lladdr': {'type': 'str'},
        'state': {'type': 'str', 'choices': list(STATES)},
        'router': {'type': 'bool'},
    }
    scope_options = {'dev': {'type': 'str'}}
    scope_fields = ('dev',)

    def __init__(self):
        self._learned = set()  # keys of the entries a daemon learned (extern_learn): a write keeps the flag
        self._as_read = {}  # key -> (the entry as gathered, its NDA_PROTOCOL): a rollback makes it again as it was

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        if 'dst' in obj:
            obj['dst'] = _norm.ip(obj['dst'], 'dst')
        if 'lladdr' in obj:
            obj['lladdr'] = lladdr(obj['lladdr'])
        if obj.get('proxy'):
            for field in ('lladdr', 'state', 'router'):
                if field in obj:
                    raise EdgenetError('a proxy entry (proxy: true) has no %s' % field, field=field)
        if obj.get('router') and 'dst' in obj and _norm.family(obj['dst']) == 4:
            raise EdgenetError('the router flag exists only for IPv6 neighbours', field='router')
        if 'dst' in obj:
            ip = ipaddress.ip_address(obj['dst'])
            if ip.is_unspecified:
                raise EdgenetError("'%s' cannot be a neighbour" % obj['dst'], field='dst')
        return obj

    def defaults(self, obj):
        if obj.get('proxy'):
            return {'proxy': True}
        return {'proxy': False, 'state': 'permanent', 'router': False}

    def label(self, obj):
        return 'neighbor %s%s dev %s' % ('proxy ' if obj.get('proxy') else '', obj.get('dst', '?'),
                                         obj.get('dev', '?'))

    def sort_key(self, obj):
        dst = obj.get('dst') or ''
        try:
            ip = ipaddress.ip_address(dst)
            d = (ip.version, ip.packed)
        except ValueError:
            d = (0, dst.encode())
        return (obj.get('dev') or '', bool(obj.get('proxy')), d)

    def in_scope(self, obj, ctx):
        dev = ctx.params.get('dev')
        return dev is None or obj['dev'] == dev

    def reconcile(self, have, target):
        # reachable ages to stale: both are "a dynamic entry with this lladdr".
        if have.get('state') in DYNAMIC and target.get('state') in DYNAMIC:
            if _without_state(have) == _without_state(target):
                target = dict(target, state=have['state'])
        return target

    def plan_change(self, have, target, ctx):
        """A change is one replace. Its undo (a rollback) makes the entry again as it was; for an entry that had no
        protocol, whose change gives it ``protocol static``, that is a delete and an add without NDA_PROTOCOL (the
        kernel has no way to clear it in place): the add is the change's ``restore``, and the undo itself the
        delete (:meth:`_undone_by_delete`)."""
        op = Op('change', have, target)
        was = self._as_read.get((have.get('dev'), have.get('dst'), bool(have.get('proxy'))))
        if was is not None and not was[1] and was[0] == have:
            op.restore = (_MadeAgain(self, was[0]),)
        return [op]

    @staticmethod
    def _undone_by_delete(op):
        """Whether ``op`` is the undo of a change of an entry without a protocol (see :meth:`plan_change`): a
        change whose ``follow`` makes the entry again; it is sent as the delete that comes first."""
        return op.action == 'change' and op.follow and isinstance(op.follow[0], _MadeAgain)

    def _check_complete(self, obj):
        if not obj.get('dst'):
            raise EdgenetError('dst is required to create a neighbour entry', obj=self.label(obj), field='dst')
        if not obj.get('proxy') and not obj.get('lladdr'):
            raise EdgenetError('lladdr is required for a neighbour entry that is not a proxy entry',
                               obj=self.label(obj), field='lladdr')

    def validate(self, ctx, plan, after):
        devices, ipv6_checked = None, set()  # (dev, proxy) of the IPv6 entries whose device was checked
        for op in plan:
            if op.action != 'delete':
                obj = op.after
                self._check_complete(obj)
                ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
                proxy = obj.get('proxy')
                if proxy and ':' not in obj['dst']:
                    continue
                if not proxy and obj['dev'] == 'lo':
                    # the kernel keeps every neighbour of a loopback device under one address (0.0.0.0): the
                    # entry would never be found again, so every run would write it anew
                    raise EdgenetError('a loopback device has no neighbour entries of its own (the kernel files '
                                       'them all under 0.0.0.0)', obj=self.label(obj), field='dev')
                if devices is None:  # (once, and only when there is an entry to check)
                    devices = dict((name, (len(link['address'].split(':')) if link['address'] else 0, _flags(link),
                                           link)) for name, link in ctx.nl.link_info().items())
                # (a device check mode assumes an earlier task makes is not there: nothing to check it against)
                size, flags, link = devices.get(obj['dev'], (None, 0, None))
                if link is not None and ':' in obj['dst'] and (obj['dev'], bool(proxy)) not in ipv6_checked:
                    # (read only for a device with IPv6 entries; the first entry of each kind on it is checked: the
                    # real run refuses there, and check mode warns once)
                    ipv6_checked.add((obj['dev'], bool(proxy)))
                    self._refuse_without_ipv6(ctx, obj, _rtnl.ipv6_off(obj['dev'], link['buf'], 0, len(link['buf'])))
                if proxy:
                    continue
                if size == 0 or flags & IFF_POINTOPOINT and ':' not in obj['dst']:
                    # IPv6 drops the lladdr of a device without link-layer addresses (tun, ...), and IPv4 files every
                    # neighbour of a point-to-point device under 0.0.0.0, as on a loopback device: the entry would
                    # never be found again as written, so every run would write it anew
                    raise EdgenetError(
                        '%s has no neighbour entries of its own (%s): its peer is reached without one'
                        % (obj['dev'], 'a device without link-layer addresses' if size == 0
                           else 'a point-to-point device; the kernel files its IPv4 neighbours under 0.0.0.0'),
                        obj=self.label(obj), field='dev')
                got = len(obj['lladdr'].split(':'))
                if size and got != size:
                    # the kernel cuts a longer address to the device's length (and refuses a shorter one)
                    raise EdgenetError('%s is %d bytes; the link-layer addresses of %s are %d bytes'
                                       % (obj['lladdr'], got, obj['dev'], size), obj=self.label(obj),
                                       field='lladdr')

    def _refuse_without_ipv6(self, ctx, obj, off):
        """The kernel refuses an IPv6 entry on a device with IPv6 disabled ("IPv6 is disabled on this device", also
        when the device has no IPv6 at all), and a proxy entry on one without IPv6 at all (ENOBUFS): refused here,
        before anything is sent, in the words of the real run's refusal (refine_error). Check mode warns instead,
        and predicts the entry made: an earlier task of the play may set disable_ipv6 to 0 or raise the MTU
        (:func:`_rtnl.ipv6_remedy`; not IPv6 off in the kernel, which it refuses too), and check mode runs none.
        ``off``: :func:`_rtnl.ipv6_off` of the entry's device."""
        if off is not None and (off[0] != _rtnl.IPV6_DISABLED or not obj.get('proxy')):
            self.refuse_or_warn(ctx, self.label(obj), 'dev', '%s; the kernel refuses an IPv6 %s on it (%s)'
                                % (off[1], 'proxy entry' if obj.get('proxy') else 'neighbour entry',
                                   'it cannot join the solicited-node multicast group' if obj.get('proxy')
                                   else 'IPv6 is disabled on this device'), _rtnl.ipv6_remedy(obj['dev'], off))

    # -- kernel I/O ----------------------------------------------------------
    @staticmethod
    def _kernel_made(dev, dst, lla):
        ip = ipaddress.ip_address(dst)
        hexes = (lla or '').replace(':', '')
        return (dev == 'lo' or ip.is_multicast or ip.is_unspecified or str(ip) == '255.255.255.255'
                or (hexes != '' and hexes.strip('0') == '') or (hexes != '' and hexes.strip('f') == ''))

    def gather(self, ctx):
        nl = ctx.nl
        names = nl.links()[1]
        out = []
        self._learned = learned = set()
        self._as_read = as_read = {}
        unowned = []  # the noarp entries without a protocol: (dev, dst, lladdr)
        for _kind, buf, start, end in nl.rdump(_rtnl.RTM_GETNEIGH, NDMSG.pack(0, 0, 0, 0, 0), 'neighbours'):
            family, index, nud, flags, _type = NDMSG.unpack_from(buf, start)
            if family not in (AF_INET, AF_INET6) or flags & NTF_PROXY:
                continue
            a = _rtnl.attrs(buf, start + NDMSG.size, end)
            state = _state_name(nud)
            if NDA_DST not in a or state is None:
                continue
            dst = _rtnl.get_addr(buf, a[NDA_DST])
            lla = ':'.join('%02x' % b for b in buf[a[NDA_LLADDR][0]:a[NDA_LLADDR][1]]) if NDA_LLADDR in a else None
            proto = buf[a[NDA_PROTOCOL][0]] if NDA_PROTOCOL in a else 0
            dev = names.get(index) or 'if%d' % index
            if state in DYNAMIC and not proto and not flags & NTF_EXT_LEARNED:
                continue  # learned by the kernel (a daemon's extern_learn entry is the daemon's: kept, flag and all)
            if state == 'noarp' and not proto:
                if self._kernel_made(dev, dst, lla):
                    continue
                if lla:
                    unowned.append((dev, dst, lla))  # (the kernel's on a device with ARP off? after the dump)
            obj = {'dev': dev, 'dst': dst, 'proxy': False, 'state': state, 'router': bool(flags & NTF_ROUTER)}
            if lla:
                obj['lladdr'] = lla
            if flags & NTF_EXT_LEARNED:
                learned.add(self.key(obj))
            as_read[(dev, dst, False)] = (dict(obj), proto)
            out.append(obj)
        for family in (AF_INET, AF_INET6):
            # a proxy dump is a normal dump with exactly NTF_PROXY in the request's flags
            for _kind, buf, start, end in nl.rdump(_rtnl.RTM_GETNEIGH, NDMSG.pack(family, 0, 0, NTF_PROXY, 0),
                                                   'proxy neighbours'):
                _family, index, _nud, flags, _type = NDMSG.unpack_from(buf, start)
                a = _rtnl.attrs(buf, start + NDMSG.size, end)
                if not flags & NTF_PROXY or NDA_DST not in a:
                    continue
                out.append({'dev': names.get(index) or 'if%d' % index, 'dst': _rtnl.get_addr(buf, a[NDA_DST]),
                            'proxy': True})
        if unowned:
            # the noarp entry the kernel makes, with the device's own address, for every address used on a device
            # with ARP off (an entry written by this module has a protocol); the devices are read after the dump
            own = dict((name, link['address']) for name, link in nl.link_info().items() if _flags(link) & IFF_NOARP)
            kernels = set((dev, dst) for dev, dst, lla in unowned if own.get(dev) == lla)
            if kernels:
                out = [o for o in out if o.get('proxy') or (o['dev'], o['dst']) not in kernels]
        return out

    def _protocol(self, obj):
        """The NDA_PROTOCOL to write ``obj`` with: the module's own (static), or, for the entry exactly as the gather
        read it (what a rollback makes again), the protocol it had (0: none)."""
        was = self._as_read.get((obj.get('dev'), obj.get('dst'), bool(obj.get('proxy'))))
        return was[1] if was is not None and was[0] == obj else RTPROT_STATIC

    def refine_error(self, op, error):
        """The kernel refuses an IPv6 entry on a device with IPv6 disabled (EINVAL, "IPv6 is disabled on this
        device"): the device is the field to blame."""
        obj = op.after
        if obj and ':' in obj.get('dst', ''):
            return _rtnl.blame_ipv6_disabled(error, obj['dev'], 22)
        return error

    def encode(self, ctx, op):
        """RTM_NEWNEIGH (always create+replace, see the module doc) or RTM_DELNEIGH."""
        obj = op.obj
        index = ctx.nl.links()[0].get(obj['dev']) or ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        af, raw = _rtnl.addr_bytes(obj['dst'])
        dst = _rtnl.attr(NDA_DST, raw)
        if op.action == 'delete' or self._undone_by_delete(op):
            flags = NTF_PROXY if obj.get('proxy') else 0
            return _rtnl.RTM_DELNEIGH, _rtnl.DELETE, NDMSG.pack(af, index, 0, flags, 0) + dst
        if obj.get('proxy'):
            return _rtnl.RTM_NEWNEIGH, _rtnl.REPLACE, NDMSG.pack(af, index, NUD['permanent'], NTF_PROXY, 0) + dst
        lla = bytes(int(b, 16) for b in obj['lladdr'].split(':'))
        flags = (NTF_ROUTER if obj.get('router') else 0) | (NTF_EXT_LEARNED if self._learned and
                                                            self.key(obj) in self._learned else 0)
        head = NDMSG.pack(af, index, NUD[obj.get('state', 'permanent')], flags, 0)
        proto = self._protocol(obj)
        body = head + dst + _rtnl.attr(NDA_LLADDR, lla) + (_rtnl.attr_u8(NDA_PROTOCOL, proto) if proto else b'')
        return _rtnl.RTM_NEWNEIGH, _rtnl.REPLACE, body

    def render(self, ctx, op):
        obj = op.obj
        if op.action == 'delete' or self._undone_by_delete(op):
            words = ['proxy', obj['dst']] if obj.get('proxy') else [obj['dst']]
            return [ctx.cmd('ip', 'neigh', 'del', *(words + ['dev', obj['dev']]))]
        self._check_complete(obj)
        if obj.get('proxy'):
            return [ctx.cmd('ip', 'neigh', 'replace', 'proxy', obj['dst'], 'dev', obj['dev'])]
        words = [obj['dst'], 'lladdr', obj['lladdr'], 'dev', obj['dev'], 'nud', obj.get('state', 'permanent')]
        if obj.get('router'):
            words.append('router')
        if self._learned and self.key(obj) in self._learned:
            words.append('extern_learn')
        proto = self._protocol(obj)
        if proto:
            words += ['protocol', _norm.PROTOCOLS.get(proto, str(proto))]
        return [ctx.cmd('ip', 'neigh', 'replace', *words)]
