# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one state engine behind every netlink resource module.

A resource (``resources/<name>.py``) describes one kind of kernel object: its
key, its options, its defaults, how to normalize input, how to gather the
kernel's objects, how to apply one operation and how to render it as an
iproute2 command line.  This module does everything else, the same way for
every resource:

    want = normalize(config)             have = gather()  (only objects in scope)
    plan = diff(state, want, have)       -- an ordered list of Op
    check mode: after = simulate(have, plan); nothing is written
    real run:   apply(plan), rolling back on failure; after = gather(), or for a
                resource whose kernel echoes its writes, have with the echoed objects

Canonical objects are plain dicts that never hold ``None``: a field that is
absent is unset.  ``before`` and ``after`` are lists of canonical objects in key
order, so ``gathered`` output can be fed back as ``config``; they hold the objects
the task is about (:meth:`Engine.about`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
from itertools import chain
from operator import attrgetter

from ansible.module_utils.six import string_types

from ansible_collections.edgenet.linux.plugins.module_utils._errors import DumpInterrupted, EdgenetError

#: how many times a gather reads the kernel when its dumps come back interrupted (NLM_F_DUMP_INTR)
GATHER_ATTEMPTS = 3
STATES = ['merged', 'replaced', 'overridden', 'deleted', 'gathered', 'rendered', 'parsed']
WRITE_STATES = ('merged', 'replaced', 'overridden', 'deleted')


class Op(object):
    """One planned change: ``add`` (after), ``delete`` (before), ``change`` (both).

    ``follow`` and ``restore`` hold the objects of other kinds that the kernel deletes along with an object (a tc
    class's leaf qdisc, a qdisc's classes and filters), as the resource read them before anything was sent: each
    has ``request(ctx)`` (a netlink request that makes it again as it was), ``render(ctx)`` (its command lines) and
    ``label``. ``follow``: sent right after the op, as part of it (an add that re-creates what the plan's delete of
    the same object took along); ``restore``: what the op makes the kernel delete along (a delete its children, an
    add of an htb class its parent's leaf qdisc) or change along (an FDB write without a VLAN writes the entry of
    every VLAN of the port), which the op that undoes it (a rollback) sends as its ``follow``."""

    __slots__ = ('action', 'before', 'after', 'follow', 'restore')

    def __init__(self, action, before=None, after=None, follow=(), restore=()):
        self.action = action
        self.before = before
        self.after = after
        self.follow = follow
        self.restore = restore

    @property
    def obj(self):
        return self.after if self.after is not None else self.before

    def inverse(self):
        if self.action == 'add':
            return Op('delete', self.after, None, follow=self.restore)
        if self.action == 'delete':
            return Op('add', None, self.before, follow=self.restore)
        return Op('change', self.after, self.before, follow=self.restore)

    def changed_fields(self):
        before, after = self.before or {}, self.after or {}
        return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))

    def __repr__(self):
        return 'Op(%s, %r, %r)' % (self.action, self.before, self.after)


class OwnOp(object):
    """An object of ``follow`` or ``restore`` (see :class:`Op`) that is an op of the task's own resource, sent and
    rendered as the resource sends and renders its ops: an FDB entry's copy per VLAN, a neighbour entry made again."""

    __slots__ = ('res', 'op')

    def __init__(self, res, op):
        self.res = res
        self.op = op

    @property
    def label(self):
        return self.res.label(self.op.obj)

    def request(self, ctx):
        return self.res.encode(ctx, self.op)

    def render(self, ctx):
        return self.res.render(ctx, self.op)

    def __repr__(self):
        return '%s(%s %s)' % (type(self).__name__, self.op.action, self.label)


class Resource(object):
    """Base class of a resource description.  Override what differs."""

    #: name used in messages and in ``netlink_facts`` (``address``, ``route``)
    name = None
    #: the fields that identify one object, in order
    keys = ()
    #: the key field a duplicate key error names (the first key field without)
    duplicate_field = None
    #: scope options (of ``scope_options``) that a config element's field of the same name must equal when the task
    #: sets them (an element of another device than option ``dev`` is refused)
    scope_fields = ()
    #: argspec of one ``config`` element (also the documented suboptions).  Do not mark options
    #: ``required`` here: list them in ``required`` instead, which the engine enforces for every
    #: state except ``deleted`` (where any subset of fields selects objects).
    options = {}
    #: fields every ``config`` element needs, except with ``state=deleted``
    required = ()
    #: extra module-level options that narrow the scope (``dev``, ``table``)
    scope_options = {}
    #: extra module-level options that change behaviour (``recreate``)
    module_options = {}
    #: fields the kernel chooses when the user does not (a link's MAC)
    volatile = ()
    #: fields that cannot be changed in place; a change needs delete + add
    immutable = ()
    #: whether the module takes the ``netns`` option
    uses_netns = True
    #: whether state ``parsed`` is implemented (``parse``)
    supports_parsed = False
    #: whether protected objects may still be changed in place (they are never deleted)
    protected_changes = False
    #: the fields of a config element that name a device: ``dev``, a nested option's by its dotted name
    #: (``vxlan.dev``), and the field of each item of a list option as ``nexthops[].dev``. A name given there that
    #: no device has but one has as an alternative name (``ip link property add dev X altname Y``) names that
    #: device, as in the kernel: the element is taken with the device's own name (:meth:`Engine.normalize_config`)
    device_fields = ()
    #: likewise, the scope options that name a device (``dev``; bridge_port's ``master``)
    device_options = ()

    def given_altnames(self, config, names):
        """``{alternative name: device name}`` of the alternative names that the config elements (``config``: as the
        task gives them) give their devices (the link resource's ``altnames``): an element may name a device by one
        that the same task gives it. ``names``: the kernel's (an element's device may be named by one too)."""
        return {}

    #: list fields whose order the kernel does not let a task choose (a device's altnames): a ``deleted`` selector
    #: that gives one matches an object whose list holds each of its items
    set_fields = ()
    #: how a user removes the extra objects of a key the kernel holds more than once (the refusal of a write to
    #: such a key says it; see :meth:`Engine.plan`), or None
    held_twice_hint = None
    #: whether the delete of one of the objects of a key the kernel holds more than once names that object alone
    #: (an IPv4 address's names its peer): the refusal then gives each one's delete command (:meth:`render`)
    held_twice_deletes_one = False

    # -- description -----------------------------------------------------------
    def normalize(self, item, ctx):
        """Return the canonical form of one ``config`` element (no None values).

        The engine passes its own copy of the element, None values already dropped:
        normalize may change ``item`` and return it.
        Raise EdgenetError naming the field for bad input.  Do not fill defaults
        here, except the ones iproute2 itself derives from other fields.
        """
        return dict((k, v) for k, v in item.items() if v is not None)

    def defaults(self, obj):
        """Values the kernel reports for fields ``obj`` leaves unset."""
        return {}

    # -- the fast path of state merged (optional) ------------------------------------------------------
    # A re-run finds what it asks for: most config elements then spell, field by field, an object that is
    # already there. A resource that implements match_have lets the engine gather first and take such an
    # element as that object, without normalizing it (normalize and the default keys were 40% of a
    # 20,000-route re-check). The plan is the same either way: merged overlays the element on the object
    # it names, and the element's normal form holds only fields the object has.
    def match_index(self, have):
        """An index of the gathered objects for :meth:`match_have`, made once per run."""
        return None

    def match_have(self, item, index, ctx):
        """The gathered object that config element ``item`` (None values dropped, not normalized) names
        with exactly that object's values, or None (the element is then normalized as usual).

        Return an object only when ``normalize(item)`` would return ``item`` unchanged but for fields
        the object has with the same values, and would raise no error; with the same key. The engine
        still finds duplicate keys. Never called for states other than merged.

        The plan then leaves the object as it is without computing ``reconcile(have, overlay(have, element))``:
        that is the object itself only if ``reconcile`` returns a target equal to ``have`` unchanged, which a
        resource implementing this must guarantee for every object its gather returns (it is what makes a
        re-run with the gathered values changed=0 anyway). Likewise ``settle`` leaves the object as it is, which
        needs ``settle(have, copy of have)`` to equal ``have``."""
        return None

    #: the key fields ``defaults`` can fill, if known: the engine then calls ``defaults`` to fill
    #: key fields only for a config element that lacks one of them (None: for every element)
    default_keys = None

    #: whether objects usually lack some key fields (an FDB entry's vlan or dst): ``key`` then reads them
    #: with ``dict.get``; otherwise with ``operator.itemgetter``, falling back on a partial object
    sparse_keys = False

    def key(self, obj):
        getter = self.__dict__.get('_key_getter') or self._make_key_getter()
        try:
            return getter(obj)
        except KeyError:  # a partial object (state=deleted selectors): missing keys are None
            return tuple(map(obj.get, self.keys))

    def _make_key_getter(self):
        keys = tuple(self.keys)
        if self.sparse_keys:  # no KeyError raised and caught per object
            def getter(obj):
                return tuple(map(obj.get, keys))
        else:
            getter = _tuple_getter(keys)
        self._key_getter = getter
        return getter

    def key_function(self):
        """:meth:`key` as a one-argument function, for the engine's per-object loops: with
        ``sparse_keys`` and no override of ``key``, the getter itself (one call less per object)."""
        if self.sparse_keys and type(self).key is Resource.key:
            return self.__dict__.get('_key_getter') or self._make_key_getter()
        return self.key

    def label(self, obj):
        """A short human name for messages: ``route 198.18.1.0/24 table 254``."""
        return '%s %s' % (self.name, ' '.join('%s=%s' % (k, obj[k]) for k in self.keys if obj.get(k) is not None))

    #: the user-facing field order; default: the keys, then the options in documented order
    field_order = None

    def shape(self, obj):
        """``obj`` with its fields in :attr:`field_order` (unknown fields last).

        The order for each set of fields is computed once; an object already in order is
        returned as it is (this runs for every object of every dump).
        """
        cache = self.__dict__.get('_shape_cache')
        if cache is None:
            cache = self._shape_cache = {}
            order = self.field_order or (list(self.keys) + [k for k in self.options if k not in self.keys])
            self._shape_rank = dict((k, i) for i, k in enumerate(order))
        fields = tuple(obj)
        ordered = cache.get(fields)
        if ordered is None:
            rank, last = self._shape_rank, len(self._shape_rank)
            ordered = cache[fields] = tuple(sorted(fields, key=lambda k: (rank.get(k, last), fields.index(k))))
        if ordered == fields:
            return obj
        return dict((k, obj[k]) for k in ordered)

    def overlay(self, base, top):
        """``base`` with the fields of ``top`` laid over it; override to merge nested options."""
        return {**base, **top}

    def sort_key(self, obj):
        return tuple('' if v is None else (v if isinstance(v, str) else '%020s' % (v,)) for v in self.key(obj))

    def rank(self, obj):
        """Creation order: lower first; deletion runs in the reverse order."""
        return 0

    def in_scope(self, obj, ctx):
        return True

    def scoped(self, ctx):
        """Whether :meth:`in_scope` may leave out any object in this task (False: the engine asks it of none, as
        for a route task without the table and family options)."""
        return True

    #: whether :meth:`gather` returns each object with its fields in :attr:`field_order` already: the engine then
    #: does not :meth:`shape` them (a route table's 20,000 objects)
    gathered_in_order = False

    #: ``out_of_scope(obj, ctx)``: None, or a method that says why a gathered object that :meth:`in_scope` leaves
    #: out is out of the task's scope (text), or None for an object to say nothing of. A ``deleted`` selector that
    #: matches nothing in scope but such an object is warned of (``Engine._unmatched``): the object is kept, which
    #: a task whose option narrows its scope (tc_qdisc's ``depth``) may not expect.
    out_of_scope = None

    #: ``identity(obj)``: None when the key is what the kernel tells objects apart by (most resources), else
    #: a method giving the kernel's own, coarser identity: a tuple whose first item is the field that tells
    #: two objects of one identity apart (for the error). Two such objects cannot both exist: writing one
    #: displaces the other (a bridge keeps one FDB entry per MAC and VLAN, whichever port it names). The engine
    #: then plans the displaced object's delete, so that the report names it and a rollback restores it, and
    #: refuses a config with two elements of one identity (only one of them could stay).
    identity = None

    def protected(self, obj):
        """Objects the kernel owns: never deleted or changed by the engine."""
        return False

    def unchangeable(self, have, target):
        """The error for a config element that would change the protected object ``have`` to ``target`` (every
        state but deleted refuses it, before anything is sent)."""
        return EdgenetError('this object is owned by the kernel and cannot be changed', obj=self.label(have))

    def named_protected(self, obj):
        """What ``state=deleted`` does with the protected ``obj`` when a config element names it by its whole key:
        True deletes it (the protection only keeps it from ``overridden`` and from a selector of some fields);
        a text (why it stays) keeps it and warns with it (a device the link module never deletes, a kernel-made
        address); None (the default) keeps it silently."""
        return None

    #: ``spared(obj, ctx)``: None, or a method that says why a gathered object is deleted only when a ``deleted``
    #: element names it by its whole key (text), or None for an object deleted as any other. ``overridden`` and a
    #: ``deleted`` task without such an element keep it and warn with that text (a veth whose other end is in
    #: another network namespace: deleting it deletes that end too).
    #: An attribute rather than a method with a default, unlike :meth:`named_protected` (asked only of the few
    #: protected objects): it would be asked of every gathered object an overridden or deleted task may delete,
    #: and a resource without it (all but link) pays one test per task instead of a call per object.
    spared = None

    def implied(self, target, ctx):
        """The objects the kernel makes along with ``target`` (the complete object a config element asks for, or
        the gathered object it spells), each complete: an FDB entry without a VLAN in a bridge's table is also
        one entry per VLAN of the port. The plan treats them as wanted (added or changed to be so, kept by
        ``overridden``), unless a config element has the same key: the element wins. Only called when a
        resource overrides it."""
        return ()

    def amend(self, ctx, ops, have_by_key):
        """The ordered plan ``ops``, amended for writes whose effects reach other objects of the same kind (an FDB
        write without a VLAN also writes or deletes the entry of each VLAN of the port): ``follow`` the writes
        that keep what the plan does not change as it is, ``restore`` for the rollback, and the order the kernel
        needs. Every object must end as :meth:`Engine.simulate` predicts from the ops by key. Only called when
        a resource overrides it."""
        return ops

    def settle(self, want, obj):
        """Return ``obj`` (a gathered object) with values that only differ from ``want``'s by kernel
        rounding or clock skew set to ``want``'s, so before/after report what the user asked for.

        ``obj`` is the engine's copy; settle sets fields, never removes one. The engine re-shapes the
        result only when settle added a field (a changed value keeps its place)."""
        return obj

    #: the fields of ``want`` that ``settle`` reads, if known: the engine then settles only the
    #: gathered objects whose config element gives one of them (None: every object a config element names)
    settle_fields = None

    def reconcile(self, have, target):
        """Return ``target`` with values that equal ``have``'s up to kernel rounding set to ``have``'s."""
        return target

    def plan_change(self, have, target, ctx):
        """The operations that turn ``have`` into ``target``."""
        if any(have.get(f) != target.get(f) for f in self.immutable):
            return [Op('delete', have, None), Op('add', None, target)]
        return [Op('change', have, target)]

    def validate(self, ctx, plan, after):
        """Cross-object checks before anything is sent (devices exist, ...).

        ``after`` is the predicted objects after ``plan`` (in no particular order), or None in a real
        run when :attr:`validate_reads_after` is false.
        """

    #: whether ``validate`` reads its ``after`` argument: a real run computes the prediction only for it
    validate_reads_after = True

    @staticmethod
    def refuse_or_warn(ctx, label, field, msg, assumed, tail=''):
        """A ``validate`` finding about what the host holds now, which an earlier task of the play may change:
        a real run refuses it before anything is sent (naming ``label`` and ``field``); check mode, which runs
        no earlier task, warns with the same words that its prediction assumes an earlier task ``assumed`` (such
        as 'creates it') and returns False, so the caller goes on. ``tail``: more for the warning only. ``assumed``
        None: no task of the play can change it, and check mode refuses it too."""
        error = EdgenetError(msg, obj=label, field=field)
        if not ctx.check_mode or assumed is None:
            raise error
        ctx.warn('check mode: %s; this prediction assumes an earlier task of the play %s%s' % (error, assumed, tail))
        return False

    # -- kernel I/O ------------------------------------------------------------
    def gather(self, ctx):
        raise NotImplementedError

    def apply(self, ctx, op):
        """Send one op and wait for its answer: the path of resources that are not netlink requests
        (netns) or whose op takes several requests.  Netlink resources implement ``encode``."""
        raise NotImplementedError

    #: whether the resource is on the bulk path: ``encode`` builds each op's request, and the
    #: engine sends the whole plan pipelined (``_rtnl``), instead of calling ``apply`` per op
    bulk = False

    def encode(self, ctx, op):
        """The netlink request of one op: ``(nlmsg_type, nlmsg_flags, body bytes)`` (bulk path)."""
        raise NotImplementedError

    #: whether a real run builds ``after`` from what the kernel echoes of each write (bulk path), instead
    #: of a second dump: ``before`` with the objects the echoes report put in or taken out by key.  For a
    #: resource whose writes change exactly the object of their key, with no side effect on another
    #: object (a tc delete takes the children with it), whose kernel echoes every write with the object
    #: as its dump shows it, and whose ``sort_key`` depends on key fields only.  ``decode_echo`` reads one.
    echo = False

    def dumped(self, have):
        """How many objects the last gather read from the kernel (``have``: what it returned): what a dump after
        the writes would cost, against the echoes of the plan's writes. A resource whose gather leaves out what the
        task is not about (route) says how many it read."""
        return len(have)

    def decode_echo(self, ctx, mtype, body):
        """``(deleted, object)`` of one echoed message (``body``: the message's bytes after its header);
        object None for one that is not an object of the resource (out of scope or kernel-owned)."""
        raise NotImplementedError

    def error_field(self, op):
        """The field a kernel refusal of ``op`` is reported against (bulk path)."""
        return ','.join(op.changed_fields()) if op.action == 'change' else None

    def refine_error(self, op, error):
        """Adjust the EdgenetError of a kernel refusal of ``op`` (bulk path): a better message or field."""
        return error

    def undo_loses(self, op):
        """What the undo of the applied ``op`` (its inverse, in a rollback) cannot make again, as text for the
        user (None: nothing). Such as what the kernel's object has that the resource does not model: the object the
        rollback makes again from its description lacks it, and the rollback is reported incomplete."""
        return None

    def repair(self, ctx, op):
        """Ops that undo what the kernel applied of a REFUSED ``op`` before it stopped (bulk path).

        Most requests are all or nothing, and so is the default: nothing to undo.  A request of several
        entries that the kernel applies one by one and keeps when a later one fails (the VNIs of a range)
        reads the kernel after the refusal and returns the ops that restore what ``op`` touched; the
        engine sends them with the rollback, first.
        """
        return []

    def render(self, ctx, op):
        """iproute2 command lines for one op (a list of strings)."""
        return []

    def rendered_plan(self, ctx, plan):
        """The plan of ``state=rendered`` (every element added, nothing read from the kernel) as the steps a real
        run would send for it, where :meth:`validate` splits or moves them (it reads the kernel, and rendered does
        not run it): the rendered commands, pasted, must make what the config asks for."""
        return plan

    def parse(self, ctx, data):
        raise EdgenetError("state 'parsed' is not supported by %s" % self.name, field='state')


class Context(object):
    """What a resource sees of the task: params, the netlink session, the netns."""

    def __init__(self, params, check_mode=False, nl=None):
        self.params = params
        self.check_mode = check_mode
        self.netns = params.get('netns')
        self._nl = nl
        self.warnings = []

    @property
    def nl(self):
        if self._nl is None:
            from ansible_collections.edgenet.linux.plugins.module_utils._netlink import Netlink
            self._nl = Netlink(self.netns, readonly=self.check_mode)
        return self._nl

    def cmd(self, tool, *args):
        """An iproute2 command line, with ``-n NETNS`` when the task names one."""
        if None in args or '' in args:  # (seldom)
            args = [a for a in args if a is not None and a != '']
        return self.line(tool, map(str, args))  # (str of a str is itself: no copy)

    def line(self, tool, words):
        """:meth:`cmd` of ``words`` that are all text and none empty (a bulk renderer's), joined as they are."""
        words = ' '.join(words)
        if self.netns:
            return '%s -n %s %s' % (tool, self.netns, words) if words else '%s -n %s' % (tool, self.netns)
        return '%s %s' % (tool, words) if words else tool

    def warn(self, text):
        self.warnings.append(text)

    def close(self):
        if self._nl is not None:
            self._nl.close()


# -- argument spec ---------------------------------------------------------------
def argument_spec(resource):
    spec = {
        'config': {'type': 'list', 'elements': 'dict', 'options': resource.options},
        'state': {'type': 'str', 'default': 'merged', 'choices': list(STATES)},
    }
    if resource.supports_parsed:
        spec['running_config'] = {'type': 'str'}
    else:
        spec['state']['choices'].remove('parsed')
    if resource.uses_netns:
        spec['netns'] = {'type': 'str'}
    spec.update(resource.scope_options)
    spec.update(resource.module_options)
    return spec


def required_if(resource):
    """The ``required_if`` of every resource module (also the controller's preflight, action/validate_roles.py)."""
    out = [
        ('state', 'merged', ('config',)),
        ('state', 'replaced', ('config',)),
        ('state', 'overridden', ('config',)),
        ('state', 'rendered', ('config',)),
    ]
    if resource.supports_parsed:
        out.append(('state', 'parsed', ('running_config',)))
    return out


def without_null_choices(spec, params):
    """``params`` (a module's arguments as given, or a part of them) without the options given null that have
    ``choices``, at any depth (``config`` elements and their suboptions), in place; returns ``params``.

    An explicit null means "not given" to Ansible users, and so it is for every other option: ansible-core's
    argument check takes null for an option without choices (``table: null``), and the engine drops it, but refuses
    it for one with choices (``action: null``: "value of action must be one of: ..., got: None"). Dropped before the
    check, such an option is not given: it gets its default, if it has one. (The module's argument check and the
    validate_roles preflight both call this.) The spec is walked once, into the names to look at; an element of a
    20,000-route config then costs a few dict lookups."""
    plan = _null_choices_plan(spec, {})
    if plan is not None:
        _drop_null_choices(plan, params)
    return params


def _null_choices_plan(spec, seen):
    """(names with choices, including aliases; {name: plan of its suboptions}) of ``spec``, or None when no option
    at any depth has choices."""
    key = id(spec)
    if key in seen:
        return seen[key]
    seen[key] = None  # (a spec that holds itself: nothing more below)
    choices, nested = [], {}
    for name, option in spec.items():
        if not isinstance(option, dict):
            continue
        names = [name] + list(option.get('aliases') or ())
        if option.get('choices') is not None:
            choices.extend(names)
        if option.get('options'):
            sub = _null_choices_plan(option['options'], seen)
            if sub is not None:
                for n in names:
                    nested[n] = sub
    plan = (tuple(choices), nested) if choices or nested else None
    seen[key] = plan
    return plan


def _drop_null_choices(plan, params):
    if not isinstance(params, dict):
        return
    choices, nested = plan
    for name in choices:
        if name in params and params[name] is None:
            del params[name]
    for name, sub in nested.items():
        value = params.get(name)
        if isinstance(value, list):
            for item in value:
                _drop_null_choices(sub, item)
        elif value is not None:
            _drop_null_choices(sub, value)


def run_module(resource_class):
    """``main()`` of every resource module."""
    from ansible.module_utils.basic import AnsibleModule

    resource = resource_class()

    class Module(AnsibleModule):  # pylint: disable=abstract-method
        """AnsibleModule whose argument check, when it fails, names the config element and its field."""

        def _load_params(self):
            super(Module, self)._load_params()
            without_null_choices(self.argument_spec, self.params)  # (null is "not given", with choices too)
            self.raw_config = self.params.get('config')  # (the argument check works on a copy, and empties what fails)

        def _set_internal_properties(self):
            super(Module, self)._set_internal_properties()
            # ansible-core's argument check fails with a TypeError (not a message) on an option with suboptions given
            # a list that holds a number or a boolean (it looks for names in each item): say what is wrong first
            if isinstance(self.raw_config, list) and _uncheckable(resource.options, self.raw_config):
                from ansible_collections.edgenet.linux.plugins.module_utils._explain import explain  # (only then)

                better = explain(resource, self.raw_config)
                kwargs = better.result() if better is not None else {
                    'msg': 'an option with fields was given a list of values that are not dictionaries'}
                # (the arguments are not shown: their no_log values are known only once the check has run)
                super(Module, self).fail_json(invocation={'module_args': {}}, **kwargs)

        def fail_json(self, msg=None, **kwargs):
            result = getattr(self, 'validation_result', None)
            if result is not None and result.errors and not kwargs and isinstance(self.raw_config, list):
                from ansible_collections.edgenet.linux.plugins.module_utils._explain import explain  # (only then)

                better = explain(resource, self.raw_config)
                if better is not None:
                    kwargs = better.result()
                    msg = kwargs.pop('msg')
                    self.validation_result = None  # (once)
            super(Module, self).fail_json(msg=msg, **kwargs)

    module = Module(argument_spec=argument_spec(resource), supports_check_mode=True,
                    required_if=required_if(resource))
    if not module.check_mode:  # a run that may change the host may also keep its compiled code (_zipimport)
        from ansible_collections.edgenet.linux.plugins.module_utils._zipimport import allow_writes

        allow_writes()
    _scrub_only_secrets()
    ctx = Context(module.params, check_mode=module.check_mode)
    # The result's invocation (shown with -vvv): the arguments with only the fields each config element sets.
    # AnsibleModule's own copy has every unset suboption of every element as null: for a 1,000-filter tree
    # that was half of the result that is scrubbed for no_log values, encoded, sent and parsed. no_log values
    # in it are still scrubbed (exit_json and fail_json scrub the whole result).
    args = dict(module.params)
    if args.get('config'):
        args['config'] = _set_fields(args['config'])
    invocation = {'module_args': args}
    try:
        result = Engine(resource, ctx).run(diff=module._diff)
    except EdgenetError as e:
        module.fail_json(invocation=invocation, **e.result())
    except Exception as e:  # pylint: disable=broad-except
        # Never show a traceback: name the module and the error instead.
        module.fail_json(msg='internal error in edgenet.linux.%s: %s: %s' % (resource.name, type(e).__name__, e),
                         invocation=invocation)
    finally:
        ctx.close()
    for text in ctx.warnings:
        module.warn(text)
    module.exit_json(invocation=invocation, **result)


def _uncheckable(spec, elements):
    """Whether a config list (``elements``, raw) gives an option with suboptions (of ``spec``) a list that holds
    an item that is neither a dict nor a string, at any depth: what ansible-core's argument check cannot check."""
    for element in elements:
        if not isinstance(element, dict):
            continue
        for name, value in element.items():
            sub = (spec.get(name) or {}).get('options') if isinstance(spec.get(name), dict) else None
            if not sub or value is None:
                continue
            items = value if isinstance(value, list) else [value]
            if any(not isinstance(v, (dict, string_types)) for v in items) or _uncheckable(sub, items):
                return True
    return False


def _scrub_only_secrets():
    """Make AnsibleModule's scrub of the result (``remove_values``, run by exit_json and fail_json) skip the
    walk when there is nothing to scrub.

    With no no_log value (no option marked no_log was given one), ``remove_values`` returns an equal copy of
    the result after visiting every value: for a 1,000-class tree that is 60 ms of a 0.3 s module, for a
    gathered routing table far more. With any no_log value (a key, a password) it runs exactly as before,
    over the whole result. Only this module process is affected (the module is its own process).
    """
    from ansible.module_utils import basic

    scrub = basic.remove_values
    if getattr(scrub, 'edgenet_wrapped', None) is not None:
        return

    def remove_values(value, no_log_strings):
        if no_log_strings:
            return scrub(value, no_log_strings)
        return value

    remove_values.edgenet_wrapped = scrub
    basic.remove_values = remove_values


def _set_fields(value):
    """``value`` (the config list) without the None values of its dicts, at any depth."""
    if isinstance(value, dict):
        return dict((k, _set_fields(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [_set_fields(v) for v in value]
    return value


# -- the engine -----------------------------------------------------------------
def index_by(objs, key):
    """``{key(obj): [obj, ...]}`` (a resource's ``match_index``: the gathered objects a config element may name)."""
    index = {}
    for obj in objs:
        k = key(obj)
        found = index.get(k)
        if found is None:
            index[k] = [obj]
        else:
            found.append(obj)
    return index


def spells(item, obj):
    """Whether every field of ``item`` is in ``obj`` with the same value of the same type (a resource's
    ``match_have``: an element that spells a gathered object exactly)."""
    for k, v in item.items():
        if obj.get(k) != v or v.__class__ is not obj[k].__class__:
            return False
    return True


_BEFORE, _AFTER = attrgetter('before'), attrgetter('after')


def _by_rank(ops, ranks, reverse=False):
    """``ops`` in the order of their ``ranks`` (highest first with ``reverse``), and in their own order within a rank:
    as they are when every rank is the same (a route table, all of it through gateways)."""
    if not ops or min(ranks) == max(ranks):
        return ops
    # (sorted is stable with reverse too: equal ranks keep their order)
    return [ops[i] for i in sorted(range(len(ops)), key=ranks.__getitem__, reverse=reverse)]


def _tuple_getter(fields):
    """A function returning ``tuple(obj[f] for f in fields)``, at C speed."""
    from operator import itemgetter

    if len(fields) == 1:
        getter = itemgetter(fields[0])
        return lambda obj: (getter(obj),)
    return itemgetter(*fields)


def _selects(obj, selector, sets=()):
    """Whether ``obj`` matches every field of a ``deleted`` selector; a nested option (a dict, such as a link's
    ``vxlan``) matches when the object's has every field the selector's gives, and a list of ``sets``
    (:attr:`Resource.set_fields`) when the object's holds each of its items."""
    for k, v in selector.items():
        o = obj.get(k)
        if o != v and not (isinstance(v, dict) and isinstance(o, dict) and _selects(o, v)) and \
                not (k in sets and isinstance(v, list) and all(x in (o or ()) for x in v)):
            return False
    return True


def device_resolver(fields, names):
    """A function that gives a config element (the engine's own copy: its nested values are the caller's) the
    device names of ``names`` (``{alternative name: name}``) in its device ``fields`` (:attr:`Resource.device_fields`),
    in place of the alternative names it gives; one dict lookup per field given."""
    plain, nested, listed = [], [], []
    for f in fields:
        if '[].' in f:
            listed.append(tuple(f.split('[].', 1)))
        elif '.' in f:
            nested.append(tuple(f.split('.', 1)))
        else:
            plain.append(f)
    get = names.get

    def real(value):
        return get(value) if isinstance(value, string_types) else None

    def resolve(item):
        for f in plain:
            name = real(item.get(f))
            if name is not None:
                item[f] = name
        for f, sub in nested:
            d = item.get(f)
            name = real(d.get(sub)) if isinstance(d, dict) else None
            if name is not None:
                item[f] = dict(d, **{sub: name})
        for f, sub in listed:
            seq = item.get(f)
            if isinstance(seq, list) and any(isinstance(x, dict) and real(x.get(sub)) is not None for x in seq):
                item[f] = [dict(x, **{sub: real(x.get(sub))}) if isinstance(x, dict) and real(x.get(sub)) is not None
                           else x for x in seq]
        return item
    return resolve


def _differences(obj, selector, prefix=''):
    """``(field, obj's value, selector's value)`` of each field where ``obj`` does not match a ``deleted``
    selector, nested options by their dotted names (``vxlan.id``), in the selector's order."""
    out = []
    for k, v in selector.items():
        o = obj.get(k)
        if o == v:
            continue
        if isinstance(v, dict) and isinstance(o, dict):
            out.extend(_differences(o, v, prefix + k + '.'))
        else:
            out.append((prefix + k, o, v))
    return out


def _compact(obj):
    """A copy of ``obj`` without its None values."""
    if None in obj.values():
        return {k: v for k, v in obj.items() if v is not None}
    return dict(obj)


class Engine(object):
    def __init__(self, resource, ctx):
        self.res = resource
        self.ctx = ctx
        self._outside = ()  # the gathered objects out of the task's scope, where the resource says why (out_of_scope)

    # ---- inputs ----
    def normalize_config(self, config, fill_keys=True, have=None, names=None):
        """The config elements in normal form. With ``have`` (state merged, a resource with
        ``match_have``): an element that spells a gathered object exactly is taken as that object. With ``names``
        (``{alternative name: device name}``, :meth:`device_names`), the alternative names given in the resource's
        device fields are first taken as the names of their devices."""
        res = self.res
        resolve = device_resolver(res.device_fields, names) if names else None
        want = []
        default_keys, required = res.default_keys, res.required if fill_keys else ()
        index = res.match_index(have) if have else None  # (nothing gathered: no element can spell an object)
        match, ctx, normalize, defaults_of, keys = res.match_have, self.ctx, res.normalize, res.defaults, res.keys
        fill = fill_keys and default_keys != ()
        # the scope options an element must agree with (a task scoped to one device gathers only that device: an
        # element of another would be written on every run, and never be seen)
        scoped = [(f, ctx.params.get(f)) for f in res.scope_fields if ctx.params.get(f) is not None] if fill_keys \
            else ()
        for position, item in enumerate(config or ()):
            item = _compact(item)  # (the engine's own copy)
            if resolve is not None:
                item = resolve(item)
            if required and not all(map(item.__contains__, required)):
                raise EdgenetError('missing required field (needed with every state but deleted)',
                                   obj='config[%d]' % position, field=[f for f in required if f not in item][0])
            if not item:
                raise EdgenetError('empty element; give at least one field', obj='config[%d]' % position)
            obj = match(item, index, ctx) if index is not None else None
            if obj is None:  # (a gathered object that matched has every key field already)
                try:
                    obj = normalize(item, ctx)
                except EdgenetError as e:
                    if not e.obj:
                        e.obj = 'config[%d]' % position
                    raise
                for f, value in scoped:
                    if obj.get(f) is not None and obj[f] != value:
                        raise EdgenetError("the element's %s is %s, but the module acts only on %s %s (option %s): it "
                                           'would write what it cannot see' % (f, obj[f], f, value, f),
                                           obj='config[%d]' % position, field=f)
                if fill and (default_keys is None or not all(map(obj.__contains__, default_keys))):
                    defaults = defaults_of(obj)
                    for k in keys:
                        if k not in obj and k in defaults:
                            obj[k] = defaults[k]
            want.append(obj)
        if fill_keys:
            want_keys = self.keys_of(want)
            if len(set(want_keys)) != len(want_keys):
                seen = {}
                for position, key in enumerate(want_keys):
                    if key in seen:
                        self._duplicate(want[position], position, seen[key])
                    seen[key] = position
            self._want_keys = (want, want_keys)  # plan() reuses them (one key per element, in order)
        return want

    def keys_of(self, objs):
        """The key of each of ``objs``, in order (:meth:`Resource.key`): for complete objects, the resource's key
        getter itself (one call less per object, 20,000 of them in a route table)."""
        res = self.res
        if type(res).key is Resource.key:
            getter = res.__dict__.get('_key_getter') or res._make_key_getter()
            try:
                return list(map(getter, objs))
            except KeyError:  # a partial object (a deleted selector): its missing keys are None
                pass
        return list(map(res.key, objs))

    def _duplicate(self, obj, position, first):
        keys = self.res.keys
        raise EdgenetError('duplicate key (%s) also at config[%d]' % (
            ', '.join('%s=%s' % (k, obj.get(k)) for k in keys if obj.get(k) is not None), first),
            obj='config[%d]' % position, field=self.res.duplicate_field or keys[0])

    def device_names(self, config, state):
        """``{alternative name: device name}`` of the namespace's devices for a resource with device fields, and
        those the config gives its devices (:meth:`Resource.given_altnames`, but where a device has that name or
        alternative name already: that one it names); or None (no such fields, or no alternative names: nothing to
        look up per element)."""
        res = self.res
        if not res.device_fields:
            return None
        names = self.ctx.nl.altnames()
        given = res.given_altnames(config, names) if state != 'deleted' else None
        if given:
            taken = self.ctx.nl.links()[0]
            names = dict(dict((k, v) for k, v in given.items() if k not in taken), **names)
        return names or None

    def resolve_options(self):
        """Give the scope options that name a device (:attr:`Resource.device_options`) the name of the device
        they name by one of its alternative names."""
        ctx = self.ctx
        given = [(o, ctx.params[o]) for o in self.res.device_options if isinstance(ctx.params.get(o), string_types)]
        if not given:
            return
        real = dict((o, ctx.nl.device_name(v)) for o, v in given)
        if any(real[o] != v for o, v in given):
            ctx.params = dict(ctx.params, **real)

    def gather(self):
        res = self.res
        for attempt in range(GATHER_ATTEMPTS):
            try:
                objs = res.gather(self.ctx)
                break
            except DumpInterrupted as e:
                # the kernel's table changed while a dump read it (NLM_F_DUMP_INTR): an object may be missing or
                # there twice; read it all again (nothing has been sent yet, or the writes are done)
                if attempt == GATHER_ATTEMPTS - 1:
                    e.msg = '%s (%d reads in a row were interrupted)' % (e.msg, GATHER_ATTEMPTS)
                    raise
        if type(res).in_scope is not Resource.in_scope and res.scoped(self.ctx):
            ctx = self.ctx
            if res.out_of_scope is None:
                objs = [o for o in objs if res.in_scope(o, ctx)]
            else:  # (one pass: the objects out of scope are kept for _unmatched's warning)
                inside, self._outside = [], []
                for o in objs:
                    (inside if res.in_scope(o, ctx) else self._outside).append(o)
                objs = inside
        objs = sorted(objs, key=res.sort_key)
        return objs if res.gathered_in_order else [res.shape(o) for o in objs]

    # ---- planning ----
    def target(self, state, want, have):
        """The complete object ``want`` asks for, given what exists (``have``)."""
        res = self.res
        if have is None:
            return res.overlay(res.defaults(want), want)
        if state == 'merged':
            return res.overlay(have, want)
        target = res.defaults(want)
        for field in res.volatile:
            if field in have:
                target[field] = have[field]
        return res.overlay(target, want)

    def plan(self, state, want, have):
        res, ctx = self.res, self.ctx
        key = res.key_function()
        by_key = dict((key(h), h) for h in have)
        self._have_index = (have, by_key)  # simulate and echoed_after start from a copy
        # keys the kernel holds more than once (a route added with `ip route append`): a write names the key only
        held = self._held_twice(have, key) if len(by_key) != len(have) else None
        ops = []
        if state in ('merged', 'replaced', 'overridden'):
            want_keys = self._keys_of_want(want)
            overlay, target, defaults = res.overlay, self.target, res.defaults
            implied = res.implied if type(res).implied is not Resource.implied else None
            extra = []  # (the objects the kernel makes along with the wanted ones: Resource.implied)
            # (purge_only, an option of the resources that declare it in module_options: overridden deletes what config
            # does not list and leaves what it lists as the host has it - a role's last call, after earlier calls of the
            # same play made those, whose check mode then shows their changes once, in those calls)
            pairs = () if state == 'overridden' and ctx.params.get('purge_only') else zip(want, want_keys)
            for w, k in pairs:
                h = by_key.get(k)
                if held and k in held:
                    h = self._held_match(state, w, held[k])
                if w is h and state == 'merged':
                    if implied is not None:
                        extra.extend(implied(h, ctx))
                    continue  # an element that spelled the gathered object (match_have): nothing to change
                # (target(state, w, h), the first two cases inline: once per element of a 20,000-route config)
                t = overlay(defaults(w), w) if h is None else overlay(h, w) if state == 'merged' else target(state, w, h)
                if h is not None:
                    t = res.reconcile(h, t)
                if implied is not None:
                    extra.extend(implied(t, ctx))
                if h is None:
                    ops.append(Op('add', None, t))
                elif t != h:
                    if res.protected(h) and not res.protected_changes:
                        raise res.unchangeable(h, t)
                    ops.extend(res.plan_change(h, t, ctx))
            implied_keys = set()
            if extra:
                named = set(want_keys)
                for t in extra:
                    k = key(t)
                    if k in named or k in implied_keys:
                        continue  # a config element of its own key says what it is
                    implied_keys.add(k)
                    h = by_key.get(k)
                    if h is None:
                        ops.append(Op('add', None, t))
                        continue
                    t = res.reconcile(h, t)
                    if t != h and not res.protected(h):
                        ops.extend(res.plan_change(h, t, ctx))
            self._implied_keys = implied_keys
            if state == 'overridden':
                wanted = set(key(w) for w in want) | implied_keys
                spare = self._spare if res.spared is not None else None
                ops.extend(Op('delete', h, None) for h in have
                           if key(h) not in wanted and not res.protected(h) and not (spare and spare(h, state)))
            if res.identity is not None:
                ops = self.displaced(want, have, ops)
        elif state == 'deleted':
            # (with a config, the objects it matches are the ones the task is about, those it may not delete
            # too: about() reports them, as they stay)
            matched = self._matched = []
            hits = set()
            spare = self._spare if res.spared is not None else None
            sets = res.set_fields
            for h in have:
                if want:
                    hit = [i for i, w in enumerate(want) if _selects(h, w, sets)]
                    if not hit:
                        continue
                    hits.update(hit)
                    matched.append(h)
                # (named: an element gives the object's whole key)
                named = bool(want) and any(all(want[i].get(k) is not None for k in res.keys) for i in hit)
                if res.protected(h):
                    verdict = res.named_protected(h) if named else None
                    if verdict is True:
                        ops.append(Op('delete', h, None))
                    elif verdict:
                        ctx.warn('%s is kept: %s' % (res.label(h), verdict))
                elif named or not (spare and spare(h, state)):
                    ops.append(Op('delete', h, None))
            if want and len(hits) < len(want):
                self._unmatched([w for i, w in enumerate(want) if i not in hits], by_key)
        if held:
            for op in ops:
                objs = held.get(key(op.after if op.before is None else op.before))
                if objs is not None:
                    raise self._write_to_held(objs, op.action)
        ops = self.order(ops)
        if ops and type(res).amend is not Resource.amend:
            ops = res.amend(ctx, ops, by_key)
        return ops

    def _spare(self, h, state):
        """Whether the delete of ``h`` that no element asks for by name is left out (:attr:`Resource.spared`), with
        the warning that says so."""
        res = self.res
        why = res.spared(h, self.ctx)
        if why:
            by = ' and '.join(res.keys)
            self.ctx.warn('%s is kept: %s; %s' % (res.label(h), why, (
                'state=overridden never deletes it (a state=deleted element that names it by %s does)' % by
                if state == 'overridden' else 'state=deleted deletes it only when an element names it by %s' % by)))
        return bool(why)

    @staticmethod
    def _held_twice(have, key):
        """``{key: [object, ...]}`` of the keys that more than one gathered object has."""
        index = index_by(have, key)
        return dict((k, objs) for k, objs in index.items() if len(objs) > 1)

    def _held_match(self, state, w, objs):
        """Of the objects of a key the kernel holds more than once, the one that element ``w`` leaves as it is
        (state merged or replaced), which the plan then takes as the key's object; else a refusal is raised: any
        write to the key (and for overridden, the delete of the others) would reach the wrong one."""
        res = self.res
        if state != 'overridden':
            for x in objs:
                if w is x:
                    return x  # (match_have: the element spelled it)
                t = res.overlay(x, w) if state == 'merged' else self.target(state, w, x)
                if res.reconcile(x, t) == x:
                    return x
        raise self._write_to_held(objs, 'change' if state != 'overridden' else 'delete')

    def _write_to_held(self, objs, action):
        """The refusal of a write (``action``) to a key the kernel holds ``objs`` of (two or more).

        The resource tells objects apart by their key; a route's writes name only the key, and the kernel takes
        the first route of it, not the one the plan means (a rule's name all of it, but the plan still meant one
        of the key's rules and showed the others gone); and the rollback of a delete could not make the key's
        objects again in their order. So a plan may leave such a key alone (an element of state merged or
        replaced that one of them already is) but not write to it."""
        res = self.res
        fields = []
        for obj in objs[1:]:
            for field, _value, _other in _differences(obj, objs[0]) + _differences(objs[0], obj):
                if field not in fields and field not in res.keys:
                    fields.append(field)
        shown = '; '.join(', '.join('%s %s' % (f, obj.get(f)) for f in fields if f in obj) or '(the same)'
                          for obj in objs)
        msg = ('the kernel holds %d objects of this key (%s); the module keeps one object per key, so it cannot tell '
               'which of them this task would %s: nothing was changed. Remove the extra objects first'
               % (len(objs), shown, action))
        if res.held_twice_hint:
            msg += ' (%s)' % res.held_twice_hint
        if res.held_twice_deletes_one:
            msg += '; each is removed by its own command: %s' % '; '.join(
                line for obj in objs for line in res.render(self.ctx, Op('delete', obj, None)))
        return EdgenetError(msg, obj=res.label(objs[0]), field=', '.join(fields) or None)

    def _unmatched(self, selectors, by_key):
        """Warns of each ``deleted`` selector that names an object by its whole key while another of its fields
        differs from the kernel's: the object is kept, which a task that lists objects to delete may not expect.
        Likewise of each that matches only objects out of the task's scope (:attr:`Resource.out_of_scope`)."""
        res = self.res
        key = res.key_function()
        for w in selectors:
            for h in self._outside:
                if _selects(h, w, res.set_fields):
                    why = res.out_of_scope(h, self.ctx)
                    if why:
                        self.ctx.warn('%s is kept: state=deleted deletes only what is in the task\'s scope, and it %s'
                                      % (res.label(h), why))
            if not all(k in w for k in res.keys):
                continue
            h = by_key.get(key(w))
            if h is None or res.protected(h):
                continue
            fields = _differences(h, w)
            if fields:
                self.ctx.warn('%s is kept: state=deleted deletes an object only when every field given matches, '
                              'and %s' % (res.label(h), '; '.join(
                                  'its %s is %r, not %r' % f for f in fields)))

    def displaced(self, want, have, ops):
        """``ops`` and the deletes of the objects of ``have`` that their writes displace (the same
        :attr:`Resource.identity`, another key); refuses two objects of one identity that the task wants.
        (A plan without writes displaces nothing: then the objects ``want`` names are all in the kernel, where
        no two share an identity; so a re-check computes no identity.)"""
        res = self.res
        key = res.key_function()
        writes = {}
        for op in ops:
            if op.action != 'delete':
                i = res.identity(op.after)
                if i is not None:
                    k = key(op.after)
                    first = writes.setdefault(i, (k, op.after))
                    if first[0] != k:
                        raise self._same_identity(first[1], op.after, i)
        if not writes:
            return ops
        deleted = set(key(op.before) for op in ops if op.action == 'delete')
        extra, wanted = [], None
        for h in have:
            i = res.identity(h)
            w = writes.get(i)
            if w is None or w[0] == key(h) or key(h) in deleted or res.protected(h):
                continue
            if wanted is None:
                wanted = set(self._keys_of_want(want)) | self.__dict__.get('_implied_keys', set())
            if key(h) in wanted:  # (wanted as it is, so no write of its own)
                raise self._same_identity(h, w[1], i)
            extra.append(Op('delete', h, None))
        return ops + extra if extra else ops

    def _same_identity(self, a, b, identity):
        res = self.res
        return EdgenetError('%s and %s are one object to the kernel, which keeps only one of them; give one (they '
                            'differ in %s)' % (res.label(a), res.label(b), identity[0]), obj=res.label(b),
                            field=identity[0])

    def order(self, ops):
        """Deletes first, children before parents; then adds and changes, parents first."""
        res = self.res
        deletes = [op for op in ops if op.action == 'delete']
        others = [op for op in ops if op.action != 'delete']
        if type(res).rank is not Resource.rank:  # else every rank is 0: the (stable) sorts change nothing
            deletes = _by_rank(deletes, list(map(res.rank, map(_BEFORE, deletes))), reverse=True)
            others = _by_rank(others, list(map(res.rank, map(_AFTER, others))))
        return deletes + others

    def settle(self, want, objs):
        res = self.res
        if type(res).settle is Resource.settle:
            return objs
        fields = res.settle_fields
        if fields is not None:
            # the config elements that give one of the fields (a real run settles twice with the same want)
            cached = self.__dict__.get('_settling')
            if cached is not None and cached[0] is want:
                want = cached[1]
            else:
                fields = frozenset(fields)
                self._settling = (want, [] if fields.isdisjoint(chain.from_iterable(want)) else
                                  [w for w in want if not fields.isdisjoint(w)])
                want = self._settling[1]
            if not want:
                return objs
        key = res.key_function()
        by_key = dict((key(w), w) for w in want)
        out = []
        shape = res.shape
        for o in objs:
            w = by_key.get(key(o))
            if w is None or w is o:  # (an element that spelled the gathered object: it settles to itself)
                out.append(o)
                continue
            s = res.settle(w, dict(o))
            # a settle that only sets fields the object has keeps its (shaped) order
            out.append(s if len(s) == len(o) else shape(s))
        return out

    def _index(self, have, copy=True):
        """``{key: object}`` of ``have``, a new dict (a copy of the one :meth:`plan` made, if it is for ``have``;
        that one itself when ``copy`` is false: the caller only reads it)."""
        cached = self.__dict__.get('_have_index')
        if cached is not None and cached[0] is have:
            return dict(cached[1]) if copy else cached[1]
        key = self.res.key_function()
        return dict((key(h), h) for h in have)

    def simulate(self, have, plan, ordered=True):
        """The objects after ``plan``; in key order unless ``ordered`` is false (only validate reads it)."""
        res = self.res
        if not plan:
            return list(have)
        key = res.key_function()
        after = self._index(have)
        # the objects of a key the kernel holds more than once, but the one the index keeps: no plan writes such a
        # key (Engine.plan), so they all stay
        others = [h for h in have if after[key(h)] is not h] if len(after) != len(have) else ()
        for op in plan:
            if op.action == 'delete':
                after.pop(key(op.before), None)
            else:
                after[key(op.after)] = op.after
        objs = list(after.values())
        if others:
            objs[:0] = others  # (before the one the index keeps, the last of them: in the kernel's order)
        if not ordered:
            return objs
        return [res.shape(o) for o in sorted(objs, key=res.sort_key)]

    def render(self, plan):
        commands = []
        res, ctx = self.res, self.ctx
        for op in plan:
            commands.extend(res.render(ctx, op))
            for obj in op.follow:
                commands.extend(obj.render(ctx))
        return commands

    # ---- applying ----
    def apply(self, plan, echoes=None):
        """Apply ``plan``, rolling back on a failure; with a list as ``echoes``, what the kernel echoes of
        each write is appended to it, for :meth:`echoed_after` (bulk path; op by op, nothing is)."""
        if self.res.bulk:
            return self.apply_bulk(plan, echoes)
        res, ctx = self.res, self.ctx
        done = []
        for op in plan:
            try:
                res.apply(ctx, op)
                if op.follow:
                    done.append(op)  # (made: a refused follow undoes it)
                    self._send_follow(op)
                    done.pop()
            except Exception as e:  # pylint: disable=broad-except
                if not isinstance(e, EdgenetError):
                    e = EdgenetError('%s: %s' % (type(e).__name__, e), obj=res.label(op.obj))
                repairs, failures = self.repairs([op])
                for fix in repairs:
                    try:
                        res.apply(ctx, fix)
                    except Exception as x:  # pylint: disable=broad-except
                        failures.append('%s: %s' % (res.label(fix.obj), x))
                failures += self.rollback(done)
                raise self.refused(e, op, done, repairs, failures)
            done.append(op)
        return done

    def _send_follow(self, op):
        """Send ``op.follow`` (op by op path); raise the kernel's refusal of the first one refused."""
        from ansible_collections.edgenet.linux.plugins.module_utils._netlink import kernel_error

        ctx = self.ctx
        _applied, errors = ctx.nl.transact([obj.request(ctx) for obj in op.follow])
        if errors:
            e = kernel_error(errors[0], self.res.label(op.obj), action='%s %s' % (self.res.name, op.action))
            raise self._blame_follow(e, op, op.follow[errors[0].index])

    def _blame_follow(self, e, op, obj):
        """The error ``e`` of the refusal of ``obj``, of ``op.follow``: it names what could not be made again."""
        _head, sep, rest = e.msg.partition('; ')
        e.msg = 'the kernel refused to make %s again, which it deleted along with %s%s%s' % (
            obj.label, self.res.label(op.obj), sep, rest)
        e.extra['failed_object'] = obj.label
        e.extra['failed_follow'] = obj.render(self.ctx)
        return e

    def apply_bulk(self, plan, echoes=None):
        """The whole plan as pipelined requests; on a refusal, undo exactly what the kernel applied.

        Every request is encoded before the first is sent, so bad input (an unknown device)
        changes nothing.  The kernel processes each request of a batch even after one fails;
        the ones it acknowledged are rolled back (inverse ops, reverse order), in bulk too.
        """
        res, ctx = self.res, self.ctx
        requests = [res.encode(ctx, op) for op in plan]
        owners = None  # with follows: for each request, (the index of its op, the follow or None)
        for op in plan:
            if op.follow:
                owners = self._with_follows(plan, requests)
                echoes = None  # (the echoes would not match the ops: the caller dumps)
                break
        applied, errors = ctx.nl.transact(requests, echoes=echoes)
        if not errors:
            return plan
        from ansible_collections.edgenet.linux.plugins.module_utils._netlink import kernel_error

        first = errors[0]
        follow = None
        if owners is not None:
            applied = [owners[i][0] for i in applied if owners[i][1] is None]  # (an op is made when its own request is)
            follow = owners[first.index][1]
            for err in errors:
                err.index = owners[err.index][0]
            errors = [err for i, err in enumerate(errors) if i == 0 or err.index != errors[i - 1].index]
        op = plan[first.index]
        e = kernel_error(first, res.label(op.obj), field=res.error_field(op), action='%s %s' % (res.name, op.action))
        e = res.refine_error(op, e)
        if follow is not None:
            e = self._blame_follow(e, op, follow)
        if len(errors) > 1:
            e.msg += ' (and %d later request(s) of the same batch were refused too)' % (len(errors) - 1)
        done = [plan[i] for i in applied]
        repairs, failures = self.repairs([plan[err.index] for err in reversed(errors)
                                          if err.index not in applied])
        failures += self.rollback_bulk(done, repairs)
        raise self.refused(e, op, done, repairs, failures)

    def _with_follows(self, plan, requests):
        """Put the requests of each op's ``follow`` after its own, in ``requests``; return for each request the index
        of its op and its follow (None for the op's own)."""
        ctx, owners, out = self.ctx, [], []
        for i, (op, request) in enumerate(zip(plan, requests)):
            out.append(request)
            owners.append((i, None))
            for obj in op.follow:
                out.append(obj.request(ctx))
                owners.append((i, obj))
        requests[:] = out
        return owners

    def repairs(self, refused):
        """(ops, failures): what undoes the kernel's partial work of each refused op (``Resource.repair``)."""
        res, ops, failures = self.res, [], []
        if type(res).repair is Resource.repair:
            return ops, failures
        for op in refused:
            try:
                ops.extend(res.repair(self.ctx, op))
            except Exception as x:  # pylint: disable=broad-except
                failures.append('%s: what the kernel kept of it could not be read: %s' % (res.label(op.obj), x))
        return ops, failures

    def refused(self, e, op, done, repairs, failures):
        """The error of a refused ``op``, with what was undone (``done`` rolled back, ``repairs`` sent)."""
        failed = e.extra.pop('failed_follow', None)
        if type(self.res).undo_loses is not Resource.undo_loses:
            for d in done:
                lost = self.res.undo_loses(d)
                if lost:
                    failures = failures + ['%s: %s' % (self.res.label(d.obj), lost)]
        e.extra.update(
            failed_command=failed or self.render([op]),
            rolled_back=self.render(repairs + [d.inverse() for d in reversed(done)]),
            rollback_failed=failures,
        )
        if failures:
            e.msg += '; ROLLBACK INCOMPLETE, %d change(s) could not be undone: %s' % (len(failures), '; '.join(failures))
        elif done:
            e.msg += '; rolled back the %d change(s) already made' % len(done)
            if repairs:
                e.msg += ', and what the kernel had applied of the refused request'
            commands = len(e.extra['rolled_back'])
            if commands != len(done) + len(repairs):
                # the lines the user reads are not one per change: an undo with nothing to say (the MTU step of a
                # new bridge that the rollback deletes has no MTU to go back to), or a qdisc made again with its tree
                e.msg += ', in %d command(s) (rolled_back)' % commands
        elif repairs:
            e.msg += '; undid what the kernel had applied of it'
        return e

    def echoed_after(self, have, plan, echoes):
        """The objects after the applied ``plan``, from ``have`` and ``echoes``, the kernel's echoes of its
        writes (:attr:`Resource.echo`), in key order; None when they cannot tell: then the caller dumps.
        ``have`` may be only the objects the task is about (:meth:`about`): its echoes are all about them.

        ``after`` stays the kernel's word, not a prediction: every object put in is one the kernel
        reported, decoded as a dump's is, and every object taken out is one the kernel reported deleted.
        The echoes cannot tell when a write went unreported (then the kernel's answer came without an
        echo), or when two gathered objects share a key (a write reports one of them).
        """
        res, ctx = self.res, self.ctx
        key = res.key_function()
        after = self._index(have)
        if len(after) != len(have) or len(set(index for index, _t, _b in echoes)) != len(plan):
            return None
        check_scope = type(res).in_scope is not Resource.in_scope
        grew = False
        for _index, mtype, body in echoes:
            deleted, obj = res.decode_echo(ctx, mtype, body)
            if obj is None or (check_scope and not res.in_scope(obj, ctx)):
                continue
            k = key(obj)
            if deleted:
                after.pop(k, None)
            else:
                grew = grew or k not in after
                after[k] = res.shape(obj)  # (an existing key keeps its place: have is in key order)
        objs = list(after.values())
        if grew:
            objs.sort(key=res.sort_key)
        return objs

    def rollback_bulk(self, done, repairs=()):
        """Undo ``done`` (inverse ops, reverse order), after sending ``repairs`` (ops already in undo form)."""
        res, ctx = self.res, self.ctx
        labels, requests, failures = [], [], []
        for op in list(repairs) + [d.inverse() for d in reversed(done)]:
            try:
                request = res.encode(ctx, op)
                follows = [(obj.label, obj.request(ctx)) for obj in op.follow]
            except Exception as e:  # pylint: disable=broad-except
                failures.append('%s: %s' % (res.label(op.obj), e))
                continue
            requests.append(request)
            labels.append(res.label(op.obj))
            for label, req in follows:  # (what the kernel deleted along with the object, made again after it)
                requests.append(req)
                labels.append('%s (under %s)' % (label, res.label(op.obj)))
        if not requests:
            return failures
        try:
            _applied, errors = ctx.nl.transact(requests, keep_going=True)
        except Exception as e:  # pylint: disable=broad-except
            return failures + ['the rollback batch could not be sent: %s' % e]
        failures.extend('%s: %s' % (labels[err.index], err) for err in errors)
        return failures

    def rollback(self, done):
        failures = []
        for op in reversed(done):
            inverse = op.inverse()
            try:
                self.res.apply(self.ctx, inverse)
                if inverse.follow:
                    self._send_follow(inverse)
            except Exception as e:  # pylint: disable=broad-except
                failures.append('%s: %s' % (self.res.label(inverse.obj), e))
        return failures

    # ---- the run ----
    def run(self, diff=False):
        """The task: ``{'changed', 'commands', 'before', 'after', ...}``.

        Python's cyclic garbage collector is off while it runs. A run makes no reference cycles it needs collected,
        but it makes objects by the ten thousand (a dict per route, per key, per op): each 700 of them start a
        collection, and the older generations are walked again and again, 8% of a 20,000-route apply."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._run(diff)
        finally:
            if enabled:
                gc.enable()

    def _run(self, diff):
        res, ctx, params = self.res, self.ctx, self.ctx.params
        state = params['state']
        result = {'changed': False, 'commands': []}

        if state == 'rendered':
            want = self.normalize_config(params['config'])
            plan = res.rendered_plan(ctx, self.plan('merged', want, []))
            result['rendered'] = self.render(plan)
            result['commands'] = result['rendered']
            return result
        if state == 'parsed':
            result['parsed'] = sorted(res.parse(ctx, params['running_config']), key=res.sort_key)
            return result

        # a device named by one of its alternative names (altnames) is taken by its name: in the scope options, and
        # in the device fields of the config elements (resolved before they are normalized)
        self.resolve_options()
        params = ctx.params
        config = params.get('config')
        resolving = bool(config) and state in WRITE_STATES
        if state == 'merged' and type(res).match_have is not Resource.match_have:
            have = self.gather()  # first: the elements that spell a gathered object are taken as it
            want = self.normalize_config(config, have=have, names=self.device_names(config, state) if resolving else None)
        else:
            want = self.normalize_config(config, fill_keys=state != 'deleted',
                                         names=self.device_names(config, state) if resolving else None)
            have = self.gather()
        result['before'] = have
        if state == 'gathered':
            result['gathered'] = have
            result['after'] = have
            return result

        if state != 'deleted':
            have = self.settle(want, have)
        plan = self.plan(state, want, have)
        # the objects after the plan, for validate (which checks them and adds the kernel's side effects, such as
        # the devices a delete takes with it) and for check mode's prediction; in no particular order
        predicted = (self.simulate(have, plan, ordered=False)
                     if ctx.check_mode or res.validate_reads_after else None)
        unvalidated = list(predicted) if predicted is not None and plan else None
        deletes = [op for op in plan if op.action == 'delete'] if unvalidated is not None else ()
        res.validate(ctx, plan, predicted)
        # the prediction, when validate changed it: objects that change without a write of their own (also those
        # that go without a delete of their own: validate dropped a delete that another takes along, such as the
        # other end of a veth)
        side = predicted if unvalidated is not None and (predicted != unvalidated or (
            deletes and not set(map(id, deletes)) <= set(id(op) for op in plan))) else None
        shown = self.about(state, want, plan, have, side)
        scoped = shown is not have  # (else every object of have is shown: nothing to pick from after)
        result['before'] = shown
        assumed = getattr(ctx._nl, 'assumed', None) if ctx.check_mode else None
        if assumed:
            ctx.warn('check mode: device(s) %s do not exist%s; this prediction assumes an earlier task of the '
                     'play creates them. Without them the real run fails and changes nothing.'
                     % (', '.join(assumed), " in network namespace '%s'" % ctx.netns if ctx.netns else ''))
        result['commands'] = self.render(plan)
        result['changed'] = bool(plan)
        if not plan:
            result['after'] = list(shown)
        elif ctx.check_mode:
            if scoped and side is None:  # (the plan's writes are all there is to it)
                result['after'] = self.simulate(shown, plan)
            else:
                if scoped:
                    predicted = self.only_about(state, want, plan, predicted)
                result['after'] = [res.shape(o) for o in sorted(predicted, key=res.sort_key)]
        else:
            # the echoes cost about what a dump of as many objects does: they are read when the objects
            # after the plan outnumber its writes (change some of many), the dump when they do not
            # (apply a new table, delete most of one)
            echoes = [] if res.echo and len(plan) < res.dumped(have) else None
            self.apply(plan, echoes)
            # (every object an echo reports is one this task wrote: it is about the task)
            after = None if echoes is None else self.echoed_after(shown, plan, echoes)
            if after is None:
                after = self.gather()
                if scoped:
                    after = self.only_about(state, want, plan, after)
            result['after'] = self.settle(want, after)
        if diff and plan:
            result['diff'] = self.diff_entries(result['before'], result['after'])
        return result

    def about(self, state, want, plan, have, side):
        """The objects of ``have`` (as planned) that the run reports in ``before``, in their order: ``have``
        itself when the task is about every object in scope, or all of them.

        ``merged`` and ``replaced``, and ``deleted`` with a ``config``, are about the objects their ``config``
        names (or matches), those the plan writes, and those the prediction ``side`` (when validate changed it)
        shows changing without a write of their own (a bridge's MTU after a port joins): a task that adds one
        route to a router's full table reports that route, not the table (100,000 routes made a 38 MB result
        and a 9 s task, for one route). ``overridden``, ``deleted`` without a ``config`` and ``gathered`` are
        about every object in scope. ``have``'s objects are found through :meth:`plan`'s index and by identity,
        so that a re-check of a whole table computes no key again; :meth:`task_keys` gives the keys, when a
        run needs them."""
        self._side_keys = ()
        if state not in ('merged', 'replaced', 'deleted') or (state == 'deleted' and not want):
            return have
        key = self.res.key_function()
        by_key = self._index(have, copy=False)
        if len(by_key) != len(have):  # (two objects under one key)
            return self.only_about(state, want, plan, have)
        # the objects want names (distinct: normalize_config refuses two elements of one key; deleted's want
        # holds selectors: the objects they match, plan() found them, the ones the kernel owns and keeps too)
        found = (self._matched if state == 'deleted' else
                 [h for h in map(by_key.get, self._keys_of_want(want)) if h is not None])
        implied = self.__dict__.get('_implied_keys')
        if implied and state != 'deleted':  # (the objects the kernel makes along with those want names)
            found = found + [h for h in map(by_key.get, implied) if h is not None]
        if not plan and len(found) == len(have):
            return have
        picked = dict(zip(map(id, found), found))
        have_ids = set(map(id, have)) if side is not None or len(plan) * 4 >= len(have) else None
        for op in plan:
            obj = op.before
            if obj is None:
                continue
            if have_ids is None or id(obj) not in have_ids:  # (a few ops, or a copy: plan_change may chain ops)
                obj = by_key.get(key(obj))
            if obj is not None:
                picked[id(obj)] = obj
        if side is not None:  # the objects validate's prediction adds, changes or removes
            extra = {}  # (the keys in a fixed order, side's then have's: not a set, whose order the hash seed sets)
            for o in side:
                if id(o) not in have_ids:
                    k = key(o)
                    if by_key.get(k) != o:
                        extra[k] = None
            gone = have_ids - set(map(id, side))
            if gone:
                extra.update((key(h), None) for h in have if id(h) in gone)
            picked.update((id(by_key[k]), by_key[k]) for k in extra if k in by_key)
            self._side_keys = extra
        if len(picked) == len(have):
            return have
        objs = list(picked.values())
        if len(objs) * 8 < len(have):  # a few of many: put them in order (have's is sort_key's) and not walk have
            pairs = sorted(zip(map(self.res.sort_key, objs), range(len(objs)), objs))
            if all(a[0] != b[0] for a, b in zip(pairs, pairs[1:])):
                return [p[2] for p in pairs]
        return [h for h in have if id(h) in picked]

    def task_keys(self, state, want, plan):
        """The keys of the objects a ``merged``, ``replaced`` or ``deleted`` (with a ``config``) run is about
        (see :meth:`about`, which must have run)."""
        key = self.res.key_function()
        keys = set(map(key, self._matched)) if state == 'deleted' else set(self._keys_of_want(want))
        if state != 'deleted':
            keys.update(self.__dict__.get('_implied_keys', ()))
        for op in plan:
            if op.before is not None:
                keys.add(key(op.before))
            if op.after is not None:
                keys.add(key(op.after))
        keys.update(self._side_keys)
        return keys

    def only_about(self, state, want, plan, objs):
        """The objects of ``objs`` whose key is one the task is about (:meth:`task_keys`), in their order."""
        key, keys = self.res.key_function(), self.task_keys(state, want, plan)
        return [o for o in objs if key(o) in keys]

    def _keys_of_want(self, want):
        """The key of each element of ``want`` (normalized), as :meth:`normalize_config` computed them."""
        cached = self.__dict__.get('_want_keys')
        if cached is not None and cached[0] is want and len(cached[1]) == len(want):
            return cached[1]
        return list(map(self.res.key_function(), want))

    def diff_entries(self, before, after):
        """The ``diff`` of a run that changes something: a list with one entry for each object that changes
        (changed, added, removed), in table order, whose headers name it (``edgenet.linux.route (netns r1):
        route 198.18.1.0/24 table main metric 0``): the controller's unified diff has 3 lines of context, which
        in one diff of a whole table seldom reach the field that says which route a hunk is about. An entry
        holds the YAML of that object on each side ('' where there is none). Unchanged objects are left out:
        a 20,000-route table's whole YAML took ~10 s to diff on the controller for 1,000 changes. One entry
        with both sides whole when the objects alone cannot show the change (a new order of the same objects,
        or an unhashable key)."""
        res, head = self.res, self.header()

        def whole():
            return [{'before': to_yaml(before), 'after': to_yaml(after), 'before_header': head, 'after_header': head}]

        key = res.key_function()
        try:
            sides = []
            for objs in (before, after):
                groups = {}
                for obj in objs:
                    groups.setdefault(key(obj), []).append(obj)
                sides.append(groups)
        except TypeError:  # (an unhashable key field)
            return whole()
        gb, ga = sides
        changed = [(k, gb.get(k, []), objs) for k, objs in ga.items() if objs != gb.get(k)]
        changed += [(k, objs, []) for k, objs in gb.items() if k not in ga]
        if not changed:
            return whole()
        try:  # both sides are in sort_key order; the removed objects go back to their place
            changed.sort(key=lambda c: res.sort_key((c[2] or c[1])[0]))
        except TypeError:
            pass
        entries = []
        nested = self._nested_order
        for _k, b, a in changed:
            title = '%s: %s' % (head, res.label((a or b)[0]))
            entries.append({'before': _yaml_side([nested(o) for o in b]), 'after': _yaml_side([nested(o) for o in a]),
                            'before_header': title, 'after_header': title})
        return entries

    def _nested_order(self, obj):
        """``obj`` with the fields of its nested options (a vxlan's, a route's nexthops) in the order of their
        argument spec: a prediction has them in the order of the config, the kernel's in the order of the dump,
        and a diff must read the same from check mode and from the real run."""
        options = self.res.options
        out = None
        for field, value in obj.items():
            sub = (options.get(field) or {}).get('options')
            if sub and isinstance(value, (dict, list)):
                if out is None:
                    out = dict(obj)
                out[field] = _in_spec_order(value, sub)
        return obj if out is None else out

    def header(self):
        where = ' (netns %s)' % self.ctx.netns if self.ctx.netns else ''
        return 'edgenet.linux.%s%s' % (self.res.name, where)


def _in_spec_order(value, spec):
    """``value`` with the keys of its dicts (also in lists) in the order of the argument spec ``spec``, unknown keys
    after, in their own order."""
    if isinstance(value, list):
        return [_in_spec_order(v, spec) for v in value]
    if not isinstance(value, dict):
        return value
    keys = [k for k in spec if k in value] + [k for k in value if k not in spec]
    return dict((k, _in_spec_order(value[k], (spec.get(k) or {}).get('options') or {})) for k in keys)


def _yaml_side(objs):
    """One side of a diff entry: nothing, the object, or (two objects under one key) their list."""
    if not objs:
        return ''
    return to_yaml(objs[0] if len(objs) == 1 else objs)


def to_yaml(objs):
    """The diff's YAML text (``_yamltext``: PyYAML's block style, without importing PyYAML on the host)."""
    from ansible_collections.edgenet.linux.plugins.module_utils import _yamltext

    return _yamltext.dump(objs)
