# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validate_roles action against the collection's real role specifications (roles/*/meta/argument_specs.yml).
(site.yml runs it through ansible-playbook in tests/integration/test_site.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import sys

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.task import Task
from ansible.template import Templar
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))   # .../ansible_collections/edgenet/linux

# The collection loader, as ansible-playbook installs it (the roles' templates name edgenet.linux filters), before
# this collection is imported through it.
if not any(type(f).__name__ == '_AnsibleCollectionFinder' for f in sys.meta_path):
    for name in [m for m in sys.modules if m == 'ansible_collections' or m.startswith('ansible_collections.')]:
        del sys.modules[name]
    _AnsibleCollectionFinder(paths=[os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))])._install()

from ansible_collections.edgenet.linux.plugins.action import validate_roles  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.edgenet.linux.plugins.action.validate_roles import ActionModule  # noqa: E402 pylint: disable=wrong-import-position

LOADER = DataLoader()


def run(args, task_vars):
    task = Task()
    task.args = args
    connection = type('Connection', (), {'_shell': type('Shell', (), {'tmpdir': None})()})()
    action = ActionModule(task, connection, None, LOADER, Templar(loader=LOADER, variables=task_vars), None)
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
    # values the specification accepts only by converting them, while the role uses them as given: refused
    (['interfaces', 'l2_fabric'], {'l2_fabric_vtep_ip': '198.18.0.11', 'l2_fabric_vtep_group': ['all']},
     'edgenet.linux.l2_fabric', "l2_fabric_vtep_group must be a string, got a list (['all'])"),
    (['l2_fabric'], {'l2_fabric_vtep_ip': '198.18.0.11', 'l2_fabric_bridge': {'name': 'br0'}},
     'edgenet.linux.l2_fabric', 'l2_fabric_bridge must be a string, got a dict'),
    (['l2_fabric'], {'l2_fabric_vtep_ip': ['198.18.0.11']}, 'edgenet.linux.l2_fabric',
     'l2_fabric_vtep_ip must be a string, got a list'),
    (['l2_fabric'], {'l2_fabric_vtep_ip': '198.18.0.11', 'l2_fabric_access_ports': 'dev=p1 vlan=10'},
     'edgenet.linux.l2_fabric', "l2_fabric_access_ports must be a list, got a string ('dev=p1 vlan=10')"),
    (['l2_fabric'], {'l2_fabric_vtep_ip': '198.18.0.11', 'l2_fabric_access_ports': ['dev=p1 vlan=10']},
     'edgenet.linux.l2_fabric', 'l2_fabric_access_ports[0] must be a dict, got a string'),
    (['l2_fabric'], {'l2_fabric_vtep_ip': '198.18.0.11', 'l2_fabric_access_ports': [{'dev': 'p0', 'vlan': 10},
                                                                                    {'dev': ['p1'], 'vlan': 10}]},
     'edgenet.linux.l2_fabric', "l2_fabric_access_ports[1].dev must be a string, got a list (['p1'])"),
    (['qos'], {'qos_trees': [{'dev': {'a': 1}, 'qdiscs': [{'handle': '1:', 'kind': 'htb'}]}]}, 'edgenet.linux.qos',
     "qos_trees[0].dev must be a string, got a dict ({'a': 1})"),
    (['qos'], {'qos_trees': 'dev=br0'}, 'edgenet.linux.qos', 'qos_trees must be a list, got a string'),
    (['interfaces'], {'interfaces_netns': ['blue']}, 'edgenet.linux.interfaces', 'interfaces_netns must be a string'),
    (['interfaces'], {'interfaces_routes': ['dst=198.19.1.0/24']}, 'edgenet.linux.interfaces',
     'interfaces_routes[0] must be a dict, got a string'),
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
    # an entry point the role does not have (it passed as valid: nothing of it was checked)
    ({'roles': ['qos'], 'entry_point': 'mian'}, ["the role edgenet.linux.qos has no entry point 'mian'"]),
    ({'roles': ['interfaces'], 'hooks': ['qos'], 'entry_point': 'mian'},
     ["the role edgenet.linux.interfaces has no entry point 'mian'"]),
    ({'roles': ['qos'], 'entry_point': '../meta/main'}, ["the role edgenet.linux.qos has no entry point '../meta/main'"]),
])
def test_bad_task_arguments_fail_with_a_message(args, words):
    result = run(args, {})
    assert result['failed'] and all(w in result['msg'] for w in words), result


@pytest.mark.parametrize('entry_point', ['main', 'run'])
def test_an_entry_point_the_role_has_is_checked(entry_point):
    result = run({'roles': ['qos', 'l2_fabric'], 'entry_point': entry_point}, {'l2_fabric_vtep_ip': '198.18.0.11'})
    assert not result.get('failed') and result['validated'] == ['edgenet.linux.qos', 'edgenet.linux.l2_fabric'], result


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


# -- the preflight of the roles' module calls: the values each call would get, checked as the module checks them ----
def site_vars(**extra):
    """A lab host's variables in playbooks/site.yml: group_vars/all.yml, the play's vars and extra vars (-e)."""
    root = os.path.join(COLLECTION, 'playbooks')
    task_vars = dict(LOADER.load_from_file(os.path.join(root, 'group_vars', 'all.yml'), trusted_as_template=True))
    task_vars.update(site_id=1, site_underlay_address='198.18.0.11', inventory_hostname='edgelab-h1')
    task_vars.update(LOADER.load_from_file(os.path.join(root, 'site.yml'), trusted_as_template=True)[0]['vars'])
    task_vars.update(extra)
    return task_vars


def run_site(**extra):
    return run({'roles': ['interfaces'], 'hooks': ['l2_fabric', 'qos']}, site_vars(**extra))


def preflight_error(result, role):
    assert result.get('failed') and list(result['argument_errors']) == ['edgenet.linux.' + role], result
    [message] = result['argument_errors']['edgenet.linux.' + role]
    assert 'edgenet.linux.%s: %s' % (role, message) in result['msg'].splitlines()
    return message


def test_the_site_as_it_is_passes_and_every_module_call_is_preflighted():
    result = run_site()
    assert not result.get('failed') and not result.get('warnings'), result
    assert result['validated'] == ['edgenet.linux.interfaces', 'edgenet.linux.l2_fabric', 'edgenet.linux.qos']
    assert result['preflight_skipped'] == [], result


@pytest.mark.parametrize('extra, role, words', [
    # the qos role's "Classes" call: the words tc_class gives, the item named as the trees give it (config[0] of the
    # call, the class 1:1 at site_rate, is the site tree's first class)
    ({'site_rate': 'fast'}, 'qos', 'task "Classes" (edgenet.linux.tc_class): qos_trees[0].classes[0]: field \'rate\': '
                                   '\'fast\' is not a rate'),
    ({'site_rate': '50mbit'}, 'qos', 'task "Classes" (edgenet.linux.tc_class): qos_trees[0].classes[3]: field \'ceil\': '
                                     'ceil 50000000bit is below rate 70000000bit'),
    # the site's single-VNI fabric: this VTEP's address is every other VTEP's head-end replication peer
    ({'l2_fabric_vtep_ip': 'not-an-ip'}, 'l2_fabric', "(l2_fabric_vtep_ip) 'not-an-ip' is not an IPv4 or IPv6"),
    ({'l2_fabric_vlans': [{'vid': 99999, 'vni': -1}]}, 'l2_fabric', 'l2_fabric_vlans must be empty when '
                                                                    'l2_fabric_vni is set'),
    # a VLAN-aware fabric that makes its own devices: the first call that would refuse it
    ({'l2_fabric_vni': 0, 'l2_fabric_devices': True, 'l2_fabric_vlans': [{'vid': 99999, 'vni': -1}]}, 'l2_fabric',
     'task "VNI filter list of the VXLAN device" (edgenet.linux.bridge_vni): config[0]: field \'vnis\': \'-1\''),
    ({'l2_fabric_vni': 0, 'l2_fabric_devices': True, 'l2_fabric_vlans': [{'vid': 99999, 'vni': 10}]}, 'l2_fabric',
     'task "VLANs of the VXLAN port (with their VNIs) and of the access ports" (edgenet.linux.bridge_vlan)'),
    ({'l2_fabric_vni': 0, 'l2_fabric_devices': True, 'l2_fabric_vtep_ip': 'not-an-ip'}, 'l2_fabric',
     'task "Bridge, VXLAN device and access ports" (edgenet.linux.link): config[1]: field \'vxlan.local\''),
    ({'site_rule_priority': 'first'}, 'interfaces', 'task "Policy rules" (edgenet.linux.rule): interfaces_rules[0]: field '
                                                    '\'priority\': \'first\' is not an integer'),
    ({'interfaces_state': 'deleted', 'site_routes': [{'dst': '198.19.1.0/33'}]}, 'interfaces',
     'task "Routes (deleted)" (edgenet.linux.route): interfaces_routes[0]'),
])
def test_a_value_a_module_refuses_fails_before_any_role_runs(extra, role, words):
    message = preflight_error(run_site(**extra), role)
    assert words in message, message


def test_a_null_for_an_option_with_choices_is_not_given_as_in_the_module():
    """The preflight checks a module call as the module does: an option with choices given null (a rule's family) is
    not given, as one without choices (its table) is; a value that is not null is still checked, by the choices
    (family) or by the module's own check (action)."""
    rules = [{'priority': 1000, 'from': '198.18.5.0/24', 'table': 5, 'action': None, 'family': None}]
    result = run_site(site_rules=rules)
    assert not result.get('failed') and 'edgenet.linux.interfaces' in result['validated'], result
    message = preflight_error(run_site(site_rules=[dict(rules[0], family=5)]), 'interfaces')
    assert "field 'family': 5 is not one of 4, 6" in message, message
    message = preflight_error(run_site(site_rules=[dict(rules[0], action='nosuch')]), 'interfaces')
    assert "field 'action': 'nosuch' is not an action of this module: lookup" in message, message


def test_site_rate_fast_with_another_rule_priority_names_only_qos():
    result = run_site(site_rate='fast', site_rule_priority=2000)
    assert result['validated'] == ['edgenet.linux.interfaces', 'edgenet.linux.l2_fabric'], result
    assert "'fast' is not a rate" in preflight_error(result, 'qos')


def stub_role(tmp_path, monkeypatch, tasks, defaults='', files=None):
    """A role 'stub' (no argument specification) with these tasks, and the plugin looking at it alone."""
    for sub, text in dict({'tasks/main.yml': tasks, 'defaults/main.yml': defaults}, **(files or {})).items():
        path = tmp_path / 'stub' / sub
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(validate_roles, 'ROLES', str(tmp_path))
    monkeypatch.setattr(validate_roles, 'SPECS', {})
    monkeypatch.setattr(validate_roles, 'PLANS', {})


STUB_TASKS = """
- name: Never (its condition is false)
  edgenet.linux.route:
    config: [{dst: not-a-prefix}]
  when: (stub_state | default('merged')) == 'deleted'

- name: Addresses
  edgenet.linux.address:
    config: "{{ stub_addresses }}"
    state: "{{ stub_state | default(omit) }}"
    netns: "{{ stub_netns or omit }}"

- name: Files
  ansible.builtin.import_tasks: more.yml
  when: stub_more

- name: Done
  ansible.builtin.meta: end_role
  when: stub_end

- name: After the end
  edgenet.linux.route:
    config: "{{ stub_routes }}"
"""
STUB_MORE = """
- name: Rules
  edgenet.linux.rule:
    config: "{{ stub_rules }}"
"""


@pytest.mark.parametrize('task_vars, words', [
    ({}, None),
    # omit: state and netns left out (the module's defaults), as the run leaves them out
    ({'stub_state': 'merged', 'stub_netns': 'blue'}, None),
    ({'stub_addresses': [{'dev': 'v0', 'address': '198.18.0.300/24'}]},
     'task "Addresses" (edgenet.linux.address): stub_addresses[0]'),
    ({'stub_state': 'bogus'}, 'task "Addresses" (edgenet.linux.address): value of state must be one of'),
    # the condition of the first task is false: its bad value is not checked; true, it is
    ({'stub_state': 'deleted'}, 'task "Never (its condition is false)" (edgenet.linux.route): config[0]'),
    # the tasks of an imported file get the import's condition
    ({'stub_rules': [{'priority': 'x'}]}, None),
    ({'stub_rules': [{'priority': 'x'}], 'stub_more': True}, 'task "Rules" (edgenet.linux.rule): stub_rules[0]: field \'priority\''),
    # after a meta end_role that ends the role, nothing is checked
    ({'stub_routes': [{'dst': 'x'}], 'stub_end': True}, None),
    ({'stub_routes': [{'dst': 'x'}]}, 'task "After the end" (edgenet.linux.route): stub_routes[0]'),
    # (an item of a config that is a role variable is named in it: stub_routes[0], not the module's config[0])
    # a variable the run would find undefined fails as the run would
    ({'stub_addresses': '{{ nowhere }}'}, "'nowhere' is undefined"),
])
def test_the_preflight_follows_the_role_as_the_run_does(tmp_path, monkeypatch, task_vars, words):
    stub_role(tmp_path, monkeypatch, STUB_TASKS, files={'tasks/more.yml': STUB_MORE},
              defaults='stub_addresses: [{dev: v0, address: 198.18.0.1/24}]\nstub_netns: ""\nstub_more: false\n'
                       'stub_end: false\nstub_routes: []\nstub_rules: []\n')
    from ansible.template import trust_as_template
    task_vars = dict((k, trust_as_template(v) if isinstance(v, str) else v) for k, v in task_vars.items())
    result = run({'roles': ['stub']}, task_vars)
    if words is None:
        assert not result.get('failed') and result['validated'] == ['edgenet.linux.stub'], result
    else:
        assert words in preflight_error(result, 'stub')


def test_a_broken_template_of_the_role_is_a_warning_not_a_refusal(tmp_path, monkeypatch):
    stub_role(tmp_path, monkeypatch, """
- name: Addresses
  edgenet.linux.address:
    config: "{{ [] | edgenet.linux.no_such_filter }}"
- name: Routes
  edgenet.linux.route:
    config: [{dst: not-a-prefix}]
""")
    result = run({'roles': ['stub']}, {})
    assert 'task "Routes" (edgenet.linux.route)' in preflight_error(result, 'stub')   # the next task is checked
    assert any('task "Addresses"' in w and 'no_such_filter' in w for w in result['warnings']), result
    assert result['preflight_skipped'] == ['edgenet.linux.stub: task "Addresses": its arguments cannot be rendered '
                                           'before the role runs']


def test_an_unexpected_error_of_the_preflight_is_a_warning(tmp_path, monkeypatch):
    stub_role(tmp_path, monkeypatch, """
- name: Addresses
  edgenet.linux.address:
    config: [{dev: v0, address: 198.18.0.1/24}]
""")
    from ansible_collections.edgenet.linux.plugins.module_utils.resources import address

    def broken(self, item, ctx):
        raise KeyError('ours')
    monkeypatch.setattr(address.Address, 'normalize', broken)
    result = run({'roles': ['stub']}, {})
    assert not result.get('failed') and result['validated'] == ['edgenet.linux.stub'], result
    assert any('preflight of task "Addresses"' in w and 'KeyError' in w for w in result['warnings']), result


def test_a_call_whose_failure_the_run_tolerates_is_not_refused(tmp_path, monkeypatch):
    stub_role(tmp_path, monkeypatch, """
- name: Rescued
  block:
    - name: Routes
      edgenet.linux.route:
        config: [{dst: not-a-prefix}]
  rescue:
    - name: Said so
      ansible.builtin.debug:
        msg: rescued
- name: Ignored
  edgenet.linux.route:
    config: [{dst: not-a-prefix}]
  ignore_errors: true
- name: Checked
  edgenet.linux.route:
    config: [{dst: also-not-a-prefix}]
""")
    result = run({'roles': ['stub']}, {})
    assert 'task "Checked" (edgenet.linux.route): config[0]' in preflight_error(result, 'stub')


NESTED_TREE = {'dev': 'br0', 'qdiscs': [{'handle': '1:', 'kind': 'htb'},
                                        {'parent': '1:10', 'handle': '10:', 'kind': 'htb'},
                                        {'parent': '10:1', 'handle': '101:', 'kind': 'pfifo'}],
               'classes': [{'classid': '1:10', 'parent': '1:', 'rate': '10mbit'},
                           {'classid': '10:1', 'parent': '10:', 'rate': '1mbit'}]}


def test_a_nested_qos_tree_is_preflighted_depth_by_depth_and_a_deeper_one_refused():
    result = run_site(qos_trees=[NESTED_TREE])
    assert not result.get('failed') and not result.get('warnings'), result
    bad = dict(NESTED_TREE, classes=NESTED_TREE['classes'] + [{'classid': '10:2', 'parent': '10:', 'rate': 'slow'}])
    # (config[1] of the depth-1 classes call: the tree's third class)
    assert 'task "Classes of those qdiscs" (edgenet.linux.tc_class): qos_trees[0].classes[2]: field \'rate\'' in \
        preflight_error(run_site(qos_trees=[bad]), 'qos')
    deep = dict(NESTED_TREE, qdiscs=NESTED_TREE['qdiscs'] + [{'parent': '101:1', 'kind': 'pfifo'}])
    message = preflight_error(run_site(qos_trees=[deep]), 'qos')
    assert 'qos_trees[0].qdiscs[3] (parent 101:1) is at depth 3' in message, message


# -- a role's bool variables given as strings ("false" from -e or an INI inventory) -----------------------------------
def render_role_vars(role, names, **given):
    """The role's internal variables ``names`` (vars/main.yml), rendered as the run renders them: the role's defaults,
    then the host's variables ``given``, then its vars."""
    root = os.path.join(COLLECTION, 'roles', role)
    variables = dict(LOADER.load_from_file(os.path.join(root, 'defaults', 'main.yml'), trusted_as_template=True))
    variables.update(given)
    variables.update(LOADER.load_from_file(os.path.join(root, 'vars', 'main.yml'), trusted_as_template=True))
    templar = Templar(loader=LOADER, variables=variables)
    return [templar.template(variables[name]) for name in names]


@pytest.mark.parametrize('value, on', [('false', False), ('no', False), ('0', False), (False, False),
                                       ('true', True), ('yes', True), (True, True)])
def test_l2_fabric_vnifilter_given_as_a_string_is_a_bool(value, on):
    """l2_fabric_vnifilter "false" (-e l2_fabric_vnifilter=false, an INI inventory): the argument spec (type bool)
    takes it, and the role's vars tested the string itself, which is true: the VNI filter was turned on."""
    links, vnis = render_role_vars('l2_fabric', ['__l2_fabric_links', '__l2_fabric_vnis'],
                                   l2_fabric_vtep_ip='198.18.0.1', l2_fabric_vnifilter=value,
                                   l2_fabric_vlans=[{'vid': 10, 'vni': 10010}])
    [vxlan] = [link['vxlan'] for link in links if link['ifname'] == 'vxlan0']
    assert ('vnifilter' in vxlan) is on and bool(vnis) is on, (links, vnis)
    assert not run({'roles': ['l2_fabric']}, {'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_vnifilter': value,
                                              'l2_fabric_vlans': [{'vid': 10, 'vni': 10010}]}).get('failed')


@pytest.mark.parametrize('value, devices', [('false', False), ('true', True)])
def test_l2_fabric_devices_given_as_a_string_is_a_bool(value, devices):
    [links] = render_role_vars('l2_fabric', ['__l2_fabric_links'], l2_fabric_vtep_ip='198.18.0.1',
                               l2_fabric_devices=value, l2_fabric_vlans=[{'vid': 10, 'vni': 10010}])
    assert ('br0' in [link['ifname'] for link in links]) is devices, links


def two_trees(bad_filter):
    """Two qos trees; the second's second filter is ``bad_filter``."""
    def tree(dev):
        return {'dev': dev, 'qdiscs': [{'handle': '1:', 'kind': 'htb', 'default': 10}],
                'classes': [{'classid': '1:10', 'parent': '1:', 'rate': '10mbit'}],
                'filters': [{'parent': '1:', 'protocol': 'ip', 'prio': 1, 'kind': 'u32', 'classid': '1:10',
                             'match': {'dscp': 46}}]}
    second = tree('eth1')
    second['filters'].append(dict(second['filters'][0], prio=2, match={'dscp': bad_filter}))
    return [tree('eth0'), second]


@pytest.mark.parametrize('state', ['merged', 'replaced', 'overridden', 'deleted'])
@pytest.mark.parametrize('site', [False, True])
def test_a_bad_qos_filter_is_named_where_the_trees_give_it(state, site):
    """The "Filters" calls have a vars: block (the qdisc calls before them, for check mode); the item of an error was
    then named config[2], its place in the flattened list, not where the trees give it."""
    trees = two_trees(99)
    if site:
        result = run_site(qos_trees=trees, qos_state=state)
    else:
        result = run({'roles': ['qos']}, {'qos_trees': trees, 'qos_state': state})
    message = preflight_error(result, 'qos')
    assert 'edgenet.linux.tc_filter): qos_trees[1].filters[1]: field \'match.dscp\'' in message, message
    assert 'config[' not in message, message


@pytest.mark.parametrize('extra, role, task', [
    ({'qos_netns': '../x'}, 'qos', 'task "Qdiscs" (edgenet.linux.tc_qdisc)'),
    ({'interfaces_netns': '../x'}, 'interfaces', 'task "Links" (edgenet.linux.link)'),
    ({'interfaces_netns': 'a/b'}, 'interfaces', 'task "Links" (edgenet.linux.link)'),
    ({'l2_fabric_netns': '..'}, 'l2_fabric', 'task "Head-end replication towards every other VTEP'),
])
def test_a_malformed_netns_name_fails_before_any_role_runs(extra, role, task):
    """A netns that is no namespace name passed the check; the roles changed things, then a later module call failed
    on it. The name needs no kernel to be refused: the preflight runs the modules' own check of it."""
    message = preflight_error(run_site(**extra), role)
    name = list(extra.values())[0]
    assert message.startswith(task) and ("field 'netns': '%s' is not a network namespace name" % name) in message, \
        message
    if role == 'qos':   # the role on its own too
        message = preflight_error(run({'roles': ['qos']}, dict(extra, qos_trees=two_trees(8))), 'qos')
        assert "field 'netns': '../x' is not a network namespace name" in message, message


@pytest.mark.parametrize('netns', ['blue', '/run/netns/blue', '/proc/1/ns/net'])
def test_a_netns_name_or_absolute_path_passes(netns):
    result = run_site(interfaces_netns=netns, qos_netns=netns, l2_fabric_netns=netns)
    assert not result.get('failed'), result
