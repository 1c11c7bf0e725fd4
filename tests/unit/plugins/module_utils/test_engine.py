# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state engine on in-memory have/want, with a fake resource that keeps its "kernel" in a dict."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _engine
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine, Op, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError


class KernelRefused(Exception):
    pass


class Thing(Resource):
    """A made-up kernel object: ``name`` is the key, ``kind`` cannot change in place, ``mac`` is chosen
    by the kernel, ``master`` makes a port (created after its master, deleted before it), ``lo`` is
    owned by the kernel, and the scope option ``group`` narrows overridden/deleted."""

    name = 'thing'
    keys = ('name',)
    required = ('name',)
    options = {
        'name': {'type': 'str'},
        'kind': {'type': 'str'},
        'mtu': {'type': 'int'},
        'mac': {'type': 'str'},
        'master': {'type': 'str'},
        'alias': {'type': 'str'},
        'group': {'type': 'str'},
    }
    scope_options = {'group': {'type': 'str'}}
    volatile = ('mac',)
    immutable = ('kind',)

    def __init__(self, kernel=None, fail_on=(), crash_on=()):
        self.kernel = dict((o['name'], dict(o)) for o in (kernel or []))
        self.calls = []  # (action, name) of every apply, in order
        self.fail_on = fail_on  # (action, name) pairs that the "kernel" refuses (EdgenetError)
        self.crash_on = crash_on  # (action, name) pairs that raise an unexpected exception
        self.gathers = 0

    def normalize(self, item, ctx):
        obj = dict(item)
        if 'mtu' in obj:
            if not 68 <= int(obj['mtu']) <= 65535:
                raise EdgenetError('%s is out of range (68 to 65535)' % obj['mtu'], field='mtu')
            obj['mtu'] = int(obj['mtu'])
        if 'mac' in obj:
            obj['mac'] = obj['mac'].lower()
        return obj

    def defaults(self, obj):
        return {'kind': 'plain', 'mtu': 1500, 'group': 'default'}

    def rank(self, obj):
        return 1 if obj.get('master') else 0

    def in_scope(self, obj, ctx):
        group = ctx.params.get('group')
        return group is None or obj.get('group') == group

    def protected(self, obj):
        return obj['name'] == 'lo'

    def gather(self, ctx):
        self.gathers += 1
        return [dict(o) for o in self.kernel.values()]

    def apply(self, ctx, op):
        name = op.obj['name']
        self.calls.append((op.action, name))
        if (op.action, name) in self.fail_on:
            raise EdgenetError('the kernel refused', obj=self.label(op.obj), field='mtu', code=22,
                               extack='mtu greater than device maximum')
        if (op.action, name) in self.crash_on:
            raise KernelRefused('device busy')
        if op.action == 'delete':
            del self.kernel[name]
        else:
            obj = dict(op.after)
            if op.action == 'add' and 'mac' not in obj:
                obj['mac'] = '02:00:00:00:00:%02x' % (len(self.kernel) + 1)
            self.kernel[name] = obj

    def render(self, ctx, op):
        return [ctx.cmd('thing', op.action, op.obj['name'])]


class FakeSession(object):
    """Stands in for the netlink session (ctx.nl); the fake resource never talks to it."""

    def __init__(self):
        self.assumed = []  # devices check mode assumed an earlier task creates

    def close(self):
        pass


LO = {'name': 'lo', 'kind': 'loopback', 'mtu': 65536, 'mac': '00:00:00:00:00:00', 'group': 'default'}
A = {'name': 'a', 'kind': 'plain', 'mtu': 1500, 'mac': '02:00:00:00:00:0a', 'group': 'default'}
B = {'name': 'b', 'kind': 'plain', 'mtu': 9000, 'mac': '02:00:00:00:00:0b', 'group': 'blue', 'alias': 'uplink'}
P = {'name': 'p', 'kind': 'plain', 'mtu': 1500, 'mac': '02:00:00:00:00:0c', 'group': 'blue', 'master': 'b'}


def params(state, config=None, **extra):
    p = {'state': state, 'config': config, 'netns': None, 'group': None}
    p.update(extra)
    return p


def engine(state='merged', config=None, kernel=(LO, A, B, P), check_mode=False, **kw):
    res = Thing(copy.deepcopy(list(kernel)), **kw)
    ctx = Context(params(state, config), check_mode=check_mode, nl=FakeSession())
    return Engine(res, ctx)


def plan_of(state, config, kernel=(LO, A, B, P), **extra):
    eng = engine(state, config, kernel)
    eng.ctx.params.update(extra)
    want = eng.normalize_config(config, fill_keys=state != 'deleted')
    return eng.plan(state, want, eng.gather())


def actions(plan):
    return [(op.action, op.obj['name']) for op in plan]


# -- merged ----------------------------------------------------------------------------------------------
def test_merged_adds_a_new_object_with_the_kernel_defaults():
    plan = plan_of('merged', [{'name': 'c', 'mtu': 1400}])
    assert actions(plan) == [('add', 'c')]
    assert plan[0].after == {'name': 'c', 'kind': 'plain', 'mtu': 1400, 'group': 'default'}


def test_merged_changes_only_the_fields_given_and_keeps_the_others():
    plan = plan_of('merged', [{'name': 'b', 'mtu': 1500}])
    assert actions(plan) == [('change', 'b')]
    assert plan[0].before == B
    assert plan[0].after == dict(B, mtu=1500)  # alias, mac, group untouched
    assert plan[0].changed_fields() == ['mtu']


def test_merged_with_nothing_to_do_is_an_empty_plan():
    assert plan_of('merged', [{'name': 'b', 'mtu': 9000}, {'name': 'a'}]) == []


def test_merged_never_deletes():
    assert actions(plan_of('merged', [{'name': 'zzz'}])) == [('add', 'zzz')]


# -- replaced ----------------------------------------------------------------------------------------------
def test_replaced_returns_unnamed_fields_to_their_defaults():
    plan = plan_of('replaced', [{'name': 'b', 'group': 'blue'}])
    assert actions(plan) == [('change', 'b')]
    after = plan[0].after
    assert after['mtu'] == 1500, 'mtu not given: back to the default'
    assert 'alias' not in after, 'alias not given and without default: removed'
    assert sorted(plan[0].changed_fields()) == ['alias', 'mtu']


def test_replaced_keeps_volatile_fields_the_kernel_chose():
    plan = plan_of('replaced', [{'name': 'b', 'group': 'blue', 'mtu': 9000, 'alias': 'uplink'}])
    assert plan == [], 'the kernel-chosen mac must not count as a difference'


def test_replaced_sets_a_volatile_field_when_given():
    plan = plan_of('replaced', [{'name': 'a', 'mac': '02:00:00:00:00:AA'}])
    assert actions(plan) == [('change', 'a')]
    assert plan[0].after['mac'] == '02:00:00:00:00:aa'


def test_replaced_leaves_other_objects_alone():
    plan = plan_of('replaced', [{'name': 'a', 'mtu': 1400}])
    assert actions(plan) == [('change', 'a')]


def test_immutable_field_change_is_delete_then_add():
    plan = plan_of('merged', [{'name': 'a', 'kind': 'special'}])
    assert actions(plan) == [('delete', 'a'), ('add', 'a')]
    assert plan[0].before == A
    assert plan[1].after['kind'] == 'special'


# -- overridden --------------------------------------------------------------------------------------------
def test_overridden_deletes_every_other_object_in_scope_but_never_protected_ones():
    plan = plan_of('overridden', [{'name': 'a'}])
    assert ('delete', 'lo') not in actions(plan)
    assert sorted(actions(plan)) == [('delete', 'b'), ('delete', 'p')]


def test_overridden_acts_only_inside_the_scope():
    plan = plan_of('overridden', [{'name': 'b', 'group': 'blue', 'mtu': 9000, 'alias': 'uplink'}], group='blue')
    assert actions(plan) == [('delete', 'p')], 'a (group default) is out of scope and must stay'


# -- deleted -----------------------------------------------------------------------------------------------
def test_deleted_without_config_deletes_everything_in_scope_except_protected():
    plan = plan_of('deleted', [])
    assert sorted(actions(plan)) == [('delete', 'a'), ('delete', 'b'), ('delete', 'p')]
    plan = plan_of('deleted', [], group='blue')
    assert sorted(actions(plan)) == [('delete', 'b'), ('delete', 'p')]


def test_deleted_matches_on_every_field_given():
    assert actions(plan_of('deleted', [{'name': 'a'}])) == [('delete', 'a')]
    # a partial element: no key, only other fields
    assert sorted(actions(plan_of('deleted', [{'group': 'blue'}]))) == [('delete', 'b'), ('delete', 'p')]
    # every field must match
    assert actions(plan_of('deleted', [{'group': 'blue', 'mtu': 9000}])) == [('delete', 'b')]
    assert plan_of('deleted', [{'name': 'a', 'mtu': 9000}]) == []


def test_deleted_matches_a_nested_option_on_the_fields_it_gives():
    # a nested option (a link's vxlan) selects like the element: every field it gives must match, and the
    # kernel's object has more (it used to compare the whole dict, so a full config deleted nothing)
    nested = dict(A, name='n', opts={'id': 100, 'port': 4789, 'ttl': 0})
    kernel = (LO, A, nested)
    assert actions(plan_of('deleted', [{'name': 'n', 'opts': {'id': 100}}], kernel)) == [('delete', 'n')]
    assert actions(plan_of('deleted', [{'opts': {'id': 100, 'port': 4789}}], kernel)) == [('delete', 'n')]
    assert plan_of('deleted', [{'name': 'n', 'opts': {'id': 101}}], kernel) == []
    assert plan_of('deleted', [{'name': 'n', 'opts': 7}], kernel) == []


def test_deleted_warns_of_an_object_named_by_key_that_another_field_keeps():
    eng = engine('deleted', [{'name': 'a', 'mtu': 9000}])
    want = eng.normalize_config([{'name': 'a', 'mtu': 9000}], fill_keys=False)
    assert eng.plan('deleted', want, eng.gather()) == []
    assert len(eng.ctx.warnings) == 1
    assert eng.ctx.warnings[0] == ('thing name=a is kept: state=deleted deletes an object only when every field '
                                   'given matches, and its mtu is 1500, not 9000')
    # an element that matched, or names nothing in the kernel, or gives no key: no warning
    for config in ([{'name': 'a', 'mtu': 1500}], [{'name': 'nope', 'mtu': 1400}], [{'mtu': 1400}]):
        eng = engine('deleted', config)
        eng.plan('deleted', eng.normalize_config(config, fill_keys=False), eng.gather())
        assert eng.ctx.warnings == []


def test_deleted_never_deletes_protected_objects_even_by_name():
    assert plan_of('deleted', [{'name': 'lo'}]) == []


class Spared(Thing):
    """A thing whose deletion reaches beyond the task (``b``: a veth whose other end is in another namespace) is deleted
    only by a deleted element that names it by its key; ``lo`` is never deleted, and a named one is warned of."""

    def spared(self, obj, ctx):
        return 'it reaches elsewhere' if obj['name'] == 'b' else None

    def named_protected(self, obj):
        return 'it is the loopback'


def spared_plan(state, config):
    res = Spared(copy.deepcopy([LO, A, B]))
    eng = Engine(res, Context(params(state, config), check_mode=False, nl=FakeSession()))
    want = eng.normalize_config(config, fill_keys=state != 'deleted')
    return actions(eng.plan(state, want, eng.gather())), eng.ctx.warnings


def test_a_spared_object_is_deleted_only_by_a_deleted_element_that_names_it():
    assert spared_plan('overridden', [{'name': 'a'}]) == ([], [
        'thing name=b is kept: it reaches elsewhere; state=overridden never deletes it (a state=deleted element that '
        'names it by name does)'])
    assert spared_plan('deleted', []) == ([('delete', 'a')], [
        'thing name=b is kept: it reaches elsewhere; state=deleted deletes it only when an element names it by name'])
    # selected by another field than its key: kept too; named by its key: deleted
    assert spared_plan('deleted', [{'group': 'blue'}])[0] == []
    assert spared_plan('deleted', [{'name': 'b'}]) == ([('delete', 'b')], [])
    # a protected object a deleted element names is kept, with the resource's reason (no reason: no word)
    assert spared_plan('deleted', [{'name': 'lo'}]) == ([], ['thing name=lo is kept: it is the loopback'])


def test_deleted_of_an_absent_object_is_no_change():
    assert plan_of('deleted', [{'name': 'nope'}]) == []


def test_protected_object_cannot_be_changed():
    with pytest.raises(EdgenetError) as e:
        plan_of('merged', [{'name': 'lo', 'mtu': 1500}])
    assert 'owned by the kernel' in str(e.value)
    assert 'lo' in str(e.value)


# -- ordering ----------------------------------------------------------------------------------------------
def test_adds_run_in_rank_order_and_deletes_in_reverse_rank_order_deletes_first():
    plan = plan_of('overridden', [{'name': 'q', 'master': 'm'}, {'name': 'm'}, {'name': 'a'}],
                   kernel=(LO, A, B, P))
    assert actions(plan) == [('delete', 'p'), ('delete', 'b'), ('add', 'm'), ('add', 'q')]


def test_delete_order_is_reverse_of_create_order():
    eng = engine()
    ops = [Op('delete', dict(B), None), Op('delete', dict(P), None)]
    assert actions(eng.order(ops)) == [('delete', 'p'), ('delete', 'b')]
    ops = [Op('add', None, dict(P)), Op('add', None, dict(B))]
    assert actions(eng.order(ops)) == [('add', 'b'), ('add', 'p')]


# -- input checks ------------------------------------------------------------------------------------------
def test_duplicate_keys_are_an_error_naming_both_elements():
    eng = engine()
    with pytest.raises(EdgenetError) as e:
        eng.normalize_config([{'name': 'a'}, {'name': 'c'}, {'name': 'a', 'mtu': 1400}])
    text = str(e.value)
    assert "field 'name'" in text
    assert 'duplicate key' in text and 'name=a' in text
    assert 'config[2]' in text and 'config[0]' in text


def test_a_duplicate_key_names_the_field_the_resource_says():
    eng = engine()
    eng.res.keys = ('dev', 'name')
    eng.res.duplicate_field = 'name'
    with pytest.raises(EdgenetError) as e:
        eng.normalize_config([{'name': 'a', 'dev': 'x'}, {'name': 'a', 'dev': 'x'}])
    assert "field 'name'" in str(e.value) and 'dev=x, name=a' in str(e.value), str(e.value)


def test_an_element_outside_a_scope_field_is_refused_but_for_deleted():
    eng = engine()
    eng.res.scope_fields = ('dev',)
    eng.ctx.params['dev'] = 'x'
    with pytest.raises(EdgenetError) as e:
        eng.normalize_config([{'name': 'a', 'dev': 'x'}, {'name': 'b', 'dev': 'y'}])
    assert e.value.field == 'dev' and e.value.obj == 'config[1]' and 'option dev' in str(e.value), str(e.value)
    assert len(eng.normalize_config([{'name': 'a'}, {'name': 'b', 'dev': 'y'}], fill_keys=False)) == 2


@pytest.mark.parametrize('check_mode', [False, True])
def test_refuse_or_warn_refuses_a_real_run_and_warns_in_check_mode_with_the_same_words(check_mode):
    """What the host holds now that an earlier task may change: the real run is refused (naming object and field),
    check mode warns with the same words and what it assumes, and goes on."""
    ctx = Context(params('merged', []), check_mode=check_mode, nl=FakeSession())
    args = (ctx, 'thing a', 'dev', "'x' is not a port", 'makes it one', '. More.')
    if not check_mode:
        with pytest.raises(EdgenetError) as e:
            Resource.refuse_or_warn(*args)
        assert (e.value.obj, e.value.field, e.value.msg) == ('thing a', 'dev', "'x' is not a port")
        assert ctx.warnings == []
        return
    assert Resource.refuse_or_warn(*args) is False
    assert ctx.warnings == ["check mode: thing a: field 'dev': 'x' is not a port; this prediction assumes an earlier "
                            "task of the play makes it one. More."]


@pytest.mark.parametrize('check_mode', [False, True])
def test_refuse_or_warn_with_nothing_to_assume_refuses_check_mode_too(check_mode):
    """A finding no earlier task can change (assumed None: IPv6 off in the kernel) is refused in both modes."""
    ctx = Context(params('merged', []), check_mode=check_mode, nl=FakeSession())
    with pytest.raises(EdgenetError) as e:
        Resource.refuse_or_warn(ctx, 'thing a', 'dev', 'v3 has no IPv6', None)
    assert (e.value.obj, e.value.field, e.value.msg) == ('thing a', 'dev', 'v3 has no IPv6') and ctx.warnings == []


class HeldTwice(Thing):
    """The kernel holds object ``a`` twice (two routes of one key, made with `ip route append`): A, then A2."""

    def gather(self, ctx):
        self.gathers += 1
        return [dict(o) for o in self.kernel.values()] + [dict(A2)]


A2 = dict(A, mtu=9000, alias='second')


def held_plan(state, config, **extra):
    eng = Engine(HeldTwice(copy.deepcopy([LO, A, B, P])), Context(params(state, config, **extra), nl=FakeSession()))
    want = eng.normalize_config(config, fill_keys=state != 'deleted')
    return eng.plan(state, want, eng.gather())


@pytest.mark.parametrize('config', [[{'name': 'a', 'mtu': 1500}], [{'name': 'a', 'mtu': 9000}], [{'name': 'a'}]])
def test_a_key_the_kernel_holds_twice_is_left_alone_by_an_element_one_of_them_is(config):
    assert held_plan('merged', config + [{'name': 'b'}]) == []
    assert held_plan('replaced', [dict(A2)]) == []


def test_a_key_the_kernel_holds_twice_alike_is_not_written_either():
    # (two identical objects: a delete of one then an add leaves the other beside the new one)
    class Alike(HeldTwice):
        def gather(self, ctx):
            return [dict(o) for o in self.kernel.values()] + [dict(A)]
    ctx = Context(params('merged', [{'name': 'a', 'mtu': 1400}]), nl=FakeSession())
    eng = Engine(Alike(copy.deepcopy([LO, A, B, P])), ctx)
    want = eng.normalize_config([{'name': 'a', 'mtu': 1400}])
    with pytest.raises(EdgenetError) as e:
        eng.plan('merged', want, eng.gather())
    assert 'the kernel holds 2 objects of this key ((the same); (the same))' in str(e.value)


@pytest.mark.parametrize('check_mode', [True, False])
def test_the_objects_of_a_key_held_twice_stay_in_after_when_other_keys_change(check_mode):
    res = HeldTwice(copy.deepcopy([LO, A, B, P]))
    result = Engine(res, Context(params('merged', [{'name': 'a'}, {'name': 'b', 'mtu': 1400}]),
                                 check_mode=check_mode, nl=FakeSession())).run()
    assert result['changed'] and res.calls == ([] if check_mode else [('change', 'b')])
    assert [(o['name'], o['mtu']) for o in result['after']] == [('a', 1500), ('a', 9000), ('b', 1400)]


@pytest.mark.parametrize('state, config', [
    ('merged', [{'name': 'a', 'mtu': 1400}]),
    ('replaced', [{'name': 'a', 'mtu': 9000}]),  # (replaced: A2 without its alias is neither of them)
    ('overridden', [dict(A), dict(B), dict(P)]),  # (the other `a` would go)
    ('overridden', [dict(B), dict(P)]),
    ('deleted', [{'name': 'a'}]),
    ('deleted', [{'alias': 'second'}]),  # (one of them: a delete names the key, the kernel takes the first)
    ('deleted', None),
])
def test_a_write_to_a_key_the_kernel_holds_twice_is_refused_before_anything_is_sent(state, config):
    for check_mode in (True, False):
        res = HeldTwice(copy.deepcopy([LO, A, B, P]))
        with pytest.raises(EdgenetError) as e:
            Engine(res, Context(params(state, config), check_mode=check_mode, nl=FakeSession())).run()
        assert res.calls == []
        msg = str(e.value)
        assert msg.startswith("thing name=a: field 'mtu, alias': the kernel holds 2 objects of this key (mtu 1500; "
                              "mtu 9000, alias second)"), msg
        assert 'nothing was changed' in msg


def test_missing_required_field_names_the_field_except_for_deleted():
    eng = engine()
    with pytest.raises(EdgenetError) as e:
        eng.normalize_config([{'mtu': 1400}])
    assert "field 'name'" in str(e.value) and 'config[0]' in str(e.value)
    assert eng.normalize_config([{'mtu': 1400}], fill_keys=False) == [{'mtu': 1400}]


def test_normalize_errors_name_the_config_element():
    eng = engine()
    with pytest.raises(EdgenetError) as e:
        eng.normalize_config([{'name': 'a'}, {'name': 'b', 'mtu': 20}])
    assert str(e.value).startswith("config[1]: field 'mtu': 20 is out of range")


def test_none_values_are_dropped_before_normalize():
    eng = engine()
    assert eng.normalize_config([{'name': 'a', 'mtu': None, 'alias': None}]) == [{'name': 'a'}]


# -- simulate / the run ------------------------------------------------------------------------------------
def _run(state, config, check_mode, diff=True, **kw):
    eng = engine(state, config, check_mode=check_mode, **kw)
    result = eng.run(diff=diff)
    return eng, result


@pytest.mark.parametrize('state, config', [
    ('merged', [{'name': 'c', 'mtu': 1400}, {'name': 'b', 'mtu': 1500}]),
    ('replaced', [{'name': 'b', 'group': 'blue'}, {'name': 'a', 'kind': 'special'}]),
    ('overridden', [{'name': 'a', 'mtu': 1400}, {'name': 'n', 'master': 'a'}]),
    ('deleted', [{'group': 'blue'}]),
    ('deleted', []),
])
def test_check_mode_predicts_exactly_what_the_real_run_does(state, config):
    eng_check, predicted = _run(state, config, check_mode=True)
    assert eng_check.res.calls == [], 'check mode must not apply anything'
    assert eng_check.res.kernel == dict((o['name'], o) for o in copy.deepcopy([LO, A, B, P]))
    _eng_real, real = _run(state, config, check_mode=False)
    assert predicted['changed'] is True and real['changed'] is True
    assert predicted['commands'] == real['commands']

    def strip_mac(objs):  # the kernel picks the MAC of a new object; nobody can predict it
        return [dict((k, v) for k, v in o.items() if k != 'mac') for o in objs]

    assert strip_mac(predicted['after']) == strip_mac(real['after'])
    assert predicted['before'] == real['before']


def test_a_second_run_reports_no_change_and_no_commands():
    config = [{'name': 'c', 'mtu': 1400}, {'name': 'b', 'mtu': 1500}]
    eng, first = _run('merged', config, check_mode=False)
    assert first['changed']
    again = Engine(eng.res, Context(params('merged', config), nl=FakeSession())).run(diff=True)
    assert again['changed'] is False
    assert again['commands'] == []
    assert 'diff' not in again
    assert again['before'] == again['after'] == first['after']


# -- what before and after hold -------------------------------------------------------------------------
def names(objs):
    return [o['name'] for o in objs]


@pytest.mark.parametrize('check_mode', [True, False])
def test_merged_and_replaced_report_the_objects_their_config_names(check_mode):
    # a and c are named (a exists and changes, c is new); lo, b and p are not, so they are not shown
    for state in ('merged', 'replaced'):
        _eng, r = _run(state, [{'name': 'c', 'mtu': 1400}, {'name': 'a', 'mtu': 1400}], check_mode=check_mode)
        assert names(r['before']) == ['a'] and names(r['after']) == ['a', 'c'], state
        assert r['before'] == [A] and r['after'][0] == dict(A, mtu=1400)
        # a named object that needs no change is shown too
        _eng, r = _run(state, [{'name': 'b', 'mtu': 9000, 'group': 'blue', 'alias': 'uplink'}],
                       check_mode=check_mode)
        assert r['changed'] is False and r['before'] == r['after'] == [B], state


@pytest.mark.parametrize('check_mode', [True, False])
def test_deleted_with_a_config_reports_the_objects_it_matches(check_mode):
    _eng, r = _run('deleted', [{'group': 'blue'}], check_mode=check_mode)
    assert r['before'] == [B, P] and r['after'] == []
    _eng, r = _run('deleted', [{'name': 'nothing-like-it'}], check_mode=check_mode)
    assert r['changed'] is False and r['before'] == r['after'] == []


@pytest.mark.parametrize('check_mode', [True, False])
def test_deleted_with_a_config_reports_the_protected_objects_it_matches_as_kept(check_mode):
    # (they were left out: a config matching only objects the kernel owns, every bridge port, reported nothing)
    _eng, r = _run('deleted', [{'name': 'lo'}], check_mode=check_mode)
    assert r['changed'] is False and r['commands'] == [] and r['before'] == r['after'] == [LO]
    _eng, r = _run('deleted', [{'group': 'default'}], check_mode=check_mode)
    assert r['before'] == [A, LO] and r['after'] == [LO] and r['commands'] == ['thing delete a']


@pytest.mark.parametrize('state, config', [('overridden', [{'name': 'a', 'mtu': 1400}]), ('deleted', None)])
def test_overridden_and_deleted_without_config_report_every_object_in_scope(state, config):
    _eng, r = _run(state, config, check_mode=True)
    assert names(r['before']) == ['a', 'b', 'lo', 'p']
    assert names(r['after']) == ['a', 'lo'] if state == 'overridden' else ['lo']


def test_a_few_objects_of_many_are_shown_in_table_order():
    many = [{'name': 'n%02d' % i, 'kind': 'plain', 'mtu': 1500, 'group': 'default'} for i in range(40)]
    config = [{'name': 'n30', 'mtu': 1400}, {'name': 'n05'}, {'name': 'n17', 'mtu': 1400}, {'name': 'zz'}]
    for check_mode in (True, False):
        _eng, r = _run('merged', config, kernel=many, check_mode=check_mode)
        assert names(r['before']) == ['n05', 'n17', 'n30'] and names(r['after']) == ['n05', 'n17', 'n30', 'zz']

    class Coarse(Thing):
        """A sort key that ties (the first letter): the objects are shown in the order gathered."""

        def sort_key(self, obj):
            return obj['name'][:1]

    res = Coarse(copy.deepcopy(many))
    r = Engine(res, Context(params('merged', config), nl=FakeSession())).run()
    assert names(r['before']) == ['n05', 'n17', 'n30']


def test_an_object_the_plan_touches_beyond_the_config_is_shown():
    class Linked(Thing):
        """Changing b's mtu also sets p's, as a kernel sets a port's to its master's."""

        def plan_change(self, have, target, ctx):
            ops = [Op('change', have, target)]
            port = self.kernel.get('p')
            if have['name'] == 'b' and 'mtu' in target and port is not None:
                ops.append(Op('change', dict(port), dict(port, mtu=target['mtu'])))
            return ops

    for check_mode in (True, False):
        res = Linked(copy.deepcopy([LO, A, B, P]))
        r = Engine(res, Context(params('merged', [{'name': 'b', 'mtu': 1400}]), check_mode=check_mode,
                                nl=FakeSession())).run(diff=True)
        assert names(r['before']) == ['b', 'p'] and r['before'] == [B, P]
        assert r['after'] == [dict(B, mtu=1400), dict(P, mtu=1400)]
        assert len(r['diff']) == 2


def test_a_real_run_with_nothing_to_do_reports_after_even_when_validate_reads_none():
    # (a resource whose validate reads no prediction: the real run's after was None)
    class Blind(Thing):
        validate_reads_after = False

    for check_mode in (True, False):
        res = Blind(copy.deepcopy([LO, A, B, P]))
        r = Engine(res, Context(params('merged', [{'name': 'a'}]), check_mode=check_mode, nl=FakeSession())).run()
        assert r['changed'] is False and r['before'] == r['after'] == [A]
        r = Engine(res, Context(params('overridden', [{'name': 'a'}, {'name': 'b', 'group': 'blue', 'mtu': 9000,
                                                                      'alias': 'uplink'}, P]),
                                check_mode=check_mode, nl=FakeSession())).run()
        assert r['changed'] is False and r['before'] == r['after'] == [A, B, LO, P]


def test_run_results_are_sorted_shaped_and_diffed():
    _eng, result = _run('merged', [{'name': 'c', 'mtu': 1400}], check_mode=True)
    names = [o['name'] for o in result['after']]
    assert names == sorted(names)
    assert list(result['after'][names.index('c')])[:1] == ['name'], 'keys first'
    assert result['commands'] == ['thing add c']
    assert result['diff'] == [{'before': '', 'after': 'name: c\nkind: plain\nmtu: 1400\ngroup: default\n',
                               'before_header': 'edgenet.linux.thing: thing name=c',
                               'after_header': 'edgenet.linux.thing: thing name=c'}]


def test_the_diff_has_an_entry_for_each_object_that_changes_and_only_those():
    # a changes (mtu), c is added, p is deleted (overridden); lo and b stay as they are
    _eng, result = _run('overridden', [dict(A, mtu=1400), {'name': 'c'}, dict(B)], check_mode=True)
    assert result['commands'] == ['thing delete p', 'thing change a', 'thing add c']
    diff = result['diff']
    # in table order, each entry's headers naming its object
    assert [(d['before_header'], d['after_header']) for d in diff] == [
        ('edgenet.linux.thing: thing name=%s' % n,) * 2 for n in ('a', 'c', 'p')]
    a, c, p = diff
    assert 'mtu: 1500' in a['before'] and 'mtu: 1400' in a['after']
    assert a['before'].startswith('name: a\n') and a['after'].startswith('name: a\n')
    assert c['before'] == '' and c['after'].startswith('name: c\n')
    assert p['before'].startswith('name: p\n') and p['after'] == ''
    text = ''.join(d['before'] + d['after'] for d in diff)
    for unchanged in ('name: lo', 'name: b'):
        assert unchanged not in text
    # RV(before) and RV(after) themselves have every object
    assert [o['name'] for o in result['before']] == ['a', 'b', 'lo', 'p']
    assert [o['name'] for o in result['after']] == ['a', 'b', 'c', 'lo']


def test_diff_entries_keep_table_order_and_fall_back_to_everything():
    eng = engine()
    x, y, z = {'name': 'x', 'mtu': 1}, {'name': 'y', 'mtu': 1}, {'name': 'z', 'mtu': 1}

    def sides(before, after):
        return [(d['before'], d['after']) for d in eng.diff_entries(before, after)]

    assert sides([x, y, z], [x, dict(y, mtu=2), z]) == [('name: y\nmtu: 1\n', 'name: y\nmtu: 2\n')]
    # an added and a removed object in their places among the changed ones
    assert [d['after_header'][-1] for d in eng.diff_entries([x, z], [dict(x, mtu=2), y])] == ['x', 'y', 'z']
    # the same objects in another order: only the whole lists show it, under the module's header
    assert eng.diff_entries([x, y], [y, x]) == [{
        'before': '- name: x\n  mtu: 1\n- name: y\n  mtu: 1\n', 'after': '- name: y\n  mtu: 1\n- name: x\n  mtu: 1\n',
        'before_header': 'edgenet.linux.thing', 'after_header': 'edgenet.linux.thing'}]
    # two objects of one key on one side: the key's objects go together, as a list
    y2 = dict(y, alias='two')
    assert sides([x, y, y2], [x, y]) == [('- name: y\n  mtu: 1\n- name: y\n  mtu: 1\n  alias: two\n',
                                          'name: y\nmtu: 1\n')]


class Tagged(Thing):
    """A Thing whose ``alias`` is one per kernel: two things with one alias cannot both exist (Resource.identity)."""

    def identity(self, obj):
        return ('name', obj['alias']) if obj.get('alias') else None


def test_a_write_plans_the_delete_of_the_object_it_displaces():
    res = Tagged(copy.deepcopy([LO, A, B, P]))
    eng = Engine(res, Context(params('merged', [{'name': 'c', 'alias': 'uplink'}]), nl=FakeSession()))
    result = eng.run(diff=True)
    assert res.calls == [('delete', 'b'), ('add', 'c')]  # b had the alias: its delete first, and reported
    assert [o['name'] for o in result['before']] == ['b'] and [o['name'] for o in result['after']] == ['c']
    # a rollback restores it: the add of c fails after b's delete
    res = Tagged(copy.deepcopy([LO, A, B, P]), fail_on=[('add', 'c')])
    with pytest.raises(EdgenetError) as e:
        Engine(res, Context(params('merged', [{'name': 'c', 'alias': 'uplink'}]), nl=FakeSession())).run()
    assert 'rolled back' in e.value.msg and res.kernel['b']['alias'] == 'uplink'
    # nothing to write: no identity is computed at all (a re-check of a whole table)
    calls = []

    class Counting(Tagged):
        def identity(self, obj):
            calls.append(obj['name'])
            return Tagged.identity(self, obj)
    Engine(Counting(copy.deepcopy([LO, A, B, P])), Context(params('merged', [dict(B)]), nl=FakeSession())).run()
    assert calls == []


@pytest.mark.parametrize('config', [
    [{'name': 'c', 'alias': 'x'}, {'name': 'd', 'alias': 'x'}],  # two new ones
    [{'name': 'b'}, {'name': 'c', 'alias': 'uplink'}],            # one there as it is, one new
])
def test_two_wanted_objects_of_one_identity_are_refused(config):
    res = Tagged(copy.deepcopy([LO, A, B, P]))
    with pytest.raises(EdgenetError) as e:
        Engine(res, Context(params('merged', config), nl=FakeSession(), check_mode=True)).run()
    assert 'keeps only one of them' in e.value.msg and e.value.field == 'name', e.value.msg
    assert res.calls == []


def test_diff_entries_put_nested_options_in_their_spec_order():
    """A prediction has nested options in the order of the config, the kernel's objects in the order of the dump:
    the diff text must read the same from check mode and from the real run (the argument spec's order)."""
    class Nested(Thing):
        options = dict(Thing.options,
                       tunnel={'type': 'dict', 'options': {'link': {'type': 'str'}, 'mode': {'type': 'str'}}},
                       hops={'type': 'list', 'elements': 'dict', 'options': {
                           'dev': {'type': 'str'}, 'gateway': {'type': 'str'}, 'weight': {'type': 'int'}}})
    eng = Engine(Nested(copy.deepcopy([A])), Context(params('merged', []), nl=FakeSession()))
    x = {'name': 'x', 'mtu': 1}
    predicted = dict(x, tunnel={'mode': 'bridge', 'link': 'v1'},
                     hops=[{'weight': 2, 'gateway': '198.18.0.1', 'dev': 'v0'}])
    kernels = dict(x, tunnel={'link': 'v1', 'mode': 'bridge'},
                   hops=[{'dev': 'v0', 'gateway': '198.18.0.1', 'weight': 2}])
    assert eng.diff_entries([x], [predicted]) == eng.diff_entries([x], [kernels])
    after = eng.diff_entries([x], [predicted])[0]['after']
    assert after.index('link:') < after.index('mode:') and after.index('dev:') < after.index('gateway:') < \
        after.index('weight:'), after


def test_no_diff_unless_asked():
    _eng, result = _run('merged', [{'name': 'c'}], check_mode=True, diff=False)
    assert 'diff' not in result


def test_netns_appears_in_commands_and_diff_header():
    res = Thing(copy.deepcopy([A]))
    ctx = Context(params('merged', [{'name': 'c'}], netns='blue'), nl=FakeSession(), check_mode=True)
    result = Engine(res, ctx).run(diff=True)
    assert result['commands'] == ['thing -n blue add c']
    assert [d['before_header'] for d in result['diff']] == ['edgenet.linux.thing (netns blue): thing name=c']


def test_check_mode_warns_about_devices_it_assumed_exist():
    eng = engine('merged', [{'name': 'c'}], check_mode=True)
    eng.ctx.nl.assumed.extend(['v9', 'v8'])
    result = eng.run()
    assert result['changed'] is True
    assert len(eng.ctx.warnings) == 1
    assert 'v9, v8 do not exist' in eng.ctx.warnings[0]


def test_gathered_returns_the_objects_in_scope_and_changes_nothing():
    eng = engine('gathered')
    eng.ctx.params['group'] = 'blue'
    result = eng.run()
    assert result['changed'] is False
    assert [o['name'] for o in result['gathered']] == ['b', 'p']
    assert result['gathered'] == result['before'] == result['after']
    assert eng.res.calls == []


def test_rendered_plans_without_reading_or_touching_the_kernel():
    eng = engine('rendered', [{'name': 'p2', 'master': 'm'}, {'name': 'm'}])
    result = eng.run()
    assert eng.res.gathers == 0 and eng.res.calls == []
    assert result['rendered'] == ['thing add m', 'thing add p2']
    assert result['changed'] is False


def test_simulate_applies_the_plan_to_have():
    eng = engine()
    have = eng.gather()
    plan = [Op('delete', dict(B), None), Op('add', None, {'name': 'c'}), Op('change', dict(A), dict(A, mtu=1))]
    after = eng.simulate(have, plan)
    assert [o['name'] for o in after] == ['a', 'c', 'lo', 'p']
    assert after[0]['mtu'] == 1


# -- apply and rollback ------------------------------------------------------------------------------------
def test_a_failed_op_rolls_back_the_ops_already_made_in_reverse_order():
    config = [{'name': 'a', 'mtu': 1400}, {'name': 'c'}, {'name': 'd', 'master': 'c'}]
    eng = engine('merged', config, fail_on=[('add', 'd')])
    before = copy.deepcopy(eng.res.kernel)
    with pytest.raises(EdgenetError) as e:
        eng.run()
    err = e.value
    # applied: change a, add c; failed: add d; rolled back: delete c, change a back
    assert eng.res.calls == [('change', 'a'), ('add', 'c'), ('add', 'd'), ('delete', 'c'), ('change', 'a')]
    assert eng.res.kernel == before, 'the rollback must restore the kernel'
    assert 'rolled back the 2 change(s) already made' in err.msg
    assert err.extra['failed_command'] == ['thing add d']
    assert err.extra['rolled_back'] == ['thing delete c', 'thing change a']
    assert err.extra['rollback_failed'] == []
    text = str(err)
    assert "field 'mtu'" in text and 'errno 22 EINVAL' in text and 'mtu greater than device maximum' in text


class PartialThing(Thing):
    """A made-up kernel that keeps part of a refused change (like a VNI range refused halfway): the refused
    ``change a`` still set its alias; ``repair`` reads the kernel and restores it."""

    def apply(self, ctx, op):
        key = (op.action, op.obj['name'])
        if key in self.fail_on:  # refused once, keeping the alias
            self.fail_on = [k for k in self.fail_on if k != key]
            self.calls.append(key)
            self.kernel[op.obj['name']]['alias'] = op.obj['alias']
            raise EdgenetError('the kernel refused', obj=self.label(op.obj), field='alias', code=22)
        Thing.apply(self, ctx, op)

    def repair(self, ctx, op):
        now = self.kernel.get(op.obj['name'])
        if now is None or now.get('alias') == (op.before or {}).get('alias'):
            return []
        return [Op('change', dict(now), dict(op.before))]


def test_what_the_kernel_kept_of_a_refused_op_is_repaired_before_the_rollback():
    res = PartialThing(copy.deepcopy([LO, A, B, P]), fail_on=[('change', 'a')])
    eng = Engine(res, Context(params('merged', [{'name': 'c'}, {'name': 'a', 'alias': 'x'}]), nl=FakeSession()))
    before = copy.deepcopy(res.kernel)
    with pytest.raises(EdgenetError) as e:
        eng.run()
    assert res.calls == [('add', 'c'), ('change', 'a'), ('change', 'a'), ('delete', 'c')]
    assert res.kernel == before
    assert e.value.extra['rolled_back'] == ['thing change a', 'thing delete c']
    assert 'rolled back the 1 change(s) already made, and what the kernel had applied of the refused request' \
        in e.value.msg, e.value.msg


def test_a_refused_first_op_that_left_something_is_repaired():
    res = PartialThing(copy.deepcopy([LO, A, B, P]), fail_on=[('change', 'a')])
    eng = Engine(res, Context(params('merged', [{'name': 'a', 'alias': 'x'}]), nl=FakeSession()))
    with pytest.raises(EdgenetError) as e:
        eng.run()
    assert res.kernel['a'] == A and 'undid what the kernel had applied of it' in e.value.msg, e.value.msg


def test_a_failed_first_op_needs_no_rollback():
    eng = engine('merged', [{'name': 'c'}], fail_on=[('add', 'c')])
    with pytest.raises(EdgenetError) as e:
        eng.run()
    assert 'rolled back' not in e.value.msg
    assert eng.res.calls == [('add', 'c')]


def test_a_failed_rollback_is_reported():
    config = [{'name': 'c'}, {'name': 'd', 'master': 'c'}]
    eng = engine('merged', config, fail_on=[('add', 'd')], crash_on=[('delete', 'c')])
    with pytest.raises(EdgenetError) as e:
        eng.run()
    assert 'ROLLBACK INCOMPLETE' in e.value.msg
    assert 'device busy' in e.value.msg
    assert e.value.extra['rollback_failed'] == ['thing name=c: device busy']


def test_an_unexpected_exception_becomes_an_edgenet_error_naming_the_object():
    eng = engine('merged', [{'name': 'c'}, {'name': 'd', 'master': 'c'}], crash_on=[('add', 'd')])
    with pytest.raises(EdgenetError) as e:
        eng.run()
    assert str(e.value).startswith('thing name=d: KernelRefused: device busy')


def test_op_inverse():
    assert Op('add', None, A).inverse().action == 'delete'
    assert Op('add', None, A).inverse().before == A
    assert Op('delete', B, None).inverse().after == B
    inv = Op('change', A, B).inverse()
    assert (inv.action, inv.before, inv.after) == ('change', B, A)


# -- argument spec -----------------------------------------------------------------------------------------
def test_argument_spec_has_the_conventions():
    spec = _engine.argument_spec(Thing())
    assert spec['config'] == {'type': 'list', 'elements': 'dict', 'options': Thing.options}
    assert spec['state']['default'] == 'merged'
    assert 'parsed' not in spec['state']['choices'] and 'running_config' not in spec
    assert spec['netns'] == {'type': 'str'}
    assert spec['group'] == {'type': 'str'}


def test_argument_spec_with_parsed():
    class Parsed(Thing):
        supports_parsed = True

    spec = _engine.argument_spec(Parsed())
    assert 'parsed' in spec['state']['choices']
    assert spec['running_config'] == {'type': 'str'}
    assert 'parsed' in _engine.STATES, 'argument_spec must not modify the shared STATES list'


# -- the fast path of state merged (Resource.match_have) ---------------------------------------------------
class FastThing(Thing):
    """Thing with the fast path: an element whose fields all equal a gathered object's is that object."""

    def __init__(self, *args, **kwargs):
        super(FastThing, self).__init__(*args, **kwargs)
        self.events = []  # 'gather', 'normalize NAME', 'match NAME' in order

    def gather(self, ctx):
        self.events.append('gather')
        return super(FastThing, self).gather(ctx)

    def normalize(self, item, ctx):
        self.events.append('normalize %s' % item.get('name'))
        return super(FastThing, self).normalize(item, ctx)

    def match_index(self, have):
        return dict((h['name'], h) for h in have)

    def match_have(self, item, index, ctx):
        self.events.append('match %s' % item['name'])
        h = index.get(item['name'])
        if h is not None and all(h.get(k) == v for k, v in item.items()):
            return h
        return None


def fast_engine(state, config, check_mode=False):
    res = FastThing(copy.deepcopy([LO, A, B, P]))
    return Engine(res, Context(params(state, config), check_mode=check_mode, nl=FakeSession()))


FAST_CONFIGS = [
    [{'name': 'a', 'mtu': 1500}, {'name': 'b', 'alias': 'uplink'}],  # both spell what is there
    [{'name': 'a', 'mtu': 1500}, {'name': 'b', 'mtu': 1500}],  # one spells it, one changes
    [{'name': 'a', 'mac': '02:00:00:00:00:0A'}, {'name': 'c', 'mtu': 1400}],  # another spelling; an add
]


@pytest.mark.parametrize('config', FAST_CONFIGS)
@pytest.mark.parametrize('check_mode', [True, False])
def test_the_fast_path_gives_the_same_result_as_normalizing(config, check_mode):
    fast = fast_engine('merged', config, check_mode=check_mode)
    got = fast.run(diff=True)
    _eng, want = _run('merged', config, check_mode=check_mode)
    for field in ('changed', 'commands', 'before', 'after', 'diff'):
        assert got.get(field) == want.get(field), field
    # gathered first; an element that spells a gathered object is not normalized
    events = fast.res.events
    assert events[0] == 'gather' and all(e.startswith(('match', 'normalize', 'gather')) for e in events)
    spelled = [c['name'] for c in config if all(dict((o['name'], o) for o in (LO, A, B, P)).get(
        c['name'], {}).get(k) == v for k, v in c.items())]
    assert [e.split()[1] for e in events if e.startswith('normalize')] == [
        c['name'] for c in config if c['name'] not in spelled]


def test_the_fast_path_still_finds_duplicate_keys():
    for config in ([{'name': 'a', 'mtu': 1500}, {'name': 'a', 'mtu': 1500}],  # both fast
                   [{'name': 'a', 'mtu': 1500}, {'name': 'a', 'mtu': 1400}],  # fast, then normalized
                   [{'name': 'a', 'mtu': 1400}, {'name': 'a'}]):  # normalized, then fast
        with pytest.raises(EdgenetError) as e:
            fast_engine('merged', config).run()
        assert 'duplicate key' in str(e.value) and 'config[1]' in str(e.value) and 'config[0]' in str(e.value)


@pytest.mark.parametrize('state', ['replaced', 'overridden', 'deleted', 'rendered'])
def test_the_fast_path_is_for_merged_only(state):
    # replaced and overridden reset the fields an element leaves out: an element that spells part of an
    # object is not that object there
    eng = fast_engine(state, [{'name': 'a', 'mtu': 1500}])
    eng.run()
    assert not [e for e in eng.res.events if e.startswith('match')]


def test_cmd_drops_none_and_empty_words_and_writes_the_rest_as_text():
    """Context.cmd: the tool, ``-n NETNS`` when the task names one, then every word that is neither None nor ''
    (numbers as text), one space apart."""
    plain, named = Context({'netns': None}), Context({'netns': 'r1'})
    assert plain.cmd('tc') == 'tc' and named.cmd('tc') == 'tc -n r1'
    assert plain.cmd('ip', 'route', 'add', 0, None, '', 'metric', 10, False) == 'ip route add 0 metric 10 False'
    assert named.cmd('ip', None, '') == 'ip -n r1'
    assert named.cmd('bridge', 'fdb', 'add', 'dev', 'vx0', 'dst', '198.18.0.2') == \
        'bridge -n r1 fdb add dev vx0 dst 198.18.0.2'
    assert Context({'netns': ''}).cmd('ip', 'link') == 'ip link'
    # line: the words of a bulk renderer, all text and none empty, joined as cmd would
    for ctx in (plain, named):
        words = ['filter', 'add', 'dev', 'e0', 'prio', '10', 'classid', '1:10']
        assert ctx.line('tc', words) == ctx.cmd('tc', *words) and ctx.line('tc', []) == ctx.cmd('tc')


def test_a_protected_object_a_deleted_element_names_by_its_key_is_deleted_or_warned_of_as_the_resource_says():
    class Named(Thing):
        def protected(self, obj):
            return obj['name'] in ('lo', 'a')

        def named_protected(self, obj):
            return True if obj['name'] == 'a' else 'the kernel made it'

    def run(config):
        eng = Engine(Named(copy.deepcopy([LO, A, B, P])), Context(params('deleted', config), nl=FakeSession()))
        return eng.plan('deleted', eng.normalize_config(config, fill_keys=False), eng.gather()), eng.ctx.warnings

    plan, warnings = run([{'name': 'a'}, {'name': 'lo'}])
    assert [(op.action, op.before['name']) for op in plan] == [('delete', 'a')]
    assert warnings == ['thing name=lo is kept: the kernel made it']
    # a selector that does not give the whole key keeps both, without a word; so does no config
    for config in ([{'group': 'default'}], None):
        plan, warnings = run(config)
        assert 'a' not in [op.before['name'] for op in plan] and warnings == []


# -- an explicit null is "not given", with choices too -------------------------------------------------------------
def _validated(resource, params):
    """The arguments after ansible-core's own check of a resource module's argument spec (what AnsibleModule runs),
    with the module's null handling first; (errors, validated parameters)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = _engine.argument_spec(resource)
    outcome = ArgumentSpecValidator(spec, required_if=_engine.required_if(resource)).validate(
        _engine.without_null_choices(spec, params))
    return outcome.error_messages, outcome.validated_parameters


def test_an_option_with_choices_given_null_is_not_given_as_one_without():
    """ansible-core takes null for an option without choices (rule's table) but refused it for one with choices
    (a rule's family: "value of family must be one of: 4, 6, got: None"). Both are "not given" now: in a config
    element, under an alias, in a nested option, and at the top (the module's state then gets its default)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.rule import Rule

    spec = _engine.argument_spec(Rule())
    refused = ArgumentSpecValidator(spec).validate({'config': [{'priority': 1, 'family': None}]}).error_messages
    assert refused and 'value of family must be one of' in refused[0]  # (what ansible-core alone says)
    errors, params = _validated(Rule(), {'config': [{'priority': 1, 'table': None, 'action': None, 'family': None,
                                                     'src': None}], 'family': None, 'state': None})
    assert errors == [] and params['state'] == 'merged' and params['family'] is None, errors
    assert _engine._compact(params['config'][0]) == {'priority': 1}
    # a value that is not null is still checked
    errors, _params = _validated(Rule(), {'config': [{'priority': 1, 'family': 5}]})
    assert errors and 'value of family must be one of' in errors[0]
    # nested options (a dict and a list of dicts under a config element)
    nested = {'config': {'type': 'list', 'elements': 'dict', 'options': {
        'kind': {'type': 'str', 'choices': ['a', 'b']},
        'sub': {'type': 'dict', 'options': {'mode': {'type': 'str', 'choices': ['x']}, 'n': {'type': 'int'}}},
        'subs': {'type': 'list', 'elements': 'dict', 'options': {'mode': {'type': 'str', 'choices': ['x'],
                                                                          'aliases': ['m']}}}}}}
    given = {'config': [{'kind': None, 'sub': {'mode': None, 'n': None}, 'subs': [{'m': None}, {'mode': 'x'}]}]}
    assert _engine.without_null_choices(nested, given) == {
        'config': [{'sub': {'n': None}, 'subs': [{}, {'mode': 'x'}]}]}
    assert ArgumentSpecValidator(nested).validate(given).error_messages == []
