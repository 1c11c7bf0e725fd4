# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``netlink_facts``: every netlink resource's ``gathered`` view in one call.

There is no second parser here: each subset is the resource's own
``Engine(resource, ctx).gather()``, so a fact is exactly what the resource
module returns as ``gathered`` and can be fed back to it as ``config``.
All resources share one netlink socket (one namespace entry, one link dump
cache), opened read-only.

The resource classes are imported inside :func:`resource_class`, one explicit
import per subset.  That keeps the import cost to what is asked for, and it
lets AnsiballZ find and ship each resource (an import below module level is
an *optional* dependency for Ansible's module packager, so a collection build
without one of them still packages the module; asking for that subset then
fails with a clear message).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

#: fact name -> resource module name, in the order they are gathered
SUBSETS = (('links', 'link'), ('addresses', 'address'), ('routes', 'route'), ('rules', 'rule'),
           ('neighbors', 'neighbor'))


def resource_class(subset):
    """The Resource class of one subset (imported only when asked for)."""
    # pylint: disable=import-outside-toplevel
    try:
        if subset == 'links':
            from ansible_collections.edgenet.linux.plugins.module_utils.resources.link import Link
            return Link
        if subset == 'addresses':
            from ansible_collections.edgenet.linux.plugins.module_utils.resources.address import Address
            return Address
        if subset == 'routes':
            from ansible_collections.edgenet.linux.plugins.module_utils.resources.route import Route
            return Route
        if subset == 'rules':
            from ansible_collections.edgenet.linux.plugins.module_utils.resources.rule import Rule
            return Rule
        if subset == 'neighbors':
            from ansible_collections.edgenet.linux.plugins.module_utils.resources.neighbor import Neighbor
            return Neighbor
    except ImportError as e:
        raise EdgenetError('this version of edgenet.linux cannot gather %s (%s)' % (subset, e), field='gather')
    raise EdgenetError("unknown subset '%s'" % subset, field='gather')


def argument_spec():
    names = [subset for subset, _name in SUBSETS]
    return {
        'netns': {'type': 'str'},
        'gather': {'type': 'list', 'elements': 'str', 'choices': names, 'default': names},
    }


def gather(params, nl=None):
    """``{subset: [objects]}`` for the subsets in ``params['gather']``, plus the warnings raised."""
    wanted = params.get('gather')
    if wanted is None:
        wanted = [subset for subset, _name in SUBSETS]
    if params.get('netns') == '':
        raise EdgenetError('may not be empty; leave it out to read the namespace the module runs in', field='netns')
    facts, warnings, shared = {}, [], nl
    try:
        for subset, _name in SUBSETS:
            if subset not in wanted:
                continue
            resource = resource_class(subset)()
            # Every scope option unset: the whole namespace, as state=gathered without scope options.
            sub = {'netns': params.get('netns'), 'state': 'gathered', 'config': None}
            for option, spec in list(resource.scope_options.items()) + list(resource.module_options.items()):
                sub[option] = spec.get('default')
            ctx = Context(sub, check_mode=True, nl=shared)
            facts[subset] = Engine(resource, ctx).gather()
            shared = ctx._nl  # pylint: disable=protected-access
            warnings.extend(ctx.warnings)
    finally:
        if shared is not None and nl is None:
            shared.close()
    return facts, warnings


def run_facts():
    """``main()`` of ``netlink_facts``."""
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not module.check_mode:  # (as every resource module: _engine.run_module)
        from ansible_collections.edgenet.linux.plugins.module_utils._zipimport import allow_writes

        allow_writes()
    try:
        facts, warnings = gather(module.params)
    except EdgenetError as e:
        module.fail_json(**e.result())
    except Exception as e:  # pylint: disable=broad-except
        module.fail_json(msg='internal error in edgenet.linux.netlink_facts: %s: %s' % (type(e).__name__, e))
    for text in warnings:
        module.warn(text)
    module.exit_json(changed=False, ansible_facts={'netlink': facts})
