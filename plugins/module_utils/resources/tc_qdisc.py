# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Queueing disciplines (RTM_NEWQDISC / RTM_DELQDISC).

A qdisc is identified by its device and its parent: the kernel holds exactly one qdisc per parent
(``root``, ``ingress`` - shared by ingress and clsact - or a class ``X:Y``).  The handle and the kind
cannot be changed in place; a different one replaces the qdisc (delete, then add).

The kernel's own default qdiscs (handle ``0:``: noqueue, pfifo_fast, mq and its per-queue children)
are not gathered: they are not configuration, they come back by themselves when the configured qdisc
is deleted, and so they are never deleted by ``overridden`` or ``deleted``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _tc
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

#: the options each kind accepts
KIND_FIELDS = {
    'htb': ('default', 'r2q'),
    'hfsc': ('default',),
    'drr': (),
    'qfq': (),
    'prio': ('bands', 'priomap'),
    'tbf': ('rate', 'burst', 'limit', 'latency', 'peakrate', 'mtu'),
    'sfq': ('limit', 'perturb', 'quantum'),
    'fq': ('limit', 'flow_limit', 'quantum', 'initial_quantum', 'maxrate'),
    'fq_codel': ('limit', 'flows', 'quantum', 'target', 'interval', 'ecn', 'memory_limit', 'drop_batch'),
    'codel': ('limit', 'target', 'interval', 'ecn'),
    'netem': ('limit', 'delay', 'jitter', 'loss', 'rate'),
    'cake': ('bandwidth', 'diffserv', 'rtt'),
    'pfifo': ('limit',),
    'bfifo': ('limit',),
    'ingress': (),
    'clsact': (),
}
#: kinds that have classes (a prio qdisc makes its bands' own)
CLASSFUL = ('htb', 'hfsc', 'drr', 'qfq', 'prio')
#: kinds with one class of their own, which holds one qdisc (the inner qdisc of a tbf or a netem)
SINGLE_CLASS = ('tbf', 'netem')
#: kinds whose options the kernel cannot change in place (no ``change`` in the qdisc's ops, or no options)
UNCHANGEABLE = ('htb', 'drr', 'qfq', 'sfq', 'ingress', 'clsact')
#: options that only take effect when the qdisc is created: a change replaces the qdisc
CREATE_ONLY = {'fq_codel': ('flows',)}
ALL_FIELDS = ('default', 'r2q', 'bands', 'priomap', 'rate', 'burst', 'limit', 'latency', 'peakrate', 'mtu',
              'perturb', 'quantum', 'flow_limit', 'initial_quantum', 'maxrate', 'flows', 'target', 'interval',
              'ecn', 'memory_limit', 'drop_batch', 'delay', 'jitter', 'loss', 'bandwidth', 'diffserv', 'rtt')
INGRESS_HANDLE = 'ffff:'
PRIO_MAP = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]  # sch_generic.c prio2band, tc's default
DIFFSERV = ('diffserv3', 'diffserv4', 'diffserv8', 'besteffort', 'precedence')  # enum CAKE_DIFFSERV_*
UNLIMITED = 0xFFFFFFFF
CODEL_TARGET, CODEL_INTERVAL = _tc.codel_us(5000), _tc.codel_us(100000)


TOP_PARENTS = ('root', 'ingress')


def _level(parent):
    """The option ``level`` of a qdisc at ``parent`` (normalized): ``top`` on the device, ``child`` in a class."""
    return 'top' if parent in TOP_PARENTS else 'child'


_LINKLAYER_ATM = 2
_PLAIN_SPEC = (_tc.TC_LINKLAYER_ETHERNET, 0, 0)  # the link layer, overhead and mpu tc sends by default


def _spec(rate_bytes, spec):
    """A ``struct tc_ratespec`` with the link layer, overhead and mpu ``spec``."""
    linklayer, overhead, mpu = spec
    return _tc.RATESPEC.pack(0, linklayer, overhead, -1, mpu, min(rate_bytes, 0xFFFFFFFF))


class TcQdisc(_tc.TcApply, Resource):
    name = 'tc_qdisc'
    keys = ('dev', 'parent')
    duplicate_field = 'parent'  # (the field a duplicate key error names)
    required = ('dev', 'kind')
    device_fields = ('dev',)  # (by an altname too)
    device_options = ('dev',)
    options = {
        'dev': {'type': 'str'},
        'parent': {'type': 'str'},
        'handle': {'type': 'str'},
        'kind': {'type': 'str', 'choices': sorted(KIND_FIELDS)},
        'default': {'type': 'str'},
        'r2q': {'type': 'int'},
        'bands': {'type': 'int'},
        'priomap': {'type': 'list', 'elements': 'int'},
        'rate': {'type': 'str'},
        'burst': {'type': 'str'},
        'limit': {'type': 'str'},
        'latency': {'type': 'str'},
        'peakrate': {'type': 'str'},
        'mtu': {'type': 'str', 'aliases': ['minburst']},
        'perturb': {'type': 'int'},
        'quantum': {'type': 'str'},
        'flow_limit': {'type': 'int'},
        'initial_quantum': {'type': 'str'},
        'maxrate': {'type': 'str'},
        'flows': {'type': 'int'},
        'target': {'type': 'str'},
        'interval': {'type': 'str'},
        'ecn': {'type': 'bool'},
        'memory_limit': {'type': 'str'},
        'drop_batch': {'type': 'int'},
        'delay': {'type': 'str'},
        'jitter': {'type': 'str'},
        'loss': {'type': 'str'},
        'bandwidth': {'type': 'str'},
        'diffserv': {'type': 'str', 'choices': list(DIFFSERV)},
        'rtt': {'type': 'str'},
    }
    scope_options = {'dev': {'type': 'str'}, 'level': {'type': 'str', 'choices': ['top', 'child']},
                     'depth': {'type': 'int'}}
    scope_fields = ('dev',)
    module_options = _tc.GONE_OPTION
    immutable = ('kind', 'handle')

    def __init__(self):
        self._devs = {}  # ifname: (txqlen, mtu, hard header length)
        self._ticks = {}  # (key, field): TBF bucket in ticks, as the kernel holds it
        #: key: ((linklayer, overhead, mpu) of the rate, of the peak rate) of a TBF whose ratespecs have others than
        #: tc's defaults (``tbf ... mpu 64 overhead 8 linklayer atm``): not modelled, so a change keeps them
        self._tbf_ratespec = {}
        self._sizes = {}  # (key, field, rate, size): the size to send for a TBF bucket a change keeps
        self._raw = {}  # (key, field, rate, size): the ticks to send instead, for a TBF with its own link layer
        self._merged = {}  # key: the config element a merged TBF change lays over the gathered qdisc
        self._wanted = set()  # the keys of the config's qdiscs
        self._gathered = []  # every qdisc gathered, also those out of the task's scope
        self._outside_memo = None  # (_outside: those of _gathered out of the task's scope)
        self._holders = None  # (dev, handle): the gathered qdisc with that handle (_depth)
        self._gone = set()  # the keys of the qdiscs the plan's deletes take along (_taken_along)
        self._lost = []  # what the plan's deletes take along that a rollback cannot re-create
        #: key: (the kernel's TCA_OPTIONS, the names of what they hold) of a netem or sfq qdisc with options the resource
        #: does not model (a netem's duplicate or corrupt, an sfq's depth...): a write sends them again (_kept_options)
        self._kept = {}
        #: key: the direct queue length of an htb qdisc whose queue is not the kernel's default (the device's
        #: txqueuelen, at least 2; ``tc qdisc add ... htb direct_qlen N``): a re-add sends it again
        self._htb_qlen = {}

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        obj.pop('minburst', None)
        kind = obj.get('kind')
        if 'parent' in obj:
            obj['parent'] = self._parent(obj['parent'], kind)
        elif kind in ('ingress', 'clsact'):
            obj['parent'] = 'ingress'
        level = self._scope(ctx)[0] if ctx is not None else None
        if level is not None:
            # a qdisc without parent is at the root; a state=deleted selector without parent selects any parent
            parent = obj.get('parent', 'root' if kind is not None and ctx.params.get('state') != 'deleted' else None)
            if parent is not None and _level(parent) != level:
                raise EdgenetError('parent %s is not at level %s (top: the device, root or ingress; child: a class)'
                                   % (parent, level), field='parent')
        if 'handle' in obj:
            obj['handle'] = _tc.parse_handle(obj['handle'], 'handle', minor=False) \
                if str(obj['handle']).strip().lower() != INGRESS_HANDLE else INGRESS_HANDLE
        if kind is None:  # state=deleted selects by any subset of fields
            return obj
        if kind in ('ingress', 'clsact'):
            obj.setdefault('handle', INGRESS_HANDLE)
        for field in ALL_FIELDS:
            if field in obj and field not in KIND_FIELDS[kind]:
                raise EdgenetError("a %s qdisc has no option '%s'" % (kind, field), field=field)
        if 'default' in obj:
            try:
                obj['default'] = '%x' % int(str(obj['default']).strip().lower().replace('0x', '', 1), 16)
            except ValueError:
                raise EdgenetError("'%s' is not a class minor number (hex, as in tc: default 10 is class 1:10)"
                                   % obj['default'], field='default')
            if not 0 <= int(obj['default'], 16) <= 0xFFFF:
                raise EdgenetError('default %s is not a class minor number (0 to ffff)' % obj['default'],
                                   field='default')
        if 'r2q' in obj and not 0 < obj['r2q'] < 2 ** 32:
            raise EdgenetError('r2q must be 1 or more', field='r2q')
        getattr(self, '_norm_' + kind, lambda o: None)(obj)
        return obj

    @staticmethod
    def _norm_tbf(obj):
        for field in ('rate', 'peakrate'):
            if field in obj:
                obj[field] = _tc.rate(obj[field], field)  # (2^32 bytes/s or more: TCA_TBF_RATE64, see tc_options)
        for field in ('burst', 'mtu'):
            if field in obj:
                obj[field] = _tc.size(obj[field], field)
                if obj[field] <= 0:
                    raise EdgenetError('%s must be more than 0 bytes' % field, field=field)
        if 'peakrate' in obj and 'mtu' not in obj:
            raise EdgenetError('peakrate needs mtu (the peak bucket, alias minburst), as in tc', field='mtu')
        if 'mtu' in obj and 'peakrate' not in obj:
            raise EdgenetError('mtu is the bucket of peakrate; give peakrate too', field='peakrate')
        if 'peakrate' in obj and 'rate' in obj and obj['peakrate'] <= obj['rate']:
            raise EdgenetError('peakrate %dbit must be above rate %dbit' % (obj['peakrate'], obj['rate']),
                               field='peakrate')
        if 'limit' in obj and 'latency' in obj:
            raise EdgenetError('a tbf qdisc takes one of limit and latency, not both', field='latency')
        if 'latency' in obj:
            if 'rate' not in obj or 'burst' not in obj:
                raise EdgenetError('latency needs rate and burst to compute the limit', field='latency')
            latency = _tc.time(obj.pop('latency'), 'latency')
            # q_tbf.c: the queue holds what the rate drains in the latency, plus the bucket (and, with a
            # peak rate, at most what the peak rate drains in the latency plus its bucket)
            lim = obj['rate'] // 8 * float(latency) / _tc.TIME_UNITS_PER_SEC + obj['burst']
            if 'peakrate' in obj:
                lim = min(lim, obj['peakrate'] // 8 * float(latency) / _tc.TIME_UNITS_PER_SEC + obj['mtu'])
            obj['limit'] = _tc.size(int(lim), 'latency')
        elif 'limit' in obj:
            obj['limit'] = _tc.size(obj['limit'], 'limit')

    @staticmethod
    def _norm_prio(obj):
        if 'bands' in obj and not 2 <= obj['bands'] <= 16:
            raise EdgenetError('bands %d is out of range (2 to 16)' % obj['bands'], field='bands')
        if 'priomap' in obj:
            pmap = list(obj['priomap'])
            if len(pmap) > 16:
                raise EdgenetError('priomap has %d entries; there are 16 priorities' % len(pmap), field='priomap')
            pmap += PRIO_MAP[len(pmap):]
            bands = obj.get('bands', 3)
            bad = [b for b in pmap if not 0 <= b < bands]
            if bad:
                raise EdgenetError('priomap band %d does not exist (bands 0 to %d)' % (bad[0], bands - 1),
                                   field='priomap')
            obj['priomap'] = pmap

    @staticmethod
    def _norm_sfq(obj):
        if 'limit' in obj:
            obj['limit'] = min(_int(obj['limit'], 'limit', 1, 2 ** 32 - 1), 127 * 128)  # sfq_change clamps
        if 'perturb' in obj and not 0 <= obj['perturb'] < 2 ** 31 // 1000:
            raise EdgenetError('perturb (seconds) is out of range', field='perturb')
        if 'quantum' in obj:
            obj['quantum'] = _size_pos(obj['quantum'], 'quantum')

    @staticmethod
    def _norm_fq(obj):
        for field in ('limit',):
            if field in obj:
                obj[field] = _int(obj[field], field, 1, 2 ** 32 - 1)
        if 'flow_limit' in obj and not 0 < obj['flow_limit'] < 2 ** 32:
            raise EdgenetError('flow_limit must be 1 or more', field='flow_limit')
        if 'quantum' in obj:
            obj['quantum'] = _size_pos(obj['quantum'], 'quantum')
            if obj['quantum'] > 1 << 20:
                raise EdgenetError('quantum is above 1 MiB (sch_fq limit)', field='quantum')
        if 'initial_quantum' in obj:
            obj['initial_quantum'] = _tc.size(obj['initial_quantum'], 'initial_quantum')
        if 'maxrate' in obj:
            obj['maxrate'] = _tc.rate(obj['maxrate'], 'maxrate')
            if obj['maxrate'] // 8 >= UNLIMITED:
                del obj['maxrate']  # ~0U is the kernel's "unlimited"

    @staticmethod
    def _norm_codel(obj):
        if 'limit' in obj:
            obj['limit'] = _int(obj['limit'], 'limit', 1, 2 ** 32 - 1)
        for field in ('target', 'interval'):
            if field in obj:
                obj[field] = _tc.codel_us(_tc.time(obj[field], field))
        if 'flows' in obj and not 1 <= obj['flows'] <= 65536:
            raise EdgenetError('flows %d is out of range (1 to 65536)' % obj['flows'], field='flows')
        if 'quantum' in obj:
            obj['quantum'] = max(_size_pos(obj['quantum'], 'quantum'), 256)  # fq_codel_change: at least 256
        if 'memory_limit' in obj:
            obj['memory_limit'] = min(_tc.size(obj['memory_limit'], 'memory_limit'), 1 << 31)
        if 'drop_batch' in obj:
            obj['drop_batch'] = _int(obj['drop_batch'], 'drop_batch', 1, 2 ** 32 - 1)

    _norm_fq_codel = _norm_codel

    @staticmethod
    def _norm_netem(obj):
        if 'limit' in obj:
            obj['limit'] = _int(obj['limit'], 'limit', 0, 2 ** 32 - 1)
        for field in ('delay', 'jitter'):
            if field in obj:
                obj[field] = _us(_tc.time_ns(obj[field], field))
        if 'loss' in obj:
            obj['loss'] = _tc.percent(obj['loss'], 'loss')
        if 'rate' in obj:
            obj['rate'] = 0 if _zero(obj['rate']) else _tc.rate(obj['rate'], 'rate')  # 0: no rate

    @staticmethod
    def _norm_cake(obj):
        if 'bandwidth' in obj:  # 0: unlimited
            obj['bandwidth'] = 0 if _zero(obj['bandwidth']) else _tc.rate(obj['bandwidth'], 'bandwidth')
        if 'rtt' in obj:
            obj['rtt'] = max(_tc.time(obj['rtt'], 'rtt'), 1)

    @staticmethod
    def _norm_fifo(obj):
        if 'limit' in obj:
            obj['limit'] = _int(obj['limit'], 'limit', 1, 2 ** 32 - 1) if obj['kind'] == 'pfifo' else \
                _tc.size(obj['limit'], 'limit')

    _norm_pfifo = _norm_bfifo = _norm_fifo

    @staticmethod
    def _parent(value, kind):
        text = str(value).strip().lower()
        if text in ('root', 'ingress', 'clsact'):
            if text == 'clsact' and kind not in (None, 'clsact'):
                raise EdgenetError('only a clsact qdisc attaches at clsact', field='parent')
            return 'ingress' if text == 'clsact' else text
        if text == 'ffff:fff1':
            return 'ingress'
        if text == 'ffff:ffff':  # TC_H_ROOT written as a handle: tc and the kernel read it as root
            return 'root'
        return _tc.parse_handle(text, 'parent', minor=True)

    def _dev(self, obj):
        return self._devs.get(obj.get('dev'), (1000, 1500, 14))

    def defaults(self, obj):
        kind = obj.get('kind')
        out = {'parent': 'ingress' if kind in ('ingress', 'clsact') else 'root'}
        txqlen, mtu, hh = self._dev(obj)
        pmtu = mtu + hh  # psched_mtu()
        if kind == 'htb':
            out.update({'default': '0', 'r2q': 10})
        elif kind == 'hfsc':
            out['default'] = '0'
        elif kind == 'prio':
            out.update({'bands': 3, 'priomap': list(PRIO_MAP)})
        elif kind == 'sfq':
            out.update({'limit': 127, 'perturb': 0, 'quantum': pmtu})
        elif kind == 'fq':
            out.update({'limit': 10000, 'flow_limit': 100, 'quantum': 2 * pmtu, 'initial_quantum': 10 * pmtu})
        elif kind == 'fq_codel':
            out.update({'limit': 10240, 'flows': 1024, 'quantum': pmtu, 'target': CODEL_TARGET,
                        'interval': CODEL_INTERVAL, 'ecn': True, 'memory_limit': 32 << 20, 'drop_batch': 64})
        elif kind == 'codel':
            out.update({'limit': 1000, 'target': CODEL_TARGET, 'interval': CODEL_INTERVAL, 'ecn': False})
        elif kind == 'netem':
            out.update({'limit': 1000, 'delay': 0, 'jitter': 0, 'loss': 0.0, 'rate': 0})
        elif kind == 'cake':
            out.update({'bandwidth': 0, 'diffserv': 'diffserv3', 'rtt': 100000})
        elif kind == 'pfifo':
            out['limit'] = max(txqlen, 1)
        elif kind == 'bfifo':
            out['limit'] = max(txqlen, 1) * pmtu
        return out

    def label(self, obj):
        return 'qdisc %s %s dev %s parent %s' % (
            obj.get('kind', ''), obj.get('handle', ''), obj.get('dev', '?'), obj.get('parent', 'root'))

    def shape(self, obj):
        order = ('dev', 'parent', 'handle', 'kind') + ALL_FIELDS
        out = dict((k, obj[k]) for k in order if k in obj)
        out.update((k, v) for k, v in obj.items() if k not in out)
        return out

    def in_scope(self, obj, ctx):
        dev = ctx.params.get('dev')
        level, depth = self._scope(ctx)
        return (dev is None or obj['dev'] == dev) and (level is None or _level(obj['parent']) == level) and \
            (depth is None or self._depth(obj) == depth)

    def out_of_scope(self, obj, ctx):
        """Why qdisc ``obj`` is out of the task's scope (``in_scope``): a ``deleted`` selector that matches it alone
        is warned of."""
        dev, (level, depth) = ctx.params.get('dev'), self._scope(ctx)
        if dev is not None and obj['dev'] != dev:
            return 'is on dev %s, and the task acts on dev %s (the option dev)' % (obj['dev'], dev)
        if level is not None and _level(obj['parent']) != level:
            return 'is of level %s, and the task acts on level %s (the option %s)' % (
                _level(obj['parent']), level, 'level' if ctx.params.get('level') else 'depth, which implies level')
        at = self._depth(obj) if depth is not None else None
        if depth is not None and at != depth:
            where = 'in a class of a qdisc the host lacks' if at is None else 'at depth %s' % at
            return 'is %s, and the task acts on depth %d (the option depth)' % (where, depth)
        return None

    @staticmethod
    def _scope(ctx):
        """The options ``level`` and ``depth``, checked: a depth is one of level child."""
        level, depth = ctx.params.get('level'), ctx.params.get('depth')
        if depth is not None:
            if depth < 1:
                raise EdgenetError('depth must be 1 or more (1: a qdisc in a class of a top qdisc), got %d' % depth,
                                   field='depth')
            if level == 'top':
                raise EdgenetError('depth %d is a depth of level child (a qdisc in a class), not of level top' % depth,
                                   field='depth')
            level = 'child'
        return level, depth

    def _depth(self, obj):
        """How deep qdisc ``obj`` is: 0 attached to its device, else one more than the gathered qdisc whose class it is
        attached to; None when the host has no such qdisc."""
        above, whole = self._ancestors(obj)
        return len(above) if whole else None

    def _ancestors(self, obj):
        """The gathered qdiscs above qdisc ``obj``, nearest first, and whether they reach a top qdisc (not when the
        host has no qdisc for a class on the way, or the parents go round)."""
        out, seen = [], set()
        while obj['parent'] not in TOP_PARENTS:
            holder = self._holder(obj)
            if holder is None or id(holder) in seen:
                return out, False
            seen.add(id(holder))
            out.append(holder)
            obj = holder
        return out, True

    def _holder(self, obj):
        """The gathered qdisc whose class qdisc ``obj`` (not a top one) is attached to, or None."""
        if self._holders is None:
            self._holders = dict(((q['dev'], q['handle']), q) for q in self._gathered if q.get('handle'))
        return self._holders.get((obj['dev'], obj['parent'].split(':')[0] + ':'))

    def rank(self, obj):
        return 0 if obj.get('parent') in TOP_PARENTS else 1

    def settle(self, want, obj):
        # TBF's buckets travel as times in ticks: a size that maps to the same ticks is the same bucket
        if want.get('kind') == obj.get('kind') == 'tbf':
            key = self.key(obj)
            for which, field, rfield in ((0, 'burst', 'rate'), (1, 'mtu', 'peakrate')):
                ticks = self._ticks.get((key, field))
                if ticks is None or want.get(rfield) != obj.get(rfield) or not isinstance(want.get(field), int):
                    continue
                spec = self._ratespec(key, which)
                if (_tc.tbf_ticks(want[rfield], want[field], spec) == ticks if spec is not None
                        else _tc.same_bucket(want[rfield], want[field], ticks)):
                    obj[field] = want[field]
        if want.get('kind') == obj.get('kind') == 'netem':
            # tc 6.1 sends netem times as scheduler ticks of whole microseconds (the module sends exact
            # nanoseconds): a qdisc tc made from the same input is the same
            for field in ('delay', 'jitter'):
                if field in want and field in obj and _ns(obj[field]) == tc_ns(_ns(want[field])):
                    obj[field] = want[field]
        if want.get('kind') == obj.get('kind') and want.get('kind') in ('codel', 'fq_codel'):
            # a CoDel time the kernel reports, given again, is the same 1024 ns unit
            for field in ('target', 'interval'):
                if field in want and field in obj and want[field] == _tc.codel_us(obj[field]):
                    obj[field] = want[field]
        return obj

    def overlay(self, base, top):
        self._wanted.add(self.key(top))  # (every config element of a writing state is laid over something)
        if top.get('kind') is not None and base.get('kind') not in (None, top['kind']):
            # merged with another kind: a new qdisc replaces the old one, with the new kind's defaults for what
            # the element leaves out (the old kind's options mean something else, or nothing, to it: a tbf's
            # byte limit is no pfifo's packet limit); it keeps the old one's place and handle
            out = self.defaults(top)
            out.update((k, base[k]) for k in ('dev', 'parent', 'handle') if k in base)
            out.update(top)
            return out
        if base.get('kind') == 'tbf' == top.get('kind'):
            self._merged[self.key(base)] = top  # (which buckets the element leaves out: _keep_buckets)
        return dict(base, **top)

    def reconcile(self, have, target):
        settled = self.settle(target, dict(have))
        for field in ('burst', 'mtu', 'delay', 'jitter', 'target', 'interval'):
            if field in target and field in have and settled.get(field) == target[field] != have[field]:
                target[field] = have[field]  # the same bucket or time: nothing to change
        return target

    def plan_change(self, have, target, ctx):
        kind = target.get('kind')
        if kind == 'tbf' == have.get('kind'):
            self._keep_buckets(have, target)
        if have.get('kind') != kind or have.get('handle') != target.get('handle') or kind in UNCHANGEABLE \
                or any(have.get(f) != target.get(f) for f in CREATE_ONLY.get(kind, ())):
            if have.get('kind') != kind or have.get('handle') != target.get('handle'):
                what = ('kind %s becomes %s' % (have.get('kind'), kind) if have.get('kind') != kind else
                        'handle %s becomes %s' % (have.get('handle'), target.get('handle')))
                ctx.warn('%s: %s; the qdisc is replaced (deleted, then created), which deletes its classes, '
                         'child qdiscs and filters' % (self.label(have), what))
            # (the same kind and handle: validate makes again what the kernel deletes along, and says so)
            return [Op('delete', have, None), Op('add', None, target)]
        return [Op('change', have, target)]

    def _keep_buckets(self, have, target):
        """The TBF buckets a change keeps: one a merged element leaves out, or one given as the same bucket at the
        same rate. The size sent for it is one that makes the kernel keep the bucket exactly (:func:`_tc.tbf_size`;
        at another rate, the same bytes), not the size tc prints for it: that one is cut to whole microseconds,
        and sent back made the bucket smaller with every change of another field. ``target`` gets the size the
        kernel then reports; have's own entry restores the bucket on a rollback."""
        key = self.key(have)
        given = self._merged.pop(key, target)
        for which, field, rfield in ((0, 'burst', 'rate'), (1, 'mtu', 'peakrate')):
            ticks = self._ticks.get((key, field))
            if ticks is None or field not in have or target.get(field) != have[field] \
                    or not have.get(rfield) or not target.get(rfield):
                continue
            same_rate = target[rfield] == have[rfield]
            # (a link layer, overhead or mpu of its own: the kernel sizes a bucket sent as bytes with them)
            spec = self._ratespec(key, which)
            size = _tc.tbf_size(have[rfield], ticks, spec)
            if size is None:
                if same_rate and spec is not None:  # no size makes it: sent as the kernel's own ticks
                    self._raw[(key, field, have[rfield], have[field])] = ticks
                continue  # (not made from a size: at a new rate, the size reported)
            if field in given and not same_rate:
                continue  # a size given for a new rate: as given
            self._sizes[(key, field, have[rfield], have[field])] = size
            if not same_rate:  # the same bytes at the new rate: the size the kernel reports for them
                target[field] = self._bucket(key, which, target[rfield], _tc.tbf_ticks(target[rfield], size, spec))
                self._sizes[(key, field, target[rfield], target[field])] = size

    def _size(self, obj, field, rfield):
        """The size to send for a TBF bucket (:meth:`_keep_buckets`)."""
        if not self._sizes:
            return obj[field]
        return self._sizes.get((self.key(obj), field, obj[rfield], obj[field]), obj[field])

    def validate(self, ctx, plan, after):
        self._gone = set()
        if any(op.action == 'add' for op in plan):  # (a kind this kernel lacks; imported only then)
            from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig  # pylint: disable=import-outside-toplevel

            _kconfig.refuse(plan, 'qdisc', self.label, present=self._gathered)
        depth = ctx.params.get('depth')
        for op in plan:
            if op.action != 'delete':
                self._complete(op.after)
                if depth is not None:
                    self._at_depth(op.after, depth)
                index = ctx.nl.ifindex(op.after['dev'], obj=self.label(op.after))
                if op.action == 'add' and op.after['parent'] not in ('root', 'ingress') and index > 0:
                    self._parent_exists(ctx, index, op.after, plan, after)
        if any(op.action == 'delete' and op.before.get('handle') for op in plan):
            self._taken_along(ctx, plan, after)
        if any(op.action == 'add' for op in plan):  # (after _taken_along: what goes along frees its handle)
            self._handle_free(ctx, plan, after)
            self._one_in_the_class(ctx, plan, after)
        if any(op.action == 'add' for op in plan):
            self._holders_first(plan)
        if sum(op.action == 'delete' for op in plan) > 1:
            self._deepest_first(plan)

    def _deepest_first(self, plan):
        """The delete of a qdisc comes before the delete of any qdisc above it (moved up to right before the first
        of those): the kernel deletes it along with that one, and its own delete then fails (ENOENT), which check
        mode had not shown; and the rollback, which makes the qdisc above again without what the plan deletes
        itself, would not make it again (_taken_along counts on this order)."""
        deleted = dict(((op.before['dev'], op.before['handle']), op) for op in plan
                       if op.action == 'delete' and op.before.get('handle'))
        for _round in range(len(plan) * len(plan)):
            index = dict((id(op), i) for i, op in enumerate(plan))
            early = None
            for i, op in enumerate(plan):
                if op.action != 'delete' or not op.before.get('handle'):
                    continue
                ups = [deleted.get((q['dev'], q['handle'])) for q in self._ancestors(op.before)[0]]
                firsts = [index[id(up)] for up in ups if up is not None and index[id(up)] < i]
                if firsts:
                    early = (i, min(firsts))
                    break
            if early is None:
                return
            plan.insert(early[1], plan.pop(early[0]))

    @staticmethod
    def _holders_first(plan):
        """The add of a qdisc in a class of a qdisc the plan adds too comes after that one (and what is made again
        under it), and so does the change of a qdisc that an add makes again (a qdisc of the tree under a moved or
        replaced one), whatever the order of the config: the kernel refuses it before (ENOENT), which check mode had
        not shown, as the class and the qdisc are there on the host until the plan deletes them (two qdiscs that
        swap places). An op is only ever moved later, right after the add it needs, so that it stays after the
        deletes that free its handle or its class."""
        again = {}  # (dev, handle): the add that makes that qdisc again with what it holds (a move, a replace)
        for op in plan:
            if op.action != 'add':
                continue
            for r in op.follow or ():
                if r.what == 'qdisc' and r.handle:
                    again.setdefault((r.dev, _tc.handle_text(r.handle)), op)
        made = dict(again)  # and the adds of the plan's own qdiscs
        for op in plan:
            if op.action == 'add' and op.after.get('handle'):
                made[(op.after['dev'], op.after['handle'])] = op

        def needs(op):
            obj, out = op.after, []
            if obj['parent'] not in TOP_PARENTS:
                out.append(made.get((obj['dev'], obj['parent'].split(':')[0] + ':')))
            if op.action == 'change' and obj.get('handle'):
                out.append(again.get((obj['dev'], obj['handle'])))
            return [n for n in out if n is not None and n is not op]

        for _round in range(len(plan) * len(plan)):  # (a circle, which the kernel refuses anyway, ends here)
            position = dict((id(op), i) for i, op in enumerate(plan))
            late = next(((i, max(position[id(n)] for n in needs(op))) for i, op in enumerate(plan)
                         if op.action != 'delete' and needs(op) and max(position[id(n)] for n in needs(op)) > i), None)
            if late is None:
                return
            i, j = late
            plan.insert(j, plan.pop(i))  # (right after the add it needs, which moved up one)

    def _outside(self, ctx):
        """The host's qdiscs out of the task's scope (another level, depth or device): the task never writes them."""
        if ctx.params.get('level') is None and ctx.params.get('depth') is None and ctx.params.get('dev') is None:
            return []
        if self._outside_memo is None:  # (computed once a gather: validate's checks ask for it per qdisc)
            self._outside_memo = [q for q in self._gathered if not self.in_scope(q, ctx)]
        return self._outside_memo

    def _at_depth(self, obj, depth):
        """A qdisc of a task with option ``depth`` is attached to a class of a qdisc one less deep, where the host
        has that qdisc (else an earlier task makes it, or the parent check refuses the class)."""
        holder = self._holder(obj)
        if holder is None:
            return
        above, whole = self._ancestors(holder)
        if whole and len(above) != depth - 1:
            raise EdgenetError('class %s is a class of qdisc %s, which is at depth %d, so this qdisc is at depth %d, '
                               'not at depth %d' % (obj['parent'], holder['handle'], len(above), len(above) + 1, depth),
                               obj=self.label(obj), field='parent')

    def _one_in_the_class(self, ctx, plan, after):
        """A qdisc the plan adds in the class of a tbf or netem is the only one there: the kernel answers every
        minor under such a qdisc with its one class, which holds one qdisc, and refuses a second (EEXIST, "NLM_F_REPLACE
        needed to override") after the requests before it were sent. Two of the task's own (the second is blamed),
        or one the task keeps, are refused in check mode too; one the host holds is a check-mode warning (an earlier
        task of the play may delete it)."""
        single = dict(((o['dev'], o['handle'].split(':')[0]), o['kind'])
                      for o in after + [q for q in self._outside(ctx) if self.key(q) not in self._gone]
                      if o.get('kind') in SINGLE_CLASS and o.get('handle'))
        if not single:
            return
        added = set(self.key(op.after) for op in plan if op.action == 'add')
        written = set(self.key(op.after) for op in plan if op.action != 'delete')
        seen = {}
        for op in plan:
            obj = op.after
            if op.action != 'add' or obj['parent'] in ('root', 'ingress'):
                continue
            where = (obj['dev'], obj['parent'].split(':')[0])
            if where not in single:
                continue
            first = seen.setdefault(where, obj)
            if first is not obj:
                other = first
            else:
                # (another add of the plan there is blamed itself, as the second)
                others = [o for o in after if o['dev'] == obj['dev'] and o['parent'] not in ('root', 'ingress')
                          and o['parent'].split(':')[0] == where[1] and o.get('handle') != '0:'
                          and self.key(o) not in added]
                if not others:
                    continue
                other = others[0]
            msg = ('a %s has one class, which holds one qdisc, and qdisc %s (at parent %s) is in it already: the '
                   'kernel refuses a second' % (single[where], other.get('handle'), other['parent']))
            if first is not obj or self.key(other) in written:
                raise EdgenetError(msg, obj=self.label(obj), field='parent')
            self.refuse_or_warn(ctx, self.label(obj), 'parent', msg, 'deletes that qdisc')

    def _handle_free(self, ctx, plan, after):
        """A qdisc the plan adds has a handle no other qdisc of its device has: the kernel refuses a second one
        (EEXIST, or "Cannot move an existing qdisc to a different parent") after the requests before it were sent,
        and check mode had shown it. Two of the task's own (the second is blamed) are refused in check mode too;
        one the host holds is a check-mode warning (an earlier task of the play may delete it)."""
        holders = {}
        for o in after:
            if o.get('handle') and o['handle'] != '0:':
                holders.setdefault((o['dev'], o['handle']), []).append(o)
        # and the host's qdiscs out of the task's scope (another level or depth, or device), which it cannot delete,
        # but for those that go along with a qdisc it deletes
        outside = set()
        for o in self._outside(ctx):
            if o.get('handle') and self.key(o) not in self._gone:
                holders.setdefault((o['dev'], o['handle']), []).append(o)
                outside.add(self.key(o))
        added = set(self.key(op.after) for op in plan if op.action == 'add')
        changed = set(self.key(op.after) for op in plan if op.action == 'change')
        claimed = {}
        for op in plan:
            obj = op.after
            if op.action != 'add' or not obj.get('handle') or obj['handle'] == '0:':
                continue
            where = (obj['dev'], obj['handle'])
            first = claimed.setdefault(where, obj)
            if first is not obj:
                other, static = first, True
            else:
                # (another add of the plan with the handle is blamed itself, as the second)
                others = [o for o in holders.get(where, ()) if self.key(o) not in added]
                if not others:
                    continue
                kept = [o for o in others if self.key(o) in changed]
                other, static = (kept or others)[0], bool(kept)
            msg = ('handle %s is the handle of the qdisc at parent %s of %s too%s, and the kernel refuses a second qdisc '
                   'with it; give another handle' % (obj['handle'], other['parent'], obj['dev'],
                                                     ' (one this task does not act on: another level or depth)'
                                                     if self.key(other) in outside else ''))
            if static:
                raise EdgenetError(msg, obj=self.label(obj), field='handle')
            self.refuse_or_warn(ctx, self.label(obj), 'handle', msg, 'deletes that qdisc')

    def _taken_along(self, ctx, plan, after):
        """The kernel deletes a qdisc with everything under it: its classes, their qdiscs (and so on down) and
        the filters of all of them; a replaced qdisc (delete, then add) comes back empty.

        A qdisc replaced by one of the same kind and handle (an option the kernel takes only when the qdisc is made,
        such as an htb's ``default`` or ``r2q``, or a qdisc that moves to another class of its device, which the
        kernel cannot do) gets them all back right after it, as they were
        (:meth:`_make_again`): nothing the user made goes, and a qdisc among them that the plan changes is changed after
        that (its op comes later: a change of a top qdisc ranks first). Otherwise the qdiscs that go along are taken out of the
        prediction ``after``, so that check mode and the report show them gone, and a qdisc of the config among
        them (kept, changed or replaced) is refused before anything is sent: its class is gone too, and this module
        cannot make it again. In a real run, what goes along is kept for a rollback, which re-adds the deleted
        qdisc and makes again what went with it (:meth:`_keep_below`)."""
        key = self.key
        explicit = set(key(op.before) for op in plan if op.action == 'delete')
        written = set(key(op.after) for op in plan if op.action != 'delete')
        adds = dict((key(op.after), op) for op in plan if op.action == 'add')
        # (dev, handle): the add of a qdisc that another parent of its device holds now (a qdisc that moves: the kernel
        # cannot move one, so it is deleted there and made here, and what it held is made again under it)
        moves = dict(((op.after['dev'], op.after['handle']), op) for op in plan
                     if op.action == 'add' and op.after.get('handle') and op.after['parent'] not in TOP_PARENTS)
        inside = {}  # (dev, qdisc handle): the qdiscs in its classes (every qdisc gathered, also out of scope)
        for q in self._gathered:
            if q['parent'] not in TOP_PARENTS:
                inside.setdefault((q['dev'], q['parent'].split(':')[0] + ':'), []).append(q)
        gone_keys = self._gone = set()
        self._lost = []
        snapshot = None
        skip = {}  # dev: the handles of the qdiscs the plan deletes itself (each op restores its own subtree)
        for op in plan:
            if op.action == 'delete' and op.before.get('handle'):
                skip.setdefault(op.before['dev'], set()).add(_tc.handle_int(op.before['handle']))
        for op in plan:
            top = op.before
            if op.action != 'delete' or not top.get('handle'):
                continue
            add = adds.get(key(top))
            if (add is None or add.after.get('handle') != top['handle']) and top['parent'] not in TOP_PARENTS:
                # (another qdisc may take its place in the same task: then it is still a move)
                add = moves.get((top['dev'], top['handle']), add)
            again = add is not None and (add.after.get('kind'), add.after.get('handle')) == (top['kind'], top['handle'])
            if again or not ctx.check_mode:
                snapshot = snapshot or _tc.Snapshot(ctx)
            if again:
                self._make_again(ctx, snapshot, op, add, skip.get(top['dev'], ()))
            below = list(inside.get((top['dev'], top['handle']), ()))
            for q in below:  # (and the qdiscs in their classes: the list grows as it is walked)
                if q.get('handle'):
                    below.extend(inside.get((q['dev'], q['handle']), ()))
            for q in below:
                k = key(q)
                if k in explicit:
                    continue  # (the plan deletes it itself, first)
                if again:
                    continue  # (made again as it was, right after the new qdisc: a change of it in this task follows)
                if k in written or k in self._wanted:
                    raise EdgenetError(
                        'the kernel deletes this qdisc, and class %s it attaches to, along with %s, which this task '
                        '%s; the classes are made by tc_class: make the top qdisc first, then the classes, then '
                        'their qdiscs (a task each, as level top and level child do)'
                        % (q['parent'], self.label(top), 'replaces' if key(top) in written else 'deletes'),
                        obj=self.label(q), field='parent')
                gone_keys.add(k)
            if not again and snapshot is not None:
                self._keep_below(ctx, snapshot, op, skip.get(top['dev'], ()))
        if gone_keys and after is not None:
            after[:] = [o for o in after if key(o) not in gone_keys]

    @staticmethod
    def _why_again(have, target):
        if have['parent'] != target['parent']:
            return 'it moves from parent %s to %s, and the kernel cannot move a qdisc' % (have['parent'], target['parent'])
        fields = [f for f in ALL_FIELDS if have.get(f) != target.get(f)]
        if have['kind'] in UNCHANGEABLE:
            return 'sch_%s cannot change %s in place' % (have['kind'], ', '.join(fields) or 'its options')
        return '%s is only set when the qdisc is created' % ', '.join(fields)

    def _make_again(self, ctx, snapshot, op, add, skip):
        """The delete ``op`` and the ``add`` of a qdisc of the same kind and handle (a change the kernel cannot make in
        place): what the kernel deletes along with the old qdisc (its classes, their qdiscs, the filters of all of
        them), read before anything is sent (_tc.Snapshot), is made again right after the new one (``follow``), and by
        the rollback that adds the old one again (``restore``). Check mode reads it too: the prediction and
        ``commands`` show it. When any of it cannot be made again as it was, the change is refused before anything is
        sent (the user asked for an option, not for the tree to go)."""
        top = op.before
        replays, lost = self._below(ctx, snapshot, top, skip)
        why = self._why_again(top, add.after)
        if lost:
            fields = ['parent'] if top['parent'] != add.after['parent'] else \
                [f for f in ALL_FIELDS if top.get(f) != add.after.get(f)]
            raise EdgenetError(
                '%s: the qdisc would be replaced (deleted, then created), and the kernel deletes with it %s, which this '
                'module cannot make again as it was; delete them first, or delete the qdisc and make it again'
                % (why, ', '.join(lost)), obj=self.label(top), field=fields[0] if fields else 'kind')
        if top['kind'] == 'htb' and top.get('r2q') != add.after.get('r2q'):
            add.follow = [self._rederived(r, _tc.handle_int(top['handle']), top.get('r2q') or 10) for r in replays]
        else:
            add.follow = replays
        op.restore = replays
        if replays:
            ctx.warn('%s: %s: the qdisc is replaced (deleted, then created), and the %d class(es), qdisc(s) and '
                     'filter(s) the kernel deletes with it are made again as they were; packets queued in the tree are '
                     'dropped, and its statistics start again' % (self.label(top), why, len(replays)))
        else:
            ctx.warn('%s: %s; the qdisc is replaced (deleted, then created)' % (self.label(top), why))

    @staticmethod
    def _rederived(replay, major, old_r2q):
        """``replay`` for the new htb of another r2q: a leaf class of it whose quantum is the one the old r2q gave its
        rate (the kernel's rate / r2q, within 1,000 to 200,000 bytes: a class made without a quantum, as far as anyone
        can tell) is sent without one (0), so that the kernel derives it from the new r2q, as it would for the command
        line that made the class (and as tc_class computes a class's default quantum)."""
        if replay.what != 'class' or replay.kind != 'htb' or replay.handle & 0xFFFF0000 != major or not replay.opts:
            return replay
        attrs = _tc._attr_list(replay.opts)  # pylint: disable=protected-access
        parms = [v for t, v in attrs if t & 0x3FFF == 1 and len(v) >= 44]
        if not parms:
            return replay
        rate = struct.unpack_from('<I', parms[0], 8)[0]
        rate = next((struct.unpack_from('<Q', v)[0] for t, v in attrs if t & 0x3FFF == 6 and len(v) >= 8), 0) or rate
        quantum, level = struct.unpack_from('<II', parms[0], 32)
        if level or quantum != min(max(rate // old_r2q, 1000), 200000):
            return replay
        opts = b''.join(_tc.nla(t, v[:32] + struct.pack('<I', 0) + v[36:] if t & 0x3FFF == 1 else v) for t, v in attrs)
        return _tc.Replay(replay.what, replay.dev, replay.index, replay.handle, replay.parent, replay.info, replay.kind,
                          opts, replay.chain, replay.body, replay.snapshot)

    def _keep_below(self, ctx, snapshot, op, skip):
        """What the delete ``op`` of a qdisc takes along (its classes, their qdiscs, the filters of all of them), read
        before anything is sent (_tc.Snapshot): the rollback that adds the qdisc again makes them again after it
        (``restore``). What cannot be made again as it was is kept for the error of a refusal (:meth:`refine_error`).
        """
        top = op.before
        op.restore, lost = self._below(ctx, snapshot, top, skip)
        if lost:
            self._lost.append('%s took along %s' % (self.label(top), ', '.join(lost)))

    def _below(self, ctx, snapshot, top, skip):
        """``(replays, lost)`` of what the kernel deletes along with qdisc ``top`` (_tc.Snapshot.below_qdisc); the
        qdiscs in ``skip`` (handles the plan deletes itself) are left out, but for ``top``."""
        index = ctx.nl.ifindex(top['dev'], obj=self.label(top))
        handle = _tc.handle_int(top['handle'])
        return snapshot.below_qdisc(index, handle, skip=set(skip) - set([handle]))

    def refine_error(self, op, error):
        error = super(TcQdisc, self).refine_error(op, error)
        lost = [text for text in self._lost if not text.startswith(self.label(op.obj) + ' ')]
        if lost:
            # the engine then adds what it rolled back: the qdiscs themselves, never what went with them
            error.msg += ('; the rollback cannot re-create what the kernel deleted along with the qdiscs it '
                          're-adds (%s)' % '; '.join(lost))
            error.extra['changed'] = True
            error.extra['not_restored'] = lost
        return error

    def _parent_exists(self, ctx, index, obj, plan, after):
        major, minor = obj['parent'].split(':')
        if any(op.action == 'delete' and op.before['dev'] == obj['dev'] and op.before.get('handle') == major + ':'
               for op in plan) and not any(q['dev'] == obj['dev'] and q.get('handle') == major + ':' for q in after):
            # (the host's classes of that qdisc, read below, go with it)
            raise EdgenetError('qdisc %s: of %s is deleted by this task, and its classes with it' % (major, obj['dev']),
                               obj=self.label(obj), field='parent')
        # a prio qdisc of this task makes its bands' classes; a tbf or netem has one class (one of the host's out
        # of the task's scope too: the netem at depth 1 of a qdisc at depth 2)
        for q in after + self._outside(ctx):
            if q['dev'] != obj['dev'] or q.get('handle') != major + ':':
                continue
            if q.get('kind') == 'prio' and 0 < int(minor, 16) <= q.get('bands', 3):
                return
            if q.get('kind') in SINGLE_CLASS and int(minor, 16) > 0:
                # (its class is 1:1 whatever the minor: the kernel's tbf_find and netem_find answer every classid
                # with it; the qdisc keeps the parent it was given.) Also where the host holds another qdisc with
                # that handle, which the plan replaces: its classes, read below, are not what the parent will be
                return
        qdisc = (index, _tc.handle_int(major + ':'))
        entries = _tc.class_dumps(ctx, [qdisc], 'the classes')[qdisc]
        classes = [_tc.handle_text(m['handle']) for m in entries]
        if obj['parent'] in classes:
            handle = _tc.handle_int(obj['parent'])
            inner = [m for m in entries if m['parent'] == handle]
            if inner and any(m['kind'] in ('htb', 'hfsc') for m in entries):
                # an htb or hfsc class with classes under it is an inner class: the kernel grafts no qdisc on it
                # (htb_graft, hfsc_graft: EINVAL, which check mode had not shown)
                msg = ('class %s has classes under it (%s): a qdisc attaches only to a leaf class of an %s qdisc, and '
                       'the kernel refuses it' % (obj['parent'], _tc.handle_text(inner[0]['handle']), entries[0]['kind']))
                self.refuse_or_warn(ctx, self.label(obj), 'parent', msg, 'moves or deletes them')
            return
        self.refuse_or_warn(ctx, self.label(obj), 'parent', 'class %s does not exist on %s' % (obj['parent'], obj['dev']),
                            'creates it')

    def _complete(self, obj):
        """What a qdisc to create needs (not checked in normalize: state=deleted selects by any fields)."""
        kind, label = obj['kind'], self.label(obj)
        if kind in ('ingress', 'clsact'):
            if obj['parent'] != 'ingress':
                raise EdgenetError('a %s qdisc has no parent but the device (parent ingress)' % kind,
                                   obj=label, field='parent')
            if obj['handle'] != INGRESS_HANDLE:
                raise EdgenetError('a %s qdisc always has handle ffff:' % kind, obj=label, field='handle')
            return
        if obj['parent'] == 'ingress':
            raise EdgenetError('only ingress and clsact qdiscs attach at ingress', obj=label, field='parent')
        if 'handle' not in obj:
            raise EdgenetError('a %s qdisc needs a handle (MAJOR:, for example 1:)' % kind, obj=label, field='handle')
        if obj['handle'] == INGRESS_HANDLE:
            raise EdgenetError('handle ffff: is reserved for ingress and clsact', obj=label, field='handle')
        if kind == 'tbf':
            for field in ('rate', 'burst', 'limit'):
                if field not in obj:
                    raise EdgenetError('a tbf qdisc needs %s' % ('limit or latency' if field == 'limit' else field),
                                       obj=label, field=field)
            if 'peakrate' in obj and obj['peakrate'] <= obj['rate']:  # (a merged rate or peak rate, or the kernel's)
                raise EdgenetError('peakrate %dbit must be above rate %dbit (the kernel refuses it)'
                                   % (obj['peakrate'], obj['rate']), obj=label, field='peakrate')
        if kind == 'prio':
            bad = [b for b in obj['priomap'] if b >= obj['bands']]
            if bad:
                raise EdgenetError('priomap band %d does not exist with %d bands' % (bad[0], obj['bands']),
                                   obj=label, field='priomap')
        if kind == 'netem' and obj.get('jitter') and not obj.get('delay'):
            raise EdgenetError('jitter needs delay (tc: delay TIME JITTER)', obj=label, field='jitter')

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        self._devs = dict((name, dev[1:]) for name, dev in _tc.devices(ctx).items())
        self._kept = {}
        self._htb_qlen = {}
        out = []
        msgs = _tc.dump(ctx, _tc.RTM_GETQDISC, what='the qdiscs')
        gone = _tc.gone_qdiscs(ctx, msgs)
        for msg in msgs:
            if not msg['handle'] & 0xFFFF0000 or msg['handle'] & 0xFFFF or msg['kind'] is None:
                continue  # the kernel's default qdiscs (handle 0:)
            kind = msg['kind']
            obj = {'dev': nl.ifname(msg['index']), 'parent': self._parent_text(msg['parent']),
                   'handle': _tc.handle_text(msg['handle']), 'kind': kind}
            if gone and (obj['dev'], 'ingress' if msg['parent'] == _tc.TC_H_INGRESS else obj['handle']) in gone:
                continue  # (check mode: an earlier task deletes it, or the qdisc whose class it is in)
            decode = getattr(self, '_decode_' + kind, None)
            if decode is not None:
                decode(obj, msg['opts'])
            if kind == 'htb':
                qlen = _tc.nlas(msg['opts']).get(5)  # TCA_HTB_DIRECT_QLEN
                qlen = struct.unpack_from('<I', qlen)[0] if qlen and len(qlen) >= 4 else None
                if qlen is not None and qlen != max(2, self._devs.get(obj['dev'], (0,))[0]):
                    self._htb_qlen[self.key(obj)] = qlen
            if kind in _UNMODELLED and msg['opts']:
                names = _UNMODELLED[kind](msg['opts'])
                if names:
                    self._kept[self.key(obj)] = (bytes(msg['opts']), names)
            out.append(obj)
        self._gathered = out
        self._holders = None
        self._outside_memo = None
        return out

    @staticmethod
    def _decode_htb(obj, opts):
        init = _tc.nlas(opts).get(2, b'')  # TCA_HTB_INIT: struct tc_htb_glob
        version, r2q, defcls = struct.unpack_from('<III', init) if len(init) >= 12 else (3, 10, 0)
        obj['default'] = '%x' % defcls
        obj['r2q'] = r2q

    @staticmethod
    def _decode_hfsc(obj, opts):
        obj['default'] = '%x' % (struct.unpack_from('<H', opts)[0] if len(opts) >= 2 else 0)

    @staticmethod
    def _decode_prio(obj, opts):
        if len(opts) >= 20:
            fields = struct.unpack_from('<i16B', opts)
            obj['bands'] = fields[0]
            obj['priomap'] = list(fields[1:])

    def command_sizes(self, obj):
        """``obj``, a tbf just decoded from a dump, with the sizes a command line must give to make its buckets
        (:func:`_tc.tbf_size`) instead of those tc prints (cut to whole microseconds: pasted, they make smaller
        buckets). For the command of a qdisc made again as it was (``_tc.Snapshot.render``)."""
        key = self.key(obj)
        for which, field, rfield in ((0, 'burst', 'rate'), (1, 'mtu', 'peakrate')):
            ticks = self._ticks.get((key, field))
            if ticks is not None and obj.get(rfield) and field in obj:
                size = _tc.tbf_size(obj[rfield], ticks, self._ratespec(key, which))
                if size is not None:
                    obj[field] = size
        return obj

    def _decode_tbf(self, obj, opts):
        a = _tc.nlas(opts)
        parms = a.get(1, b'')
        if len(parms) < 36:
            return
        spec, pspec = _tc.parse_ratespec(parms), _tc.parse_ratespec(parms, 12)
        rate_ = _tc.get_u64(a, 4) or spec['rate']
        prate = _tc.get_u64(a, 5) or pspec['rate']
        limit, buffer_, mtu = struct.unpack_from('<III', parms, 24)
        key = self.key(obj)
        specs = tuple((r['linklayer'], r['overhead'], r['mpu']) for r in (spec, pspec))
        if specs[0] != _PLAIN_SPEC or specs[1] not in (_PLAIN_SPEC, (0, 0, 0)):
            self._tbf_ratespec[key] = specs
        obj['rate'] = rate_ * 8
        obj['burst'] = self._bucket(key, 0, rate_ * 8, buffer_)
        obj['limit'] = limit
        self._ticks[(key, 'burst')] = buffer_
        if prate:
            obj['peakrate'] = prate * 8
            obj['mtu'] = self._bucket(key, 1, prate * 8, mtu)
            self._ticks[(key, 'mtu')] = mtu

    def _ratespec(self, key, which):
        """The (linklayer, overhead, mpu) of a TBF's rate (``which`` 0) or peak rate (1), or None: tc's defaults."""
        spec = self._tbf_ratespec[key][which] if self._tbf_ratespec and key in self._tbf_ratespec else None
        return spec if spec is not None and (spec[0] == _LINKLAYER_ATM or spec[1] or spec[2]) else None

    def _bucket(self, key, which, rate_bits, ticks):
        """The size a TBF bucket of ``ticks`` at ``rate_bits`` is reported as: what tc prints (the time cut to whole
        microseconds, :meth:`settle` takes both), but for a rate with a link layer, overhead or mpu of its own the
        size that makes the bucket (:func:`_tc.tbf_size`): tc prints the adjusted length, which given back would
        make a larger bucket. So is a bucket that lasts less than a microsecond (a small peak bucket at a high peak
        rate): tc prints 0 bytes for it, which is no bucket size to give back."""
        spec = self._ratespec(key, which)
        size = _tc.tbf_size(rate_bits, ticks, spec) if spec is not None else None
        if size is None:
            size = _tc.xmitsize(rate_bits // 8, ticks)
            if size == 0 and ticks:
                # (no size makes the ticks, a bucket not sent as a size: the bytes its time lasts, which settle takes)
                size = _tc.tbf_size(rate_bits, ticks) or max(1, ((ticks << _tc.PSCHED_SHIFT) * rate_bits // 8) // 10 ** 9)
        return size

    @staticmethod
    def _decode_sfq(obj, opts):
        if len(opts) >= 20:
            quantum, perturb, limit = struct.unpack_from('<IiI', opts)
            obj.update({'limit': limit, 'perturb': perturb, 'quantum': quantum})

    @staticmethod
    def _decode_fq(obj, opts):
        a = _tc.nlas(opts)
        obj.update({'limit': _tc.get_u32(a, 1), 'flow_limit': _tc.get_u32(a, 2), 'quantum': _tc.get_u32(a, 3),
                    'initial_quantum': _tc.get_u32(a, 4)})
        maxrate = _tc.get_u32(a, 7, UNLIMITED)
        if maxrate != UNLIMITED:
            obj['maxrate'] = maxrate * 8
        for k in [k for k, v in obj.items() if v is None]:
            del obj[k]

    @staticmethod
    def _decode_codel(obj, opts):
        a = _tc.nlas(opts)
        obj.update({'target': _tc.get_u32(a, 1), 'limit': _tc.get_u32(a, 2), 'interval': _tc.get_u32(a, 3),
                    'ecn': bool(_tc.get_u32(a, 4, 0))})
        if obj['kind'] == 'fq_codel':
            obj.update({'flows': _tc.get_u32(a, 5), 'quantum': _tc.get_u32(a, 6), 'drop_batch': _tc.get_u32(a, 8),
                        'memory_limit': _tc.get_u32(a, 9)})
        for k in [k for k, v in obj.items() if v is None]:
            del obj[k]

    _decode_fq_codel = _decode_codel

    @staticmethod
    def _decode_netem(obj, opts):
        if len(opts) < 24:
            return
        latency, limit, loss, gap, duplicate, jitter = struct.unpack_from('<IIIIII', opts)
        a = _tc.nlas(opts, 24)
        delay = _tc.get_u64(a, 10, latency << _tc.PSCHED_SHIFT)
        jitter = _tc.get_u64(a, 11, jitter << _tc.PSCHED_SHIFT)
        rate_ = _tc.get_u64(a, 8) or _tc.get_u32(a, 6, 0)
        obj.update({'limit': limit, 'delay': _us(delay), 'jitter': _us(jitter), 'loss': _tc.u32_percent(loss),
                    'rate': rate_ * 8})

    @staticmethod
    def _decode_cake(obj, opts):
        a = _tc.nlas(opts)
        obj['bandwidth'] = _tc.get_u64(a, 2, 0) * 8
        mode = _tc.get_u32(a, 3, 0)
        obj['diffserv'] = DIFFSERV[mode] if mode < len(DIFFSERV) else str(mode)
        obj['rtt'] = _tc.get_u32(a, 7, 100000)

    @staticmethod
    def _decode_fifo(obj, opts):
        if len(opts) >= 4:
            obj['limit'] = struct.unpack_from('<I', opts)[0]

    _decode_pfifo = _decode_bfifo = _decode_fifo

    @staticmethod
    def _parent_text(parent):
        if parent == _tc.TC_H_ROOT:
            return 'root'
        if parent == _tc.TC_H_INGRESS:
            return 'ingress'
        return _tc.handle_text(parent)

    def request(self, ctx, op):
        """The netlink request of one op (RTM_NEWQDISC add/change, RTM_DELQDISC)."""
        obj = op.obj
        parent = {'root': _tc.TC_H_ROOT, 'ingress': _tc.TC_H_INGRESS}.get(obj['parent'])
        if parent is None:
            parent = _tc.handle_int(obj['parent'])
        index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        handle = _tc.handle_int(obj['handle'])
        if op.action == 'delete':
            return _tc.request(_tc.RTM_DELQDISC, self.flags('delete'), index, handle, parent)
        return _tc.request(_tc.RTM_NEWQDISC, self.flags(op.action), index, handle, parent, obj['kind'],
                           self.tc_options(obj, op.action))

    def tc_options(self, obj, action='add'):
        """TCA_OPTIONS of a qdisc, as the kernel reads them (include/uapi/linux/pkt_sched.h)."""
        kind = obj['kind']
        if kind == 'htb':
            out = _tc.nla(2, struct.pack('<IIIII', 3, obj.get('r2q', 10), int(obj.get('default', '0'), 16), 0, 0))
            qlen = self._htb_qlen.get(self.key(obj)) if self._htb_qlen else None
            return out + _tc.nla_u32(5, qlen) if qlen is not None else out
        if kind == 'hfsc':
            return struct.pack('<H', int(obj.get('default', '0'), 16))
        if kind == 'prio':
            return struct.pack('<i16B', obj['bands'], *obj['priomap'])
        if kind == 'tbf':
            rb, pb = obj['rate'] // 8, obj.get('peakrate', 0) // 8
            key = self.key(obj)
            spec, pspec = self._tbf_ratespec.get(key, (_PLAIN_SPEC, _PLAIN_SPEC))
            peak = _spec(pb, pspec) if pb else b'\0' * 12
            burst, mtu = self._size(obj, 'burst', 'rate'), self._size(obj, 'mtu', 'peakrate') if pb else 0
            raw = self._raw.get((key, 'burst', obj['rate'], obj['burst'])) if self._raw else None
            praw = self._raw.get((key, 'mtu', obj.get('peakrate'), obj.get('mtu'))) if self._raw and pb else None
            parms = _spec(rb, spec) + peak + struct.pack(
                '<III', obj['limit'], raw or _tc.xmittime(rb, burst), (praw or _tc.xmittime(pb, mtu)) if pb else 0)
            out = _tc.nla(1, parms)  # TCA_TBF_PARMS
            # a rate of 2^32 bytes/s (34.4 Gbit/s) or more: the ratespec holds ~0U, and the rate goes as a u64 beside it
            # (TCA_TBF_RATE64, TCA_TBF_PRATE64), as tc sends it
            if rb >= 2 ** 32:
                out += _tc.nla_u64(4, rb)
            if pb >= 2 ** 32:
                out += _tc.nla_u64(5, pb)
            if not raw:  # (without TCA_TBF_BURST, the kernel takes the bucket's ticks from the parms)
                out += _tc.nla_u32(6, burst)  # TCA_TBF_BURST
            if pb and not praw:
                # the peak bucket as a size (TCA_TBF_PBURST): the kernel then computes its time exactly
                out += _tc.nla_u32(7, mtu)
            return out
        kept = self._kept.get(self.key(obj)) if self._kept else None
        if kind == 'sfq':  # struct tc_sfq_qopt (v0): 0 keeps the kernel's divisor and flows
            if kept and len(kept[0]) >= _SFQ_V1:
                # the kernel's struct tc_sfq_qopt_v1 with the resource's fields, its statistics zeroed
                opts = bytearray(kept[0][:_SFQ_V1])
                old_limit, _divisor, flows = struct.unpack_from('<III', opts, 8)
                struct.pack_into('<IiI', opts, 0, obj['quantum'], obj['perturb'], obj['limit'])
                struct.pack_into('<I', opts, 28, obj['limit'])
                if flows == min(128, old_limit):  # (the kernel's own, from the old limit: its default again)
                    struct.pack_into('<I', opts, 16, 0)
                return bytes(opts[:_SFQ_V1 - 24]) + b'\0' * 24
            return struct.pack('<IiIII', obj['quantum'], obj['perturb'], obj['limit'], 0, 0)
        if kind == 'fq':
            return (_tc.nla_u32(1, obj['limit']) + _tc.nla_u32(2, obj['flow_limit']) + _tc.nla_u32(3, obj['quantum'])
                    + _tc.nla_u32(4, obj['initial_quantum']) + _tc.nla_u32(7, obj.get('maxrate', UNLIMITED * 8) // 8))
        if kind in ('codel', 'fq_codel'):
            out = (_tc.nla_u32(1, codel_send(obj['target'])) + _tc.nla_u32(2, obj['limit'])
                   + _tc.nla_u32(3, codel_send(obj['interval'])) + _tc.nla_u32(4, int(obj['ecn'])))
            if kind == 'fq_codel':
                out += (_tc.nla_u32(6, obj['quantum']) + _tc.nla_u32(8, obj['drop_batch'])
                        + _tc.nla_u32(9, obj['memory_limit']))
                if action == 'add':  # the kernel refuses a flows change
                    out += _tc.nla_u32(5, obj['flows'])
            return out
        if kind == 'netem':
            delay, jitter, rb = _ns(obj.get('delay', 0)), _ns(obj.get('jitter', 0)), obj.get('rate', 0) // 8
            ticks = [min(t >> _tc.PSCHED_SHIFT, UNLIMITED) for t in (delay, jitter)]
            gap = duplicate = 0
            tail = (0, 0, 0)
            if kept:  # the kernel's reorder gap, duplicate, rate overheads and other options, as they are
                gap, duplicate = struct.unpack_from('<II', kept[0], 12)
                found = _tc.nlas(kept[0], 24)
                if len(found.get(6, b'')) >= 16:
                    tail = struct.unpack_from('<iIi', found[6], 4)
            qopt = struct.pack('<IIIIII', ticks[0], obj['limit'], _tc.percent_u32(obj.get('loss', 0)), gap, duplicate,
                               ticks[1])
            out = qopt + _tc.nla(10, struct.pack('<q', delay)) + _tc.nla(11, struct.pack('<q', jitter))
            out += _tc.nla(6, struct.pack('<IiIi', min(rb, UNLIMITED), *tail))  # always: 0 removes a rate
            if kept:
                out += b''.join(_tc.nla(t, v) for t, v in _tc._attr_list(kept[0][24:])  # pylint: disable=protected-access
                                if t & 0x3FFF in _NETEM_KEPT)
            if rb >= UNLIMITED:
                out += _tc.nla_u64(8, rb)
            return out
        if kind == 'cake':
            return (_tc.nla_u64(2, obj.get('bandwidth', 0) // 8) + _tc.nla_u32(3, DIFFSERV.index(obj['diffserv']))
                    + _tc.nla_u32(7, obj['rtt']))
        if kind in ('pfifo', 'bfifo'):
            return struct.pack('<I', obj['limit'])
        return None  # drr, qfq, ingress, clsact: no options

    @staticmethod
    def _where(obj):
        if obj['parent'] == 'ingress':
            return [obj['kind']]
        words = ['root'] if obj['parent'] == 'root' else ['parent', obj['parent']]
        return words + ['handle', obj['handle']]

    def render(self, ctx, op):
        obj = op.obj
        verb = {'add': 'add', 'delete': 'del', 'change': 'change'}[op.action]
        words = ['qdisc', verb, 'dev', obj['dev']] + self._where(obj)
        if op.action == 'delete':
            return [ctx.cmd('tc', *words)]
        kind = obj['kind']
        if kind in ('ingress', 'clsact'):
            return [ctx.cmd('tc', *words)]
        words.append(kind)
        g = obj.get
        if kind == 'htb':
            words += ['default', g('default', '0'), 'r2q', g('r2q', 10)]
            qlen = self._htb_qlen.get(self.key(obj)) if self._htb_qlen else None
            words += ['direct_qlen', qlen] if qlen is not None else []
        elif kind == 'hfsc':
            words += ['default', g('default', '0')]
        elif kind == 'prio':
            words += ['bands', obj['bands'], 'priomap'] + obj['priomap']
        elif kind == 'tbf':
            words += ['rate', _tc.rate_text(obj['rate']), 'burst', self._size(obj, 'burst', 'rate'), 'limit',
                      obj['limit']]
            if 'peakrate' in obj:
                words += ['peakrate', _tc.rate_text(obj['peakrate']), 'mtu', self._size(obj, 'mtu', 'peakrate')]
            (ll, overhead, mpu), _peak = self._tbf_ratespec.get(self.key(obj), (_PLAIN_SPEC, None))
            words += (['mpu', mpu] if mpu else []) + (['overhead', overhead] if overhead else []) + (
                ['linklayer', 'atm'] if ll == _LINKLAYER_ATM else [])
        elif kind == 'sfq':  # (limit 0: the kernel's default, which tc refuses as a limit: _tc.REPLAY_FIX)
            words += ['limit', obj['limit']] if obj['limit'] else []
            words += ['perturb', obj['perturb'], 'quantum', obj['quantum']]
        elif kind == 'fq':
            words += ['limit', obj['limit'], 'flow_limit', obj['flow_limit'], 'quantum', obj['quantum'],
                      'initial_quantum', obj['initial_quantum']]
            words += ['maxrate', _tc.rate_text(obj['maxrate'])] if 'maxrate' in obj else []
        elif kind in ('codel', 'fq_codel'):
            words += ['limit', obj['limit']]
            if kind == 'fq_codel' and op.action == 'add':
                words += ['flows', obj['flows']]
            words += ['target', '%dus' % codel_send(obj['target']), 'interval', '%dus' % codel_send(obj['interval']),
                      'ecn' if obj['ecn'] else 'noecn']
            if kind == 'fq_codel':
                words += ['quantum', obj['quantum'], 'memory_limit', obj['memory_limit'], 'drop_batch',
                          obj['drop_batch']]
        elif kind == 'netem':
            words += ['limit', obj['limit']]
            if obj.get('delay'):
                words += ['delay', _netem_time(_ns(obj['delay']))]
                words += [_netem_time(_ns(obj['jitter']))] if obj.get('jitter') else []
            words += ['loss', '%s%%' % _num(obj['loss'])] if obj.get('loss') else []
            words += ['rate', _tc.rate_text(obj['rate'])] if obj.get('rate') else []
        elif kind == 'cake':
            words += ['bandwidth', _tc.rate_text(obj['bandwidth']) if obj.get('bandwidth') else 'unlimited',
                      obj['diffserv'], 'rtt', '%dus' % obj['rtt']]
        elif kind in ('pfifo', 'bfifo'):
            words += ['limit', obj['limit']]
        line = ctx.cmd('tc', *words)
        kept = self._kept.get(self.key(obj)) if self._kept and op.action != 'delete' else None
        if kept:  # (a shell comment: the line still pastes)
            line += " # also keeps the qdisc's %s" % ', '.join(kept[1])
        return [line]


#: netem attributes a write sends again as the kernel has them (correlations, reorder, corrupt, loss model, ecn, slot)
_NETEM_KEPT = frozenset((1, 3, 4, 5, 7, 12))
_SFQ_V1 = 72  # sizeof(struct tc_sfq_qopt_v1), with its statistics (struct tc_sfqred_stats: the last 24 bytes)


def _netem_unmodelled(opts):
    """The names of what a netem qdisc's TCA_OPTIONS hold that the resource does not model (a change that sent only
    the resource's fields would reset them)."""
    if len(opts) < 24:
        return []
    gap, duplicate = struct.unpack_from('<II', opts, 12)
    a = _tc.nlas(opts, 24)
    out = (['reorder gap'] if gap else []) + (['duplicate'] if duplicate else [])
    for kind, name in ((1, 'correlations'), (3, 'reorder'), (4, 'corrupt'), (5, 'loss model'), (7, 'ecn'),
                       (12, 'slot')):
        if any(bytearray(a.get(kind, b''))):
            out.append(name)
    if any(bytearray(a.get(6, b'')[4:16])):
        out.append('rate overheads')
    return out


def _sfq_unmodelled(opts):
    """The names of what an sfq qdisc's struct tc_sfq_qopt_v1 holds beyond the kernel's defaults and the resource's
    fields (a replace that sent only those would reset them)."""
    if len(opts) < _SFQ_V1:
        return []
    limit, divisor, flows, depth, headdrop = struct.unpack_from('<IIIII', opts, 8)
    qth_min, = struct.unpack_from('<I', opts, 32)
    flags, = struct.unpack_from('<B', opts, 43)
    # (the kernel's defaults: divisor 1024, depth 127, and 128 flows, or fewer when the limit is lower)
    return [name for name, odd in (('divisor', divisor != 1024), ('flows', flows != min(128, limit)),
                                   ('depth', depth != 127), ('headdrop', headdrop), ('red', qth_min),
                                   ('ecn/harddrop', flags)) if odd]


#: kind: the function that names what its options hold that the resource does not model
_UNMODELLED = {'netem': _netem_unmodelled, 'sfq': _sfq_unmodelled}


def _us(ns):
    """A netem time as returned: microseconds, with a fraction for nanoseconds (the kernel keeps ns)."""
    return ns // 1000 if ns % 1000 == 0 else ns / 1000.


def _ns(us):
    return int(round(us * 1000))


def _netem_time(ns):
    """A netem time for a tc command line: whole microseconds when tc 6.1 makes ``ns`` from some (it sends them as
    scheduler ticks, :func:`tc_ns`: a netem made by such a tc line, made again, is said as that line said it; tc 6.1
    refuses ``ns``), else exact."""
    for us in (ns // 1000, ns // 1000 + 1):
        if ns % 1000 == 0 and us * 1000 == ns or ns % 1000 and tc_ns(us * 1000) == ns:
            return '%dus' % us
    return _tc.time_ns_text(ns)


def tc_ns(ns):
    """The nanoseconds the kernel keeps for a netem time tc 6.1 sends (whole microseconds, as ticks)."""
    return _tc.time2tick(ns // 1000) << _tc.PSCHED_SHIFT


codel_send = _tc.codel_send  # (the microseconds to send for a CoDel time the kernel reports)


def _zero(value):
    return str(value).strip().lower() in ('unlimited', 'none', '0', '0bit', '0.0')


def _num(f):
    return ('%d' % f) if float(f) == int(f) else repr(f)


def _size_pos(value, field):
    n = _tc.size(value, field)
    if n <= 0:
        raise EdgenetError('%s must be 1 byte or more' % field, field=field)
    return n


def _int(value, field, lo, hi):
    try:
        n = int(str(value).strip())
    except ValueError:
        raise EdgenetError("'%s' is not a whole number" % (value,), field=field)
    if not lo <= n <= hi:
        raise EdgenetError('%d is out of range (%d to %d)' % (n, lo, hi), field=field)
    return n
