# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traffic control classes (RTM_NEWTCLASS / RTM_DELTCLASS): HTB, HFSC, DRR and QFQ.

A class is identified by its device and its classid (``1:10``).  Its parent is the qdisc (``1:``) for
a top-level class, or another class (``1:1``).  Parents are created before their children and
children are deleted before their parents (rank = depth in the tree).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _tc
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

HTB_MTU = 1600  # q_htb.c: the default burst is rate / HZ + mtu (1600)
HTB_NUMPRIO = 8
BUCKETS = (('burst', 'rate'), ('cburst', 'ceil'))
#: the options of each class kind
CLASS_FIELDS = {
    'htb': ('rate', 'ceil', 'burst', 'cburst', 'prio', 'quantum', 'overhead'),
    'hfsc': ('rt', 'ls', 'ul'),
    'drr': ('quantum',),
    'qfq': ('weight', 'lmax'),
}
#: the fields a class of each kind may give (hfsc: also sc, rt and ls in one)
ALLOWED = dict((kind, frozenset(fields + (('sc',) if kind == 'hfsc' else ()))) for kind, fields in CLASS_FIELDS.items())
ALL_FIELDS = ('rate', 'ceil', 'burst', 'cburst', 'prio', 'quantum', 'overhead', 'rt', 'ls', 'ul', 'weight', 'lmax')
#: fields that tell the kind when the task does not name it
HINTS = (('hfsc', ('rt', 'ls', 'ul', 'sc')), ('qfq', ('weight', 'lmax')),
         ('htb', ('rate', 'ceil', 'burst', 'cburst', 'prio', 'overhead')))
CURVES = (('rt', 1), ('ls', 2), ('ul', 3))  # TCA_HFSC_RSC, TCA_HFSC_FSC, TCA_HFSC_USC
CURVE_NAMES = ('rt', 'ls', 'ul')
QFQ_MAX_WEIGHT, QFQ_MIN_LMAX, QFQ_MAX_LMAX, QFQ_MAX_WSUM = 1 << 10, 512, 1 << 16, 16 * (1 << 10)
#: the levels of classes an htb tree can have (TC_HTB_MAXDEPTH)
HTB_MAXDEPTH = 8
#: struct tc_htb_opt: rate and ceil (struct tc_ratespec each), buffer, cbuffer, quantum, level, prio
HTB_PARMS = struct.Struct('<BBHhHI' + 'BBHhHI' + 'IIIII')
_LINKLAYER_ATM = 2
#: the link layer and mpu of rate and ceil that tc sends by default (and the module for a class it makes)
_PLAIN_RATESPEC = (_tc.TC_LINKLAYER_ETHERNET, 0, _tc.TC_LINKLAYER_ETHERNET, 0)
HTB_PARMS_NLA = struct.Struct('<HH' + 'BBHhHI' + 'BBHhHI' + 'IIIII')  # the same as a TCA_HTB_PARMS attribute
SHAPE_ORDER = ('dev', 'classid', 'parent', 'kind') + ALL_FIELDS
#: the fields of a config element that TcClass.match_have compares with a gathered HTB class (the buckets are
#: settled against the kernel's ticks, so an element that gives one takes the normal path)
_FAST_FIELDS = frozenset(('dev', 'classid', 'parent', 'kind', 'rate', 'ceil', 'prio', 'quantum', 'overhead'))
_HTB_HINTS = HINTS[-1][1]
_CURVE = {'type': 'dict', 'options': dict((k, {'type': 'str'}) for k in ('m1', 'd', 'm2', 'umax', 'dmax', 'rate'))}


def _parent_handle(value, classid):
    """A class's parent as normalize reads it: ``root`` (or tc's ``ffff:ffff``) is the qdisc of the classid's major."""
    text = str(value).strip().lower()
    if text in ('root', 'ffff:ffff') and classid is not None:  # ffff:ffff: TC_H_ROOT, as tc reads it
        text = classid.split(':')[0] + ':'
    return _tc.parse_handle(text, 'parent')


def _default_bucket(rate_bytes):
    """The size tc's q_htb.c gives a bucket the command line leaves out: rate / HZ + mtu (1600 bytes)."""
    return rate_bytes // _tc.hz() + HTB_MTU


class TcClass(_tc.TcApply, Resource):
    name = 'tc_class'
    keys = ('dev', 'classid')
    duplicate_field = 'classid'  # (the field a duplicate key error names)
    required = ('dev', 'classid', 'parent')
    default_keys = ()  # every key is required: normalize_config need not ask defaults() for keys
    device_fields = ('dev',)  # (by an altname too)
    device_options = ('dev',)
    options = {
        'dev': {'type': 'str'},
        'classid': {'type': 'str'},
        'parent': {'type': 'str'},
        'kind': {'type': 'str', 'choices': sorted(CLASS_FIELDS)},
        'rate': {'type': 'str'},
        'ceil': {'type': 'str'},
        'burst': {'type': 'str'},
        'cburst': {'type': 'str'},
        'prio': {'type': 'int'},
        'quantum': {'type': 'int'},
        'overhead': {'type': 'int'},
        'rt': dict(_CURVE),
        'ls': dict(_CURVE),
        'ul': dict(_CURVE),
        'sc': dict(_CURVE),
        'weight': {'type': 'int'},
        'lmax': {'type': 'int', 'aliases': ['maxpkt']},
    }
    scope_options = {'dev': {'type': 'str'}}
    scope_fields = ('dev',)
    module_options = dict({'purge_only': {'type': 'bool', 'default': False}}, **_tc.GONE_OPTION)  # (purge_only: read by the engine's plan)
    immutable = ('parent', 'kind')

    def __init__(self):
        self._r2q = {}  # (dev, 'X:'): r2q of the htb qdisc
        self._qdiscs = {}  # (dev, 'X:'): kind
        self._qdisc_parent = {}  # (dev, 'X:'): the classid the qdisc is attached to (a qdisc in a class)
        self._ticks = {}  # (key, field): bucket in ticks
        self._level = {}  # key: level in the kernel's tree (0: leaf)
        #: key: (linklayer, mpu, ceil's linklayer, ceil's mpu) of an HTB class whose ratespecs have others than tc's
        #: defaults (``tc class ... linklayer atm mpu 64``): not modelled, so a change keeps them
        self._ratespec = {}
        self._parent = {}  # key: parent classid, from config and from the kernel
        self._pmtu = {}  # dev: psched_mtu (MTU plus link header)
        self._defaults = {}  # memo of defaults()
        self._config_parents = set()  # (dev, classid) of the classes that config elements name as parent
        self._parents_after = None  # (dev, classid) of the classes that keep children (_keeps_children)
        self._overridden = False  # whether the task's state is overridden (the kernel's other classes go)
        self._lost = []  # (key, [labels]) of what the deletes of the plan take along that cannot be made again
        self._given = {}  # key: the fields a config element gives (overlay)
        self._sent = {}  # (key, field, rate in bytes/s, size reported): the size sent for a bucket kept at a new rate

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        obj.pop('maxpkt', None)
        if 'classid' in obj:
            obj['classid'] = _tc.parse_handle(obj['classid'], 'classid', minor=True)
        if 'parent' in obj:
            obj['parent'] = _parent_handle(obj['parent'], obj.get('classid'))
            if 'classid' in obj and obj['parent'].split(':')[0] != obj['classid'].split(':')[0]:
                raise EdgenetError('parent %s is not in the tree of qdisc %s: (a class and its parent share the '
                                   'major number)' % (obj['parent'], obj['classid'].split(':')[0]), field='parent')
            if obj['parent'] == obj.get('classid'):
                raise EdgenetError('a class cannot be its own parent', field='parent')
        kind = obj.get('kind')
        if kind is None:
            for k, fields in HINTS:
                if any(f in obj for f in fields):
                    kind = obj['kind'] = k
                    break
        if kind is not None:
            allowed = ALLOWED[kind]
            for field in ALL_FIELDS + ('sc',):
                if field in obj and field not in allowed:
                    raise EdgenetError("a %s class has no option '%s'" % (kind, field), field=field)
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
        if 'overhead' in obj and not 0 <= obj['overhead'] < 2 ** 16:
            raise EdgenetError('overhead %d is out of range (0 to 65535 bytes)' % obj['overhead'], field='overhead')
        if 'rate' in obj and 'ceil' in obj and obj['ceil'] < obj['rate']:
            raise EdgenetError('ceil %dbit is below rate %dbit' % (obj['ceil'], obj['rate']), field='ceil')
        if 'sc' in obj:  # tc's sc: the same curve for real time and link sharing
            if 'rt' in obj or 'ls' in obj:
                raise EdgenetError('sc sets rt and ls both; give sc or rt/ls', field='sc')
            obj['rt'] = obj['ls'] = obj.pop('sc')
        for field in CURVE_NAMES:
            if field in obj:
                obj[field] = _tc.hfsc_curve(obj[field], field)
                if not obj[field]['m1'] and not obj[field]['m2']:
                    raise EdgenetError('a service curve of rate 0 is no curve; leave %s out' % field, field=field)
        if 'weight' in obj and not 1 <= obj['weight'] <= QFQ_MAX_WEIGHT:
            raise EdgenetError('weight %d is out of range (1 to %d)' % (obj['weight'], QFQ_MAX_WEIGHT), field='weight')
        if 'lmax' in obj and not QFQ_MIN_LMAX <= obj['lmax'] <= QFQ_MAX_LMAX:
            raise EdgenetError('lmax %d is out of range (%d to %d bytes)' % (obj['lmax'], QFQ_MIN_LMAX, QFQ_MAX_LMAX),
                               field='lmax')
        if 'classid' in obj and 'parent' in obj and 'dev' in obj:
            self._parent[self.key(obj)] = obj['parent']
            self._config_parents.add((obj['dev'], obj['parent']))
            self._parents_after = None
        return obj

    def match_index(self, have):
        return dict((self.key(h), h) for h in have)

    def overlay(self, base, top):
        out = dict(base, **top)
        if 'classid' in out:
            self._given[self.key(out)] = top
        for field, rfield in BUCKETS:
            if top.get(field) == 0 and out.get('kind', 'htb') == 'htb':
                # a bucket of 0 bytes is tc's default, as on tc's command line (q_htb.c): the size the kernel then
                # reports (0 at 40gbit and above: less than a microsecond), so that check mode shows what tc and
                # the real run make (a bucket of 0 ticks, sent as given, was another than the command line's)
                rate = out.get(rfield, out.get('rate'))
                if isinstance(rate, int) and rate > 0:
                    out[field] = _tc.roundtrip(rate, _default_bucket(rate // 8))
        return out

    def match_have(self, item, index, ctx):
        # An HTB class given by fields normalize only parses (classid, parent, rate and ceil in any unit tc
        # takes, prio, quantum, overhead), each equal to the kernel's value once parsed: normalize would return the
        # class's own values and raise nothing (a kernel class's values are in range). Anything else, or a value
        # that does not parse, takes the normal path (and its errors).
        if not _FAST_FIELDS.issuperset(item):
            return None
        try:
            h = index.get((item['dev'], item['classid']))  # (the canonical text: no parsing)
            if h is None:
                h = index.get((item['dev'], _tc.parse_handle(item['classid'], 'classid', minor=True)))
            if h is None or h['kind'] != 'htb':
                return None
            kind = item.get('kind')
            if kind is None and any(f in item for f in _HTB_HINTS):
                kind = 'htb'
            if kind not in (None, 'htb'):
                return None
            if item['parent'] != h['parent'] and _parent_handle(item['parent'], h['classid']) != h['parent']:
                return None
            for field in ('rate', 'ceil'):
                if field in item and _tc.rate(item[field], field) != h.get(field):
                    return None
        except (EdgenetError, TypeError):  # (TypeError: a value Ansible's argument spec would have refused)
            return None
        if 'rate' in item and 'ceil' in item and h['ceil'] < h['rate']:
            return None  # normalize refuses it
        for field in ('prio', 'quantum', 'overhead'):
            if field in item and (item[field] != h.get(field) or item[field].__class__ is not int):
                return None
        return h

    def _kind(self, obj):
        kind = obj.get('kind')
        if kind is None and 'classid' in obj:
            kind = self._qdiscs.get((obj.get('dev'), obj['classid'].split(':')[0] + ':'))
        return kind

    def defaults(self, obj):
        return dict(self._shared_defaults(obj))

    def _shared_defaults(self, obj):
        """defaults(), memoized by everything they depend on: the device and its MTU, the kind (the
        qdisc's when the class names none), the qdisc (the classid's major) and its r2q, rate and ceil.
        The engine asks several times per class, before and after gathering, and rates repeat in a tree.
        The memo's own dict: callers that keep or change it take a copy (defaults())."""
        dev, classid, kind = obj.get('dev'), obj.get('classid'), obj.get('kind')
        major = classid.partition(':')[0] + ':' if classid is not None else '0:'
        if kind is None and classid is not None:
            kind = self._qdiscs.get((dev, major))
        memo = (dev, kind, major, obj.get('rate'), obj.get('ceil'), self._pmtu.get(dev), self._r2q.get((dev, major)))
        found = self._defaults.get(memo)
        if found is None:
            found = self._defaults[memo] = self._compute_defaults(obj)
        return found

    def _compute_defaults(self, obj):
        kind = self._kind(obj)
        out = {'kind': kind} if kind in CLASS_FIELDS else {}
        pmtu = self._pmtu.get(obj.get('dev'), 1514)
        if kind == 'drr':
            out['quantum'] = pmtu
        elif kind == 'qfq':
            out.update({'weight': 1, 'lmax': pmtu})
        if kind != 'htb':
            return out
        out.update({'prio': 0, 'overhead': 0})
        rate = obj.get('rate')
        if rate is None:
            return out
        ceil = obj.get('ceil', rate)
        out['ceil'] = ceil
        for field, rfield in BUCKETS:
            r = rate if rfield == 'rate' else ceil
            out[field] = _tc.roundtrip(r, _default_bucket(r // 8))
        major = obj.get('classid', '0:').split(':')[0] + ':'
        quantum = rate // 8 // self._r2q.get((obj.get('dev'), major), 10)
        out['quantum'] = min(max(quantum, 1000), 200000)
        return out

    def label(self, obj):
        return 'class %s dev %s' % (obj.get('classid', '?'), obj.get('dev', '?'))

    def shape(self, obj):
        out = {k: obj[k] for k in SHAPE_ORDER if k in obj}
        if len(out) != len(obj):
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
        if obj.get('kind') != 'htb':
            return obj
        d = None
        for field, rfield in BUCKETS:
            ticks = self._ticks.get((key, field))
            if ticks is None:
                continue
            w = want.get(field)
            rate = want.get(rfield)
            if w is None and want.get('rate') is not None:
                if d is None:  # once for both buckets
                    d = self._shared_defaults(want)
                w = d.get(field)  # (the default bucket, at the element's rate and its ceil, or the rate)
                rate = want.get(rfield, want['rate'])
            elif rate is None:
                # a size the element gives, at a rate (or ceil) it does not: the kernel's (kept by merged; the
                # default, which the kernel then has)
                rate = obj.get(rfield)
            if (isinstance(w, int) and w != obj.get(field) and rate == obj.get(rfield)
                    and _tc.same_bucket(obj[rfield], w, ticks)):
                obj[field] = w
        return obj

    def reconcile(self, have, target):
        key = self.key(have)
        if have.get('kind') != 'htb':
            return target
        if target.get('kind') == 'htb' and 'ceil' in target and target['ceil'] < target.get('rate', 0):
            self._check_ceil(have, target)
        for field, rfield in BUCKETS:
            ticks = self._ticks.get((key, field))
            if (ticks is not None and target.get(rfield) == have.get(rfield) and isinstance(target.get(field), int)
                    and _tc.same_bucket(have[rfield], target[field], ticks)):
                target[field] = have[field]
            elif (ticks is not None and target.get(field) == have.get(field) and isinstance(have.get(rfield), int)
                  and isinstance(target.get(rfield), int) and target[rfield] != have[rfield]
                  and _tc.same_bucket(have[rfield], _default_bucket(have[rfield] // 8), ticks)):
                # a new rate (or ceil) for a bucket of the old one's default size, which the element does not give:
                # the bucket a class with the new rate gets, as tc would make it (sent at the new rate, the old
                # size made another bucket than both check mode and the report then showed)
                target[field] = _tc.roundtrip(target[rfield], _default_bucket(target[rfield] // 8))
            elif (ticks is not None and target.get(field) == have.get(field) and isinstance(have.get(field), int)
                  and isinstance(have.get(rfield), int) and isinstance(target.get(rfield), int)
                  and target[rfield] != have[rfield] and field not in self._given.get(key, ())):
                # a bucket the element leaves out, kept at a new rate (or ceil): its size is sent at the new rate, and
                # the kernel reports it cut to whole microseconds there, which check mode shows too
                size = _tc.roundtrip(target[rfield], have[field])
                if size != have[field]:
                    self._sent[(key, field, target[rfield] // 8, size)] = have[field]
                    target[field] = size
        if self._level.get(key) and self._keeps_children(key):
            # the kernel sets quantum and prio of leaf classes only; an inner class keeps its own (one whose
            # children the plan deletes is a leaf when it is changed: it takes them, as a new class would)
            for field in ('quantum', 'prio'):
                if field in have:
                    target[field] = have[field]
        return target

    def _check_ceil(self, have, target):
        """A merged element that gives the rate or the ceil of an HTB class but not both gets the other one from
        the kernel, which may leave the ceil below the rate (normalize refuses that only within one element)."""
        if target['ceil'] != have['ceil']:
            raise EdgenetError('ceil %dbit is below the rate of the class (%dbit)' % (target['ceil'], target['rate']),
                               obj=self.label(have), field='ceil')
        if target['rate'] == have['rate']:
            return  # (a class the kernel holds so, as tc made it: a task that changes neither leaves it)
        if have['ceil'] != have['rate']:
            raise EdgenetError('rate %dbit is above the ceil of the class (%dbit); give a ceil too'
                               % (target['rate'], have['ceil']), obj=self.label(have), field='ceil')
        # a ceil at the rate is what a class that names none gets: it stays at the rate, as it would be made
        target['ceil'] = target['rate']

    def _keeps_children(self, key):
        """Whether class ``key`` has children after the plan: the config's classes it parents, and with every
        state but overridden (which deletes the others) the kernel's classes the config does not move."""
        parents = self._parents_after
        if parents is None:
            if self._overridden:
                parents = self._config_parents
            else:
                parents = self._parents_after = set((k[0], p) for k, p in self._parent.items())
        return key in parents

    def plan_change(self, have, target, ctx):
        if have.get('parent') != target.get('parent') or have.get('kind') != target.get('kind'):
            return [Op('delete', have, None), Op('add', None, target)]
        if [f for f in CURVE_NAMES if f in have and f not in target]:
            # the kernel keeps a curve a change leaves out: removing one takes a new class
            return [Op('delete', have, None), Op('add', None, target)]
        return [Op('change', have, target)]

    def validate(self, ctx, plan, after):
        # a class of a qdisc not there yet (check mode: an earlier task makes it) of a kind this kernel lacks
        new = [op for op in plan if op.action != 'delete' and (op.obj['dev'], op.obj['classid'].split(':')[0] + ':')
               not in self._qdiscs]
        if new:  # (imported only then: nothing to compile on a re-run)
            from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig  # pylint: disable=import-outside-toplevel

            _kconfig.refuse(new, 'class', self.label)
        after_by = dict((self.key(o), o) for o in after)
        wsum = {}
        for o in after:
            if o.get('kind') == 'qfq':
                major = (o['dev'], o['classid'].split(':')[0])
                wsum[major] = wsum.get(major, 0) + o.get('weight', 1)
        rooted = set()  # the classids known to hang from their qdisc (each walk stops at one)
        for op in plan:  # first: a cycle is the error of a class moved into one (not of its delete)
            if op.action == 'add':  # (a change keeps the parent: only an add can close a cycle)
                self._refuse_cycle(op.after, after_by, rooted)
        added = set(self.key(op.after) for op in plan if op.action == 'add')
        for op in plan:
            obj = op.obj
            label = self.label(obj)
            if op.action == 'delete':
                # (a child the plan adds comes after the class, made again or not there: a class moved to another
                # parent is deleted and added, and a new child, or one moved with it, is added after it)
                children = sorted(o['classid'] for o in after if o['dev'] == obj['dev']
                                  and o.get('parent') == obj['classid'] and self.key(o) not in added)
                if children:
                    raise self._keeps_children_error(op, plan, children)
                continue
            ctx.nl.ifindex(obj['dev'], obj=label)
            major = obj['classid'].split(':')[0] + ':'
            kind = self._qdiscs.get((obj['dev'], major))
            if kind is None:
                self.refuse_or_warn(ctx, label, 'classid', 'device %s has no qdisc %s (create the qdisc first)'
                                    % (obj['dev'], major), 'creates it')
                if 'kind' not in obj:
                    raise EdgenetError('the qdisc %s does not exist yet: name the class kind' % major,
                                       obj=label, field='kind')
            elif kind != obj.get('kind'):
                raise EdgenetError('qdisc %s on %s is %s, not %s' % (major, obj['dev'], kind, obj.get('kind')),
                                   obj=label, field='kind')
            self._complete(obj, label)
            if obj['kind'] == 'qfq' and wsum.get((obj['dev'], major[:-1]), 0) > QFQ_MAX_WSUM:
                raise EdgenetError('the weights of the classes of qdisc %s add up to %d, above the %d QFQ allows'
                                   % (major, wsum[(obj['dev'], major[:-1])], QFQ_MAX_WSUM), obj=label, field='weight')
            if obj['parent'] != major:
                if obj['kind'] in ('drr', 'qfq'):
                    raise EdgenetError('%s classes are flat: the parent is the qdisc %s' % (obj['kind'], major),
                                       obj=label, field='parent')
                parent = after_by.get((obj['dev'], obj['parent']))
                if parent is None:
                    raise EdgenetError('parent class %s does not exist and is not in config' % obj['parent'],
                                       obj=label, field='parent')
                if obj['kind'] == 'htb' and op.action == 'add':
                    self._refuse_too_deep(obj, after_by, label)
                if obj['kind'] == 'htb' and obj['rate'] > parent.get('ceil', parent.get('rate', 0)):
                    ctx.warn('%s: rate %dbit is above the ceil of its parent %s (%dbit); HTB accepts it, but the '
                             'class can never get its rate' % (label, obj['rate'], obj['parent'], parent['ceil']))
        self._taken_along(plan)
        self._lost = []
        snapshot = None
        firsts = self._first_children(plan)
        if firsts:  # (only then: a dump of the qdiscs)
            snapshot = _tc.Snapshot(ctx)
            self._leaf_goes(ctx, firsts, snapshot)
        deleted = [op.before for op in plan if op.action == 'delete']
        if deleted:  # (only then: a dump of the filters of the qdiscs concerned)
            snapshot = snapshot or _tc.Snapshot(ctx)  # (one class dump per device for both)
            self._refuse_in_use(ctx, deleted, snapshot)
            self._keep_below(ctx, plan, after, snapshot)

    def _taken_along(self, plan):
        """Drop the delete of a class whose qdisc hangs (at any depth) under a class the plan deletes too: the kernel
        deletes that qdisc, with its classes, along with the class it is attached to, so a delete of its own failed
        (ENOENT) after the other had been sent, which check mode had not shown. The class is gone all the same (it is
        not in after), and the rollback of the delete that takes it along makes it again (that delete's restore)."""
        deleted = set(self.key(op.before) for op in plan if op.action == 'delete')
        if len(deleted) < 2 or not self._qdisc_parent:
            return

        def along(dev, classid):
            seen = set()
            while True:
                qdisc = (dev, classid.split(':')[0] + ':')
                holder = self._qdisc_parent.get(qdisc)
                if holder is None or qdisc in seen:
                    return False
                seen.add(qdisc)
                up, hops = holder, 0
                while up is not None and hops <= len(self._parent):  # (the holder and its ancestors in its tree)
                    if (dev, up) in deleted:
                        return True
                    parent = self._parent.get((dev, up))
                    up = parent if parent is not None and parent.split(':')[1] != '' else None
                    hops += 1
                classid = holder

        plan[:] = [op for op in plan if op.action != 'delete' or not along(*self.key(op.before))]

    def _first_children(self, plan):
        """The adds of the plan that give an existing htb leaf class its first child (the first such add per parent; a
        parent the plan deletes itself is :meth:`_keep_below`'s)."""
        deleted = set(self.key(op.before) for op in plan if op.action == 'delete')
        seen, out = set(), []
        for op in plan:
            obj = op.after
            if op.action != 'add' or obj.get('kind') != 'htb' or obj['parent'] == obj['classid'].split(':')[0] + ':':
                continue
            parent = (obj['dev'], obj['parent'])
            if parent not in seen and parent not in deleted and self._level.get(parent) == 0:
                out.append(op)
            seen.add(parent)
        return out

    def _keeps_children_error(self, op, plan, children):
        """The error of the delete ``op`` of a class that keeps ``children``. A delete that the plan follows with an add
        of the same class is a change the kernel cannot make in place (plan_change): it names what the element changes
        (a curve left out, another parent or kind) and why that is a delete."""
        obj = op.before
        label = self.label(obj)
        again = [o.after for o in plan if o.action == 'add' and self.key(o.after) == self.key(obj)]
        kids = ', '.join(children)
        if again and again[0].get('parent') != obj.get('parent'):
            return EdgenetError('moving the class to parent %s means deleting it and making it again there (the kernel '
                                'cannot move a class), which it cannot do while the class has children (%s); move or '
                                'delete them too' % (again[0].get('parent'), kids), obj=label, field='parent')
        if again and again[0].get('kind') != obj.get('kind'):
            return EdgenetError('another kind (%s) means deleting the class and making it again, which it cannot do '
                                'while the class has children (%s); delete them too' % (again[0].get('kind'), kids),
                                obj=label, field='kind')
        dropped = [f for f in CURVE_NAMES if f in obj and again and f not in again[0]]
        if dropped:
            return EdgenetError('leaving out the %s curve the class has means deleting the class and making it again '
                                '(the kernel keeps a curve a change does not name, and cannot remove one in place), '
                                'which it cannot do while the class has children (%s); give %s, or delete the children '
                                'too'
                                % ('/'.join(dropped), kids, ' and '.join(dropped)), obj=label, field=dropped[0])
        return EdgenetError('cannot delete a class that keeps children (%s); delete them too' % kids,
                            obj=label, field='classid')

    def _leaf_goes(self, ctx, firsts, snapshot):
        """An htb class that gets its first child becomes an inner class, and the kernel deletes its leaf qdisc (with
        everything under it), saying nothing. Said here, in both modes, before anything is sent; and the rollback that
        deletes the child again makes the leaf qdisc again as it was (``restore``; _tc.Snapshot, read first)."""
        for op in firsts:
            obj = op.after
            index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
            if index <= 0:
                continue
            replays, lost = snapshot.leaf_tree(index, _tc.handle_int(obj['parent']))
            if not (replays or lost):
                continue  # (the kernel's default qdisc: nothing of the user's)
            ctx.warn('%s: its parent %s gets its first child class, and the kernel deletes the leaf qdisc of a class '
                     'that gets children, with everything under it: %s' % (
                         self.label(obj), obj['parent'], ', '.join([r.label for r in replays] + lost)))
            op.restore = replays
            if lost:
                self._lost.append(((obj['dev'], obj['parent']), lost))

    def _keep_below(self, ctx, plan, after, snapshot):
        """What the kernel deletes along with each class the plan deletes: its leaf qdisc, with everything under it,
        and the filters attached to the class (_tc.Snapshot, read before anything is sent). A class the plan adds
        again (a move to another parent, which the kernel cannot do in place) gets them back right after it
        (``follow``), unless it keeps children after the plan (the kernel gives an inner class no leaf qdisc: only
        the filters come back); the rollback of a delete makes them again with the class (``restore``). A move of
        a class with something under it that cannot be made again is refused before anything is sent; a delete's
        rollback names what it cannot give back (``rollback_lost``)."""
        by_dev = {}  # the filters of every deleted class: one pipelined dump per device
        for op in plan:
            if op.action == 'delete':
                by_dev.setdefault(op.before['dev'], []).append(_tc.handle_int(op.before['classid']))
        for dev, classids in by_dev.items():
            index = ctx.nl.ifindex(dev)
            if index > 0:
                snapshot.prefetch_filters(index, [c for c in classids if snapshot.qdisc_kind(
                    index, c & 0xFFFF0000) in _tc.CLASS_FILTER_KINDS])
        adds = dict((self.key(op.after), op) for op in plan if op.action == 'add')
        parents = set((o['dev'], o.get('parent')) for o in after)  # (dev, classid) of the classes with children
        for op in plan:
            if op.action != 'delete':
                continue
            obj = op.before
            key = self.key(obj)
            index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
            if index <= 0:
                continue
            replays, lost = snapshot.below_class(index, _tc.handle_int(obj['classid']))
            op.restore = replays
            if lost:
                self._lost.append((key, lost))
            add = adds.get(key)
            if add is None or not (replays or lost):
                continue
            if lost:
                raise EdgenetError(
                    'moving the class to parent %s deletes it and adds it again (the kernel cannot move a class), '
                    'and the kernel deletes with it %s, which this module cannot make again as it was; delete and '
                    'make them yourself, or keep the parent' % (add.after['parent'], ', '.join(lost)),
                    obj=self.label(obj), field='parent')
            if key in parents:
                ctx.warn('%s: the class gets children, and the kernel deletes the leaf qdisc of a class that gets '
                         'children: %s' % (self.label(obj), ', '.join(r.label for r in replays if r.what == 'qdisc')))
                replays = [r for r in replays if r.what == 'filter' and r.parent == _tc.handle_int(obj['classid'])]
            add.follow = replays

    def _refuse_in_use(self, ctx, deleted, snapshot):
        """Refuse to delete a class that a filter points at (its classid or flowid): the kernel refuses it
        (EBUSY, "class in use"), and the rollback of what the plan deleted before could not give back the leaf
        qdiscs the kernel deletes with a class. One filter dump per class of each qdisc concerned, pipelined."""
        from ansible_collections.edgenet.linux.plugins.module_utils import _tc_filter as codec

        doomed = dict((self.key(o), o) for o in deleted)
        for dev, major in sorted(set((o['dev'], o['classid'].split(':')[0] + ':') for o in deleted)):
            index = ctx.nl.ifindex(dev)
            parents = [_tc.handle_int(major)]
            if self._qdiscs.get((dev, major)) in ('htb', 'hfsc'):  # (the others' classes take no filters)
                parents += [msg['handle'] for msg in snapshot.classes(index, parents[0])]
            dumps = ctx.nl.rdump_many(codec.RTM_GETTFILTER, [codec.tcmsg(index, 0, p) for p in parents],
                                      'the tc filters of %s' % dev)
            for parent, messages in zip(parents, dumps):
                where = _tc.handle_text(parent)
                holder = doomed.get((dev, where)) if where != major else None
                for _t, body in messages:
                    f = codec.decode_filter(body)
                    attr = codec.CLS_ATTRS.get(f['kind'], (None,))[0] if f is not None else None
                    bound = f['opts'].get(attr) if attr is not None else None
                    if bound is None:
                        continue
                    obj = doomed.get((dev, _tc.handle_text(codec.u32_of(bound))))
                    if obj is not None and holder is not None and self.rank(obj) < self.rank(holder):
                        continue  # (deleted with the class it is attached to, which the plan deletes first: deeper)
                    if obj is not None and ctx.check_mode:
                        # (an earlier task of the play may delete the filter, as the qos role's deleted run does)
                        ctx.warn('check mode: a %s filter (parent %s prio %d) points at %s; this prediction assumes '
                                 'an earlier task of the play deletes it. Without that the real run refuses to delete '
                                 'the class, changing nothing' % (f['kind'], where, f['prio'], self.label(obj)))
                        doomed.pop((dev, obj['classid']), None)
                    elif obj is not None:
                        raise EdgenetError(
                            'a %s filter (parent %s prio %d) points at this class, and the kernel refuses to delete '
                            'a class in use; delete the filter first (edgenet.linux.tc_filter), or keep the class'
                            % (f['kind'], where, f['prio']), obj=self.label(obj), field='classid')

    def refine_error(self, op, error):
        error = super(TcClass, self).refine_error(op, error)
        lost = [(key, labels) for key, labels in self._lost if key != self.key(op.obj)]
        if lost:
            # the rollback re-adds a deleted class and makes again what the kernel deleted with it, but for these
            error.msg += ('; the rollback cannot make again what the kernel deleted with the deleted class(es), or with a '
                          'class that got its first child: %s'
                          % '; '.join('%s (under %s)' % (', '.join(labels), key[1]) for key, labels in lost))
            error.extra['rollback_lost'] = [label for _key, labels in lost for label in labels]
        return error

    @staticmethod
    def _refuse_cycle(obj, after_by, rooted):
        """Refuse a class that is its own ancestor after the plan: the kernel would take the first of the cycle
        it is sent as a top-level class (its parent does not exist yet), not where the config puts it."""
        major = obj['classid'].split(':')[0] + ':'
        path, classid = [obj['classid']], obj.get('parent', major)
        while classid != major and (obj['dev'], classid) not in rooted:
            if len(path) > len(after_by):
                return  # (below a cycle of other classes: the error of theirs)
            path.append(classid)
            if classid == obj['classid']:
                raise EdgenetError('parent cycle %s: a class cannot be its own ancestor' % ' -> '.join(path),
                                   obj='class %s dev %s' % (obj['classid'], obj['dev']), field='parent')
            up = after_by.get((obj['dev'], classid))
            if up is None:
                return  # (a missing parent is the error of that class)
            classid = up.get('parent', major)
        rooted.update((obj['dev'], c) for c in path)

    @staticmethod
    def _refuse_too_deep(obj, after_by, label):
        """HTB gives a class a level, 7 for a top-level class down to 0, and refuses a class below level 0 (the
        kernel: "tree is too deep"): at most HTB_MAXDEPTH classes from the qdisc down to a leaf.  Checked before
        anything is sent, so check mode shows the refusal the real run would meet (a cycle is refused before)."""
        major = obj['classid'].split(':')[0] + ':'
        path, up = [obj['classid']], obj
        while up is not None and up.get('parent', major) != major and len(path) <= len(after_by):
            path.append(up['parent'])
            up = after_by.get((obj['dev'], up['parent']))
        if len(path) > HTB_MAXDEPTH:
            raise EdgenetError('an htb tree has at most %d levels of classes, and this class would be the %dth '
                               '(%s); the kernel refuses it ("tree is too deep")'
                               % (HTB_MAXDEPTH, len(path), ' -> '.join([major] + path[::-1])),
                               obj=label, field='parent')

    @staticmethod
    def _complete(obj, label):
        kind = obj['kind']
        if kind == 'htb' and 'rate' not in obj:
            raise EdgenetError('an htb class needs rate', obj=label, field='rate')
        if kind == 'hfsc':
            if 'rt' not in obj and 'ls' not in obj:
                raise EdgenetError('an hfsc class needs a real-time (rt) or link-sharing (ls) service curve',
                                   obj=label, field='rt')
            if 'ul' in obj and 'ls' not in obj:
                raise EdgenetError('an upper-limit curve (ul) needs a link-sharing curve (ls), as in tc',
                                   obj=label, field='ul')

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        nl = ctx.nl
        self._overridden = ctx.params.get('state') == 'overridden'
        self._parents_after = None
        self._pmtu = dict((name, dev[2] + dev[3]) for name, dev in _tc.devices(ctx).items())
        qdiscs = []
        msgs = _tc.dump(ctx, _tc.RTM_GETQDISC, what='the qdiscs')
        gone = _tc.gone_qdiscs(ctx, msgs)
        for msg in msgs:
            if not msg['handle'] & 0xFFFF0000 or msg['handle'] & 0xFFFF or msg['parent'] == _tc.TC_H_INGRESS:
                continue
            dev = nl.ifname(msg['index'])
            if gone and (dev, _tc.handle_text(msg['handle'])) in gone:
                continue  # (check mode: an earlier task deletes it, with its classes)
            handle = _tc.handle_text(msg['handle'])
            kind = msg['kind']
            self._qdiscs[(dev, handle)] = kind
            if msg['parent'] not in (_tc.TC_H_ROOT, _tc.TC_H_INGRESS) and msg['parent'] & 0xFFFF0000:
                self._qdisc_parent[(dev, handle)] = _tc.handle_text(msg['parent'])
            if kind == 'htb':
                init = _tc.nlas(msg['opts']).get(2, b'')
                self._r2q[(dev, handle)] = struct.unpack_from('<I', init, 4)[0] if len(init) >= 8 else 10
            if kind in CLASS_FIELDS:
                qdiscs.append((msg['index'], msg['handle']))
        out = []
        qdiscs.sort()
        dumps = _tc.class_dumps(ctx, qdiscs, 'the classes')  # (one per qdisc: see class_dumps)
        for index, major in qdiscs:
            dev = nl.ifname(index)
            for msg in dumps[(index, major)]:
                kind = msg['kind']
                if kind not in CLASS_FIELDS or not msg['handle'] & 0xFFFF:
                    continue  # the classes other qdiscs make (prio bands), and HFSC's root class
                classid = _tc.handle_text(msg['handle'])
                parent = classid.split(':')[0] + ':' if msg['parent'] == _tc.TC_H_ROOT else \
                    _tc.handle_text(msg['parent'])
                obj = {'dev': dev, 'classid': classid, 'parent': parent, 'kind': kind}
                getattr(self, '_decode_' + kind)(obj, _tc.nlas(msg['opts']))
                self._parent.setdefault(self.key(obj), parent)
                out.append(obj)
        return out

    def _decode_htb(self, obj, a):
        parms = a.get(1, b'')
        if len(parms) < 44:
            return
        (_cl, ll, overhead, _ca, mpu, rate, _ccl, cll, _coverhead, _cca, cmpu, ceil,
         buffer_, cbuffer, quantum, level, prio) = HTB_PARMS.unpack_from(parms)
        if (ll, mpu, cll, cmpu) != _PLAIN_RATESPEC:
            self._ratespec[(obj['dev'], obj['classid'])] = (ll, mpu, cll, cmpu)
        if 6 in a or 7 in a:
            rate = _tc.get_u64(a, 6) or rate
            ceil = _tc.get_u64(a, 7) or ceil
        obj['rate'] = rate * 8
        obj['ceil'] = ceil * 8
        obj['burst'] = _tc.xmitsize(rate, buffer_)
        obj['cburst'] = _tc.xmitsize(ceil, cbuffer)
        obj['prio'] = prio
        obj['quantum'] = quantum
        obj['overhead'] = overhead
        key = (obj['dev'], obj['classid'])
        self._ticks[(key, 'burst')] = buffer_
        self._ticks[(key, 'cburst')] = cbuffer
        self._level[key] = level

    @staticmethod
    def _decode_hfsc(obj, a):
        for field, attr in CURVES:
            v = a.get(attr)
            if v is not None and len(v) >= 12:
                m1, d, m2 = struct.unpack_from('<III', v)
                obj[field] = {'m1': m1 * 8, 'd': d, 'm2': m2 * 8}

    @staticmethod
    def _decode_drr(obj, a):
        quantum = _tc.get_u32(a, 1)
        if quantum is not None:
            obj['quantum'] = quantum

    @staticmethod
    def _decode_qfq(obj, a):
        for field, attr in (('weight', 1), ('lmax', 2)):
            v = _tc.get_u32(a, attr)
            if v is not None:
                obj[field] = v

    def request(self, ctx, op):
        """The netlink request of one op (RTM_NEWTCLASS add/change, RTM_DELTCLASS)."""
        obj = op.obj
        index = ctx.nl.links()[0].get(obj['dev'])  # the label of an unknown device's error only when needed
        if index is None:
            index = ctx.nl.ifindex(obj['dev'], obj=self.label(obj))
        classid, parent = _tc.handle_int(obj['classid']), _tc.handle_int(obj['parent'])
        if op.action == 'delete':
            return _tc.request(_tc.RTM_DELTCLASS, self.flags('delete'), index, classid, parent)
        return _tc.request(_tc.RTM_NEWTCLASS, self.flags(op.action), index, classid, parent, obj['kind'],
                           self.tc_options(obj))

    def tc_options(self, obj):
        """TCA_OPTIONS of a class, as the kernel reads them (include/uapi/linux/pkt_sched.h)."""
        kind = obj['kind']
        if kind == 'htb':
            rate, ceil = obj['rate'] // 8, obj.get('ceil', obj['rate']) // 8
            overhead = obj.get('overhead', 0)
            d = self._shared_defaults(obj)
            buffer_ = self._bucket(obj, 'burst', rate, d)[0]
            cbuffer = self._bucket(obj, 'cburst', ceil, d)[0]
            # two struct tc_ratespec (as _tc.ratespec, with the class's own link layer and mpu) and the buckets,
            # quantum, level and prio
            ll, mpu, cll, cmpu = self._ratespec.get((obj['dev'], obj['classid']), _PLAIN_RATESPEC)
            out = HTB_PARMS_NLA.pack(
                48, 1, 0, ll, overhead, -1, mpu, min(rate, 0xFFFFFFFF),
                0, cll, overhead, -1, cmpu, min(ceil, 0xFFFFFFFF),
                buffer_, cbuffer, obj['quantum'], 0, obj.get('prio', 0))  # TCA_HTB_PARMS
            if rate >= 2 ** 32:
                out += _tc.nla_u64(6, rate)
            if ceil >= 2 ** 32:
                out += _tc.nla_u64(7, ceil)
            return out
        if kind == 'hfsc':
            return b''.join(_tc.nla(attr, struct.pack('<III', obj[f]['m1'] // 8, obj[f]['d'], obj[f]['m2'] // 8))
                            for f, attr in CURVES if f in obj)
        if kind == 'drr':
            return _tc.nla_u32(1, obj['quantum'])
        return _tc.nla_u32(1, obj['weight']) + _tc.nla_u32(2, obj['lmax'])  # qfq

    def render(self, ctx, op):
        obj = op.obj
        verb = {'add': 'add', 'delete': 'del', 'change': 'change'}[op.action]
        words = ['class', verb, 'dev', obj['dev'], 'parent', obj['parent'], 'classid', obj['classid']]
        if op.action == 'delete':
            return [ctx.cmd('tc', *words)]
        kind = obj['kind']
        if kind == 'hfsc':
            words.append('hfsc')
            for field in CURVE_NAMES:
                if field in obj:
                    c = obj[field]
                    words.append(field)
                    if c['m1'] or c['d']:
                        words += ['m1', _tc.rate_text(c['m1']), 'd', '%dus' % c['d']]
                    words += ['m2', _tc.rate_text(c['m2'])]
            return [ctx.cmd('tc', *words)]
        if kind == 'drr':
            return [ctx.cmd('tc', *(words + ['drr', 'quantum', obj['quantum']]))]
        if kind == 'qfq':
            return [ctx.cmd('tc', *(words + ['qfq', 'weight', obj['weight'], 'maxpkt', obj['lmax']]))]
        d = self._shared_defaults(obj)
        words += ['htb', 'rate', _tc.rate_text(obj['rate'])]
        if obj.get('ceil', d['ceil']) != obj['rate']:
            words += ['ceil', _tc.rate_text(obj['ceil'])]
        for field, rate in (('burst', obj['rate']), ('cburst', obj.get('ceil', obj['rate']))):
            size = self._bucket(obj, field, rate // 8, d)[1]
            if size is not None:
                words += [field, size]
        for field in ('prio', 'quantum', 'overhead'):
            if obj.get(field, d[field]) != d[field] and (field != 'quantum' or obj[field]):
                words += [field, obj[field]]  # (a quantum of 0: the kernel's, from rate and r2q, as with none given)
        ll, mpu, _cll, _cmpu = self._ratespec.get((obj['dev'], obj['classid']), _PLAIN_RATESPEC)
        if mpu:
            words += ['mpu', mpu]
        if ll == _LINKLAYER_ATM:
            words += ['linklayer', 'atm']
        return [ctx.cmd('tc', *words)]

    def _bucket(self, obj, field, rate, d):
        """(ticks, size) of bucket ``field`` (burst or cburst) of an HTB class sent at ``rate`` bytes/s: the
        ticks the request sends, and the size a tc command line gives for them (None: tc's default bucket).

        A bucket at its default is sent as tc sends it when the command line gives none: the time of
        rate / HZ + 1600 bytes. The default's size is what the kernel reports for that time, rounded down to
        whole microseconds: sent again as a size, it would lose up to one more microsecond (1,250 instead of
        1,375 bytes at 1gbit). So would any bucket the class keeps (a merged change of prio alone, or the
        rollback of a change): a size that is the kernel's own bucket as gathered is sent as the kernel's
        ticks, and rendered as the smallest size tc turns into those ticks (15,250 for the bucket of a
        15k burst at 1gbit, which tc prints as 15,125)."""
        size = obj.get(field, d.get(field))
        if self._sent:
            size = self._sent.get((self.key(obj), field, rate, size), size)
        ticks = self._ticks.get((self.key(obj), field)) if self._ticks else None
        if ticks is not None and _tc.xmitsize(rate, ticks) == size:
            if ticks == _tc.xmittime(rate, _default_bucket(rate)):
                return ticks, None
            return ticks, _tc.size_for_ticks(rate, ticks) or size
        if size == d.get(field):
            return _tc.xmittime(rate, _default_bucket(rate)), None
        return _tc.xmittime(rate, size), size
