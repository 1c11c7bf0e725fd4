# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge port settings (IFLA_BRPORT_*), like ``bridge link set``.

One object per bridge port, keyed by ``dev``.  A port is made by enslaving a device (the link module's
``master``); this module only sets its flags, so every port is ``protected``: ``overridden`` and
``deleted`` never touch a port, and a port that ``replaced`` names gets every unnamed flag back to the
kernel's default.

Read from the port's IFLA_LINKINFO slave data (RTM_GETLINK); written as the same slave data with
RTM_NEWLINK (``ip link set DEV type bridge_slave ...``), which the kernel applies like the
IFLA_PROTINFO of ``bridge link set``.

``cost`` (derived by the kernel from the link speed) and ``state`` (moved by the kernel when the link
goes up or down, or by STP) are volatile: ``replaced`` leaves them as they are unless named.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils import _norm
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

#: option -> (pyroute2 slave-data name, ``bridge link set`` keyword, kernel default)
FLAGS = (
    ('learning', 'learning', 'learning', True),
    ('flood', 'unicast_flood', 'flood', True),
    ('mcast_flood', 'mcast_flood', 'mcast_flood', True),
    ('bcast_flood', 'bcast_flood', 'bcast_flood', True),
    ('hairpin', 'mode', 'hairpin', False),
    ('isolated', 'isolated', 'isolated', False),
    ('neigh_suppress', 'neigh_suppress', 'neigh_suppress', False),
    ('vlan_tunnel', 'vlan_tunnel', 'vlan_tunnel', False),
    ('guard', 'guard', 'guard', False),
    ('root_block', 'protect', 'root_block', False),
    ('locked', 'locked', 'locked', False),
    ('mab', 'mab', 'mab', False),
)
STP_STATES = ('disabled', 'listening', 'learning', 'forwarding', 'blocking')
DEFAULT_PRIORITY = 32


class BridgePort(Resource):
    name = 'bridge_port'
    keys = ('dev',)
    required = ('dev',)
    options = dict([('dev', {'type': 'str'})] + [(f[0], {'type': 'bool'}) for f in FLAGS] + [
        ('cost', {'type': 'int'}),
        ('priority', {'type': 'int'}),
        ('state', {'type': 'str', 'choices': list(STP_STATES)}),
    ])
    scope_options = {'master': {'type': 'str'}}
    volatile = ('cost', 'state')
    protected_changes = True

    def __init__(self):
        #: {dev: bridge} of the last gather
        self.ports = {}

    def protected(self, obj):
        return True

    def normalize(self, item, ctx):
        obj = dict(item)
        if 'cost' in obj:
            obj['cost'] = _norm.int_range(obj['cost'], 1, 65535, 'cost')
        if 'priority' in obj:
            obj['priority'] = _norm.int_range(obj['priority'], 0, 63, 'priority')
        if obj.get('mab') and obj.get('learning') is False:
            raise EdgenetError('MAB (mab: true) needs learning: true', field='mab')
        return obj

    def defaults(self, obj):
        out = dict((f[0], f[3]) for f in FLAGS)
        out['priority'] = DEFAULT_PRIORITY
        return out

    def label(self, obj):
        return 'bridge_port %s' % obj.get('dev', '?')

    def in_scope(self, obj, ctx):
        master = ctx.params.get('master')
        return master is None or self.ports.get(obj['dev']) == master

    def validate(self, ctx, plan, after):
        for op in plan:
            obj = op.after
            if obj is None:
                continue
            if op.action == 'add':
                index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
                if index != -1:  # check mode assumes an unknown device is made by an earlier task
                    raise EdgenetError("'%s' is not a bridge port (enslave it first: the link module's master)"
                                       % obj['dev'], obj=self.label(obj), field='dev')
            if obj.get('mab') and not obj.get('learning', True):
                raise EdgenetError('MAB (mab: true) needs learning: true', obj=self.label(obj), field='mab')

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        out = []
        self.ports = {}
        for msg in nl.dump('get_links'):
            info = msg.get_attr('IFLA_LINKINFO')
            if not info or info.get_attr('IFLA_INFO_SLAVE_KIND') != 'bridge':
                continue
            data = info.get_attr('IFLA_INFO_SLAVE_DATA')
            if data is None:
                continue
            dev = msg.get_attr('IFLA_IFNAME')
            self.ports[dev] = nl.ifname(msg.get_attr('IFLA_MASTER'))
            obj = {'dev': dev}
            for option, attr, _word, default in FLAGS:
                value = data.get_attr('IFLA_BRPORT_%s' % attr.upper())
                obj[option] = bool(value) if value is not None else default
            obj['cost'] = data.get_attr('IFLA_BRPORT_COST')
            obj['priority'] = data.get_attr('IFLA_BRPORT_PRIORITY')
            state = data.get_attr('IFLA_BRPORT_STATE')
            if state is not None and state < len(STP_STATES):
                obj['state'] = STP_STATES[state]
            out.append(dict((k, v) for k, v in obj.items() if v is not None))
        return out

    def _changes(self, op):
        before, after = op.before or {}, op.after
        return [(k, after[k]) for k in self.shape(after) if k != 'dev' and before.get(k) != after[k]]

    def apply(self, ctx, op):
        obj = op.after
        if obj is None:
            return  # never deleted
        kwargs = {}
        names = dict((f[0], f[1]) for f in FLAGS)
        changes = self._changes(op)
        # state last: the kernel refuses a state change while STP runs, and the flags should land first
        for field, value in changes:
            if field == 'state':
                kwargs['state'] = STP_STATES.index(value)
            elif field in names:
                kwargs[names[field]] = 1 if value else 0
            else:
                kwargs[field] = value
        if not kwargs:
            return
        index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        ctx.nl.write(self.label(obj), 'brport', 'set', index=index,
                     field=','.join(f for f, _v in changes), **kwargs)

    def render(self, ctx, op):
        if op.after is None:
            return []
        words = dict((f[0], f[2]) for f in FLAGS)
        args = []
        for field, value in self._changes(op):
            if field == 'mab' and not value and op.action == 'add':
                continue  # the default; iproute2 before 6.2 has no mab keyword
            if field in words:
                args += [words[field], 'on' if value else 'off']
            else:
                args += [field, str(value)]
        if not args:
            return []
        return [ctx.cmd('bridge', 'link', 'set', 'dev', op.after['dev'], *args)]
