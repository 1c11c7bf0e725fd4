# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate_roles: check the variables of several of this collection's roles against their argument specifications
in one controller-side task, before any of them runs (the module documentation is plugins/modules/validate_roles.py).

Then, for each role whose variables pass, a preflight of its module calls: the values each task of the role that
calls one of this collection's resource modules would pass (its arguments templated with the host's variables and
the role's defaults and vars, the tasks' ``when`` and ``meta: end_role`` followed as the run follows them) are
validated as the module validates them (its argument spec, then the resource's ``normalize``, which is pure
Python and never reads the kernel), so that a value the module would refuse fails the host before the first role
changes anything (see _Preflight).

Each role's meta/argument_specs.yml, its task files, defaults and vars, and the argument specs of the modules its
tasks call are read once per ansible-playbook run: the strategy imports this plugin in the controller's main
process before it forks the first worker for the task, and every worker inherits what that import read. A worker
then only templates the variables and validates them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml  # the controller always has PyYAML (ansible-core requires it)

from ansible import errors as errors_module
from ansible.errors import AnsibleError, AnsibleFilterError, AnsibleUndefinedVariable
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.six import string_types
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.action import ActionBase
from ansible.template import Templar

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


def _has_entry_point(role, spec, entry_point):
    """Whether ``role`` has ``entry_point``: its meta/argument_specs.yml names it, or the role has that tasks file
    (tasks/<entry_point>.yml, inside its tasks directory); main always (a role need not have tasks)."""
    if entry_point == 'main' or entry_point in (spec or {}):
        return True
    tasks = os.path.realpath(os.path.join(ROLES, role, 'tasks'))
    path = _yaml_file(tasks, entry_point)
    return path is not None and os.path.realpath(path).startswith(tasks + os.sep)


def _sets_variable(task_vars, prefix):
    """Whether a variable named ``prefix`` and more (qos_trees for qos_) is set."""
    return any(name.startswith(prefix) and len(name) > len(prefix) for name in task_vars)


#: every role's specification, read when the controller's main process imports this plugin
SPECS = _load_all()
#: the roles with a tasks/play_inputs.yml: what they read from every host of the play (RV(play_inputs))
PLAY_INPUTS = frozenset(role for role in SPECS if os.path.isfile(os.path.join(ROLES, role, 'tasks', 'play_inputs.yml')))


def _a(value):
    """What ``value`` is, in words (an error's)."""
    if isinstance(value, dict):
        return 'a dict'
    if isinstance(value, (list, tuple)):
        return 'a list'
    if isinstance(value, string_types):
        return 'a string'
    return 'a %s' % type(value).__name__


def _shown(value, limit=60):
    text = '%r' % (value,)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _as_given(options, values, where=''):
    """The messages for the values in ``values`` that the argument specification ``options`` accepts only by
    converting them, where the role could not take the conversion: a role's templates use each variable as it is
    given, not as the specification converts it. A list or a dict for a string (['all'] passes as "['all']"), anything
    but a list for a list (a string "a,b" is split), anything but a dict for a dict (a string "dev=br0" is parsed),
    checked down the nested options (``qos_trees[0].dev``). Conversions the roles make themselves (an int or a bool
    given as a string: the roles read them through | int and | bool) are not refused."""
    errors = []
    for name in options:
        if name not in values or values[name] is None:
            continue
        option, value, path = options[name] or {}, values[name], where + name
        kind = option.get('type', 'str')
        if kind == 'str' and isinstance(value, (dict, list, tuple)):
            errors.append('%s must be a string, got %s (%s): the role uses the value as it is given'
                          % (path, _a(value), _shown(value)))
        elif kind == 'list':
            if not isinstance(value, (list, tuple)):
                errors.append('%s must be a list, got %s (%s): the role uses the value as it is given'
                              % (path, _a(value), _shown(value)))
                continue
            if option.get('elements') not in ('dict', 'str'):
                continue
            for i, item in enumerate(value):
                item_path = '%s[%d]' % (path, i)
                if option['elements'] == 'str' and isinstance(item, (dict, list, tuple)):
                    errors.append('%s must be a string, got %s (%s): the role uses the value as it is given'
                                  % (item_path, _a(item), _shown(item)))
                elif option['elements'] == 'dict' and not isinstance(item, dict):
                    errors.append('%s must be a dict, got %s (%s): the role uses the value as it is given'
                                  % (item_path, _a(item), _shown(item)))
                elif option['elements'] == 'dict' and option.get('options'):
                    errors.extend(_as_given(option['options'], item, item_path + '.'))
        elif kind == 'dict':
            if not isinstance(value, dict):
                errors.append('%s must be a dict, got %s (%s): the role uses the value as it is given'
                              % (path, _a(value), _shown(value)))
            elif option.get('options'):
                errors.extend(_as_given(option['options'], value, path + '.'))
    return errors


# -- the preflight of the roles' module calls ----------------------------------------------------------------------
#: the collection's modules directory; a module that runs a resource (``run_module(Class)``) can be preflighted
MODULES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'modules')
_RESOURCE_IMPORT = re.compile(r'module_utils\.resources\.(\w+) import (\w+)')
#: task keywords (what is not one of them, nor with_*, is the task's action)
_KEYWORDS = frozenset((
    'name', 'when', 'register', 'tags', 'loop', 'loop_control', 'vars', 'args', 'become', 'become_user',
    'become_method', 'become_flags', 'become_exe', 'run_once', 'delegate_to', 'delegate_facts', 'notify',
    'ignore_errors', 'ignore_unreachable', 'changed_when', 'failed_when', 'check_mode', 'diff', 'environment',
    'no_log', 'until', 'retries', 'delay', 'listen', 'module_defaults', 'any_errors_fatal', 'throttle', 'timeout',
    'collections', 'debugger', 'connection', 'port', 'remote_user', 'async', 'poll', 'local_action', 'action',
    'rescue', 'always', 'block', 'apply'))
_BUILTIN = ('ansible.builtin.', 'ansible.legacy.')
_ENDS = ('end_role', 'end_host', 'end_play', 'end_batch')


class _NeedsKernel(Exception):
    """Raised by the preflight's Context when a resource's normalize would read the kernel: not checkable here."""


class _Call(object):
    """A task of a role that calls one of the collection's resource modules."""

    def __init__(self, name, module, args, whens, task_vars):
        self.name, self.module, self.args, self.whens, self.vars = name, module, args, whens, task_vars
        self.role_vars, self.names = [], {}  # (_role_plan)


class _End(object):
    """A ``meta: end_role`` (end_host...) task: the role's later tasks do not run when its conditions hold."""

    def __init__(self, name, whens):
        self.name, self.whens = name, whens
        self.args, self.vars, self.role_vars, self.names = None, {}, [], {}


class _RolePlan(object):
    """What the preflight needs of one role and entry point, read once: the steps in order, the names the role sets
    at run time (set_fact, register), its defaults and vars, and what could not be followed (notes)."""

    def __init__(self):
        self.steps, self.runtime, self.notes, self.defaults, self.vars, self.static = [], set(), [], {}, {}, set()


def _loader():
    return DataLoader()


def _load_yaml(loader, path):
    try:
        return loader.load_from_file(path, cache='none', trusted_as_template=True)
    except TypeError:  # ansible-core before 2.19: no data tagging, every loaded template is trusted
        return loader.load_from_file(path)


def _yaml_file(directory, name):
    for ext in ('.yml', '.yaml', ''):
        path = os.path.join(directory, name + ext)
        if os.path.isfile(path):
            return path
    return None


def _module_of(name):
    """(argument spec, required_if, resource class) of the collection's module ``name``, or None when it runs no
    resource (netlink_facts, validate_roles) or cannot be loaded."""
    path = os.path.join(MODULES, name + '.py')
    if not ROLE_NAME.match(name) or not os.path.isfile(path):
        return None
    with open(path) as f:
        match = _RESOURCE_IMPORT.search(f.read())
    if not match:
        return None
    # pylint: disable=import-outside-toplevel
    import importlib
    from ansible_collections.edgenet.linux.plugins.module_utils import _engine
    resource = getattr(importlib.import_module('ansible_collections.edgenet.linux.plugins.module_utils.resources.'
                                               + match.group(1)), match.group(2))
    return _engine.argument_spec(resource()), _engine.required_if(resource()), resource


#: module name -> (spec, required_if, resource class) or None, filled as the roles' tasks name them
MODULE_SPECS = {}


def _module(name):
    if name not in MODULE_SPECS:
        MODULE_SPECS[name] = _module_of(name)
    return MODULE_SPECS[name]


def _whens(value):
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def _action(task):
    """(action name, its arguments) of a task, or (None, None)."""
    if 'action' in task or 'local_action' in task:
        return None, None  # not used by the roles; followed no further
    names = [k for k in task if k not in _KEYWORDS and not k.startswith('with_')]
    if len(names) != 1:
        return None, None
    name = names[0]
    args = task[name]
    if isinstance(args, dict) and isinstance(task.get('args'), dict):
        args = dict(task['args'], **args)
    return name, args


def _walk(loader, plan, role_dir, path, tasks, whens, depth, tolerated=False):
    """Add the steps of ``tasks`` to ``plan``. ``tolerated``: their failure does not fail the run (a block with a
    rescue), so the preflight must not refuse what they would refuse."""
    if not isinstance(tasks, list):
        return
    for task in tasks:
        if not isinstance(task, dict):
            continue
        cond = whens + _whens(task.get('when'))
        if isinstance(task.get('register'), string_types):
            plan.runtime.add(task['register'])
        if 'block' in task:
            _walk(loader, plan, role_dir, path, task['block'], cond, depth, tolerated or bool(task.get('rescue')))
            _walk(loader, plan, role_dir, path, task.get('rescue'), cond, depth, True)
            _walk(loader, plan, role_dir, path, task.get('always'), cond, depth, tolerated)
            continue
        tolerates = tolerated or bool(task.get('ignore_errors')) or 'failed_when' in task
        action, args = _action(task)
        if action is None:
            continue
        name = task.get('name') or action
        short = action[len(_BUILTIN[0]):] if action.startswith(_BUILTIN[0]) else (
            action[len(_BUILTIN[1]):] if action.startswith(_BUILTIN[1]) else action)
        if short in ('import_tasks', 'include_tasks'):
            target = args.get('file') if isinstance(args, dict) else args
            target_path = os.path.normpath(os.path.join(os.path.dirname(path), '%s' % target))
            if (not isinstance(target, string_types) or '{' in target or depth > 20
                    or not target_path.startswith(role_dir + os.sep) or not os.path.isfile(target_path)):
                plan.notes.append('task "%s": %s %s is not followed' % (name, short, target))
                continue
            _walk(loader, plan, role_dir, target_path, _load_yaml(loader, target_path), cond, depth + 1, tolerates)
        elif short == 'set_fact' and isinstance(args, dict):
            plan.runtime.update(k for k in args if k != 'cacheable')
        elif short == 'meta' and args in _ENDS:
            plan.steps.append(_End(name, cond))
        elif action.startswith(PREFIX) and _module(action[len(PREFIX):]) is not None:
            if any(k == 'loop' or k.startswith('with_') for k in task) or not isinstance(args, dict) or tolerates:
                # a loop or free-form arguments, or a task whose failure the run tolerates: not preflighted
                plan.notes.append('task "%s": not preflighted' % name)
                continue
            plan.steps.append(_Call(name, action[len(PREFIX):], args, cond, task.get('vars') or {}))


def _has_template(value):
    if isinstance(value, string_types):
        return '{{' in value or '{%' in value or '{#' in value
    if isinstance(value, dict):
        return any(_has_template(k) or _has_template(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_template(v) for v in value)
    return False


_JUST_A_NAME = re.compile(r'^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$')


def _role_plan(role, entry_point):
    """The _RolePlan of ``role``'s ``entry_point`` (tasks/<entry_point>.yml); None without that file."""
    role_dir = os.path.join(ROLES, role)
    path = _yaml_file(os.path.join(role_dir, 'tasks'), entry_point)
    if path is None:
        return None
    loader = _loader()
    plan = _RolePlan()
    _walk(loader, plan, os.path.realpath(role_dir), os.path.realpath(path), _load_yaml(loader, path), (), 0)
    for attr, sub in (('defaults', 'defaults'), ('vars', 'vars')):
        found = _yaml_file(os.path.join(role_dir, sub), 'main')
        data = _load_yaml(loader, found) if found else None
        setattr(plan, attr, data if isinstance(data, dict) else {})
    plan.static = set(n for n in plan.defaults if n not in plan.vars and not _has_template(plan.defaults[n]))
    plan.static.update(n for n in plan.vars if not _has_template(plan.vars[n]))
    # the role's vars each step names (its conditions or arguments), rendered once per preflight (_preflight), and
    # the arguments that are just one variable ({{ name }})
    for step in plan.steps:
        text = '%r %r' % (step.whens, step.args)
        step.role_vars = [n for n in plan.vars if re.search(r'\b%s\b' % re.escape(n), text)]
        step.names = dict((k, _JUST_A_NAME.match(v).group(1)) for k, v in (step.args or {}).items()
                          if isinstance(v, string_types) and _JUST_A_NAME.match(v))
    return plan


def _plans_all():
    plans = {}
    for role in SPECS:
        try:
            plans[(role, 'main')] = _role_plan(role, 'main')
        except Exception:  # pylint: disable=broad-except
            pass  # read again (and its error reported) when a task asks for it
    return plans


#: the preflight plan of every role's main entry point, read when the controller's main process imports this plugin
PLANS = _plans_all()


def _causes(ex):
    seen = []
    while ex is not None and len(seen) < 10:
        seen.append(ex)
        ex = getattr(ex, '__cause__', None) or getattr(ex, 'orig_exc', None)
    return seen


#: errors of the role's own templates (a syntax error, a filter or test that is not installed): not the input's;
#: the step is then not preflighted (with a warning), and the run reports the error where it happens
_OURS = tuple(getattr(errors_module, name) for name in ('AnsibleTemplateSyntaxError', 'AnsiblePluginNotFound',
                                                        'TemplateTrustCheckFailedError')
              if hasattr(errors_module, name))


def _ours(ex):
    return any(isinstance(e, _OURS) or 'No filter named' in '%s' % e or 'No test named' in '%s' % e
               for e in _causes(ex))


def _names_any(ex, names):
    text = '%s' % ex
    return any(("'%s'" % n) in text for n in names)


def _plain(value):
    """``value`` with plain str, dict and list (as a module receives its arguments, after JSON). Ansible's tagged
    containers and strings made ArgumentSpecValidator's deepcopy of the arguments 30 times slower."""
    if isinstance(value, string_types):
        return value if type(value) is str else str.__str__(value)  # pylint: disable=unidiomatic-typecheck
    if isinstance(value, dict):
        return dict((_plain(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _strip_omit(value, omit):
    """Arguments without the values that are ``omit`` (ansible-core before 2.19 marks them with a string)."""
    if isinstance(value, dict):
        return dict((k, _strip_omit(v, omit)) for k, v in value.items() if not (isinstance(v, string_types) and v == omit))
    if isinstance(value, list):
        return [_strip_omit(v, omit) for v in value if not (isinstance(v, string_types) and v == omit)]
    return value


_CONFIG_ITEM = re.compile(r'\bconfig\[(\d+)\]')


def _name_items(step, templar, variables, error):
    """``error`` with each ``config[N]`` named as the user gave that item, where the step's config is a role variable
    ``{{ name }}`` and the role has a variable ``name_origin``: a list of the same length that says where each item
    comes from (the qos role: ``qos_trees[1].classes[1]``). Rendered only here, on an error. A config that is a public
    role variable without such a list is that list itself: ``config[2]`` is ``interfaces_routes[2]``. A task's own
    ``vars:`` (the qos role's "Filters" calls name the qdisc calls before them) do not change that, unless they set
    the config's variable or its list of origins themselves."""
    name = step.names.get('config')
    if not name or name in step.vars or (name + '_origin') in step.vars or not _CONFIG_ITEM.search(error):
        return error
    if (name + '_origin') not in variables:
        if name.startswith('_'):
            return error
        return _CONFIG_ITEM.sub(lambda match: '%s[%s]' % (name, match.group(1)), error)
    try:
        where = templar.template(variables[name + '_origin'])
    except Exception:  # pylint: disable=broad-except
        return error  # (the config's own error is the one to report)
    if not isinstance(where, list):
        return error

    def named(match):
        i = int(match.group(1))
        return '%s' % where[i] if i < len(where) and isinstance(where[i], string_types) else match.group(0)
    return _CONFIG_ITEM.sub(named, error)


_CONTEXT = []


def _preflight_context():
    """The Context class of the preflight (made once)."""
    if not _CONTEXT:
        # pylint: disable=import-outside-toplevel
        from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context

        class PreflightContext(Context):
            """A task's Context without a kernel: a normalize that would open netlink raises _NeedsKernel."""

            @property
            def nl(self):
                raise _NeedsKernel()

        _CONTEXT.append(PreflightContext)
    return _CONTEXT[0]


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
        skipped, warnings = [], []
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
            if not _has_entry_point(role, spec, entry_point):
                return dict(result, failed=True, msg="validate_roles: the role %s%s has no entry point '%s' (its "
                                                     'meta/argument_specs.yml does not name it and it has no '
                                                     'tasks/%s.yml)' % (PREFIX, role, entry_point, entry_point))
            options = (spec.get(entry_point) or {}).get('options') or {}
            given_args = dict((name, task_vars[name]) for name in options if name in task_vars)
            if options:
                try:
                    given_args = self._templar.template(given_args)
                except AnsibleError as ex:
                    errors[PREFIX + role] = ['%s' % ex]
                    continue
                plain = _plain(given_args)
                outcome = ArgumentSpecValidator(options).validate(plain, validate_role_argument_spec=True)
                if outcome.error_messages:
                    errors[PREFIX + role] = list(outcome.error_messages)
                    continue
                # (the role gets the values as given, not as the check above converts them)
                refused = _as_given(options, plain)
                if refused:
                    errors[PREFIX + role] = refused
                    continue
            # the values the role's module calls would get, checked as the modules check them
            try:
                failed, skip, warn = self._preflight(role, entry_point, task_vars, given_args)
            except Exception as ex:  # pylint: disable=broad-except
                failed, skip, warn = [], [], ['validate_roles: the preflight of the role %s%s was skipped: %s: %s'
                                              % (PREFIX, role, type(ex).__name__, ex)]
            skipped.extend('%s%s: %s' % (PREFIX, role, s) for s in skip)
            warnings.extend(warn)
            if failed:
                errors[PREFIX + role] = failed
            else:
                validated.append(PREFIX + role)

        result.update(changed=False, validated=validated, hooks=joined, preflight_skipped=skipped,
                      play_inputs=[hook for hook in joined if _short(hook) in PLAY_INPUTS])
        if warnings:
            result['warnings'] = result.get('warnings', []) + warnings
        if errors:
            result.update(failed=True, argument_errors=errors,
                          msg='Validation of role arguments failed (before any of these roles ran):\n%s' % '\n'.join(
                              '%s: %s' % (role, message) for role in errors for message in errors[role]))
        else:
            result['msg'] = 'The arguments of %s are valid' % ', '.join(validated) if validated else 'No role given'
        return result

    def _templar_for(self, variables):
        copy = getattr(self._templar, 'copy_with_new_env', None)
        if copy is not None:
            try:
                return copy(available_variables=variables)
            except TypeError:
                pass
        return Templar(loader=self._loader or _loader(), variables=variables)

    def _preflight(self, role, entry_point, task_vars, rendered):
        """The module calls of ``role``: ([error], [skipped], [warning]). The first error stops the role's
        preflight, as it stops the role in a real run (its later tasks would not run)."""
        key = (role, entry_point)
        if key not in PLANS:
            PLANS[key] = _role_plan(role, entry_point)
        plan = PLANS[key]
        if plan is None or not plan.steps:
            return [], [], []
        # the precedence of a real run: the role's defaults, then the host's variables (the role's own, as
        # ``rendered`` holds them: the argument check rendered them already, and a template is compiled again every
        # time it is rendered), then the role's vars
        variables = dict(plan.defaults)
        variables.update(task_vars)
        variables.update(rendered)
        variables.update(plan.vars)
        templar = self._templar_for(variables)
        omit = task_vars.get('omit') if isinstance(task_vars.get('omit'), string_types) else None
        runtime = [n for n in plan.runtime if n not in task_vars]
        skipped, warnings = [], []

        def run_time_fact(ex):
            return isinstance(ex, AnsibleUndefinedVariable) and _names_any(ex, runtime)

        known = {}  # condition -> its value (the steps of a file share their include's conditions)
        done = set()  # the role vars rendered so far
        # the variables whose values are rendered: the role's options, role vars in done, and the role's defaults and
        # vars that hold no template (when the host does not set them)
        ready = set(rendered)
        ready.update(n for n in plan.static if n not in task_vars or n in plan.vars)

        def holds(condition):
            if isinstance(condition, bool):
                return condition
            if condition not in known:
                known[condition] = templar.evaluate_conditional(condition)
            return known[condition]

        for step in plan.steps:
            for name in step.role_vars:
                # a role var that both a condition and the arguments name (``__qos_classes``) is rendered once
                # here; one that does not render now is left as it is, for the step to show the failure
                if name not in done:
                    done.add(name)
                    try:
                        variables[name] = templar.template(variables[name])
                    except Exception:  # pylint: disable=broad-except
                        continue
                    ready.add(name)
            try:
                runs = all(holds(c) for c in step.whens)
            except AnsibleError as ex:
                if run_time_fact(ex) or _ours(ex):  # unknown here: a fact the role sets as it runs, or our bug
                    if _ours(ex):
                        warnings.append('validate_roles: the condition of task "%s" of %s%s cannot be evaluated '
                                        'here: %s' % (step.name, PREFIX, role, ex))
                    skipped.append('task "%s": its condition cannot be evaluated before the role runs' % step.name)
                    if isinstance(step, _End):
                        break  # the role may end here: the later tasks may not run
                    continue
                return ['task "%s": %s' % (step.name, ex)], skipped, warnings
            if not runs:
                continue
            if isinstance(step, _End):
                break
            error = self._preflight_call(role, step, templar, variables, runtime, omit, skipped, warnings, ready)
            if error:
                if step.vars:  # (the origins rendered as the task's arguments are: with its vars)
                    own = dict(variables, **step.vars)
                    error = _name_items(step, self._templar_for(own), own, error)
                else:
                    error = _name_items(step, templar, variables, error)
                return ['task "%s" (%s%s): %s' % (step.name, PREFIX, step.module, error)], skipped, warnings
        return [], skipped, warnings

    def _preflight_call(self, role, step, templar, variables, runtime, omit, skipped, warnings, ready=()):
        """The error message the module would give for ``step``'s arguments, or None. An argument that is just
        ``{{ name }}`` of a variable in ``ready`` is taken as it is (rendering a rendered list again walks all of
        it); the others are rendered."""
        # pylint: disable=import-outside-toplevel
        from ansible_collections.edgenet.linux.plugins.module_utils._engine import Engine, without_null_choices
        from ansible_collections.edgenet.linux.plugins.module_utils._explain import explain
        from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
        from ansible_collections.edgenet.linux.plugins.module_utils._netlink import check_netns_name

        if step.vars:
            templar = self._templar_for(dict(variables, **step.vars))
            ready = ()
        given = dict((k, variables[n]) for k, n in step.names.items() if n in ready)
        try:
            args = templar.template(dict((k, v) for k, v in step.args.items() if k not in given) if given
                                    else step.args)
            args.update(given)
        except AnsibleError as ex:
            if _ours(ex):
                warnings.append('validate_roles: the arguments of task "%s" of %s%s cannot be rendered here: %s'
                                % (step.name, PREFIX, role, ex))
                skipped.append('task "%s": its arguments cannot be rendered before the role runs' % step.name)
                return None
            if not (isinstance(ex, AnsibleUndefinedVariable) and _names_any(ex, runtime)):
                return '%s' % ex
            # a fact the role sets at run time (the VTEP list of l2_fabric): taken as None here, so the rest of
            # the arguments can still be checked; only a filter's refusal of the host's own input is an error then
            try:
                # (hostvars and groups too, where the caller's variables lack them: l2_fabric's filter of the list
                # names them, and reads them only for a list that was read)
                known = dict((n, None) for n in runtime)
                known.update(hostvars={}, groups={})
                known.update(variables)
                args = self._templar_for(known).template(step.args)
            except AnsibleError as ex2:
                if not _ours(ex2) and any(isinstance(e, AnsibleFilterError) for e in _causes(ex2)):
                    return '%s' % ex2
                skipped.append('task "%s": its arguments need a fact the role sets at run time' % step.name)
                return None
        args = _plain(args)
        if omit is not None:
            args = _strip_omit(args, omit)
        if not isinstance(args, dict):
            skipped.append('task "%s": its arguments are not a dict' % step.name)
            return None
        spec, required_if, resource = _module(step.module)
        try:
            # (as the module's own check: an option with choices given null is not given)
            outcome = ArgumentSpecValidator(spec, required_if=required_if).validate(
                without_null_choices(spec, args))
            if outcome.error_messages:  # what the module says (it names the element and the field where it can)
                better = explain(resource(), args['config']) if isinstance(args.get('config'), list) else None
                return '%s' % better if better is not None else outcome.error_messages[0]
            params = outcome.validated_parameters
            if params.get('netns'):  # (the module's own check of the name, before it enters the namespace)
                check_netns_name(params['netns'])
            state = params.get('state')
            if state != 'parsed':
                Engine(resource(), _preflight_context()(params)).normalize_config(params.get('config'),
                                                                                  fill_keys=state != 'deleted')
        except EdgenetError as ex:
            return '%s' % ex
        except _NeedsKernel:
            skipped.append('task "%s": its values are checked against the kernel, by the module' % step.name)
        except Exception as ex:  # pylint: disable=broad-except
            # ours, not the input's: the module checks the values when it runs
            warnings.append('validate_roles: the preflight of task "%s" (%s%s) was skipped: %s: %s'
                            % (step.name, PREFIX, step.module, type(ex).__name__, ex))
        return None
