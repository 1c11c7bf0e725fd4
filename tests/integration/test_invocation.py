# -*- coding: utf-8 -*-
"""The result's invocation (what -vvv shows): every module argument, and of each config element only the
fields it sets. AnsibleModule's own copy lists every unset suboption of every element as null (25 per tc
class, more per filter): most of a large tree's result, scrubbed, encoded, sent and parsed for nothing.

The module runs as the managed host runs it (``python MODULE ARGS.json``), in a fresh namespace."""

import json
import os
import subprocess
import sys

from conftest import ipj

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *['..'] * 5))


def run(module, args, tmp_path, check=True):
    path = tmp_path / 'args.json'
    path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check)}))
    script = os.path.join(ROOT, 'ansible_collections', 'edgenet', 'linux', 'plugins', 'modules', module + '.py')
    p = subprocess.run([sys.executable, script, str(path)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), check=False)
    return json.loads(p.stdout)


def test_invocation_lists_the_fields_each_element_sets(netns, tmp_path):
    config = [{'dst': '198.19.1.0/24', 'dev': 'lo', 'metric': '10'},
              {'dst': 'fd42:ed6e:1::/64', 'type': 'blackhole'}]
    result = run('route', {'netns': netns, 'config': config}, tmp_path)
    assert result['changed'] and not result.get('failed'), result
    args = result['invocation']['module_args']
    # the elements as AnsibleModule validated them (metric converted to an int), without null fields
    assert args['config'] == [{'dst': '198.19.1.0/24', 'dev': 'lo', 'metric': 10},
                              {'dst': 'fd42:ed6e:1::/64', 'type': 'blackhole'}]
    # the top-level arguments are all there, defaults and unset ones too, as AnsibleModule reports them
    assert args['netns'] == netns and args['state'] == 'merged' and 'table' in args and args['table'] is None
    assert all(r.get('dst') != '198.19.1.0/24' for r in ipj(netns, 'route', 'show', 'table', 'all')), 'check mode wrote'


def test_invocation_of_a_nested_element_and_of_a_failure(netns, tmp_path):
    # a filter's match is a dict of suboptions; the failure (a real run: no such device) reports the same
    # invocation
    config = [{'dev': 'e9', 'parent': '1:', 'protocol': 'ip', 'prio': 1, 'kind': 'u32', 'classid': '1:10',
               'match': {'dst': '198.19.1.1/32', 'dport': 443}}]
    result = run('tc_filter', {'netns': netns, 'config': config}, tmp_path, check=False)
    assert result.get('failed') and 'e9' in result['msg'], result
    assert result['invocation']['module_args']['config'] == config


BAD_TYPES = [
    # (module, config, object, field, text): Ansible's own messages named no element, and some no field at all
    ('link', [['brx']], 'config[0]', None, 'each element of config must be a dictionary (fields: values), not list'),
    ('link', [{'ifname': 'br0', 'kind': 'bridge', 'bridge': ['a']}], 'config[0] (link br0)', 'bridge',
     "field 'bridge': must be a dictionary (fields: values), not list ['a']"),
    ('route', [{'dst': '198.19.1.0/24', 'dev': 'lo'}, {'dst': '198.19.2.0/24', 'nexthops': 'abc'}], 'config[1]',
     'nexthops[0]', "must be a dictionary (fields: values), not str 'abc'"),
    ('route', [{'dst': '198.19.1.0/24', 'metric': 'abc'}], 'config[0]', 'metric', "'abc' is not an integer"),
    ('route', [{'dst': '198.19.1.0/24', 'family': 5}], 'config[0]', 'family', '5 is not one of 4, 6'),
    ('address', [{'dev': 'lo', 'address': '198.19.1.1/32', 'noprefixroute': 'maybe'}],
     'config[0] (address 198.19.1.1/32 dev lo)', 'noprefixroute', "must be a boolean, not str 'maybe'"),
    ('tc_filter', [{'dev': 'lo', 'parent': '1:', 'prio': 1, 'kind': 'u32', 'match': {'sport': 'x'}}], 'config[0]',
     'match.sport', "'x' is not an integer"),
]


def test_a_value_of_the_wrong_type_names_the_element_and_the_field(netns, tmp_path):
    """Ansible's argument check refuses a value of the wrong type with messages such as "dictionary requested, could
    not parse JSON or key=value" or "Value '['brx']' in the sub parameter field 'config' must be a list, not 'list'":
    no element, often no field. The module's failure now names both (object, field), in check mode as in a run, and
    values Ansible converts ('10' for an integer, 'yes' for a boolean, a string for a list) are still taken."""
    for module, config, obj, field, text in BAD_TYPES:
        result = run(module, {'netns': netns, 'config': config}, tmp_path)
        assert result.get('failed') and result.get('object') == obj and result.get('field') == field, result
        assert text in result['msg'] and 'Traceback' not in json.dumps(result), result
    fine = [{'dst': '198.19.1.0/24', 'dev': 'lo', 'metric': '10', 'family': '4'}]
    result = run('route', {'netns': netns, 'config': fine}, tmp_path)
    assert not result.get('failed') and result['changed'], result
    fine = [{'dev': 'lo', 'parent': 'root', 'handle': '1:', 'kind': 'htb', 'r2q': '10'}]
    result = run('tc_qdisc', {'netns': netns, 'config': fine}, tmp_path)
    assert not result.get('failed'), result
    fine = [{'dev': 'lo', 'address': '198.19.1.1/32', 'noprefixroute': 'yes'}]
    result = run('address', {'netns': netns, 'config': fine}, tmp_path)
    assert not result.get('failed') and result['changed'], result
