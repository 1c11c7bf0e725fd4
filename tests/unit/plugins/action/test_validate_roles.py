# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validate_roles action against the collection's real role specifications (roles/*/meta/argument_specs.yml).
(site.yml runs it through ansible-playbook in tests/integration/test_site.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible_collections.edgenet.linux.plugins.action import validate_roles
from ansible_collections.edgenet.linux.plugins.action.validate_roles import ActionModule


class Templar(object):
    """The worker's templar, for values that hold no template."""

    @staticmethod
    def template(value):
        return value


def run(args, task_vars):
    task = Task()
    task.args = args
    connection = type('Connection', (), {'_shell': type('Shell', (), {'tmpdir': None})()})()
    action = ActionModule(task, connection, None, None, Templar(), None)
    try:
        return action.run(task_vars=task_vars)
    except AnsibleActionFail as ex:  # the task fails with this message (ansible-core's TaskExecutor catches it)
        return {'failed': True, 'msg': str(ex)}


def test_every_role_of_the_collection_is_read_when_the_plugin_is_imported():
    assert set(validate_roles.SPECS) >= {'interfaces', 'l2_fabric', 'qos'}
    assert 'qos_trees' in validate_roles.SPECS['qos']['main']['options']


def test_valid_variables_pass_and_the_roles_are_named():
    result = run({'roles': ['interfaces', 'edgenet.linux.qos']},
                 {'interfaces_routes': [{'dst': '198.19.1.0/24', 'dev': 'br0'}], 'qos_state': 'replaced',
                  'unrelated': object()})
    assert not result.get('failed'), result
    assert result['validated'] == ['edgenet.linux.interfaces', 'edgenet.linux.qos']
    assert result['changed'] is False


def test_defaults_of_the_spec_apply_when_a_variable_is_not_set():
    result = run({'roles': ['l2_fabric']}, {'l2_fabric_vtep_ip': '198.18.0.11'})
    assert not result.get('failed'), result


@pytest.mark.parametrize('roles, task_vars, role, field', [
    (['interfaces', 'qos'], {'qos_state': 'gathered'}, 'edgenet.linux.qos', 'qos_state'),
    (['interfaces'], {'interfaces_links': 'br0'}, 'edgenet.linux.interfaces', 'interfaces_links'),
    (['qos'], {'qos_trees': [1]}, 'edgenet.linux.qos', 'qos_trees'),
    (['l2_fabric'], {}, 'edgenet.linux.l2_fabric', 'l2_fabric_vtep_ip'),          # required
    (['l2_fabric'], {'l2_fabric_vtep_ip': '198.18.0.11', 'l2_fabric_vni': 'many'},
     'edgenet.linux.l2_fabric', 'l2_fabric_vni'),
])
def test_a_bad_variable_fails_naming_the_role_and_the_variable(roles, task_vars, role, field):
    result = run({'roles': roles}, task_vars)
    assert result['failed'] and list(result['argument_errors']) == [role], result
    assert any(field in m for m in result['argument_errors'][role]), result
    line = [m for m in result['msg'].splitlines()[1:] if field in m]
    assert line and line[0].startswith(role + ': '), result['msg']


def test_every_failing_role_is_reported_at_once():
    result = run({'roles': ['interfaces', 'qos']}, {'interfaces_state': 'x', 'qos_state': 'y'})
    assert sorted(result['argument_errors']) == ['edgenet.linux.interfaces', 'edgenet.linux.qos']
    assert result['validated'] == []


@pytest.mark.parametrize('args, words', [
    ({'roles': ['macsec']}, ["the role 'edgenet.linux.macsec' was not found"]),
    ({'roles': ['community.general.foo']}, ['community.general.foo is not a role of edgenet.linux']),
    ({'roles': ['../qos']}, ['../qos is not a role of edgenet.linux']),
    ({'roles': ['']}, ['roles and hooks must be role names']),
    ({'roles': [{'name': 'qos'}]}, ["{'name': 'qos'} is not a role of edgenet.linux"]),
    ({'roles': ['qos'], 'bogus': 1}, ['Invalid options', 'bogus']),
    ({}, ['missing required arguments: roles']),
])
def test_bad_task_arguments_fail_with_a_message(args, words):
    result = run(args, {})
    assert result['failed'] and all(w in result['msg'] for w in words), result


def test_a_role_without_a_specification_has_nothing_to_check(tmp_path, monkeypatch):
    os.makedirs(str(tmp_path / 'stub' / 'tasks'))
    monkeypatch.setattr(validate_roles, 'ROLES', str(tmp_path))
    monkeypatch.setattr(validate_roles, 'SPECS', {})
    result = run({'roles': ['stub']}, {'stub_x': 1})
    assert not result.get('failed') and result['validated'] == ['edgenet.linux.stub'], result
    assert validate_roles.SPECS == {}  # read on demand, as a role the run did not see at import


def test_an_empty_list_checks_nothing():
    result = run({'roles': []}, {})
    assert not result.get('failed') and result['validated'] == [], result


def test_a_specification_that_does_not_parse_fails_naming_the_role(tmp_path, monkeypatch):
    os.makedirs(str(tmp_path / 'broken' / 'meta'))
    (tmp_path / 'broken' / 'meta' / 'argument_specs.yml').write_text('argument_specs: [\n')
    monkeypatch.setattr(validate_roles, 'ROLES', str(tmp_path))
    monkeypatch.setattr(validate_roles, 'SPECS', validate_roles._load_all())
    assert 'broken' not in validate_roles.SPECS
    result = run({'roles': ['broken']}, {})
    assert result['failed'] and 'cannot read the argument specification of the role edgenet.linux.broken' in \
        result['msg'], result


@pytest.mark.parametrize('task_vars, joined', [
    ({}, []),
    ({'qos_trees': []}, ['qos']),                                        # set, even to an empty list
    ({'l2_fabric_vtep_ip': '198.18.0.11', 'qos_state': 'merged'}, ['l2_fabric', 'qos']),
    ({'qos_state': 'merged', 'l2_fabric_vtep_ip': '198.18.0.11'}, ['l2_fabric', 'qos']),   # the hooks' order
    ({'qos_': 1, 'qosx_trees': 1, 'site_qos_trees': 1, 'l2_fabricx': 1}, []),  # only <role>_<something>
])
def test_hooks_join_when_the_host_sets_one_of_their_variables(task_vars, joined):
    result = run({'roles': ['interfaces'], 'hooks': ['l2_fabric', 'qos']}, task_vars)
    assert not result.get('failed'), result
    assert result['hooks'] == joined
    assert result['validated'] == ['edgenet.linux.interfaces'] + ['edgenet.linux.' + h for h in joined]


def test_a_hook_that_joins_is_checked_and_one_that_does_not_need_not_exist():
    result = run({'roles': [], 'hooks': ['qos', 'edgenet.linux.macsec']}, {'qos_state': 'bogus'})
    assert result['failed'] and list(result['argument_errors']) == ['edgenet.linux.qos'], result
    assert result['hooks'] == ['qos']   # macsec (not installed) has no variable set: left out, not looked up
    result = run({'roles': [], 'hooks': ['macsec']}, {'macsec_links': []})
    assert result['failed'] and "the role 'edgenet.linux.macsec' was not found" in result['msg'], result


def test_hooks_must_be_role_names():
    result = run({'roles': [], 'hooks': ['']}, {})
    assert result['failed'] and 'roles and hooks must be role names' in result['msg'], result
