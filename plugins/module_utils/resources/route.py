# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 and IPv6 routes (RTM_NEWROUTE / RTM_DELROUTE).

A route is identified by (table, family, dst, metric).  ``family`` is part of
the key because ``default`` names both the IPv4 and the IPv6 default route.
The kernel keeps at most one IPv6 route per (table, dst, metric): several
gateways for one IPv6 destination exist only as one multipath route, which
this resource describes as one object with ``nexthops``.  IPv4 has the same
shape here (a second route with the same key would need ``ip route append``,
which this resource does not make).

Routes the kernel owns (``proto kernel``/``ra``/``redirect``/``dhcp``, the
local/broadcast/multicast/anycast routes of table ``local``, IPv6 ``fe80::/64``
and ``ff00::/8``, and the route cache) are left out of ``gathered``/``before``/
``after`` and are never changed or deleted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.edgenet.linux.plugins.module_utils import _norm
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_INET, AF_INET6 = 2, 10
RTM_F_CLONED = 0x200
RTNH_F_ONLINK = 4
RT_SCOPE_NOWHERE = 255
IP6_RT_PRIO_USER = 1024
# rtm_type values (linux/rtnetlink.h) as iproute2 prints them
TYPES = {1: 'unicast', 2: 'local', 3: 'broadcast', 4: 'anycast', 5: 'multicast', 6: 'blackhole',
         7: 'unreachable', 8: 'prohibit', 9: 'throw', 10: 'nat', 11: 'xresolve'}
SETTABLE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'local']
KERNEL_PROTOCOLS = ('kernel', 'ra', 'redirect', 'dhcp')
KERNEL_LOCAL_TYPES = ('local', 'broadcast', 'anycast', 'multicast')
V6_KERNEL_NETS = (ipaddress.ip_network('fe80::/64'), ipaddress.ip_network('ff00::/8'))
FIELD_ORDER = ('dst', 'family', 'type', 'gateway', 'dev', 'onlink', 'nexthops', 'table', 'metric', 'protocol',
               'scope', 'prefsrc', 'mtu')


def _network(dst, family):
    if dst == 'default':
        return ipaddress.ip_network('0.0.0.0/0' if family == 4 else '::/0')
    return ipaddress.ip_network(dst)


class Route(Resource):
    name = 'route'
    keys = ('table', 'family', 'dst', 'metric')
    required = ('dst',)
    options = {
        'dst': {'type': 'str'},
        'family': {'type': 'int', 'choices': [4, 6]},
        'type': {'type': 'str', 'choices': SETTABLE_TYPES},
        'gateway': {'type': 'str'},
        'dev': {'type': 'str'},
        'onlink': {'type': 'bool'},
        'nexthops': {'type': 'list', 'elements': 'dict', 'options': {
            'gateway': {'type': 'str'},
            'dev': {'type': 'str', 'required': True},
            'weight': {'type': 'int'},
            'onlink': {'type': 'bool'},
        }},
        'table': {'type': 'raw'},
        'metric': {'type': 'int'},
        'protocol': {'type': 'raw'},
        'scope': {'type': 'raw'},
        'prefsrc': {'type': 'str', 'aliases': ['src']},
        'mtu': {'type': 'int'},
    }
    scope_options = {
        'table': {'type': 'raw'},
        'family': {'type': 'int', 'choices': [4, 6]},
    }
    # the kernel picks the device of a gateway route given without one
    volatile = ('dev',)

    def __init__(self):
        self._hidden = {}  # key -> kernel-owned route left out of gather
        self._all = []     # every route gathered, hidden ones too (device lookup)

    # -- description ---------------------------------------------------------
    def _scope_params(self, ctx):
        table = ctx.params.get('table')
        return (_norm.table(table, 'table') if table is not None else None), ctx.params.get('family')

    def normalize(self, item, ctx):
        obj = dict(item)
        obj.pop('src', None)  # the alias of prefsrc: AnsibleModule keeps both names
        families = {}  # field -> family, to report the field that disagrees

        dst = str(obj.get('dst', '')).strip()
        if 'dst' not in obj:
            pass  # state=deleted selects by any fields
        elif dst in ('default', '0.0.0.0/0', '::/0', '0/0'):
            obj['dst'] = 'default'
            if dst != 'default' and dst != '0/0':
                families['dst'] = _norm.family(dst)
        else:
            obj['dst'] = _norm.prefix(dst, 'dst', strict=True)
            families['dst'] = _norm.family(obj['dst'])
            if obj['dst'].endswith('/0'):
                obj['dst'] = 'default'
        if 'gateway' in obj:
            obj['gateway'] = _norm.ip(obj['gateway'], 'gateway')
            families['gateway'] = _norm.family(obj['gateway'])
        if 'prefsrc' in obj:
            obj['prefsrc'] = _norm.ip(obj['prefsrc'], 'prefsrc')
            families['prefsrc'] = _norm.family(obj['prefsrc'])
        if 'nexthops' in obj:
            hops = []
            for i, nh in enumerate(obj['nexthops']):
                field = 'nexthops[%d]' % i
                nh = dict((k, v) for k, v in nh.items() if v is not None)
                out = {'dev': nh['dev']}
                if 'gateway' in nh:
                    out['gateway'] = _norm.ip(nh['gateway'], field + '.gateway')
                    families[field + '.gateway'] = _norm.family(out['gateway'])
                out['weight'] = _norm.int_range(nh.get('weight', 1), 1, 256, field + '.weight')
                out['onlink'] = bool(nh.get('onlink', False))
                hops.append(out)
            if len(hops) < 2:
                raise EdgenetError('a multipath route needs at least 2 nexthops; use gateway and dev for one',
                                   field='nexthops')
            for f in ('gateway', 'dev', 'onlink'):
                if f in obj:
                    raise EdgenetError("'%s' cannot be combined with nexthops (give it per nexthop)" % f,
                                       field=f)
            obj['nexthops'] = hops
            if len(set(self._hop_key(h) for h in hops)) != len(hops):
                raise EdgenetError('the same nexthop is listed twice', field='nexthops')

        # the family: given, or derived from the addresses (dst first)
        fam = obj.get('family')
        scope_table, scope_family = self._scope_params(ctx)
        source = 'the family' if fam is not None else None
        for field, f in families.items():
            if fam is None:
                fam, source = f, '%s %s' % (field, obj.get(field, ''))
            elif f != fam:
                what = source
                raise EdgenetError('%s is IPv%d but %s is IPv%d' % (field, f, what, fam), field=field)
        if fam is None and scope_family:
            fam = scope_family
        if fam is not None:
            obj['family'] = fam
            if scope_family and fam != scope_family:
                raise EdgenetError('the route is IPv%d but the module acts only on IPv%d (option family)'
                                   % (fam, scope_family), field='family')

        if 'table' in obj:
            obj['table'] = _norm.table(obj['table'], 'table')
            if scope_table is not None and obj['table'] != scope_table:
                raise EdgenetError('the route is in table %s but the module acts only on table %s (option table)'
                                   % (obj['table'], scope_table), field='table')
        elif scope_table is not None:
            obj['table'] = scope_table
        if 'metric' in obj:
            obj['metric'] = _norm.int_range(obj['metric'], 0, 2 ** 32 - 1, 'metric')
            if obj['metric'] == 0 and fam == 6:
                obj['metric'] = IP6_RT_PRIO_USER  # the kernel turns IPv6 metric 0 into 1024
        if 'protocol' in obj:
            obj['protocol'] = _norm.lookup(obj['protocol'], _norm.PROTOCOLS, 'protocol', 'protocol')
            if obj['protocol'] in ('unspec', 0):
                raise EdgenetError("protocol 'unspec' (0) cannot be set", field='protocol')
        if 'scope' in obj:
            obj['scope'] = _norm.lookup(obj['scope'], _norm.SCOPES, 'scope', 'scope')
            if fam == 6 and obj['scope'] != 'global':
                raise EdgenetError('IPv6 routes have no scope (the kernel reports global)', field='scope')
        if 'mtu' in obj:
            obj['mtu'] = _norm.int_range(obj['mtu'], 68, 65535, 'mtu')
        rtype = obj.get('type', 'unicast')
        if rtype in ('blackhole', 'unreachable', 'prohibit'):
            for f in ('gateway', 'dev', 'nexthops', 'onlink', 'prefsrc'):
                if obj.get(f):
                    raise EdgenetError("a %s route has no '%s'" % (rtype, f), field=f)
        if rtype == 'local' and ('gateway' in obj or 'nexthops' in obj):
            raise EdgenetError('a local route has no gateway', field='gateway' if 'gateway' in obj else 'nexthops')
        if obj.get('onlink') and 'gateway' not in obj:
            raise EdgenetError('onlink needs a gateway', field='onlink')
        return obj

    @staticmethod
    def _hop_key(nh):
        gw = nh.get('gateway')
        return (nh.get('dev', ''), int(ipaddress.ip_address(gw)) if gw else -1)

    def defaults(self, obj):
        fam = obj.get('family', 4)
        rtype = obj.get('type', 'unicast')
        if fam == 6:
            scope = 'global'
        elif rtype == 'local':
            scope = 'host'
        elif rtype == 'unicast' and 'gateway' not in obj and 'nexthops' not in obj:
            scope = 'link'
        else:
            scope = 'global'
        return {'family': fam, 'table': 'main', 'metric': IP6_RT_PRIO_USER if fam == 6 else 0,
                'type': 'unicast', 'protocol': 'boot', 'scope': scope, 'onlink': False}

    def label(self, obj):
        fam = obj.get('family')
        dst = obj.get('dst', '?')
        if dst == 'default' and fam:
            dst = 'default (IPv%d)' % fam
        return 'route %s table %s metric %s' % (dst, obj.get('table', 'main'),
                                                obj.get('metric', '?'))

    def shape(self, obj):
        out = dict((k, obj[k]) for k in FIELD_ORDER if k in obj)
        out.update((k, v) for k, v in obj.items() if k not in out)
        return out

    def sort_key(self, obj):
        table = obj.get('table', 'main')
        fam = obj.get('family', 4)
        dst = _network(obj.get('dst', 'default'), fam)
        return ('%010d' % table if isinstance(table, int) else table, fam, int(dst.network_address),
                dst.prefixlen, obj.get('metric', 0))

    def rank(self, obj):
        # device routes before the gateway routes that may need them
        return 1 if obj.get('gateway') or obj.get('nexthops') else 0

    def in_scope(self, obj, ctx):
        table, family = self._scope_params(ctx)
        return (table is None or obj.get('table') == table) and (family is None or obj.get('family') == family)

    def protected(self, obj):
        if obj.get('protocol') in KERNEL_PROTOCOLS:
            return True
        if obj.get('table') == 'local' and obj.get('type') in KERNEL_LOCAL_TYPES:
            return True
        if obj.get('family') == 6 and obj.get('dst') not in (None, 'default'):
            net = ipaddress.ip_network(obj['dst'])
            return any(net.subnet_of(k) for k in V6_KERNEL_NETS)
        return False

    def reconcile(self, have, target):
        # merged keeps unnamed attributes; a single-path field given for a multipath route (or the other way
        # round) replaces the whole next-hop description.
        if 'nexthops' in target and ('gateway' in target or 'dev' in target):
            if 'nexthops' in have:
                target.pop('nexthops')
            else:
                for f in ('gateway', 'dev', 'onlink'):
                    target.pop(f, None)
                target['onlink'] = False
        rtype = target.get('type', 'unicast')
        if rtype in ('blackhole', 'unreachable', 'prohibit'):
            for f in ('gateway', 'dev', 'nexthops', 'prefsrc'):
                target.pop(f, None)
            target['onlink'] = False
        elif rtype == 'local':
            target.pop('gateway', None)
            target.pop('nexthops', None)
            target['onlink'] = False
        # a scope that was iproute2's derived default follows the route's new shape
        if target.get('scope') == have.get('scope') == self.defaults(have)['scope']:
            target['scope'] = self.defaults(target)['scope']
        return target

    def validate(self, ctx, plan, after):
        predicted = dict((self.key(o), o) for o in after)
        for op in plan:
            if op.action == 'delete':
                continue
            obj = op.after
            label = self.label(obj)
            if obj.get('dev'):
                ctx.nl.ifindex(obj['dev'], obj=label, field='dev')
            for i, nh in enumerate(obj.get('nexthops', [])):
                ctx.nl.ifindex(nh['dev'], obj=label, field='nexthops[%d].dev' % i)
            if op.action == 'add' and self.key(obj) in self._hidden:
                owner = self._hidden[self.key(obj)]
                raise EdgenetError('a route with this key is owned by the kernel (protocol %s, type %s) and '
                                   'cannot be replaced; use another metric or table'
                                   % (owner.get('protocol'), owner.get('type')), obj=label, field='dst')
            if obj.get('gateway') and not obj.get('dev'):
                # predict the device the kernel will choose, so check mode shows it
                dev = self._gateway_dev(obj)
                if dev:
                    obj['dev'] = dev
                    if self.key(obj) in predicted:
                        predicted[self.key(obj)]['dev'] = dev

    def _gateway_dev(self, obj):
        gw = ipaddress.ip_address(obj['gateway'])
        for table in (obj.get('table', 'main'), 'main'):
            best = None
            for r in self._all:
                if (r['table'] != table or r['family'] != obj['family'] or r.get('type') != 'unicast'
                        or not r.get('dev') or r.get('gateway') or r.get('nexthops')):
                    continue
                net = _network(r['dst'], r['family'])
                if gw in net and (best is None or net.prefixlen > best[0]):
                    best = (net.prefixlen, r['dev'])
            if best:
                return best[1]
        return None

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        self._hidden, self._all = {}, []
        out = []
        for af in (AF_INET, AF_INET6):
            for msg in nl.dump('route', 'dump', family=af):
                obj = self._from_msg(nl, msg)
                if obj is None:
                    continue
                self._all.append(obj)
                if self.protected(obj):
                    self._hidden[self.key(obj)] = obj
                else:
                    out.append(obj)
        return out

    def _from_msg(self, nl, msg):
        if msg['flags'] & RTM_F_CLONED or msg['family'] not in (AF_INET, AF_INET6):
            return None
        fam = 4 if msg['family'] == AF_INET else 6
        attrs = dict(msg['attrs'])
        table = attrs.get('RTA_TABLE', msg['table'])
        rtype = TYPES.get(msg['type'], msg['type'])
        obj = {
            'dst': 'default' if not msg['dst_len'] else '%s/%d' % (attrs.get('RTA_DST'), msg['dst_len']),
            'family': fam,
            'type': rtype,
            'table': _norm.TABLES.get(table, table),
            'metric': attrs.get('RTA_PRIORITY', 0),
            'protocol': _norm.PROTOCOLS.get(msg['proto'], msg['proto']),
            'scope': _norm.SCOPES.get(msg['scope'], msg['scope']),
            'onlink': bool(msg['flags'] & RTNH_F_ONLINK),
        }
        if obj['dst'] != 'default':
            obj['dst'] = str(ipaddress.ip_network(obj['dst'], strict=False))
        if attrs.get('RTA_GATEWAY'):
            obj['gateway'] = attrs['RTA_GATEWAY']
        # IPv6 blackhole/unreachable/prohibit routes are reported on lo; they have no device
        if attrs.get('RTA_OIF') and rtype not in ('blackhole', 'unreachable', 'prohibit'):
            obj['dev'] = nl.ifname(attrs['RTA_OIF'])
        if attrs.get('RTA_PREFSRC'):
            obj['prefsrc'] = attrs['RTA_PREFSRC']
        metrics = attrs.get('RTA_METRICS')
        if metrics:
            mtu = dict(metrics['attrs']).get('RTAX_MTU')
            if mtu:
                obj['mtu'] = mtu
        if attrs.get('RTA_MULTIPATH'):
            hops = []
            for nh in attrs['RTA_MULTIPATH']:
                nha = dict(nh['attrs'])
                hop = {'dev': nl.ifname(nh['oif']), 'weight': nh['hops'] + 1,
                       'onlink': bool(nh['flags'] & RTNH_F_ONLINK)}
                if nha.get('RTA_GATEWAY'):
                    hop['gateway'] = nha['RTA_GATEWAY']
                hops.append(hop)
            obj['nexthops'] = hops  # in the kernel's order, which is the order they were given in
            obj['onlink'] = False
        return obj

    def _request(self, ctx, obj, full=True):
        fam = obj['family']
        table = _norm.number(_norm.TABLES, obj['table'])
        kwargs = {'family': AF_INET if fam == 4 else AF_INET6, 'table': table, 'priority': obj['metric']}
        if obj['dst'] == 'default':
            kwargs['dst_len'] = 0
        else:
            net = ipaddress.ip_network(obj['dst'])
            kwargs['dst'] = str(net.network_address)
            kwargs['dst_len'] = net.prefixlen
        label = self.label(obj)
        if not full:
            if fam == 4:
                kwargs['scope'] = RT_SCOPE_NOWHERE  # match any scope, as ip route del does
            return kwargs
        kwargs['type'] = obj['type']
        kwargs['proto'] = _norm.number(_norm.PROTOCOLS, obj['protocol'])
        kwargs['scope'] = _norm.number(_norm.SCOPES, obj['scope'])
        if obj.get('gateway'):
            kwargs['gateway'] = obj['gateway']
        if obj.get('dev'):
            kwargs['oif'] = ctx.nl.ifindex(obj['dev'], obj=label, field='dev')
        if obj.get('onlink'):
            kwargs['flags'] = RTNH_F_ONLINK
        if obj.get('prefsrc'):
            kwargs['prefsrc'] = obj['prefsrc']
        if obj.get('mtu'):
            kwargs['metrics'] = {'mtu': obj['mtu']}
        if obj.get('nexthops'):
            hops = []
            for i, nh in enumerate(obj['nexthops']):
                hop = {'oif': ctx.nl.ifindex(nh['dev'], obj=label, field='nexthops[%d].dev' % i),
                       'hops': nh['weight'] - 1, 'flags': RTNH_F_ONLINK if nh.get('onlink') else 0}
                if nh.get('gateway'):
                    hop['gateway'] = nh['gateway']
                hops.append(hop)
            kwargs['multipath'] = hops
        return kwargs

    def apply(self, ctx, op):
        if op.action == 'delete':
            ctx.nl.write(self.label(op.before), 'route', 'del', **self._request(ctx, op.before, full=False))
        elif op.action == 'add':
            ctx.nl.write(self.label(op.after), 'route', 'add', **self._request(ctx, op.after))
        else:
            ctx.nl.write(self.label(op.after), 'route', 'replace', field=','.join(op.changed_fields()),
                         **self._request(ctx, op.after))

    def render(self, ctx, op):
        obj = op.obj
        fam = obj.get('family', 4)
        head = ['-6'] if fam == 6 else []
        defaults = self.defaults(obj)
        table = obj.get('table', 'main')
        if op.action == 'delete':
            words = head + ['route', 'del', obj['dst']]
            if table != 'main':
                words += ['table', table]
            words += ['metric', obj.get('metric', defaults['metric'])]
            return [ctx.cmd('ip', *words)]
        words = head + ['route', 'add' if op.action == 'add' else 'replace']
        if obj.get('type', 'unicast') != 'unicast':
            words.append(obj['type'])
        words.append(obj['dst'])
        if obj.get('gateway'):
            words += ['via', obj['gateway']]
        if obj.get('dev'):
            words += ['dev', obj['dev']]
        if obj.get('onlink'):
            words.append('onlink')
        if table != 'main':
            words += ['table', table]
        if obj.get('metric', defaults['metric']) != defaults['metric']:
            words += ['metric', obj['metric']]
        if obj.get('protocol', 'boot') != 'boot':
            words += ['proto', obj['protocol']]
        if obj.get('scope', defaults['scope']) != defaults['scope']:
            words += ['scope', obj['scope']]
        if obj.get('prefsrc'):
            words += ['src', obj['prefsrc']]
        if obj.get('mtu'):
            words += ['mtu', obj['mtu']]
        for nh in obj.get('nexthops', []):
            words.append('nexthop')
            if nh.get('gateway'):
                words += ['via', nh['gateway']]
            words += ['dev', nh['dev'], 'weight', nh.get('weight', 1)]
            if nh.get('onlink'):
                words.append('onlink')
        return [ctx.cmd('ip', *words)]
