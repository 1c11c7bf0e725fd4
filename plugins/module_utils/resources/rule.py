# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 and IPv6 policy routing rules (RTM_NEWRULE / RTM_DELRULE).

A rule is identified by its family, its priority and its selectors (from, to,
iif, oif, fwmark/fwmask): two rules with one priority but different selectors
are two objects.  What the rule does (action, table, l3mdev) is an attribute.
The kernel cannot change a rule in place, so a changed rule is deleted and
added again.  The kernel's default rules (priority 0 ``local``, 32766 ``main``,
32767 ``default``) are shown but never changed or deleted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils import _norm
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_INET, AF_INET6 = 2, 10
U32 = 2 ** 32 - 1
RTPROT_KERNEL = 2
ACTIONS = {1: 'lookup', 6: 'blackhole', 7: 'unreachable', 8: 'prohibit'}
SELECTORS = ('from', 'to', 'iif', 'oif', 'fwmark', 'fwmask')
DEFAULT_RULES = {0: 'local', 32766: 'main', 32767: 'default'}
FIELD_ORDER = ('priority', 'family') + SELECTORS + ('action', 'table', 'l3mdev')


def _u32(value, field):
    if isinstance(value, bool):
        raise EdgenetError("'%s' is not a number" % (value,), field=field)
    if isinstance(value, int):
        n = value
    else:
        try:
            n = int(str(value).strip(), 0)
        except ValueError:
            raise EdgenetError("'%s' is not a number (decimal, or hex like 0x10)" % (value,), field=field)
    if not 0 <= n <= U32:
        raise EdgenetError('%s is out of range (0 to 0xffffffff)' % (value,), field=field)
    return n


class Rule(Resource):
    name = 'rule'
    field_order = FIELD_ORDER
    keys = ('family', 'priority') + SELECTORS
    required = ('priority',)
    options = {
        'priority': {'type': 'int'},
        'family': {'type': 'int', 'choices': [4, 6]},
        'from': {'type': 'str', 'aliases': ['src']},
        'to': {'type': 'str', 'aliases': ['dst']},
        'iif': {'type': 'str'},
        'oif': {'type': 'str'},
        'fwmark': {'type': 'raw'},
        'fwmask': {'type': 'raw'},
        'action': {'type': 'str', 'choices': ['lookup', 'blackhole', 'unreachable', 'prohibit']},
        'table': {'type': 'raw'},
        'l3mdev': {'type': 'bool'},
    }
    scope_options = {'family': {'type': 'int', 'choices': [4, 6]}}

    def __init__(self):
        self._kernel_made = set()

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        obj.pop('src', None)  # aliases: AnsibleModule keeps both names
        obj.pop('dst', None)
        if 'priority' in obj:
            obj['priority'] = _norm.int_range(obj['priority'], 0, U32, 'priority')
        families = {}
        for field in ('from', 'to'):
            if field in obj:
                text = str(obj[field]).strip()
                if text == 'all':
                    del obj[field]
                    continue
                obj[field] = _norm.prefix(text, field, strict=True)
                families[field] = _norm.family(obj[field])
                if obj[field].endswith('/0'):
                    del obj[field]  # matches everything, as "all"
        fam = obj.get('family')
        for field, f in sorted(families.items()):
            if fam is None:
                fam = f
            elif f != fam:
                raise EdgenetError('%s is IPv%d but the rule is IPv%d' % (field, f, fam), field=field)
        scope_family = ctx.params.get('family')
        if fam is None and scope_family:
            fam = scope_family
        if fam is not None:
            obj['family'] = fam
            if scope_family and fam != scope_family:
                raise EdgenetError('the rule is IPv%d but the module acts only on IPv%d (option family)'
                                   % (fam, scope_family), field='family')
        for field in ('iif', 'oif'):
            if field in obj:
                name = str(obj[field])
                if not name or len(name) > 15 or '/' in name or ' ' in name:
                    raise EdgenetError("'%s' is not a valid device name" % name, field=field)
        if 'fwmark' in obj:
            obj['fwmark'] = _u32(obj['fwmark'], 'fwmark')
        if 'fwmask' in obj:
            if 'fwmark' not in obj:
                raise EdgenetError('fwmask needs fwmark', field='fwmask')
            obj['fwmask'] = _u32(obj['fwmask'], 'fwmask')
            if obj['fwmark'] & ~obj['fwmask'] & U32:
                raise EdgenetError('fwmark 0x%x has bits outside fwmask 0x%x' % (obj['fwmark'], obj['fwmask']),
                                   field='fwmark')
        elif obj.get('fwmark') == 0:
            del obj['fwmark']  # the kernel ignores fwmark 0 without a mask
        action = obj.get('action', 'lookup')
        if 'table' in obj:
            obj['table'] = _norm.table(obj['table'], 'table')
            if action != 'lookup':
                raise EdgenetError('a %s rule has no table' % action, field='table')
        if obj.get('l3mdev'):
            if action != 'lookup' or 'table' in obj:
                raise EdgenetError('an l3mdev rule looks up the table of the l3mdev device; it takes no table '
                                   'and no other action', field='l3mdev')
        return obj

    def defaults(self, obj):
        out = {'family': obj.get('family', 4), 'action': 'lookup', 'l3mdev': False}
        if obj.get('action', 'lookup') == 'lookup' and not obj.get('l3mdev'):
            out['table'] = 'main'
        if 'fwmark' in obj:
            out['fwmask'] = U32
        return out

    def label(self, obj):
        words = ['rule', 'priority', str(obj.get('priority', '?'))]
        for f in SELECTORS:
            if obj.get(f) is not None:
                words += [f, '0x%x' % obj[f] if f in ('fwmark', 'fwmask') else str(obj[f])]
        if obj.get('family'):
            words.append('(IPv%d)' % obj['family'])
        return ' '.join(words)

    def sort_key(self, obj):
        return (obj.get('family', 4), obj.get('priority', 0),
                tuple('' if obj.get(f) is None else str(obj[f]) for f in SELECTORS))

    def in_scope(self, obj, ctx):
        fam = ctx.params.get('family')
        return fam is None or obj.get('family') == fam

    def protected(self, obj):
        if self.key(obj) in self._kernel_made:
            return True
        return (obj.get('priority') in DEFAULT_RULES and DEFAULT_RULES[obj['priority']] == obj.get('table')
                and obj.get('action') == 'lookup' and not obj.get('l3mdev')
                and not any(obj.get(f) is not None for f in SELECTORS))

    def plan_change(self, have, target, ctx):
        # the kernel has no "replace" for rules
        return [Op('delete', have, None), Op('add', None, target)]

    # -- kernel I/O ----------------------------------------------------------
    def gather(self, ctx):
        out = []
        self._kernel_made = set()
        for af in (AF_INET, AF_INET6):
            for msg in ctx.nl.dump('rule', 'dump', family=af):
                obj = self._from_msg(msg)
                if obj is None:
                    continue
                if dict(msg['attrs']).get('FRA_PROTOCOL') == RTPROT_KERNEL:
                    self._kernel_made.add(self.key(obj))
                out.append(obj)
        return out

    def _from_msg(self, msg):
        if msg['family'] not in (AF_INET, AF_INET6):
            return None
        fam = 4 if msg['family'] == AF_INET else 6
        attrs = dict(msg['attrs'])
        action = ACTIONS.get(msg['action'], msg['action'])
        obj = {'priority': attrs.get('FRA_PRIORITY', 0), 'family': fam, 'action': action,
               'l3mdev': bool(attrs.get('FRA_L3MDEV'))}
        if msg['src_len']:
            obj['from'] = '%s/%d' % (attrs.get('FRA_SRC'), msg['src_len'])
        if msg['dst_len']:
            obj['to'] = '%s/%d' % (attrs.get('FRA_DST'), msg['dst_len'])
        if attrs.get('FRA_IIFNAME'):
            obj['iif'] = attrs['FRA_IIFNAME']
        if attrs.get('FRA_OIFNAME'):
            obj['oif'] = attrs['FRA_OIFNAME']
        mark, mask = attrs.get('FRA_FWMARK', 0), attrs.get('FRA_FWMASK', 0)
        if mark or mask:
            obj['fwmark'] = mark
            obj['fwmask'] = mask
        table = attrs.get('FRA_TABLE', msg['table'])
        if action == 'lookup' and table:
            obj['table'] = _norm.TABLES.get(table, table)
        return obj

    def _request(self, obj):
        fam = obj.get('family', 4)
        action = obj.get('action', 'lookup')
        kwargs = {'family': AF_INET if fam == 4 else AF_INET6, 'priority': obj['priority'],
                  'action': {'lookup': 1, 'blackhole': 6, 'unreachable': 7, 'prohibit': 8}.get(action, action)}
        for field, key in (('from', 'src'), ('to', 'dst')):
            if obj.get(field):
                addr, plen = obj[field].split('/')
                kwargs[key] = addr
                kwargs[key + '_len'] = int(plen)
        if obj.get('iif'):
            kwargs['iifname'] = obj['iif']
        if obj.get('oif'):
            kwargs['oifname'] = obj['oif']
        if 'fwmark' in obj:
            kwargs['fwmark'] = obj['fwmark']
            kwargs['fwmask'] = obj.get('fwmask', U32)
        if obj.get('table') is not None:
            kwargs['table'] = _norm.number(_norm.TABLES, obj['table'])
        if obj.get('l3mdev'):
            kwargs['l3mdev'] = 1
        return kwargs

    def apply(self, ctx, op):
        if op.action == 'delete':
            ctx.nl.write(self.label(op.before), 'rule', 'del', **self._request(op.before))
        else:
            ctx.nl.write(self.label(op.after), 'rule', 'add', **self._request(op.after))

    def render(self, ctx, op):
        obj = op.obj
        verb = 'del' if op.action == 'delete' else 'add'
        words = (['-6'] if obj.get('family') == 6 else []) + ['rule', verb, 'priority', obj['priority']]
        for f in ('from', 'to', 'iif', 'oif'):
            if obj.get(f):
                words += [f, obj[f]]
        if 'fwmark' in obj:
            mask = obj.get('fwmask', U32)
            words += ['fwmark', '0x%x' % obj['fwmark'] + ('' if mask == U32 else '/0x%x' % mask)]
        if obj.get('l3mdev'):
            words.append('l3mdev')
        elif obj.get('action', 'lookup') != 'lookup':
            words.append(obj['action'])
        elif obj.get('table') is not None:
            words += ['lookup', obj['table']]
        return [ctx.cmd('ip', *words)]
