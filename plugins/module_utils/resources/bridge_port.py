# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bridge port settings (IFLA_BRPORT_*), like ``bridge link set``.

One object per bridge port, keyed by ``dev``.  A port is made by enslaving a device (the link module's
``master``); this module only sets its flags, so every port is ``protected``: ``overridden`` and
``deleted`` never touch a port, and a port that ``replaced`` names gets every unnamed flag back to the
kernel's default.

Read from the port's IFLA_LINKINFO slave data (one RTM_GETLINK dump, parsed raw); written as
RTM_SETLINK of family AF_BRIDGE with the changed IFLA_BRPORT_* nested in IFLA_PROTINFO, the request
of ``bridge link set`` (the kernel applies it like the slave data of ``ip link set DEV type
bridge_slave ...``).  Every change of a plan goes out in one pipelined batch (the engine's bulk path).

``cost`` (derived by the kernel from the link speed) and ``state`` (moved by the kernel when the link
goes up or down, or by STP) are volatile: ``replaced`` leaves them as they are unless named.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_BRIDGE = 7
RTM_SETLINK = 19
SETLINK_FLAGS = _rtnl.NLM_F_REQUEST | _rtnl.NLM_F_ACK
IFLA_PROTINFO = 12
IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 4, 5
IFLA_BR_STP_STATE = 5
BR_KERNEL_STP = 1  # IFLA_BR_STP_STATE of a bridge that runs kernel STP (2: user-space STP)
#: the port states that only user-space STP keeps: with STP off, the kernel puts the port back at once
STP_ONLY_STATES = ('listening', 'learning', 'blocking')
IFLA_BRPORT_STATE, IFLA_BRPORT_PRIORITY, IFLA_BRPORT_COST = 1, 2, 3

#: option -> (IFLA_BRPORT_* attribute (u8), ``bridge link set`` keyword, kernel default)
FLAGS = (
    ('learning', 8, 'learning', True),              # IFLA_BRPORT_LEARNING
    ('flood', 9, 'flood', True),                    # IFLA_BRPORT_UNICAST_FLOOD
    ('mcast_flood', 27, 'mcast_flood', True),       # IFLA_BRPORT_MCAST_FLOOD
    ('bcast_flood', 30, 'bcast_flood', True),       # IFLA_BRPORT_BCAST_FLOOD
    ('hairpin', 4, 'hairpin', False),               # IFLA_BRPORT_MODE
    ('isolated', 33, 'isolated', False),            # IFLA_BRPORT_ISOLATED
    ('neigh_suppress', 32, 'neigh_suppress', False),  # IFLA_BRPORT_NEIGH_SUPPRESS
    ('vlan_tunnel', 29, 'vlan_tunnel', False),      # IFLA_BRPORT_VLAN_TUNNEL
    ('guard', 5, 'guard', False),                   # IFLA_BRPORT_GUARD
    ('root_block', 6, 'root_block', False),         # IFLA_BRPORT_PROTECT
    ('locked', 39, 'locked', False),                # IFLA_BRPORT_LOCKED
    ('mab', 40, 'mab', False),                      # IFLA_BRPORT_MAB
)
DEFAULTS = dict((option, default) for option, _kind, _word, default in FLAGS)
SINCE = {'mab': '; Linux 6.2 added it'}
STP_STATES = ('disabled', 'listening', 'learning', 'forwarding', 'blocking')
DEFAULT_PRIORITY = 32


class BridgePort(Resource):
    name = 'bridge_port'
    _lacks = {}  # (gather sets a new one)
    bulk = True
    keys = ('dev',)
    required = ('dev',)
    device_fields = ('dev',)  # (by an altname too)
    device_options = ('master',)
    options = dict([('dev', {'type': 'str'})] + [(f[0], {'type': 'bool'}) for f in FLAGS] + [
        ('cost', {'type': 'int'}),
        ('priority', {'type': 'int'}),
        ('state', {'type': 'str', 'choices': list(STP_STATES)}),
    ])
    scope_options = {'master': {'type': 'str'}}
    volatile = ('cost', 'state')
    protected_changes = True

    def __init__(self):
        #: {dev: bridge} and {dev: ifindex} of the last gather
        self.ports = {}
        self._index = {}
        self._stp = {}  # {bridge: its stp_state (0 off, 1 kernel STP, 2 user-space STP)}, from the same dump

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
                other = self.ports.get(obj['dev'])
                if other is not None and other != ctx.params.get('master'):
                    # (out of the task's scope: a port of another bridge than option master, not a new port)
                    # (check mode: an earlier task of the play, a link task with master, may move it)
                    self.refuse_or_warn(ctx, self.label(obj), 'dev', "'%s' is a port of bridge '%s', not of '%s' "
                                        "(option master: the module acts only on that bridge's ports)"
                                        % (obj['dev'], other, ctx.params['master']), 'moves it')
                elif index != -1:  # (check mode assumes an unknown device is made by an earlier task)
                    # (check mode: an earlier task of the play, a link task with master, may make it a port)
                    self.refuse_or_warn(ctx, self.label(obj), 'dev', "'%s' is not a bridge port (enslave it first: "
                                        "the link module's master)" % obj['dev'], 'makes it one')
            state = obj.get('state')
            bridge = self.ports.get(obj['dev'])
            if state is not None and (op.before or {}).get('state') != state and \
                    self._stp.get(bridge) == BR_KERNEL_STP:
                # (br_set_port_state: kernel STP owns the port states; the kernel refuses any, EBUSY. Check mode: an
                # earlier task of the play, a link task with bridge.stp_state, may turn it off)
                self.refuse_or_warn(ctx, self.label(obj), 'state', "bridge '%s' runs kernel STP (stp_state 1), and "
                                    "the kernel refuses a port's STP state then (EBUSY); turn it off (stp_state "
                                    "false) or leave state out" % bridge, 'changes that')
            if (state in STP_ONLY_STATES and (op.before or {}).get('state') != state
                    and self._stp.get(self.ports.get(obj['dev'])) == 0):
                raise EdgenetError("state %s needs user-space STP on bridge '%s' (stp_state 2): with STP off the "
                                   "kernel puts the port back to forwarding at once"
                                   % (state, self.ports[obj['dev']]), obj=self.label(obj), field='state')
            if obj.get('mab') and not obj.get('learning', True):
                raise EdgenetError('MAB (mab: true) needs learning: true', obj=self.label(obj), field='mab')
            if obj.get('mab') and not obj.get('locked'):
                # (the kernel: "Bridge port must be locked and have learning enabled when MAB is enabled")
                raise EdgenetError('MAB (mab: true) needs a locked port (locked: true)', obj=self.label(obj),
                                   field='locked' if (op.before or {}).get('locked') else 'mab')
            for option in self._lacks.get(obj['dev'], ()):
                if obj.get(option, DEFAULTS[option]) != DEFAULTS[option]:
                    # the kernel ignores an attribute newer than itself without a word: the write would be
                    # answered as done, and every run would change it again
                    raise EdgenetError("this kernel does not have the bridge port option %s (it does not report "
                                       "it for '%s'%s): it would ignore the write without a word"
                                       % (option, obj['dev'], SINCE.get(option, '')), obj=self.label(obj),
                                       field=option)

        plan[:] = [step for op in plan for step in self._steps(op)]

    @staticmethod
    def _steps(op):
        """``op`` as the ops of one request each. A change of the STP state and of other options is two: the kernel
        applies the options of a request before it refuses its state (EBUSY while kernel STP runs, ENETDOWN on a
        port that is down), so in one request a refusal left the options changed and nothing to roll back; as two,
        the rollback undoes the options."""
        before, after = op.before, op.after
        if (op.action == 'change' and 'state' in before and after.get('state') != before['state']
                and any(after.get(k) != before.get(k) for k in after if k not in ('dev', 'state'))):
            options = dict(after, state=before['state'])
            return [Op('change', before, options), Op('change', options, after)]
        return [op]

    # -- kernel I/O (the bulk path: _rtnl) --------------------------------------
    def gather(self, ctx):
        out = []
        names, masters = {}, {}
        self.ports, self._index, self._stp = {}, {}, {}
        self._lacks = {}  # dev: the options of FLAGS its kernel does not report (older than the attribute)
        for _kind, buf, start, end in ctx.nl.rdump(_rtnl.RTM_GETLINK, _rtnl.IFINFOMSG.pack(0, 0, 0, 0, 0), 'devices'):
            index = _rtnl.IFINFOMSG.unpack_from(buf, start)[2]
            a = _rtnl.attrs(buf, start + _rtnl.IFINFOMSG.size, end)
            if _rtnl.IFLA_IFNAME not in a:
                continue
            dev = _rtnl.get_str(buf, a[_rtnl.IFLA_IFNAME])
            names[index] = dev
            if _rtnl.IFLA_LINKINFO not in a:
                continue
            info = _rtnl.attrs(buf, *a[_rtnl.IFLA_LINKINFO])
            if (_rtnl.IFLA_INFO_KIND in info and _rtnl.IFLA_INFO_DATA in info
                    and _rtnl.get_str(buf, info[_rtnl.IFLA_INFO_KIND]) == 'bridge'):
                data = _rtnl.attrs(buf, *info[_rtnl.IFLA_INFO_DATA])
                if IFLA_BR_STP_STATE in data:
                    self._stp[dev] = _rtnl.get_u32(buf, data[IFLA_BR_STP_STATE])
            if (IFLA_INFO_SLAVE_KIND not in info or _rtnl.get_str(buf, info[IFLA_INFO_SLAVE_KIND]) != 'bridge'
                    or IFLA_INFO_SLAVE_DATA not in info):
                continue
            data = _rtnl.attrs(buf, *info[IFLA_INFO_SLAVE_DATA])
            masters[dev] = _rtnl.get_u32(buf, a[_rtnl.IFLA_MASTER]) if _rtnl.IFLA_MASTER in a else 0
            self._index[dev] = index
            obj = {'dev': dev}
            for option, kind, _word, default in FLAGS:
                if kind in data:
                    obj[option] = bool(buf[data[kind][0]])
                else:  # a kernel older than the option (mab: 6.2): shown as the default, which it is
                    obj[option] = default
                    self._lacks.setdefault(dev, []).append(option)
            if IFLA_BRPORT_COST in data:
                obj['cost'] = _rtnl.get_u32(buf, data[IFLA_BRPORT_COST])
            if IFLA_BRPORT_PRIORITY in data:
                obj['priority'] = _rtnl.U16.unpack_from(buf, data[IFLA_BRPORT_PRIORITY][0])[0]
            if IFLA_BRPORT_STATE in data and buf[data[IFLA_BRPORT_STATE][0]] < len(STP_STATES):
                obj['state'] = STP_STATES[buf[data[IFLA_BRPORT_STATE][0]]]
            out.append(obj)
        # the bridges may come after their ports in the dump
        for dev, master in masters.items():
            self.ports[dev] = (names.get(master) or 'if%d' % master) if master else None
        return out

    def _changes(self, op):
        before, after = op.before or {}, op.after
        return [(k, after[k]) for k in self.shape(after) if k != 'dev' and before.get(k) != after[k]]

    def encode(self, ctx, op):
        """RTM_SETLINK of family AF_BRIDGE with the changed IFLA_BRPORT_* in a nested IFLA_PROTINFO, as
        ``bridge link set`` sends it (the kernel applies it like the port's slave data)."""
        obj = op.after
        if obj is None:
            raise EdgenetError('a bridge port is never deleted (unset its master with the link module)',
                               obj=self.label(op.before), field='dev')
        index = self._index.get(obj['dev']) or ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        return setlink(index, self._changes(op))

    def error_field(self, op):
        return ','.join(f for f, _v in self._changes(op)) if op.after is not None else 'dev'

    def refine_error(self, op, error):
        fields = [f for f, _v in self._changes(op)] if op.after is not None else []
        if 'state' in fields and error.code in (errno.EBUSY, errno.ENETDOWN):
            # kernel STP runs (EBUSY), or the bridge or the port is down (ENETDOWN)
            error.field = 'state'
        elif 'mab' in fields and 'mab' in (error.extack or '').lower():
            error.field = 'mab'
        return error

    def render(self, ctx, op):
        if op.after is None:
            return []
        # (mab off on an add: the default; iproute2 before 6.2 has no mab keyword)
        return link_set(ctx, op.after['dev'], [(f, v) for f, v in self._changes(op)
                                               if not (f == 'mab' and not v and op.action == 'add')])


def setlink(index, changes):
    """The request of ``bridge link set`` for the port ``index``: RTM_SETLINK of family AF_BRIDGE with ``changes``
    ([(field, value)] of this module's fields) as IFLA_BRPORT_* in a nested IFLA_PROTINFO (the kernel applies it like
    the port's slave data). Also the link module's, for the settings of a port that joins its bridge again."""
    kinds = dict((f[0], f[1]) for f in FLAGS)
    parts, state = [], b''
    for field, value in changes:
        if field in kinds:
            parts.append(_rtnl.attr_u8(kinds[field], 1 if value else 0))
        elif field == 'cost':
            parts.append(_rtnl.attr_u32(IFLA_BRPORT_COST, value))
        elif field == 'priority':
            parts.append(_rtnl.attr_u16(IFLA_BRPORT_PRIORITY, value))
        elif field == 'state':
            # last: the kernel refuses a state change while STP runs, and the flags should land first
            state = _rtnl.attr_u8(IFLA_BRPORT_STATE, STP_STATES.index(value))
    body = _rtnl.IFINFOMSG.pack(AF_BRIDGE, 0, index, 0, 0) + _rtnl.attr_nested(IFLA_PROTINFO, *(parts + [state]))
    return RTM_SETLINK, SETLINK_FLAGS, body


def link_set(ctx, dev, changes):
    """The ``bridge link set`` command line of :func:`setlink`'s ``changes`` for ``dev`` (none for no change)."""
    words = dict((f[0], f[2]) for f in FLAGS)
    args = []
    for field, value in changes:
        if field in words:
            args += [words[field], 'on' if value else 'off']
        else:
            args += [field, str(value)]
    return [ctx.cmd('bridge', 'link', 'set', 'dev', dev, *args)] if args else []
