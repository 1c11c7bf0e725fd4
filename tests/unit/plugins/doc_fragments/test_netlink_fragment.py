# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink doc fragment: STATE_PARSED is STATE plus state=parsed and running_config, nothing else.

(It has to be a literal copy: ansible-test's yamllint sanity test rejects expressions in doc fragments.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.edgenet.linux.plugins.doc_fragments.netlink import ModuleDocFragment
from ansible_collections.edgenet.linux.plugins.module_utils import _engine


def test_state_parsed_is_state_plus_parsed():
    state = yaml.safe_load(ModuleDocFragment.STATE)['options']
    parsed = yaml.safe_load(ModuleDocFragment.STATE_PARSED)['options']
    assert sorted(parsed) == ['running_config', 'state']
    s, p = state['state'], parsed['state']
    assert p['description'][:-1] == s['description']
    assert p['description'][-1].startswith('C(parsed) ')
    assert p['choices'] == s['choices'] + ['parsed']
    assert dict(p, description=None, choices=None) == dict(s, description=None, choices=None)
    assert parsed['running_config']['type'] == 'str'


def test_state_choices_match_the_engine():
    state = yaml.safe_load(ModuleDocFragment.STATE)['options']['state']
    parsed = yaml.safe_load(ModuleDocFragment.STATE_PARSED)['options']['state']
    assert parsed['choices'] == _engine.STATES
    assert state['choices'] == [s for s in _engine.STATES if s != 'parsed']
    assert state['default'] == 'merged'


def test_every_fragment_is_valid_yaml():
    for name in ('DOCUMENTATION', 'STATE', 'STATE_PARSED', 'DEVICE_NAMES'):
        assert isinstance(yaml.safe_load(getattr(ModuleDocFragment, name)), dict), name
