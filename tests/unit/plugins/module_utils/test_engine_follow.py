# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel deletes along with an object (a tc class's leaf qdisc), made again by the engine: an op's ``follow``
(sent right after it, part of it) and a delete's ``restore`` (sent after the add that undoes it in a rollback), on the
bulk path, without a kernel."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine, Resource
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError


class Child(object):
    """A replay: an object of another kind under ``parent``, as the fake kernel had it."""

    def __init__(self, parent, name):
        self.parent, self.name = parent, name
        self.label = 'child %s of %s' % (name, parent)

    def request(self, ctx):
        return 'child', self.parent, self.name

    def render(self, ctx):
        return ['add child %s under %s' % (self.name, self.parent)]


class Parented(Resource):
    """Objects keyed by ``name`` whose ``parent`` cannot change in place; the kernel deletes an object's children
    with it, and the resource gives them back (as tc_class does with a class's leaf qdisc)."""

    name = 'parented'
    keys = ('name',)
    required = ('name',)
    options = {'name': {'type': 'str'}, 'parent': {'type': 'str'}}
    immutable = ('parent',)
    bulk = True

    def gather(self, ctx):
        return [dict(o) for o in ctx.nl.objects.values()]

    def validate(self, ctx, plan, after):
        adds = dict((op.after['name'], op) for op in plan if op.action == 'add')
        for op in plan:
            if op.action == 'delete':
                op.restore = [Child(op.before['name'], c) for c in sorted(ctx.nl.children.get(op.before['name'], ()))]
                if op.before['name'] in adds:
                    adds[op.before['name']].follow = op.restore

    def encode(self, ctx, op):
        return op.action, op.obj['name'], dict(op.obj)

    def render(self, ctx, op):
        return ['%s %s' % (op.action, op.obj['name'])]


class FakeKernel(object):
    def __init__(self, objects, children, refuse=()):
        self.objects = dict((o['name'], dict(o)) for o in objects)
        self.children = dict((k, set(v)) for k, v in children.items())
        self.refuse = refuse  # requests the kernel refuses: (kind, name)
        self.sent = []

    def transact(self, requests, keep_going=False, echoes=None):
        from ansible_collections.edgenet.linux.plugins.module_utils._rtnl import RtnlError

        applied, errors = [], []
        for index, (kind, name, obj) in enumerate(requests):
            if errors and not keep_going:
                break
            self.sent.append((kind, name, obj if kind == 'child' else None))
            if (kind, name if kind != 'child' else obj) in self.refuse or (kind == 'child' and name not in self.objects):
                errors.append(RtnlError(index, 22, 'refused'))
                continue
            if kind == 'delete':
                del self.objects[name]
                self.children.pop(name, None)
            elif kind == 'add':
                self.objects[name] = obj
            elif kind == 'child':
                self.children.setdefault(name, set()).add(obj)
            applied.append(index)
        return applied, errors

    def close(self):
        pass


def run(config, refuse=(), check_mode=False):
    nl = FakeKernel([{'name': 'a', 'parent': 'x'}, {'name': 'b', 'parent': 'x'}], {'a': ['qa'], 'b': ['qb']}, refuse)
    params = {'state': 'merged', 'config': config, 'netns': None}
    try:
        return Engine(Parented(), Context(params, check_mode=check_mode, nl=nl)).run(), nl
    except EdgenetError as e:
        return e.result(), nl


def test_a_move_makes_again_what_went_along_and_says_so():
    check, _nl = run([{'name': 'a', 'parent': 'y'}], check_mode=True)
    real, nl = run([{'name': 'a', 'parent': 'y'}])
    assert real['commands'] == check['commands'] == ['delete a', 'add a', 'add child qa under a']
    assert nl.children == {'a': set(['qa']), 'b': set(['qb'])} and nl.objects['a']['parent'] == 'y'


def test_a_rollback_makes_again_what_a_delete_took_along():
    r, nl = run([{'name': 'a', 'parent': 'y'}, {'name': 'b', 'parent': 'y'}, {'name': 'c'}], refuse=[('add', 'c')])
    assert r['msg'].startswith('parented name=c: the kernel refused') and not r['rollback_failed'], r
    assert r['rolled_back'] == ['delete b', 'delete a', 'add b', 'add child qb under b', 'add a',
                                'add child qa under a'], r
    assert nl.children == {'a': set(['qa']), 'b': set(['qb'])}
    assert nl.objects == {'a': {'name': 'a', 'parent': 'x'}, 'b': {'name': 'b', 'parent': 'x'}}


def test_a_refused_follow_names_it_and_rolls_its_op_back():
    r, nl = run([{'name': 'a', 'parent': 'y'}], refuse=[('child', 'qa')])
    assert r['msg'].startswith('parented name=a: the kernel refused to make child qa of a again, which it deleted '
                               'along with parented name=a'), r
    assert r['failed_object'] == 'child qa of a' and r['failed_command'] == ['add child qa under a'], r
    # the rollback deletes the moved object and adds it back where it was; its child is refused again (said so)
    assert r['rolled_back'] == ['delete a', 'add a', 'add child qa under a'], r
    assert nl.objects['a'] == {'name': 'a', 'parent': 'x'}
    assert r['rollback_failed'] == ['child qa of a (under parented name=a): refused'], r
    assert 'ROLLBACK INCOMPLETE' in r['msg'], r
