# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate_roles: check the variables of several of this collection's roles against their argument specifications
in one controller-side task, before any of them runs (the module documentation is plugins/modules/validate_roles.py).

Each role's meta/argument_specs.yml is read once per ansible-playbook run: the strategy imports this plugin in the
controller's main process before it forks the first worker for the task, and every worker inherits what that
import read. A worker then only templates the variables and validates them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml  # the controller always has PyYAML (ansible-core requires it)

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

#: the collection's roles directory (this file is plugins/action/validate_roles.py)
ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles')
PREFIX = 'edgenet.linux.'
ROLE_NAME = re.compile(r'^[A-Za-z0-9_]+$')


def _load(role):
    """The ``argument_specs`` of ``role`` (a dict of entry points; {} without the file), or None when the collection
    has no such role."""
    path = os.path.join(ROLES, role)
    if not os.path.isdir(path):
        return None
    for name in ('argument_specs.yml', 'argument_specs.yaml'):
        spec = os.path.join(path, 'meta', name)
        if os.path.isfile(spec):
            with open(spec) as f:
                data = yaml.safe_load(f) or {}
            return (data.get('argument_specs') or {}) if isinstance(data, dict) else {}
    return {}


def _load_all():
    specs = {}
    try:
        names = sorted(os.listdir(ROLES))
    except OSError:
        return specs
    for role in names:
        try:
            specs[role] = _load(role)
        except Exception:  # pylint: disable=broad-except
            # a broken file: leave it to the run, which loads it again and reports the error for that role
            pass
    return specs


def _short(role):
    """``qos`` of ``edgenet.linux.qos`` (and of ``qos``)."""
    return role[len(PREFIX):] if role.startswith(PREFIX) else role


def _sets_variable(task_vars, prefix):
    """Whether a variable named ``prefix`` and more (qos_trees for qos_) is set."""
    return any(name.startswith(prefix) and len(name) > len(prefix) for name in task_vars)


#: every role's specification, read when the controller's main process imports this plugin
SPECS = _load_all()


class ActionModule(ActionBase):
    """Validate the variables of the roles given in ``roles`` against their ``meta/argument_specs.yml``."""

    TRANSFERS_FILES = False
    _requires_connection = False

    _VALID_ARGS = frozenset(('roles', 'hooks', 'entry_point'))
    ARGUMENT_SPEC = dict(roles=dict(type='list', elements='str', required=True),
                         hooks=dict(type='list', elements='str', default=[]),
                         entry_point=dict(type='str', default='main'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        roles, hooks, entry_point = args['roles'], args['hooks'], args['entry_point']
        if not all(roles) or not all(hooks) or not entry_point:
            return dict(result, failed=True, msg='validate_roles: roles and hooks must be role names (such as '
                                                 'interfaces or edgenet.linux.qos) and entry_point an entry point name')
        # A hook joins when the host sets at least one of its role-prefixed variables (qos_trees for qos). The
        # role's defaults are not among the task's variables: a role that is included later adds them then.
        joined = [hook for hook in hooks if _sets_variable(task_vars, _short(hook) + '_')]

        errors = {}
        validated = []
        for given in roles + joined:
            role = _short(given)
            if not ROLE_NAME.match(role):
                return dict(result, failed=True, msg='validate_roles: %s is not a role of edgenet.linux (it checks '
                                                     "this collection's roles)" % given)
            try:
                spec = SPECS[role] if role in SPECS else _load(role)
            except Exception as ex:  # pylint: disable=broad-except
                return dict(result, failed=True, msg='validate_roles: cannot read the argument specification of '
                                                     'the role %s%s: %s' % (PREFIX, role, ex))
            if spec is None:
                return dict(result, failed=True, msg="validate_roles: the role '%s%s' was not found in %s"
                                                     % (PREFIX, role, ROLES))
            options = (spec.get(entry_point) or {}).get('options') or {}
            if not options:
                validated.append(PREFIX + role)
                continue
            given_args = dict((name, task_vars[name]) for name in options if name in task_vars)
            try:
                given_args = self._templar.template(given_args)
            except AnsibleError as ex:
                errors[PREFIX + role] = ['%s' % ex]
                continue
            outcome = ArgumentSpecValidator(options).validate(given_args, validate_role_argument_spec=True)
            if outcome.error_messages:
                errors[PREFIX + role] = list(outcome.error_messages)
            else:
                validated.append(PREFIX + role)

        result.update(changed=False, validated=validated, hooks=joined)
        if errors:
            result.update(failed=True, argument_errors=errors,
                          msg='Validation of role arguments failed (before any of these roles ran):\n%s' % '\n'.join(
                              '%s: %s' % (role, message) for role in errors for message in errors[role]))
        else:
            result['msg'] = 'The arguments of %s are valid' % ', '.join(validated) if validated else 'No role given'
        return result
