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

from ansible_collections.edgenet.linux.plugins.module_utils import _tc
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

#: the options each kind accepts
KIND_FIELDS = {
    'htb': ('default', 'r2q'),
    'tbf': ('rate', 'burst', 'limit', 'latency'),
    'pfifo': ('limit',),
    'ingress': (),
    'clsact': (),
}
#: kinds whose options the kernel can change in place (sch_htb has no qdisc ``change``)
CHANGEABLE = ('tbf', 'pfifo')
ALL_FIELDS = ('default', 'r2q', 'rate', 'burst', 'limit', 'latency')
INGRESS_HANDLE = 'ffff:'


class TcQdisc(_tc.TcApply, Resource):
    name = 'tc_qdisc'
    keys = ('dev', 'parent')
    required = ('dev', 'kind')
    options = {
        'dev': {'type': 'str'},
        'parent': {'type': 'str'},
        'handle': {'type': 'str'},
        'kind': {'type': 'str', 'choices': sorted(KIND_FIELDS)},
        'default': {'type': 'str'},
        'r2q': {'type': 'int'},
        'rate': {'type': 'str'},
        'burst': {'type': 'str'},
        'limit': {'type': 'str'},
        'latency': {'type': 'str'},
    }
    scope_options = {'dev': {'type': 'str'}}
    immutable = ('kind', 'handle')

    def __init__(self):
        self._devs = {}  # ifname: (txqlen, mtu)
        self._ticks = {}  # key: TBF buffer in ticks, as the kernel holds it

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        kind = obj.get('kind')
        if 'parent' in obj:
            obj['parent'] = self._parent(obj['parent'], kind)
        elif kind in ('ingress', 'clsact'):
            obj['parent'] = 'ingress'
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
        if 'r2q' in obj and not 0 < obj['r2q'] < 2 ** 32:
            raise EdgenetError('r2q must be 1 or more', field='r2q')
        if kind == 'tbf':
            self._tbf(obj)
        if kind == 'pfifo' and 'limit' in obj:
            obj['limit'] = _int(obj['limit'], 'limit', 1, 2 ** 31 - 1)
        return obj

    @staticmethod
    def _parent(value, kind):
        text = str(value).strip().lower()
        if text in ('root', 'ingress', 'clsact'):
            if text == 'clsact' and kind not in (None, 'clsact'):
                raise EdgenetError('only a clsact qdisc attaches at clsact', field='parent')
            return 'ingress' if text == 'clsact' else text
        if text == 'ffff:fff1':
            return 'ingress'
        return _tc.parse_handle(text, 'parent', minor=True)

    @staticmethod
    def _tbf(obj):
        if 'rate' in obj:
            obj['rate'] = _tc.rate(obj['rate'], 'rate')
            if obj['rate'] // 8 >= 2 ** 32:
                raise EdgenetError('tbf rates of 32 Gbit/s and more are not supported', field='rate')
        if 'burst' in obj:
            obj['burst'] = _tc.size(obj['burst'], 'burst')
            if obj['burst'] <= 0:
                raise EdgenetError('burst must be more than 0 bytes', field='burst')
        if 'limit' in obj and 'latency' in obj:
            raise EdgenetError('a tbf qdisc takes one of limit and latency, not both', field='latency')
        if 'latency' in obj:
            if 'rate' not in obj or 'burst' not in obj:
                raise EdgenetError('latency needs rate and burst to compute the limit', field='latency')
            latency = _tc.time(obj.pop('latency'), 'latency')
            # q_tbf.c: the queue holds what the rate drains in the latency, plus the bucket
            obj['limit'] = _tc.size(int(obj['rate'] // 8 * float(latency) / _tc.TIME_UNITS_PER_SEC + obj['burst']),
                                    'latency')
        elif 'limit' in obj:
            obj['limit'] = _tc.size(obj['limit'], 'limit')

    def defaults(self, obj):
        kind = obj.get('kind')
        out = {'parent': 'ingress' if kind in ('ingress', 'clsact') else 'root'}
        if kind == 'htb':
            out.update({'default': '0', 'r2q': 10})
        elif kind == 'pfifo':
            out['limit'] = max(self._devs.get(obj.get('dev'), (1000, 1500))[0], 1)
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
        return dev is None or obj['dev'] == dev

    def rank(self, obj):
        return 0 if obj.get('parent') in ('root', 'ingress') else 1

    def settle(self, want, obj):
        # TBF's bucket travels as a time in ticks: a size that maps to the same ticks is the same bucket
        ticks = self._ticks.get(self.key(obj))
        if (want.get('kind') == obj.get('kind') == 'tbf' and ticks is not None and want.get('rate') == obj.get('rate')
                and isinstance(want.get('burst'), int) and _tc.same_bucket(want['rate'], want['burst'], ticks)):
            obj['burst'] = want['burst']
        return obj

    reconcile = settle

    def plan_change(self, have, target, ctx):
        if have.get('kind') != target.get('kind') or have.get('handle') != target.get('handle') \
                or target.get('kind') not in CHANGEABLE:
            if target.get('kind') == 'htb' and have.get('kind') == 'htb':
                ctx.warn('%s: sch_htb cannot change its options in place; the qdisc is replaced, which deletes '
                         'its classes and filters' % self.label(have))
            return [Op('delete', have, None), Op('add', None, target)]
        return [Op('change', have, target)]

    def validate(self, ctx, plan, after):
        for op in plan:
            if op.action != 'delete':
                self._complete(op.after)
                index = ctx.nl.ifindex(op.after['dev'], obj=self.label(op.after))
                if op.action == 'add' and op.after['parent'] not in ('root', 'ingress') and index > 0:
                    self._parent_exists(ctx, index, op.after)

    def _parent_exists(self, ctx, index, obj):
        classes = [_tc.handle_text(m['handle']) for m in ctx.nl.dump('get_classes', index=index)]
        if obj['parent'] not in classes:
            raise EdgenetError('class %s does not exist on %s' % (obj['parent'], obj['dev']),
                               obj=self.label(obj), field='parent')

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

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        for msg in nl.dump('get_links'):
            self._devs[msg.get_attr('IFLA_IFNAME')] = (msg.get_attr('IFLA_TXQLEN') or 0, msg.get_attr('IFLA_MTU'))
        out = []
        for msg in nl.dump('get_qdiscs'):
            if not msg['handle'] & 0xFFFF0000 or msg['handle'] & 0xFFFF:
                continue  # the kernel's default qdiscs (handle 0:)
            kind = msg.get_attr('TCA_KIND')
            obj = {'dev': nl.ifname(msg['index']), 'parent': self._parent_text(msg['parent']),
                   'handle': _tc.handle_text(msg['handle']), 'kind': kind}
            opts = msg.get_attr('TCA_OPTIONS')
            if kind == 'htb':
                init = _attr(opts, 'TCA_HTB_INIT') or {}
                obj['default'] = '%x' % init.get('defcls', 0)
                obj['r2q'] = init.get('rate2quantum', 10)
            elif kind == 'tbf':
                parms = _attr(opts, 'TCA_TBF_PARMS') or {}
                obj['rate'] = parms.get('rate', 0) * 8
                obj['burst'] = _tc.xmitsize(parms.get('rate', 0), parms.get('buffer', 0))
                obj['limit'] = parms.get('limit', 0)
                self._ticks[self.key(obj)] = parms.get('buffer', 0)
            elif kind == 'pfifo':
                obj['limit'] = opts.get('limit') if opts is not None else None
                if obj['limit'] is None:
                    del obj['limit']
            elif kind == 'clsact' or kind == 'ingress':
                pass
            out.append(obj)
        return out

    @staticmethod
    def _parent_text(parent):
        if parent == _tc.TC_H_ROOT:
            return 'root'
        if parent == _tc.TC_H_INGRESS:
            return 'ingress'
        return _tc.handle_text(parent)

    def _request(self, ctx, obj, options=True):
        kind = obj['kind']
        parent = {'root': _tc.TC_H_ROOT, 'ingress': _tc.TC_H_INGRESS}.get(obj['parent'])
        if parent is None:
            parent = _tc.handle_int(obj['parent'])
        # a delete names no kind: pyroute2 would compute the kind's options (and fail without them)
        args = (kind if options else None, ctx.nl.ifindex(obj['dev'], obj=self.label(obj)),
                _tc.handle_int(obj['handle']))
        kwargs = {'parent': parent}
        if not options:
            return args, kwargs
        if kind == 'htb':
            kwargs.update({'default': int(obj.get('default', '0'), 16), 'r2q': obj.get('r2q', 10)})
        elif kind == 'tbf':
            kwargs.update({'rate': obj['rate'] // 8, 'burst': obj['burst'], 'limit': obj['limit']})
        elif kind == 'pfifo':
            kwargs['limit'] = obj['limit']
        return args, kwargs

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
        if kind == 'htb':
            words += ['default', obj.get('default', '0'), 'r2q', obj.get('r2q', 10)]
        elif kind == 'tbf':
            words += ['rate', _tc.rate_text(obj['rate']), 'burst', obj['burst'], 'limit', obj['limit']]
        elif kind == 'pfifo':
            words += ['limit', obj['limit']]
        return [ctx.cmd('tc', *words)]


def _attr(opts, name):
    if opts is None:
        return None
    if hasattr(opts, 'get_attr'):
        return opts.get_attr(name)
    for k, v in opts.get('attrs', []):
        if k == name:
            return v
    return None


def _int(value, field, lo, hi):
    try:
        n = int(str(value).strip())
    except ValueError:
        raise EdgenetError("'%s' is not a whole number" % (value,), field=field)
    if not lo <= n <= hi:
        raise EdgenetError('%d is out of range (%d to %d)' % (n, lo, hi), field=field)
    return n
