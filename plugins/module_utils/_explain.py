# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a resource module says when Ansible's argument check refuses its ``config``: the element and the field.

Imported only then (by ``_engine.run_module``'s ``fail_json``, and by the validate_roles preflight), so a task whose
arguments are fine does not compile it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

_TYPE_WORDS = {'dict': 'a dictionary (fields: values)', 'list': 'a list', 'int': 'an integer', 'bool': 'a boolean'}
_BOOL_WORDS = frozenset(('y', 'yes', 'on', '1', 'true', 't', 'n', 'no', 'off', '0', 'false', 'f'))


def explain(resource, config):
    """An EdgenetError that names the first element of ``config`` (a list, as the task gave it) and the field whose
    value Ansible's argument check refused, or None. Ansible's own messages name at most the option
    (``dictionary requested, could not parse JSON or key=value``, or ``must be a list, not 'list'``)."""
    for i, item in enumerate(config):
        where = 'config[%d]' % i
        if not isinstance(item, dict):
            return EdgenetError('each element of config must be a dictionary (fields: values), not %s %r'
                                % (type(item).__name__, item), obj=where)
        problem = _explain_fields(resource.options, item, '')
        if problem is not None:
            field, text = problem
            label = None
            if all(isinstance(item.get(k), str) for k in resource.keys) and field.split('.')[0] not in resource.keys:
                try:  # (the element's key fields as given)
                    label = resource.label(item)
                except Exception:  # pylint: disable=broad-except
                    pass
            return EdgenetError(text, obj='%s (%s)' % (where, label) if label else where, field=field)
    return None


def _refused(kind, value):
    """What is wrong with ``value`` for an option of type ``kind``, when Ansible's check certainly refuses it (it
    converts much: a string to a list, ``'5'`` to 5, ``'yes'`` to True...), else None."""
    if kind == 'dict':
        ok = isinstance(value, dict) or isinstance(value, str) and ('=' in value or value.lstrip().startswith('{'))
    elif kind == 'list':
        ok = not isinstance(value, dict)
    elif kind == 'int':
        try:
            ok = not isinstance(value, (dict, list)) and int(value) == int(value)
        except (TypeError, ValueError):
            ok = False
    elif kind == 'bool':
        ok = isinstance(value, bool) or value in (0, 1) or isinstance(value, str) and value.lower() in _BOOL_WORDS
    else:
        return None
    if ok:
        return None
    if kind == 'int' and isinstance(value, str):
        return '%r is not an integer' % (value,)
    return 'must be %s, not %s %r' % (_TYPE_WORDS[kind], type(value).__name__, value)


def _explain_fields(options, item, prefix):
    """``(field path, what is wrong)`` of the first value of ``item`` that Ansible's check refuses, or None."""
    names = dict((a, k) for k, spec in options.items() for a in spec.get('aliases', ()))
    for key, value in item.items():
        spec = options.get(key) or options.get(names.get(key))
        if spec is None or value is None:
            continue  # (an unknown field: Ansible's message names it)
        field, kind = prefix + key, spec.get('type', 'str')
        wrong = _refused(kind, value)
        if wrong is not None:
            return field, wrong if not spec.get('no_log') else 'must be %s (the value is a secret: not shown)' % (
                _TYPE_WORDS[kind])
        if spec.get('choices') and str(value) not in [str(c) for c in spec['choices']]:
            shown = '%r' % (value,) if not spec.get('no_log') else 'the value'
            return field, '%s is not one of %s' % (shown, ', '.join(map(str, spec['choices'])))
        sub = spec.get('options')
        if sub and isinstance(value, dict):
            found = _explain_fields(sub, value, field + '.')
            if found is not None:
                return found
        elif kind == 'list':
            if not isinstance(value, list):  # (Ansible's conversion: 'a,b' is ['a', 'b'], 5 is ['5'])
                value = value.split(',') if isinstance(value, str) else [str(value)]
            for j, element in enumerate(value):
                wrong = _refused(spec.get('elements'), element)
                if wrong is not None:
                    return '%s[%d]' % (field, j), wrong
                if sub and isinstance(element, dict):
                    found = _explain_fields(sub, element, '%s[%d].' % (field, j))
                    if found is not None:
                        return found
    return None
