# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_module's result scrub: AnsibleModule's ``remove_values`` still removes every no_log value from the whole
result (before, after, diff, commands, invocation, messages), and only a result with nothing to remove skips the
walk, coming out exactly as AnsibleModule's own scrub makes it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.edgenet.linux.plugins.module_utils import _engine
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

from test_engine import A, B, LO, Thing

SECRET = 'ed6e-s3cret-0f-the-lab'


class Keyed(Thing):
    """Thing with a no_log option that the "kernel" keeps and gathers back (as a key would show if it did)."""

    options = dict(Thing.options, key={'type': 'str', 'no_log': True})
    uses_netns = False
    kernel_now = ()

    def __init__(self):
        Thing.__init__(self, kernel=[dict(o) for o in self.kernel_now])

    def render(self, ctx, op):
        return [ctx.cmd('thing', op.action, op.obj['name'], 'key', op.obj.get('key', '-'))]

    def normalize(self, item, ctx):
        if item.get('mtu') == 1:
            raise EdgenetError('mtu 1 with key %s is refused' % item.get('key'), field='mtu')
        return Thing.normalize(self, item, ctx)


def run(args, check=False, kernel=(LO, A, B)):
    """The module's JSON result, as printed, and the process's exit code."""
    Keyed.kernel_now = tuple(kernel)
    args = dict(args, _ansible_check_mode=check, _ansible_diff=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            _engine.run_module(Keyed)
    return exit_info.value.code


def output(capsys):
    return json.loads(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def ansible_scrub(monkeypatch):
    """AnsibleModule's own remove_values back after each test (run_module replaces it in the process)."""
    original = getattr(basic.remove_values, 'edgenet_wrapped', basic.remove_values)
    monkeypatch.setattr(basic, 'remove_values', original)
    return original


@pytest.mark.parametrize('check', [False, True])
def test_a_no_log_value_is_scrubbed_from_the_whole_result(capsys, check):
    kernel = (LO, A, dict(B, key=SECRET + '-old'))
    config = [{'name': 'c', 'key': SECRET, 'alias': 'to ' + SECRET}, {'name': 'b', 'key': SECRET}]
    code = run({'config': config}, check=check, kernel=kernel)
    text = capsys.readouterr().out
    result = json.loads(text)
    assert code == 0 and result['changed'], result
    assert SECRET not in text, text
    # the value itself is replaced where it stands alone, and masked inside longer strings
    assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in text and '********-old' in text
    assert any(d['after'] for d in result['diff']) and result['commands']


def test_a_no_log_value_is_scrubbed_from_a_failure(capsys):
    code = run({'config': [{'name': 'c', 'key': SECRET, 'mtu': 1}]})
    text = capsys.readouterr().out
    result = json.loads(text)
    assert code == 1 and result['failed'] and 'mtu 1' in result['msg'], result
    assert SECRET not in text, text


@pytest.mark.parametrize('check', [False, True])
@pytest.mark.parametrize('config', [
    [{'name': 'c', 'mtu': 9000, 'alias': 'new'}, {'name': 'a', 'mtu': 1400}],  # a change, with diff
    [{'name': 'a'}],  # nothing to change
    [{'name': 'c', 'mtu': 1}],  # a failure
])
def test_without_no_log_values_the_result_is_what_ansible_scrub_makes(capsys, monkeypatch, ansible_scrub,
                                                                      config, check):
    kernel = (LO, A, dict(B, key='not a parameter value'))
    code = run({'config': config}, check=check, kernel=kernel)
    ours = output(capsys)
    assert basic.remove_values is not ansible_scrub  # the skip was in place
    # the same run through AnsibleModule's own scrub (the walk, for nothing to remove)
    monkeypatch.setattr(basic, 'remove_values', ansible_scrub)
    monkeypatch.setattr(_engine, '_scrub_only_secrets', lambda: None)
    visited = []

    def counting(value, no_log_strings):
        visited.append(no_log_strings)
        return ansible_scrub(value, no_log_strings)

    monkeypatch.setattr(basic, 'remove_values', counting)
    assert run({'config': config}, check=check, kernel=kernel) == code
    assert visited and not any(visited)  # it ran, with nothing to remove
    assert output(capsys) == ours


def test_the_skip_is_installed_once():
    run({'config': [{'name': 'a'}]})
    first = basic.remove_values
    run({'config': [{'name': 'a'}]})
    assert basic.remove_values is first
    assert first('a secret', ['secret']) == 'a ********'
    assert first({'k': ['x']}, []) == {'k': ['x']}
