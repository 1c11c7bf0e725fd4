# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 and IPv6 interface addresses (RTM_NEWADDR / RTM_DELADDR).

Unmodelled attributes. A change is a replace (NLM_F_REPLACE), and the kernel takes what the request leaves out
as unset: an IPv4 address loses its metric (IFA_RT_PRIORITY: its prefix route's metric, ``ip address add ... metric
N``) and its IFA_PROTO; an IPv6 address its nodad, home and mngtmpaddr flags (the last one drives the temporary
addresses of privacy extensions) and its IFA_PROTO; an IPv4 address re-added (a delete and an add) its broadcast
address (IFA_BROADCAST, which a replace keeps). So a write of an address the gather read carries over what it
had of these (``Address._extras``, by key; never in the objects: before, after and the diff show the options only),
and ``render`` spells them (a protocol, which iproute2 6.1 has no word for, in a closing comment). A re-add of the
same address (a new label, a secondary put back, a rollback) gets them back too.

The kernel refuses an IPv6 address on a device with IPv6 disabled (``disable_ipv6``) or without IPv6 because its MTU is
below 1280: validate() refuses it first (``Address._refuse_without_ipv6``), from the devices' IFLA_AF_SPEC in one link
dump of the task's namespace, read only when the plan adds an IPv6 address, and only for the devices it adds one to.
Check mode warns and predicts instead: an earlier task of the play may give the device IPv6 (``_rtnl.ipv6_remedy``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_INET, AF_INET6 = 2, 10
IFADDRMSG = struct.Struct('=BBBBI')   # struct ifaddrmsg
CACHEINFO = struct.Struct('=IIII')    # struct ifa_cacheinfo: preferred, valid, cstamp, tstamp
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS, IFA_RT_PRIORITY, IFA_PROTO = (
    1, 2, 3, 4, 6, 8, 9, 11)
FOREVER = 0xFFFFFFFF
IFA_F_SECONDARY = 0x01  # (IPv4; the same bit is IFA_F_TEMPORARY for IPv6)
IFA_F_TEMPORARY = 0x01  # (IPv6: a temporary address of privacy extensions, RFC 8981)
IFA_F_NODAD = 0x02
IFA_F_DADFAILED = 0x08
IFA_F_DEPRECATED = 0x20
IFA_F_PERMANENT = 0x80
IFA_F_NOPREFIXROUTE = 0x200
#: the flags a request sets that the resource does not model, with their iproute2 words: an IPv6 replace clears them
KEPT_FLAGS = ((0x02, 'nodad'), (0x10, 'home'), (0x100, 'mngtmpaddr'))
KEPT_MASK = 0x02 | 0x10 | 0x100
# IFA_PROTO values the kernel sets on addresses it made itself
KERNEL_PROTOS = (1, 2, 3)  # kernel_lo, kernel_ra, kernel_ll
LIFETIME_SLACK = 2  # seconds of clock skew tolerated when comparing lifetimes


def _lifetime(value, field):
    if value is None:
        return None
    if str(value).strip().lower() in ('forever', 'infinity', str(FOREVER)):
        return 'forever'
    return _norm.int_range(value, 0, FOREVER - 1, field)


def _seconds(value):
    return FOREVER if value == 'forever' else value


def _preferred(obj):
    """The preferred lifetime ``obj`` asks for: its own, else its valid lifetime when it gives one (the kernel
    refuses a preferred lifetime longer than the valid one, so a lone valid_lft cannot keep the default forever),
    else None."""
    return obj.get('preferred_lft', obj.get('valid_lft'))


def _uptime_cs():
    with open('/proc/uptime') as f:
        return int(float(f.read().split()[0]) * 100)


class Address(Resource):
    name = 'address'
    bulk = True
    keys = ('dev', 'address')
    duplicate_field = 'address'  # (the field a duplicate key error names)
    required = ('dev', 'address')
    default_keys = ()  # every key is required: normalize_config need not ask defaults() for keys
    device_fields = ('dev',)  # (by an altname too)
    device_options = ('dev',)
    options = {
        'dev': {'type': 'str'},
        'address': {'type': 'str'},
        'peer': {'type': 'str'},
        'scope': {'type': 'str'},
        'label': {'type': 'str'},
        'valid_lft': {'type': 'raw'},
        'preferred_lft': {'type': 'raw'},
        'noprefixroute': {'type': 'bool'},
    }
    scope_options = {'dev': {'type': 'str'}}
    immutable = ('peer', 'scope', 'label')
    supports_parsed = True
    # (two IPv4 point-to-point addresses of one local address and prefix length differ in their peer, which a
    # delete names: ip address del LOCAL peer PEER/LEN)
    held_twice_deletes_one = True

    def __init__(self):
        self._kernel_made = set()  # keys of addresses the kernel made itself (IFA_PROTO, IPv6 temporary addresses)
        self._temporary = set()  # keys of the IPv6 temporary addresses (privacy extensions)
        self._secondary = []  # the IPv4 secondary addresses gathered, in the kernel's order (_keep_secondaries)
        self._gathered4 = []  # every IPv4 address gathered (_check_subnet_scopes)
        self._gathered4_ids = set()
        self._deprecated = {}  # key -> age in seconds, of the addresses whose finite preferred lifetime is over
        self._extras = {}  # key -> (metric, flags, protocol, broadcast) the address has that the resource does not model
        self._dadfailed = set()  # keys of the IPv6 addresses that failed duplicate address detection
        self._named_dadfailed = set()  # those of them the task names (settle), warned of by validate

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        scope_dev = ctx.params.get('dev')
        if scope_dev and obj.get('dev') is not None and obj['dev'] != scope_dev:
            # (the task reads only that device: it could not see the address it would write elsewhere)
            raise EdgenetError('the address is on %s but the module acts only on %s (option dev)'
                               % (obj['dev'], scope_dev), field='dev')
        if 'address' not in obj:  # state=deleted may select by device only
            return obj
        obj['address'] = _norm.interface(item['address'], 'address')
        fam = _norm.family(obj['address'])
        ip = obj['address'].split('/')[0]
        if ip in ('0.0.0.0', '::'):  # (the kernel discards 0.0.0.0 without a word, and refuses ::)
            raise EdgenetError('%s is the unspecified address, not an address of a device' % ip, field='address')
        if fam == 6 and ip.lower().startswith('ff'):
            raise EdgenetError('%s is a multicast address: a device joins a group, it does not hold its address '
                               '(the kernel refuses it)' % ip, field='address')
        if 'peer' in obj:
            obj['peer'] = _norm.ip(item['peer'], 'peer')
            if _norm.family(obj['peer']) != fam:
                raise EdgenetError('peer %s is not of the same family as %s' % (obj['peer'], obj['address']),
                                   field='peer')
            if obj['peer'] == obj['address'].split('/')[0]:
                del obj['peer']  # (a peer that is the address itself is no peer: the kernel shows none)
        if 'scope' in obj:
            obj['scope'] = _norm.lookup_byte(item['scope'], _norm.SCOPES, 'scope', 'scope')
            if fam == 6 and obj['scope'] != self._v6_scope(obj['address']):
                raise EdgenetError('the kernel derives IPv6 address scope from the address (%s here); '
                                   'scope cannot be set' % self._v6_scope(obj['address']), field='scope')
        if 'label' in obj:
            if fam == 6:
                raise EdgenetError('labels exist only for IPv4 addresses', field='label')
            if not obj['label'].startswith(obj.get('dev', '')) or len(obj['label']) > 15:
                raise EdgenetError("label '%s' must start with the device name '%s' and be at most 15 characters"
                                   % (obj['label'], obj['dev']), field='label')
        for field in ('valid_lft', 'preferred_lft'):
            if field in obj:
                obj[field] = _lifetime(obj[field], field)
        if obj.get('valid_lft') == 0:
            raise EdgenetError('valid_lft 0 would expire the address at once (the kernel refuses it); give at least '
                               '1 second, or delete the address', field='valid_lft')
        self._check_lifetimes(obj)
        return obj

    @staticmethod
    def _check_lifetimes(obj, whole=False):
        """Refuse lifetimes the kernel refuses or ignores. ``obj`` is a config element, or (``whole``) an address as
        a task would leave it: then its missing lifetimes are forever (as :meth:`defaults` and :meth:`overlay`
        make them)."""
        valid = obj.get('valid_lft', 'forever' if whole else None)
        preferred = obj.get('preferred_lft', 'forever' if whole else None)
        if preferred is not None and valid is not None and _seconds(preferred) > _seconds(valid):
            raise EdgenetError('preferred_lft %s is longer than valid_lft %s' % (preferred, valid),
                               field='preferred_lft')
        if valid == 'forever' and preferred not in (None, 'forever', 0) and _norm.family(obj['address']) == 4:
            # (an IPv4 address that never expires is permanent to the kernel: of its preferred lifetime only 0
            # applies; any other is neither counted down nor reported, so every run would find forever)
            raise EdgenetError('preferred_lft %s needs a finite valid_lft for an IPv4 address: the kernel ignores '
                               'the preferred lifetime of an IPv4 address that never expires, unless it is 0 '
                               '(deprecated at once)' % preferred, field='preferred_lft')

    @staticmethod
    def _v6_scope(address):
        ip = address.split('/')[0].lower()
        if ip == '::1':
            return 'host'
        if ip.startswith('fe8') or ip.startswith('fe9') or ip.startswith('fea') or ip.startswith('feb'):
            return 'link'
        return 'global'

    def defaults(self, obj):
        fam = _norm.family(obj['address'])
        out = {'valid_lft': 'forever', 'preferred_lft': obj.get('valid_lft', 'forever'), 'noprefixroute': False}
        if fam == 4:
            out['scope'] = 'host' if obj['address'].startswith('127.') else 'global'
            out['label'] = obj.get('dev')
        else:
            out['scope'] = self._v6_scope(obj['address'])
        return out

    def label(self, obj):
        return 'address %s dev %s' % (obj.get('address', '?'), obj.get('dev', '?'))

    def in_scope(self, obj, ctx):
        dev = ctx.params.get('dev')
        return dev is None or obj['dev'] == dev

    def protected(self, obj):
        ip = obj['address']
        return (self.key(obj) in self._kernel_made or obj['dev'] == 'lo' and (ip.startswith('127.') or ip == '::1/128')
                or (_norm.family(ip) == 6 and self._v6_scope(ip) == 'link'))

    def named_protected(self, obj):
        """A link-local IPv6 address that a ``deleted`` element names by dev and address is deleted (the user asked
        for that one; overridden and a selector by device keep it), unless the kernel made it. The others stay,
        with a warning that says why."""
        key = self.key(obj)
        if key in self._temporary:
            return ('it is a temporary address of IPv6 privacy extensions, which the kernel makes and replaces '
                    'itself; state=deleted never deletes it')
        if key in self._kernel_made:
            return 'the kernel made it (its protocol says so); state=deleted never deletes it'
        if obj['dev'] == 'lo':
            return 'it is a loopback address; state=deleted never deletes it'
        return True

    def overlay(self, base, top):
        out = dict(base, **top)
        if 'valid_lft' in top and 'preferred_lft' not in top:
            out['preferred_lft'] = top['valid_lft']  # (as defaults: a lone valid_lft is the preferred one too)
        return out

    def plan_change(self, have, target, ctx):
        # the kernel's replace of an existing IPv4 address sets its lifetimes, metric and protocol, not its flags
        # (inet_rtm_newaddr): noprefixroute changes by a delete and an add, as a new label does
        if have.get('noprefixroute') != target.get('noprefixroute') and ':' not in have['address']:
            return [Op('delete', have, None), Op('add', None, target)]
        return Resource.plan_change(self, have, target, ctx)

    def settle(self, want, obj):
        if self._dadfailed and self.key(obj) in self._dadfailed:
            self._named_dadfailed.add(self.key(obj))
        # A finite lifetime counts down in the kernel; gather reconstructs the configured value from the
        # update timestamp, which is only good to a second or so (jiffies against /proc/uptime).
        for field, w in (('valid_lft', want.get('valid_lft')), ('preferred_lft', _preferred(want))):
            h = obj.get(field)
            if isinstance(h, int) and isinstance(w, int) and abs(h - w) <= LIFETIME_SLACK:
                obj[field] = w
        # A deprecated address reads preferred_lft 0 once its preferred lifetime is over: the one it was given
        # is then any value up to its age, and the one the task gives counts as it when it is one of them.
        age = self._deprecated.get(self.key(obj))
        w = _preferred(want)
        if age is not None and obj.get('preferred_lft') == 0 and isinstance(w, int) and w <= age + LIFETIME_SLACK:
            obj['preferred_lft'] = w
        return obj

    def validate(self, ctx, plan, after):
        for key in sorted(self._named_dadfailed):
            ctx.warn('address %s dev %s failed duplicate address detection: another node on the link has it, and the '
                     'kernel keeps it (flag dadfailed) but does not use it. The module counts it as present; delete it, '
                     'and add it again once the other node no longer has it' % (key[1], key[0]))
        self._named_dadfailed = set()
        for op in plan:
            if op.action != 'delete':
                ctx.nl.ifindex(op.after['dev'], obj=self.label(op.after))
                try:  # (the lifetimes as merged lays them over the address's own, or as the defaults fill them)
                    self._check_lifetimes(op.after, whole=True)
                except EdgenetError as e:
                    e.obj = self.label(op.after)
                    raise
        added6 = dict(((op.after['dev'], op.after['address'].split('/')[0]), op.after) for op in plan
                      if op.action != 'delete' and ':' in op.after['address'])
        if added6:
            first = {}  # device -> the first IPv6 address the plan adds to it (a change is of one the device holds)
            for op in plan:
                if op.action == 'add' and ':' in op.after['address'] and op.after['dev'] not in first:
                    first[op.after['dev']] = op.after
            if first:
                self._refuse_without_ipv6(ctx, first)
            for obj in after:
                x = added6.get((obj['dev'], obj['address'].split('/')[0]))
                if x is not None and obj['address'] != x['address']:
                    # (the kernel refuses the add: EEXIST)
                    raise EdgenetError('the kernel keeps one IPv6 address per device whatever its prefix length, and '
                                       '%s stays on %s; delete it first (state deleted), or use state overridden'
                                       % (obj['address'], obj['dev']), obj=self.label(x), field='address')
        if self._secondary and plan:
            # (the engine's one hook that sees the whole plan before anything is sent: the plan is rewritten in
            # place, so that the commands, check mode, the apply and its rollback all see the same operations;
            # the objects after it are the same, so ``after`` needs no change)
            plan[:] = self._keep_secondaries(plan)
        self._check_subnet_scopes(plan)

    def _refuse_without_ipv6(self, ctx, first):
        """Refuse an IPv6 address on a device whose IPv6 the kernel has disabled (net.ipv6.conf.DEV.disable_ipv6:
        EACCES, "IPv6 is disabled on this device") or removed (an MTU below 1280: EINVAL), before anything is sent;
        the real run failed there and rolled back. Check mode warns instead, and predicts the address added: an
        earlier task of the play may set disable_ipv6 to 0 or raise the MTU (:func:`_rtnl.ipv6_remedy`), and check
        mode runs none. ``first``: ``{device: the first IPv6 address the plan adds to it}``, in the plan's order;
        the devices' IPv6 state is read from one device dump (:func:`_rtnl.ipv6_off`). A device check mode assumes
        an earlier task makes is not there: nothing to check it against. Nor are deletes: the kernel deletes a
        device's IPv6 addresses when it disables or removes its IPv6, and takes none while it is so."""
        off = ctx.nl.ipv6_off(first)
        for dev, obj in first.items():
            why = off.get(dev)
            # (a device without IPv6 whose MTU allows it gets it from the kernel with its first IPv6 address)
            if why is not None and why[0] != _rtnl.IPV6_ABSENT:
                self.refuse_or_warn(ctx, self.label(obj), 'dev', '%s; the kernel refuses an IPv6 address on it (%s)'
                                    % (why[1], 'IPv6 is disabled on this device' if why[0] == _rtnl.IPV6_DISABLED
                                       else 'Invalid argument'), _rtnl.ipv6_remedy(dev, why))

    def refine_error(self, op, error):
        """The kernel refuses an IPv6 address on a device with IPv6 disabled (EACCES, "IPv6 is disabled on this
        device"; :meth:`_refuse_without_ipv6` refuses it first, but the device may change in between): the device is
        the field to blame."""
        obj = op.after
        if obj and ':' in obj['address']:
            return _rtnl.blame_ipv6_disabled(error, obj['dev'], 13)
        return error

    def _check_subnet_scopes(self, plan):
        """Refuse an IPv4 add whose scope is not the one of the addresses its subnet holds when it is sent.

        The kernel gives all addresses of a subnet one scope: it refuses an address of another scope in a subnet
        that holds one (``__inet_insert_ifa``: EINVAL, "ipv4: Invalid scope value"), after the requests before it
        were sent, where check mode had shown it. The plan is walked in its order (with the secondaries that
        :meth:`_keep_secondaries` deletes and adds back) from the addresses the host has."""
        if not any(op.action == 'add' and ':' not in op.after['address'] for op in plan):
            return
        key, held = self.key, {}
        for obj in self._gathered4:
            held.setdefault(self._subnet(obj), {})[key(obj)] = obj
        for op in plan:
            obj = op.obj
            if ':' in obj['address'] or op.action == 'change':  # (a change keeps the scope: it is immutable)
                continue
            members = held.setdefault(self._subnet(obj), {})
            if op.action == 'delete':
                members.pop(key(obj), None)
                continue
            other = next((o for o in members.values() if o.get('scope') != obj.get('scope')), None)
            if other is not None:
                raise EdgenetError(
                    'the kernel gives all addresses of a subnet one scope: %s on %s has scope %s (%s), and the kernel '
                    'refuses this address with scope %s; give it scope %s, or delete %s first' % (
                        other['address'], other['dev'], other.get('scope'),
                        'the host has it' if id(other) in self._gathered4_ids else 'this task adds it before',
                        obj.get('scope'), other.get('scope'), other['address']), obj=self.label(obj), field='scope')
            members[key(obj)] = obj

    @staticmethod
    def _subnet(obj):
        """What makes IPv4 addresses one subnet to the kernel (the primary and its secondaries): the device, the
        prefix length and the network of the address, or of the peer when there is one (``ifa_address``)."""
        local, plen = obj['address'].split('/')
        plen = int(plen)
        return obj['dev'], plen, _norm.addr_int(obj.get('peer') or local) & (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF

    def _keep_secondaries(self, plan):
        """``plan``, with the secondary addresses of each primary IPv4 address it deletes (a delete, or the
        delete and add of a new label, scope or peer) deleted before that address, and added back after it (after
        its add, when it is added again), unless the plan deletes them itself.

        The kernel deletes the secondaries of a primary address with it (``__inet_del_ifa``, unless the
        ``promote_secondaries`` sysctl is set): they were lost, while the commands, check mode and ``after`` showed
        them staying, and a rollback did not bring them back. Deleted first, they are the plan's own operations,
        whatever the sysctl says: the commands show them, and a rollback restores them. The first one added back
        is the primary when the primary itself is not, as the kernel's promotion would make it (the secondaries
        are in the kernel's order). A finite lifetime starts again from the value shown.
        """
        key = self.key
        secondary = set(map(key, self._secondary))
        primaries = [op for op in plan if op.action == 'delete' and ':' not in op.before['address']
                     and key(op.before) not in secondary]
        if not primaries:
            return self._newest_first(plan)
        subnets = {}
        for obj in self._secondary:
            subnets.setdefault(self._subnet(obj), []).append(obj)
        ops_of = {}
        for op in plan:
            ops_of.setdefault(key(op.obj), []).append(op)
        first, then, moved = {}, {}, set()  # id(op) -> the ops before it / after it; ids of the plan's ops that move
        for primary in primaries:
            members = subnets.get(self._subnet(primary.before))
            if not members:
                continue
            again = next((op for op in ops_of.get(key(primary.before), ()) if op.action == 'add'), None)
            deletes, adds = [], []
            for obj in members:
                own = dict((op.action, op) for op in ops_of.get(key(obj), ()))
                if 'delete' in own:  # the plan deletes it (and may add it with a new label, scope or peer)
                    deletes.append(own['delete'])
                    if 'add' in own:
                        adds.append(own['add'])
                else:  # the plan keeps it, or changes it in place: deleted first, it is added back as planned
                    deletes.append(Op('delete', obj, None))
                    adds.append(Op('add', None, own['change'].after if 'change' in own else self.shape(dict(obj))))
                moved.update(id(op) for op in own.values())
            if again is not None and self._subnet(again.after) == self._subnet(primary.before):
                # the kernel refuses an address whose scope is not the one of its subnet (EINVAL): said before
                # anything is sent, naming the change that causes it
                scope = again.after.get('scope')
                other = [op.after for op in adds if op.after.get('scope') != scope]
                if other:
                    them = 'it' if len(other) == 1 else 'them'
                    raise EdgenetError(
                        'the address is deleted and added again with scope %s, and the secondary addresses of its '
                        'subnet with it; the kernel gives all addresses of a subnet one scope, so %s cannot be added '
                        'back: give %s scope %s too, or delete %s' % (
                            scope, ', '.join('%s (scope %s)' % (o['address'], o.get('scope')) for o in other),
                            them, scope, them), obj=self.label(again.after), field='scope')
            first[id(primary)] = deletes
            then.setdefault(id(again) if again is not None else None, []).extend(adds)
        out = []
        for op in plan:
            if id(op) in moved:
                continue
            out.extend(first.get(id(op), ()))
            out.append(op)
            out.extend(then.get(id(op), ()))
        out.extend(then.get(None, ()))
        return self._newest_first(out)

    def _newest_first(self, plan):
        """``plan`` with the deletes of the secondary addresses of each subnet in the reverse of the kernel's order,
        in the places they hold (all before their primary's delete, as before).

        A rollback undoes the plan from its end: the secondaries it adds back then come back in the kernel's
        order, which decides which of them the kernel promotes to primary (it added them newest first, so the
        order and the next primary changed)."""
        key = self.key
        rank = dict((key(obj), i) for i, obj in enumerate(self._secondary))
        slots = {}
        for i, op in enumerate(plan):
            if op.action == 'delete' and key(op.before) in rank:
                slots.setdefault(self._subnet(op.before), []).append(i)
        for places in slots.values():
            if len(places) > 1:
                ops = sorted((plan[i] for i in places), key=lambda op: -rank[key(op.before)])
                for i, op in zip(places, ops):
                    plan[i] = op
        return plan

    # -- kernel I/O (the bulk path: _rtnl) --------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        names = nl.links()[1]
        now = _uptime_cs()
        out = []
        self._secondary = secondary = []
        self._gathered4 = gathered4 = []
        self._deprecated = {}
        self._extras = extras = {}
        self._dadfailed = dadfailed = set()
        for _kind, buf, start, end in nl.rdump(_rtnl.RTM_GETADDR, IFADDRMSG.pack(0, 0, 0, 0, 0), 'addresses'):
            family, plen, hflags, scope, index = IFADDRMSG.unpack_from(buf, start)
            if family not in (AF_INET, AF_INET6):
                continue
            a = _rtnl.attrs(buf, start + IFADDRMSG.size, end)
            get_addr = _rtnl.get_addr
            peer = get_addr(buf, a[IFA_ADDRESS]) if IFA_ADDRESS in a else None
            local = get_addr(buf, a[IFA_LOCAL]) if IFA_LOCAL in a else peer
            flags = _rtnl.get_u32(buf, a[IFA_FLAGS]) if IFA_FLAGS in a else hflags
            obj = {
                'dev': names.get(index) or 'if%d' % index,
                'address': '%s/%d' % (local, plen),
                'scope': _norm.SCOPES.get(scope, scope),
                'noprefixroute': bool(flags & IFA_F_NOPREFIXROUTE),
            }
            if peer and peer != local:
                obj['peer'] = peer
            if family == AF_INET and IFA_LABEL in a:
                obj['label'] = _rtnl.get_str(buf, a[IFA_LABEL])
            preferred, valid, _cstamp, tstamp = (CACHEINFO.unpack_from(buf, a[IFA_CACHEINFO][0]) if IFA_CACHEINFO in a
                                                 else (FOREVER, FOREVER, 0, now))
            elapsed = max(0, now - tstamp) // 100
            obj['valid_lft'] = 'forever' if valid == FOREVER else int(valid + elapsed)
            if preferred == 0:
                # deprecated: the time left is 0 whatever the preferred lifetime was (0, or one now over)
                obj['preferred_lft'] = 0
                self._deprecated[self.key(obj)] = elapsed
            elif preferred == FOREVER:
                # (an IPv4 address that never expires reads forever for both, even when added deprecated:
                # then only its flag tells)
                obj['preferred_lft'] = 0 if flags & IFA_F_DEPRECATED else 'forever'
            else:
                obj['preferred_lft'] = int(preferred + elapsed)
            proto = buf[a[IFA_PROTO][0]] if IFA_PROTO in a else 0
            if proto in KERNEL_PROTOS:
                self._kernel_made.add(self.key(obj))
            elif family == AF_INET6 and flags & IFA_F_TEMPORARY:
                # (a temporary address has the IFA_PROTO of the address it derives from, 0 for one added by hand
                # with mngtmpaddr: the kernel made it all the same, and replaces it when it expires)
                self._kernel_made.add(self.key(obj))
                self._temporary.add(self.key(obj))
            metric = _rtnl.get_u32(buf, a[IFA_RT_PRIORITY]) if IFA_RT_PRIORITY in a else 0
            broadcast = get_addr(buf, a[IFA_BROADCAST]) if IFA_BROADCAST in a and family == AF_INET else None
            if metric or proto or flags & KEPT_MASK or broadcast:
                extras[self.key(obj)] = (metric, flags & KEPT_MASK if family == AF_INET6 else 0, proto, broadcast)
            if flags & IFA_F_DADFAILED and family == AF_INET6:
                dadfailed.add(self.key(obj))
            if family == AF_INET:
                if flags & IFA_F_SECONDARY:
                    secondary.append(obj)
                gathered4.append(obj)
            out.append(obj)
        self._gathered4_ids = set(map(id, gathered4))
        return out

    def encode(self, ctx, op):
        """RTM_NEWADDR (add: create+excl; change: replace) or RTM_DELADDR, as ``ip address`` sends them."""
        obj = op.obj
        local, plen = obj['address'].split('/')
        af, raw = _rtnl.addr_bytes(local)
        index = ctx.nl.links()[0].get(obj['dev']) or ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        peer = _rtnl.addr_bytes(obj['peer'])[1] if obj.get('peer') else raw
        if op.action == 'delete':
            body = IFADDRMSG.pack(af, int(plen), 0, 0, index) + _rtnl.attr(IFA_LOCAL, raw) + _rtnl.attr(IFA_ADDRESS, peer)
            return _rtnl.RTM_DELADDR, _rtnl.DELETE, body
        flags = IFA_F_NOPREFIXROUTE if obj.get('noprefixroute') else 0
        kept = self._extras.get(self.key(obj)) if self._extras else None
        if kept:
            flags |= kept[1]
        scope = _norm.number(_norm.SCOPES, obj.get('scope', 'global'))
        parts = [IFADDRMSG.pack(af, int(plen), flags & 0xff, scope, index), _rtnl.attr(IFA_LOCAL, raw),
                 _rtnl.attr(IFA_ADDRESS, peer)]  # (as ip address sends them: the kernel takes IFA_ADDRESS as the peer)
        if af == AF_INET:
            parts.append(_rtnl.attr_str(IFA_LABEL, obj.get('label', obj['dev'])))
            if kept and kept[3]:
                parts.append(_rtnl.attr(IFA_BROADCAST, _rtnl.addr_bytes(kept[3])[1]))
        parts.append(_rtnl.attr_u32(IFA_FLAGS, flags))
        parts.append(_rtnl.attr(IFA_CACHEINFO, CACHEINFO.pack(_seconds(obj.get('preferred_lft', 'forever')),
                                                              _seconds(obj.get('valid_lft', 'forever')), 0, 0)))
        if kept and kept[0]:
            parts.append(_rtnl.attr_u32(IFA_RT_PRIORITY, kept[0]))
        if kept and kept[2]:
            parts.append(_rtnl.attr_u8(IFA_PROTO, kept[2]))
        return _rtnl.RTM_NEWADDR, _rtnl.ADD if op.action == 'add' else _rtnl.REPLACE, b''.join(parts)

    def render(self, ctx, op):
        obj = op.obj
        local = obj['address']
        words = [local]
        if obj.get('peer'):
            words = [local.split('/')[0], 'peer', '%s/%s' % (obj['peer'], local.split('/')[1])]
        words += ['dev', obj['dev']]
        if op.action == 'delete':
            return [ctx.cmd('ip', 'address', 'del', *words)]
        defaults = self.defaults(obj)
        if obj.get('scope', defaults.get('scope')) != defaults.get('scope'):
            words += ['scope', obj['scope']]
        if obj.get('label') and obj['label'] != obj['dev']:
            words += ['label', obj['label']]
        if obj.get('valid_lft', 'forever') != 'forever' or obj.get('preferred_lft', 'forever') != 'forever':
            words += ['valid_lft', obj.get('valid_lft', 'forever'), 'preferred_lft', obj.get('preferred_lft', 'forever')]
        if obj.get('noprefixroute'):
            words.append('noprefixroute')
        kept = self._extras.get(self.key(obj)) if self._extras else None
        if kept:
            if kept[0]:
                words += ['metric', kept[0]]
            if kept[3]:
                words += ['broadcast', kept[3]]
            words += [word for bit, word in KEPT_FLAGS if kept[1] & bit]
        verb = 'add' if op.action == 'add' else 'replace'
        line = ctx.cmd('ip', 'address', verb, *words)
        if kept and kept[2]:  # (a shell comment: the line still pastes)
            line += " # also keeps the address's protocol %d" % kept[2]
        return [line]

    def parse(self, ctx, data):
        """Read ``ip -j address show`` output."""
        import json

        try:
            links = json.loads(data)
        except ValueError as e:
            raise EdgenetError('running_config is not valid JSON from ip -j address show: %s' % e,
                               field='running_config')
        out = []
        for link in links:
            for a in link.get('addr_info', []):
                fam = 4 if a.get('family') == 'inet' else 6
                obj = {'dev': link['ifname'], 'address': '%s/%s' % (a['local'], a['prefixlen']),
                       # (a scope without a name prints as its number, in a string: gathered shows the number)
                       'scope': _norm.lookup_byte(a.get('scope', 'global'), _norm.SCOPES, 'running_config', 'scope'),
                       'noprefixroute': bool(a.get('noprefixroute'))}
                if fam == 4:
                    obj['label'] = a.get('label', link['ifname'])
                if a.get('address') and a['address'] != a['local']:
                    obj['peer'] = a['address']
                for field, key in (('valid_lft', 'valid_life_time'), ('preferred_lft', 'preferred_life_time')):
                    v = a.get(key, FOREVER)
                    obj[field] = 'forever' if v == FOREVER else v
                if a.get('deprecated'):  # (an IPv4 address that never expires shows forever: the flag tells)
                    obj['preferred_lft'] = 0
                out.append(obj)
        return out
