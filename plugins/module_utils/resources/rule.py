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

Rules with selectors or actions this module does not model (``not``, ``tos``,
ports, ``uidrange``, ``goto``, ``nop``, ``suppress_*``...) are gathered with a
read-only ``unmanaged`` field (their iproute2 words), which is part of their
identity: they are shown, never changed and never deleted. So that gathered
output can be fed back as config, an element may give ``unmanaged`` (and the
action such a rule has, ``goto``, ``nop`` or ``action N``): it names that rule
of the host, and changes nothing. One that names no rule of the host is refused
(validate: the module cannot make such a rule), and so is one that would change
it (``unchangeable``), before anything is sent and in check mode too.

A rule's IP protocol (FRA_IP_PROTO, ``ipproto``) is a selector, named as
iproute2 names it: the host's name for the number (getprotobynumber, from
/etc/protocols: ``tcp``, ``udp``, ``ipv6-icmp``...), or the number where it has
none.  A name or a number given becomes the same, so the comparison with the
kernel's rule holds.

A rule's ``protocol`` (FRA_PROTOCOL, ``ip rule add ... proto NAME``: which
routing daemon owns it) is part of its identity too: the kernel keeps rules that
differ only in their protocol as separate rules.  ``ip rule add`` without
``proto`` leaves it unset (``unspec``, 0), which is shown as no ``protocol``
field; the kernel's own rules have ``kernel``.  Like a route's protocol, it is
a label: ``state: overridden`` deletes the rules of another protocol that
config does not list, as it deletes any other rule.

The kernel deletes a rule by matching the request's attributes, with every
attribute the request leaves out as a wildcard, and removes the FIRST matching
rule of that priority in its list.  A delete that would hit another rule first
(a kept rule with more selectors, or an unmanaged one) is refused before
anything is sent; the deletes of one plan are ordered so that each one removes
exactly its own rule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket
import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _norm, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

AF_INET, AF_INET6 = 2, 10
U32 = 2 ** 32 - 1
ACTIONS = {1: 'lookup', 6: 'blackhole', 7: 'unreachable', 8: 'prohibit'}
ACTION_NUMBERS = dict((v, k) for k, v in ACTIONS.items())
RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE = 32, 33, 34
FIB_RULE_HDR = struct.Struct('=BBBBBBBBI')  # struct fib_rule_hdr
FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_GOTO, FRA_PRIORITY, FRA_FWMARK = 1, 2, 3, 4, 6, 10
FRA_FLOW, FRA_TUN_ID, FRA_SUPPRESS_IFGROUP, FRA_SUPPRESS_PREFIXLEN = 11, 12, 13, 14
FRA_TABLE, FRA_FWMASK, FRA_OIFNAME, FRA_L3MDEV, FRA_UID_RANGE, FRA_PROTOCOL = 15, 16, 17, 19, 20, 21
FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE, FRA_SPORT_MASK, FRA_DPORT_MASK = 22, 23, 24, 28, 29
FIB_RULE_INVERT = 0x2
#: attributes this module models, or that every rule carries (FRA_SUPPRESS_PREFIXLEN is checked for its value)
MODELED = frozenset((FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_PRIORITY, FRA_FWMARK, FRA_TABLE, FRA_FWMASK, FRA_OIFNAME,
                     FRA_L3MDEV, FRA_PROTOCOL, FRA_IP_PROTO, FRA_SUPPRESS_PREFIXLEN, 18))  # 18: FRA_PAD
UNMODELED_ACTIONS = {2: 'goto', 3: 'nop'}
#: the action of a rule that only an element with unmanaged gives, as gathered shows it (_from_msg)
_UNMODELED_ACTION = re.compile(r'(?:goto|nop|action [0-9]+)\Z')
RT_TABLE_COMPAT = 252
SELECTORS = ('from', 'to', 'iif', 'oif', 'fwmark', 'fwmask', 'ipproto')
DEFAULT_RULES = {0: 'local', 32766: 'main', 32767: 'default'}
#: the fields a delete request carries when the rule has them (the first group) or when they are set (the second)
_DELETE_EXACT = ('from', 'to', 'iif', 'oif', 'table', 'protocol')
_DELETE_SET = ('fwmark', 'fwmask', 'ipproto', 'l3mdev')
#: the unmanaged words the kernel compares, for an add, only where the new rule has them (rule_exists)
_IGNORED_FOR_ADD = re.compile(r'(?:^|(?<= ))(?:not|(?:tos|realms|attr25|attr26|attr27|attr30) [^ ]+)(?= |$)')
FIELD_ORDER = ('priority', 'family') + SELECTORS + ('unmanaged', 'action', 'table', 'l3mdev', 'protocol')


_IPPROTO_NAMES, _IPPROTO_NUMBERS = {}, {}
_GETPROTOBYNUMBER = []


def _getprotobynumber():
    """The C library's getprotobynumber (ctypes; Python's socket module has only getprotobyname), or None."""
    if not _GETPROTOBYNUMBER:
        try:
            import ctypes  # pylint: disable=import-outside-toplevel

            class ProtoEnt(ctypes.Structure):
                _fields_ = [('p_name', ctypes.c_char_p), ('p_aliases', ctypes.c_void_p), ('p_proto', ctypes.c_int)]

            call = ctypes.CDLL(None).getprotobynumber
            call.restype, call.argtypes = ctypes.POINTER(ProtoEnt), [ctypes.c_int]
        except (ImportError, OSError, AttributeError):
            call = None
        _GETPROTOBYNUMBER.append(call)
    return _GETPROTOBYNUMBER[0]


def ipproto_name(number):
    """The name iproute2 shows for IP protocol ``number`` (its inet_proto_n2a: the C library's getprotobynumber, from
    /etc/protocols: 6 is ``tcp``, 58 ``ipv6-icmp``), or the number itself where the host has no name for it (iproute2
    then prints ``ipproto-N``, which its own parser does not read back)."""
    name = _IPPROTO_NAMES.get(number)
    if name is None:
        name, call = number, _getprotobynumber()
        found = call(number) if call is not None else None
        if found and found.contents.p_name:
            name = found.contents.p_name.decode('ascii', 'replace')
        _IPPROTO_NAMES[number] = name
        _IPPROTO_NUMBERS[name] = number
    return name


def ipproto(value, field='ipproto'):
    """An IP protocol given by name (as /etc/protocols has it, or an alias: ``tcp``, ``TCP``), by number (0 to
    255), or as iproute2 prints a number it has no name for (``ipproto-200``): the canonical value,
    :func:`ipproto_name` of its number, which is what a gathered rule has. 0 (``ip``, any protocol) is None."""
    if isinstance(value, bool):
        raise EdgenetError("'%s' is not an IP protocol" % (value,), field=field)
    text = str(value).strip()
    if text.lower().startswith('ipproto-'):
        text = text[8:]
    try:
        number = int(text, 10)
    except ValueError:
        try:
            number = socket.getprotobyname(text)
        except (OSError, UnicodeError, ValueError):
            raise EdgenetError("unknown IP protocol '%s' (the host's /etc/protocols has no such name); give its "
                               'number, 0 to 255' % (value,), field=field)
    if not 0 <= number <= 255:
        raise EdgenetError('%s is out of range (0 to 255)' % (value,), field=field)
    return ipproto_name(number) if number else None


def ipproto_number(name):
    """The number of a canonical IP protocol (:func:`ipproto`)."""
    if isinstance(name, int):
        return name
    number = _IPPROTO_NUMBERS.get(name)
    return number if number is not None else socket.getprotobyname(name)


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
    bulk = True
    field_order = FIELD_ORDER
    held_twice_hint = ('two rules of one priority and selectors that differ in what they do; `ip rule del` with its '
                       'table or action deletes one')
    keys = ('family', 'priority') + SELECTORS + ('unmanaged', 'protocol')
    duplicate_field = 'priority'  # (the field a duplicate key error names)
    sparse_keys = True
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
        'ipproto': {'type': 'raw'},
        # (no choices: a rule with unmanaged has the actions of _UNMODELED_ACTION too; normalize checks it)
        'action': {'type': 'str'},
        'table': {'type': 'raw'},
        'l3mdev': {'type': 'bool'},
        'protocol': {'type': 'raw'},
        'unmanaged': {'type': 'str'},
    }
    scope_options = {'family': {'type': 'int', 'choices': [4, 6]}}

    def __init__(self):
        self._dump_order = {}

    # -- description ---------------------------------------------------------
    def normalize(self, item, ctx):
        obj = dict(item)
        obj.pop('src', None)  # aliases: AnsibleModule keeps both names
        obj.pop('dst', None)
        # A value that matches every packet (from all, fwmark 0, protocol unspec) is a rule without that field. In
        # a state=deleted selector it selects the rules without it (None: absent), not every rule.
        absent = ctx.params.get('state') == 'deleted'
        if 'priority' in obj:
            obj['priority'] = _norm.int_range(obj['priority'], 0, U32, 'priority')
        families = {}
        for field in ('from', 'to'):
            if field in obj:
                text = str(obj[field]).strip()
                if text.lower() in ('all', 'any', 'default'):  # (as iproute2 reads them)
                    obj[field] = None
                    continue
                obj[field] = _norm.prefix(text, field, strict=True)
                families[field] = _norm.family(obj[field])
                if obj[field].endswith('/0'):
                    obj[field] = None  # matches everything, as "all"
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
                if not _norm.ifname_ok(name):
                    raise EdgenetError("'%s' is not a valid device name" % name.replace('\x00', '\\0'), field=field)
        if 'fwmark' in obj:
            obj['fwmark'] = _u32(obj['fwmark'], 'fwmark')
        if 'fwmask' in obj:
            if 'fwmark' not in obj:
                raise EdgenetError('fwmask needs fwmark', field='fwmask')
            obj['fwmask'] = _u32(obj['fwmask'], 'fwmask')
            if obj['fwmark'] & ~obj['fwmask'] & U32:
                raise EdgenetError('fwmark 0x%x has bits outside fwmask 0x%x' % (obj['fwmark'], obj['fwmask']),
                                   field='fwmark')
            if obj['fwmask'] == 0:
                obj['fwmark'] = obj['fwmask'] = None  # mark 0 under mask 0: the kernel keeps no fwmark at all
        elif obj.get('fwmark') == 0:
            obj['fwmark'] = None  # the kernel ignores fwmark 0 without a mask
            obj['fwmask'] = None
        if 'ipproto' in obj:
            obj['ipproto'] = ipproto(obj['ipproto'])  # (0, ip: any protocol, as a rule without ipproto)
        if 'unmanaged' in obj:
            obj['unmanaged'] = ' '.join(str(obj['unmanaged']).split()) or None  # ('' is no unmanaged words)
            if obj['unmanaged'] and ctx.params.get('state') == 'rendered':
                raise EdgenetError('the module cannot make a rule with selectors or actions it does not manage, nor '
                                   'render the command of one', field='unmanaged')
        action = obj.get('action', 'lookup')
        if action not in ACTION_NUMBERS and not (obj.get('unmanaged') and _UNMODELED_ACTION.match(action)):
            raise EdgenetError("'%s' is not an action of this module: lookup, blackhole, unreachable or prohibit (a "
                               "rule with unmanaged words, as gathered shows it, may also have goto, nop or "
                               "'action N')" % action, field='action')
        if 'table' in obj:
            obj['table'] = _norm.table(obj['table'], 'table')
            if action != 'lookup':
                raise EdgenetError('a %s rule has no table' % action, field='table')
        if obj.get('l3mdev'):
            if action != 'lookup' or 'table' in obj:
                raise EdgenetError('an l3mdev rule looks up the table of the l3mdev device; it takes no table '
                                   'and no other action', field='l3mdev')
        if 'protocol' in obj:
            obj['protocol'] = _norm.lookup_byte(obj['protocol'], _norm.PROTOCOLS, 'protocol', 'protocol')
            if obj['protocol'] in ('unspec', 0):
                obj['protocol'] = None  # no protocol, as ip rule add without proto (and as gathered shows it)
        if not absent:
            for field in [f for f, v in obj.items() if v is None]:
                del obj[field]
        return obj

    def defaults(self, obj):
        out = {'family': obj.get('family', 4), 'action': 'lookup', 'l3mdev': False}
        if obj.get('action', 'lookup') == 'lookup' and not obj.get('l3mdev'):
            out['table'] = 'main'
        if 'fwmark' in obj:
            out['fwmask'] = U32
        if self._default_rule(dict(out, **obj)):
            out['protocol'] = 'kernel'  # one of the kernel's default rules, named without its protocol: that rule
        return out

    def overlay(self, base, top):
        """``base`` (a rule) changed as ``top`` (an element) says: what the element gives of the action, the table
        and l3mdev decides the others, as in one element (normalize): a table is a lookup, an l3mdev rule or
        another action has no table, and a lookup without one looks up main."""
        out = dict(base, **top)
        if 'table' in top:
            out['action'], out['l3mdev'] = 'lookup', False
        elif top.get('l3mdev') or top.get('action', 'lookup') != 'lookup':
            out.pop('table', None)
            if top.get('l3mdev'):
                out['action'] = 'lookup'
            else:
                out['l3mdev'] = False
        if out.get('action', 'lookup') == 'lookup' and not out.get('l3mdev') and 'table' not in out:
            out['table'] = 'main'
        return out

    @staticmethod
    def _default_rule(obj):
        """Whether ``obj`` has the shape of one of the kernel's default rules (whatever its protocol). IPv6 has no
        rule 32767: one there is the user's."""
        return (obj.get('priority') in DEFAULT_RULES and DEFAULT_RULES[obj['priority']] == obj.get('table')
                and obj.get('action') == 'lookup' and not obj.get('l3mdev') and 'unmanaged' not in obj
                and not any(obj.get(f) is not None for f in SELECTORS)
                and (obj['priority'] != 32767 or obj.get('family', 4) == 4))

    def label(self, obj):
        words = ['rule', 'priority', str(obj.get('priority', '?'))]
        for f in SELECTORS:
            if obj.get(f) is not None:
                words += [f, '0x%x' % obj[f] if f in ('fwmark', 'fwmask') else str(obj[f])]
        if obj.get('unmanaged'):
            words.append(obj['unmanaged'])
        if obj.get('protocol') is not None:
            words += ['proto', str(obj['protocol'])]
        if obj.get('family'):
            words.append('(IPv%d)' % obj['family'])
        return ' '.join(words)

    def sort_key(self, obj):
        return (obj.get('family', 4), obj.get('priority', 0),
                tuple('' if obj.get(f) is None else str(obj[f]) for f in SELECTORS), obj.get('unmanaged', ''),
                str(obj.get('protocol', '')))

    def in_scope(self, obj, ctx):
        fam = ctx.params.get('family')
        return fam is None or obj.get('family') == fam

    def protected(self, obj):
        # unmanaged rules, and the kernel's own (its default rules, made with protocol kernel; and one of their
        # shape without it, as the kernel's rules were shown before FRA_PROTOCOL existed)
        return 'unmanaged' in obj or obj.get('protocol') == 'kernel' or (
            obj.get('protocol') is None and self._default_rule(obj))

    def unchangeable(self, have, target):
        """A rule with unmanaged words, given (as gathered shows it) with another action, table or l3mdev; else the
        kernel's own (Resource.unchangeable)."""
        if 'unmanaged' not in have:
            return Resource.unchangeable(self, have, target)
        field = next((f for f in ('action', 'table', 'l3mdev') if have.get(f) != target.get(f)), 'action')
        return EdgenetError(
            'this rule has selectors or actions the module does not manage (unmanaged: %s), and it never changes '
            "it: the host's rule has %s %s, this element %s. Give it as gathered shows it, or leave it out"
            % (have['unmanaged'], field, have.get(field, 'none'), target.get(field, 'none')),
            obj=self.label(have), field=field)

    def plan_change(self, have, target, ctx):
        # the kernel has no "replace" for rules
        return [Op('delete', have, None), Op('add', None, target)]

    @staticmethod
    def _first_deleted(x, lists, hits, removed):
        """The entry ``(index, key, rule)`` of ``lists`` that a delete request for rule ``x`` removes: the first rule
        of its family and priority, in the kernel's order and not ``removed`` yet, that has the attributes the
        request carries. The kernel compares only those (net/core/fib_rules.c rule_find), so the rule may have
        more selectors, or unmanaged ones. Each kind of request (the fields it carries) indexes the rules of a
        priority once (``hits``), so that many deletes of one priority cost no more than one pass each."""
        spot = (x.get('family', 4), x['priority'])
        fields = tuple(f for f in _DELETE_EXACT if x.get(f) is not None) + tuple(f for f in _DELETE_SET if x.get(f))
        index = hits.get((spot, fields))
        if index is None:
            index = hits[(spot, fields)] = {}
            for t in lists.get(spot, ()):
                r = t[2]
                index.setdefault((r.get('action'),) + tuple(r.get(f) for f in fields), [1]).append(t)
        entries = index.get((x.get('action', 'lookup'),) + tuple(x[f] for f in fields))
        if entries is None:
            return None
        while entries[0] < len(entries) and id(entries[entries[0]]) in removed:
            entries[0] += 1  # (removed for good: never looked at again)
        return entries[entries[0]] if entries[0] < len(entries) else None

    @staticmethod
    def _add_class(r):
        """What net/core/fib_rules.c rule_exists compares exactly between a rule and one being added (the protocol
        too), as a tuple: a rule being added is refused (EEXIST) by one of the same class whose from and to equal
        the new rule's where the new rule has them. The kernel compares from, to, tos, dscp, realms and the IPv6
        flow label only where the new rule has them, and the ``not`` flag not at all; an unmanaged rule with
        another attribute (ipproto, ports, uidrange, suppress_*...) is compared exactly, and a rule of this module
        has none: its class is None. The IP protocol is compared exactly too (a rule without one is another rule
        than one with one)."""
        unmanaged = r.get('unmanaged')
        if unmanaged and _IGNORED_FOR_ADD.sub('', unmanaged).strip():
            return None
        return (r.get('action', 'lookup'), r.get('table'), r.get('iif'), r.get('oif'), r.get('fwmark'),
                r.get('fwmask'), r.get('ipproto'), r.get('protocol'), bool(r.get('l3mdev')))

    def validate(self, ctx, plan, after):
        """Check the plan against how the kernel matches rules, before anything is sent:

        - a delete removes the first rule of its priority that has the request's attributes (rule_find):
          order the deletes so that each removes exactly its own rule, and refuse one that would remove a
          rule that stays;
        - an add is refused (EEXIST) when a rule exists that the kernel counts as the same (rule_exists):
          refuse it here, naming both, so that check mode tells the truth;
        - an add of a rule with unmanaged words (an element that names a rule the host does not have) is
          refused: the module cannot make such a rule.
        """
        if not plan:
            return
        for op in plan:
            if op.action == 'add' and op.after.get('unmanaged'):
                raise EdgenetError(
                    'the host has no such rule, and the module cannot make a rule with selectors or actions it does '
                    "not manage (unmanaged: %s). An element with unmanaged names a rule as gathered shows it, and "
                    "keeps it as it is; make the rule with 'ip rule add', or leave unmanaged out"
                    % op.after['unmanaged'], obj=self.label(op.after), field='unmanaged')
        spots = set((op.obj.get('family', 4), op.obj['priority']) for op in plan)
        lists = {}
        for key, (index, obj) in self._dump_order.items():
            spot = (obj.get('family', 4), obj['priority'])
            if spot in spots:
                lists.setdefault(spot, []).append((index, key, obj))
        for spot in lists:
            lists[spot].sort(key=lambda t: t[0])
        deletes = [op for op in plan if op.action == 'delete']
        pending = list(deletes)
        ordered = []
        removed = set()  # id() of the entries of lists that a delete of the order removes
        hits = {}  # (spot, fields a delete request carries): {their values: [next entry to look at, entries...]}
        while pending:
            stuck = []
            for op in pending:
                x = op.before
                first = self._first_deleted(x, lists, hits, removed)
                if first is None or first[1] == self.key(x):
                    if first is not None:
                        removed.add(id(first))
                    ordered.append(op)
                else:
                    stuck.append((op, first[2]))
            if len(stuck) == len(pending):
                # report a delete blocked by a rule that stays (the others wait for that one)
                pending_keys = set(self.key(o.before) for o, _r in stuck)
                op, other = next(((o, r) for o, r in stuck if self.key(r) not in pending_keys), stuck[0])
                raise EdgenetError(
                    'cannot delete this rule exactly: the kernel deletes the first rule of priority %d that has '
                    "this rule's selectors, and that is '%s', which stays. Give the two rules different "
                    'priorities, or delete that one too' % (op.before['priority'], self.label(other)),
                    obj=self.label(op.before), field='priority')
            pending = [op for op, _other in stuck]
        if removed:
            for spot, rules in lists.items():
                lists[spot] = [t for t in rules if id(t) not in removed]
        classes = {}  # (family, priority): {class: {(from, to), from, to or None: the first such rule}}
        for op in plan:
            if op.action != 'add':
                continue
            x = op.after
            if x.get('protocol') == 'kernel' and not self._default_rule(x):
                raise EdgenetError("protocol 'kernel' marks the kernel's own rules, which this module never changes "
                                   'or deletes: a rule made with it could not be managed. Give another protocol',
                                   obj=self.label(x), field='protocol')
            spot = (x.get('family', 4), x['priority'])
            index = classes.get(spot)
            if index is None:  # (one pass over the rules of the spot, whatever the number of adds there)
                index = classes[spot] = {}
                for _index, _key, r in lists.setdefault(spot, []):
                    self._index_for_add(index, r)
            src, dst = x.get('from'), x.get('to')
            r = index.get(self._add_class(x), {}).get(
                (src, dst) if src and dst else ('from', src) if src else ('to', dst) if dst else None)
            if r is not None:
                raise EdgenetError(
                    "the kernel would refuse to add this rule (EEXIST): it counts '%s' as the same rule (it "
                    "compares from, to, tos, dscp and realms only where the new rule has them, and ignores 'not'). "
                    'Give the rule another priority or more selectors' % self.label(r),
                    obj=self.label(x), field='priority')
            self._index_for_add(index, x)
            lists[spot].append((None, self.key(x), x))
        self._warn_reorder(ctx, plan, lists)
        if ordered != deletes:
            # the engine renders and sends this same list: reorder its deletes in place
            rest = [op for op in plan if op.action != 'delete']
            plan[:] = ordered + rest

    def _index_for_add(self, index, r):
        """Files rule ``r`` under its class (:meth:`_add_class`) by every key a rule being added may look it up by:
        its from and to together, each alone, and None (a new rule with neither matches every rule of the class)."""
        cls = self._add_class(r)
        if cls is None:
            return
        by = index.setdefault(cls, {})
        src, dst = r.get('from'), r.get('to')
        for k in (((src, dst), ('from', src), ('to', dst), None) if src and dst else (('from', src), None) if src
                  else (('to', dst), None) if dst else (None,)):
            by.setdefault(k, r)

    def _warn_reorder(self, ctx, plan, lists):
        """The kernel cannot change a rule in place: a changed rule is deleted and added again, and the kernel puts
        an added rule after every other rule of its priority, which are tried in their order. Warn of a changed
        rule that other rules of its priority (that stay) used to follow: they now come first, and a rollback of
        the change puts the rule back at the end too."""
        changed = set(self.key(op.after) for op in plan if op.action == 'add') & set(
            self.key(op.before) for op in plan if op.action == 'delete')
        if not changed:
            return
        gone = set(self.key(op.before) for op in plan if op.action == 'delete') - changed
        for key in sorted(changed, key=str):
            index, obj = self._dump_order.get(key, (None, None))
            if obj is None:
                continue
            later = [r for i, k, r in lists.get((obj.get('family', 4), obj['priority']), ())
                     if i is not None and i > index and k not in gone and k not in changed]
            if later:
                ctx.warn("%s: the kernel cannot change a rule in place, and adds it again after the other rules of "
                         "priority %d, which are tried in their order: %s now come(s) before it (a rollback of the "
                         "change would do the same). Give rules whose order matters priorities of their own"
                         % (self.label(obj), obj['priority'], ', '.join("'%s'" % self.label(r) for r in later[:3])
                            + (' and %d more' % (len(later) - 3) if len(later) > 3 else '')))

    def amend(self, ctx, ops, have_by_key):
        """An element of the shape of a kernel default rule names that rule, which the kernel made with protocol
        kernel (defaults); when the kernel holds it without a protocol instead (``ip rule add priority 32766 lookup
        main`` after its delete), the element names that one: adding the kernel's would make a second rule that
        neither this module nor ``ip rule del`` could tell apart."""
        out = []
        for op in ops:
            x = op.after
            if (op.action == 'add' and x.get('protocol') == 'kernel' and self._default_rule(x)
                    and self.key(dict((k, v) for k, v in x.items() if k != 'protocol')) in have_by_key):
                continue
            out.append(op)
        return out

    # -- kernel I/O (the bulk path: _rtnl) --------------------------------------
    def gather(self, ctx):
        out = []
        self._dump_order = order = {}
        # one dump of every family (AF_UNSPEC); only the IPv4 and IPv6 rules are kept
        for _kind, buf, start, end in ctx.nl.rdump(RTM_GETRULE, FIB_RULE_HDR.pack(0, 0, 0, 0, 0, 0, 0, 0, 0),
                                                   'rules'):
            obj = self._from_msg(buf, start, end)
            if obj is None:
                continue
            order[self.key(obj)] = (len(order), obj)
            out.append(obj)
        return out

    @staticmethod
    def _from_msg(buf, start, end):
        """One RTM_NEWRULE of a dump: the canonical object, or None."""
        family, dst_len, src_len, tos, table, _res1, _res2, action, flags = FIB_RULE_HDR.unpack_from(buf, start)
        if family != AF_INET and family != AF_INET6:
            return None
        a = _rtnl.attrs(buf, start + FIB_RULE_HDR.size, end)
        unmanaged = Rule._unmanaged(buf, a, tos, action, flags)
        action = ACTIONS.get(action) or UNMODELED_ACTIONS.get(action) or 'action %d' % action
        obj = {'priority': _rtnl.get_u32(buf, a[FRA_PRIORITY]) if FRA_PRIORITY in a else 0,
               'family': 4 if family == AF_INET else 6, 'action': action,
               'l3mdev': bool(buf[a[FRA_L3MDEV][0]]) if FRA_L3MDEV in a else False}
        if src_len:
            obj['from'] = '%s/%d' % (_rtnl.get_addr(buf, a[FRA_SRC]) if FRA_SRC in a else None, src_len)
        if dst_len:
            obj['to'] = '%s/%d' % (_rtnl.get_addr(buf, a[FRA_DST]) if FRA_DST in a else None, dst_len)
        for field, kind in (('iif', FRA_IIFNAME), ('oif', FRA_OIFNAME)):
            if kind in a:
                name = _rtnl.get_str(buf, a[kind])
                if name:
                    obj[field] = name
        mark = _rtnl.get_u32(buf, a[FRA_FWMARK]) if FRA_FWMARK in a else 0
        mask = _rtnl.get_u32(buf, a[FRA_FWMASK]) if FRA_FWMASK in a else 0
        if mark or mask:
            obj['fwmark'] = mark
            obj['fwmask'] = mask
        if FRA_IP_PROTO in a and buf[a[FRA_IP_PROTO][0]]:
            obj['ipproto'] = ipproto_name(buf[a[FRA_IP_PROTO][0]])
        if FRA_TABLE in a:
            table = _rtnl.get_u32(buf, a[FRA_TABLE])
        if action == 'lookup' and table:
            obj['table'] = _norm.TABLES.get(table, table)
        if unmanaged:
            obj['unmanaged'] = unmanaged
        proto = buf[a[FRA_PROTOCOL][0]] if FRA_PROTOCOL in a else 0
        if proto:  # (0, unspec: no protocol, as ip rule add without proto leaves it)
            obj['protocol'] = _norm.PROTOCOLS.get(proto, proto)
        return obj

    @staticmethod
    def _unmanaged(buf, a, tos, action, flags):
        """The iproute2 words of what a dumped rule has that this module does not model ('' if nothing)."""
        words = []
        if flags & FIB_RULE_INVERT:
            words.append('not')
        if tos:
            words.append('tos 0x%02x' % tos)
        if action not in ACTIONS:
            words.append(UNMODELED_ACTIONS.get(action, 'action %d' % action))
            if FRA_GOTO in a:
                words.append('%d' % _rtnl.get_u32(buf, a[FRA_GOTO]))
        if FRA_SUPPRESS_PREFIXLEN in a and _rtnl.get_u32(buf, a[FRA_SUPPRESS_PREFIXLEN]) != U32:
            words.append('suppress_prefixlength %d' % _rtnl.get_u32(buf, a[FRA_SUPPRESS_PREFIXLEN]))
        names = {FRA_FLOW: 'realms', FRA_TUN_ID: 'tun_id', FRA_SUPPRESS_IFGROUP: 'suppress_ifgroup',
                 FRA_UID_RANGE: 'uidrange', FRA_SPORT_RANGE: 'sport',
                 FRA_DPORT_RANGE: 'dport'}
        for kind in sorted(a):
            if kind in MODELED or kind == FRA_GOTO:
                continue
            s, e = a[kind]
            if kind in (FRA_SPORT_MASK, FRA_DPORT_MASK) and struct.unpack_from('=H', buf, s)[0] == 0xffff:
                continue  # the full mask iproute2 adds to a single port
            if kind in (FRA_UID_RANGE, FRA_SPORT_RANGE, FRA_DPORT_RANGE):
                fmt = '=II' if kind == FRA_UID_RANGE else '=HH'
                lo, hi = struct.unpack_from(fmt, buf, s)
                words.append('%s %d' % (names[kind], lo) + ('' if lo == hi else '-%d' % hi))
            elif kind == FRA_FLOW and e - s >= 4:  # as iproute2 prints it: realms [FROM/]TO
                flow = _rtnl.get_u32(buf, (s, e))
                words.append('realms %s%d' % ('%d/' % (flow >> 16) if flow >> 16 else '', flow & 0xFFFF))
            elif kind == FRA_SUPPRESS_IFGROUP and e - s >= 4:
                words.append('suppress_ifgroup %d' % _rtnl.get_u32(buf, (s, e)))
            elif kind == FRA_TUN_ID and e - s >= 8:  # (network order)
                words.append('tun_id %d' % struct.unpack_from('>Q', buf, s)[0])
            elif kind in names:
                words.append('%s %s' % (names[kind], bytes(buf[s:e]).hex()))
            else:
                words.append('attr%d %s' % (kind, bytes(buf[s:e]).hex()))
        return ' '.join(words)

    def encode(self, ctx, op):
        """RTM_NEWRULE (create+excl) or RTM_DELRULE with the same header and attributes, as ``ip rule`` and
        pyroute2 send them: the delete names every attribute of the rule, so it removes exactly that one."""
        obj = op.obj
        af = AF_INET if obj.get('family', 4) == 4 else AF_INET6
        action = obj.get('action', 'lookup')
        action = ACTION_NUMBERS.get(action, action)
        parts = [_rtnl.attr_u32(FRA_PRIORITY, obj['priority'])]
        lens = {}
        for field, kind in (('from', FRA_SRC), ('to', FRA_DST)):
            if obj.get(field):
                addr, plen = obj[field].split('/')
                lens[field] = int(plen)
                parts.append(_rtnl.attr(kind, _rtnl.addr_bytes(addr)[1]))
        if obj.get('iif'):
            parts.append(_rtnl.attr_str(FRA_IIFNAME, obj['iif']))
        if obj.get('oif'):
            parts.append(_rtnl.attr_str(FRA_OIFNAME, obj['oif']))
        if 'fwmark' in obj:
            parts.append(_rtnl.attr_u32(FRA_FWMARK, obj['fwmark']))
            parts.append(_rtnl.attr_u32(FRA_FWMASK, obj.get('fwmask', U32)))
        if obj.get('ipproto') is not None:
            parts.append(_rtnl.attr_u8(FRA_IP_PROTO, ipproto_number(obj['ipproto'])))
        table = 0
        if obj.get('table') is not None:
            table = _norm.number(_norm.TABLES, obj['table'])
            parts.append(_rtnl.attr_u32(FRA_TABLE, table))
        if obj.get('l3mdev'):
            parts.append(_rtnl.attr_u8(FRA_L3MDEV, 1))
        if obj.get('protocol') is not None:
            parts.append(_rtnl.attr_u8(FRA_PROTOCOL, _norm.number(_norm.PROTOCOLS, obj['protocol'])))
        # the header's table is the id when it fits 8 bits, else RT_TABLE_COMPAT (the id is in FRA_TABLE)
        head = FIB_RULE_HDR.pack(af, lens.get('to', 0), lens.get('from', 0), 0,
                                 table if table < 256 else RT_TABLE_COMPAT, 0, 0, action, 0)
        if op.action == 'delete':
            return RTM_DELRULE, _rtnl.DELETE, head + b''.join(parts)
        return RTM_NEWRULE, _rtnl.ADD, head + b''.join(parts)

    def render(self, ctx, op):
        obj = op.obj
        verb = 'del' if op.action == 'delete' else 'add'
        words = (['-6'] if obj.get('family') == 6 else []) + ['rule', verb, 'priority', obj['priority']]
        for f in ('from', 'to', 'iif', 'oif'):
            if obj.get(f):
                words += [f, obj[f]]
        if 'fwmark' in obj:
            mask = obj.get('fwmask', U32)
            # (ip rule sends no mask without one, and the kernel takes mark 0 without a mask for no mark at all)
            words += ['fwmark', '0x%x' % obj['fwmark'] + ('' if mask == U32 and obj['fwmark'] else '/0x%x' % mask)]
        if obj.get('ipproto') is not None:
            words += ['ipproto', obj['ipproto']]
        if obj.get('l3mdev'):
            words.append('l3mdev')
        elif obj.get('action', 'lookup') != 'lookup':
            words.append(obj['action'])
        elif obj.get('table') is not None:
            words += ['lookup', obj['table']]
        if obj.get('protocol') is not None:
            words += ['proto', obj['protocol']]
        return [ctx.cmd('ip', *words)]
