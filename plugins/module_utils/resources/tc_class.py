# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traffic control classes (RTM_NEWTCLASS / RTM_DELTCLASS): HTB.

A class is identified by its device and its classid (``1:10``).  Its parent is the qdisc (``1:``) for
a top-level class, or another class (``1:1``).  Parents are created before their children and
children are deleted before their parents (rank = depth in the tree).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils import _tc
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

HTB_MTU = 1600  # q_htb.c: the default burst is rate / HZ + mtu (1600)
HTB_NUMPRIO = 8
BUCKETS = (('burst', 'rate'), ('cburst', 'ceil'))


class TcClass(_tc.TcApply, Resource):
    tc_verbs = {'add': 'add-class', 'delete': 'del-class', 'change': 'change-class'}
    name = 'tc_class'
    keys = ('dev', 'classid')
    required = ('dev', 'classid', 'parent', 'rate')
    options = {
        'dev': {'type': 'str'},
        'classid': {'type': 'str'},
        'parent': {'type': 'str'},
        'kind': {'type': 'str', 'choices': ['htb']},
        'rate': {'type': 'str'},
        'ceil': {'type': 'str'},
        'burst': {'type': 'str'},
        'cburst': {'type': 'str'},
        'prio': {'type': 'int'},
        'quantum': {'type': 'int'},
    }
    scope_options = {'dev': {'type': 'str'}}
    immutable = ('parent', 'kind')

    def __init__(self):
        self._r2q = {}  # (dev, 'X:'): r2q of the htb qdisc
        self._qdiscs = {}  # (dev, 'X:'): kind
        self._ticks = {}  # (key, field): bucket in ticks
        self._level = {}  # key: level in the kernel's tree (0: leaf)
        self._parent = {}  # key: parent classid, from config and from the kernel

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        if 'classid' in obj:
            obj['classid'] = _tc.parse_handle(obj['classid'], 'classid', minor=True)
        if 'parent' in obj:
            text = str(obj['parent']).strip().lower()
            if text == 'root' and 'classid' in obj:
                text = obj['classid'].split(':')[0] + ':'
            obj['parent'] = _tc.parse_handle(text, 'parent')
            if 'classid' in obj and obj['parent'].split(':')[0] != obj['classid'].split(':')[0]:
                raise EdgenetError('parent %s is not in the tree of qdisc %s: (a class and its parent share the '
                                   'major number)' % (obj['parent'], obj['classid'].split(':')[0]), field='parent')
            if obj['parent'] == obj.get('classid'):
                raise EdgenetError('a class cannot be its own parent', field='parent')
        for field in ('rate', 'ceil'):
            if field in obj:
                obj[field] = _tc.rate(obj[field], field)
        for field in ('burst', 'cburst'):
            if field in obj:
                obj[field] = _tc.size(obj[field], field)
        if 'prio' in obj and not 0 <= obj['prio'] < HTB_NUMPRIO:
            raise EdgenetError('prio %d is out of range (0 to 7)' % obj['prio'], field='prio')
        if 'quantum' in obj and not 0 < obj['quantum'] < 2 ** 31:
            raise EdgenetError('quantum must be 1 byte or more', field='quantum')
        if 'rate' in obj and 'ceil' in obj and obj['ceil'] < obj['rate']:
            raise EdgenetError('ceil %dbit is below rate %dbit' % (obj['ceil'], obj['rate']), field='ceil')
        obj.setdefault('kind', 'htb')
        if 'classid' in obj and 'parent' in obj and 'dev' in obj:
            self._parent[self.key(obj)] = obj['parent']
        return obj

    def defaults(self, obj):
        out = {'kind': 'htb', 'prio': 0}
        rate = obj.get('rate')
        if rate is None:
            return out
        ceil = obj.get('ceil', rate)
        out['ceil'] = ceil
        for field, rfield in BUCKETS:
            r = rate if rfield == 'rate' else ceil
            out[field] = _tc.roundtrip(r, r // 8 // _tc.hz() + HTB_MTU)
        major = obj.get('classid', '0:').split(':')[0] + ':'
        quantum = rate // 8 // self._r2q.get((obj.get('dev'), major), 10)
        out['quantum'] = min(max(quantum, 1000), 200000)
        return out

    def label(self, obj):
        return 'class %s dev %s' % (obj.get('classid', '?'), obj.get('dev', '?'))

    def shape(self, obj):
        order = ('dev', 'classid', 'parent', 'kind', 'rate', 'ceil', 'burst', 'cburst', 'prio', 'quantum')
        out = dict((k, obj[k]) for k in order if k in obj)
        out.update((k, v) for k, v in obj.items() if k not in out)
        return out

    def in_scope(self, obj, ctx):
        dev = ctx.params.get('dev')
        return dev is None or obj['dev'] == dev

    def rank(self, obj):
        depth, key, seen = 0, self.key(obj), set()
        parent = obj.get('parent', '')
        while parent.split(':')[1:] != [''] and key not in seen:
            seen.add(key)
            depth += 1
            key = (obj['dev'], parent)
            parent = self._parent.get(key, ':')
        return depth

    def settle(self, want, obj):
        key = self.key(obj)
        for field, rfield in BUCKETS:
            ticks = self._ticks.get((key, field))
            w = want.get(field)
            if w is None and want.get('rate') is not None:
                w = self.defaults(want).get(field)
            if (ticks is not None and isinstance(w, int) and w != obj.get(field)
                    and want.get(rfield, want.get('rate')) == obj.get(rfield)
                    and _tc.same_bucket(obj[rfield], w, ticks)):
                obj[field] = w
        return obj

    def reconcile(self, have, target):
        key = self.key(have)
        for field, rfield in BUCKETS:
            ticks = self._ticks.get((key, field))
            if (ticks is not None and target.get(rfield) == have.get(rfield) and isinstance(target.get(field), int)
                    and _tc.same_bucket(have[rfield], target[field], ticks)):
                target[field] = have[field]
        if self._level.get(key):
            # the kernel sets quantum and prio of leaf classes only; an inner class keeps its own
            for field in ('quantum', 'prio'):
                if field in have:
                    target[field] = have[field]
        return target

    def plan_change(self, have, target, ctx):
        if have.get('parent') != target.get('parent'):
            return [Op('delete', have, None), Op('add', None, target)]
        return [Op('change', have, target)]

    def validate(self, ctx, plan, after):
        after_by = dict((self.key(o), o) for o in after)
        for op in plan:
            obj = op.obj
            label = self.label(obj)
            if op.action == 'delete':
                children = sorted(o['classid'] for o in after if o['dev'] == obj['dev']
                                  and o.get('parent') == obj['classid'])
                if children:
                    raise EdgenetError('cannot delete a class that keeps children (%s); delete them too'
                                       % ', '.join(children), obj=label, field='classid')
                continue
            ctx.nl.ifindex(obj['dev'], obj=label)
            major = obj['classid'].split(':')[0] + ':'
            kind = self._qdiscs.get((obj['dev'], major))
            if kind is None and not ctx.check_mode:
                raise EdgenetError('device %s has no qdisc %s (create the htb qdisc first)' % (obj['dev'], major),
                                   obj=label, field='classid')
            if kind is None:
                ctx.warn('check mode: %s has no qdisc %s; this prediction assumes an earlier task creates it'
                         % (obj['dev'], major))
            elif kind != obj['kind']:
                raise EdgenetError('qdisc %s on %s is %s, not %s' % (major, obj['dev'], kind, obj['kind']),
                                   obj=label, field='kind')
            if obj['parent'] != major:
                parent = after_by.get((obj['dev'], obj['parent']))
                if parent is None:
                    raise EdgenetError('parent class %s does not exist and is not in config' % obj['parent'],
                                       obj=label, field='parent')
                if obj['rate'] > parent.get('ceil', parent.get('rate', 0)):
                    ctx.warn('%s: rate %dbit is above the ceil of its parent %s (%dbit); HTB accepts it, but the '
                             'class can never get its rate' % (label, obj['rate'], obj['parent'], parent['ceil']))

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        devs = set()
        for msg in nl.dump('get_qdiscs'):
            if not msg['handle'] & 0xFFFF0000 or msg['handle'] & 0xFFFF or msg['parent'] == _tc.TC_H_INGRESS:
                continue
            dev = nl.ifname(msg['index'])
            handle = _tc.handle_text(msg['handle'])
            kind = msg.get_attr('TCA_KIND')
            self._qdiscs[(dev, handle)] = kind
            if kind == 'htb':
                init = _attr(msg.get_attr('TCA_OPTIONS'), 'TCA_HTB_INIT') or {}
                self._r2q[(dev, handle)] = init.get('rate2quantum', 10)
                devs.add(msg['index'])
        out = []
        for index in sorted(devs):
            for msg in nl.dump('get_classes', index=index):
                if msg.get_attr('TCA_KIND') != 'htb':
                    continue
                opts = msg.get_attr('TCA_OPTIONS')
                parms = _attr(opts, 'TCA_HTB_PARMS') or {}
                classid = _tc.handle_text(msg['handle'])
                parent = classid.split(':')[0] + ':' if msg['parent'] == _tc.TC_H_ROOT else \
                    _tc.handle_text(msg['parent'])
                rate = _attr(opts, 'TCA_HTB_RATE64') or parms.get('rate', 0)
                ceil = _attr(opts, 'TCA_HTB_CEIL64') or parms.get('ceil', 0)
                obj = {'dev': nl.ifname(index), 'classid': classid, 'parent': parent, 'kind': 'htb',
                       'rate': rate * 8, 'ceil': ceil * 8,
                       'burst': _tc.xmitsize(rate, parms.get('buffer', 0)),
                       'cburst': _tc.xmitsize(ceil, parms.get('cbuffer', 0)),
                       'prio': parms.get('prio', 0), 'quantum': parms.get('quantum', 0)}
                key = self.key(obj)
                self._ticks[(key, 'burst')] = parms.get('buffer', 0)
                self._ticks[(key, 'cburst')] = parms.get('cbuffer', 0)
                self._level[key] = parms.get('level', 0)
                self._parent.setdefault(key, parent)
                out.append(obj)
        return out

    def _request(self, ctx, obj, options=True):
        args = ('htb' if options else None, ctx.nl.ifindex(obj['dev'], obj=self.label(obj)),
                _tc.handle_int(obj['classid']))
        kwargs = {'parent': _tc.handle_int(obj['parent'])}
        if options:
            kwargs.update({'rate': obj['rate'] // 8, 'ceil': obj.get('ceil', obj['rate']) // 8,
                           'burst': obj['burst'], 'cburst': obj['cburst'], 'prio': obj.get('prio', 0),
                           'quantum': obj['quantum']})
        return args, kwargs

    def render(self, ctx, op):
        obj = op.obj
        verb = {'add': 'add', 'delete': 'del', 'change': 'change'}[op.action]
        words = ['class', verb, 'dev', obj['dev'], 'parent', obj['parent'], 'classid', obj['classid']]
        if op.action == 'delete':
            return [ctx.cmd('tc', *words)]
        d = self.defaults(obj)
        words += ['htb', 'rate', _tc.rate_text(obj['rate'])]
        if obj.get('ceil', d['ceil']) != obj['rate']:
            words += ['ceil', _tc.rate_text(obj['ceil'])]
        for field in ('burst', 'cburst', 'prio', 'quantum'):
            if obj.get(field, d[field]) != d[field]:
                words += [field, obj[field]]
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
