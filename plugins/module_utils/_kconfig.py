# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the running kernel certainly lacks a kind of device, qdisc, classifier or action.

The answer is "lacks" only on positive evidence, from the kernel's own configuration:

- ``/proc/config.gz`` (``CONFIG_IKCONFIG_PROC``), else ``/boot/config-RELEASE`` (what distributions ship);
- a symbol ``# CONFIG_X is not set``, or one absent from such a file (a file of a kernel with networking,
  ``CONFIG_NET=y``), means the kernel cannot have the kind at all;
- ``CONFIG_X=m`` means a module the kernel may load on demand: it lacks the kind only if the module is not
  loaded (``/proc/modules``, ``/sys/module/NAME``) and ``/lib/modules/RELEASE/modules.dep`` exists and does
  not list it.

Anything else (no configuration to read, ``=y``, a module tree that is not there, which the kernel's own
modprobe may still find: another mount namespace, a custom ``/proc/sys/kernel/modprobe``) is "unknown", and
unknown never refuses: the kernel then answers for itself.

The files are read lazily, once per process, and only when a task is about to create an object of a kind
that the host does not already show (:func:`refuse`). Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

# -- the one map: kind -> (kernel config symbol, module name) ------------------------------------------
#: qdisc kinds (a class has the kind of its qdisc)
QDISC = {
    'htb': ('CONFIG_NET_SCH_HTB', 'sch_htb'), 'hfsc': ('CONFIG_NET_SCH_HFSC', 'sch_hfsc'),
    'drr': ('CONFIG_NET_SCH_DRR', 'sch_drr'), 'qfq': ('CONFIG_NET_SCH_QFQ', 'sch_qfq'),
    'prio': ('CONFIG_NET_SCH_PRIO', 'sch_prio'), 'tbf': ('CONFIG_NET_SCH_TBF', 'sch_tbf'),
    'sfq': ('CONFIG_NET_SCH_SFQ', 'sch_sfq'), 'fq': ('CONFIG_NET_SCH_FQ', 'sch_fq'),
    'fq_codel': ('CONFIG_NET_SCH_FQ_CODEL', 'sch_fq_codel'), 'codel': ('CONFIG_NET_SCH_CODEL', 'sch_codel'),
    'netem': ('CONFIG_NET_SCH_NETEM', 'sch_netem'), 'cake': ('CONFIG_NET_SCH_CAKE', 'sch_cake'),
    'red': ('CONFIG_NET_SCH_RED', 'sch_red'),
    'pfifo': ('CONFIG_NET_SCH_FIFO', None), 'bfifo': ('CONFIG_NET_SCH_FIFO', None),  # (a bool: no module)
    'ingress': ('CONFIG_NET_SCH_INGRESS', 'sch_ingress'), 'clsact': ('CONFIG_NET_SCH_INGRESS', 'sch_ingress'),
}
#: classifier kinds (tc filter)
CLASSIFIER = {
    'u32': ('CONFIG_NET_CLS_U32', 'cls_u32'), 'flower': ('CONFIG_NET_CLS_FLOWER', 'cls_flower'),
    'matchall': ('CONFIG_NET_CLS_MATCHALL', 'cls_matchall'), 'fw': ('CONFIG_NET_CLS_FW', 'cls_fw'),
    'basic': ('CONFIG_NET_CLS_BASIC', 'cls_basic'), 'bpf': ('CONFIG_NET_CLS_BPF', 'cls_bpf'),
}
#: tc action kinds (all of them need CONFIG_NET_CLS_ACT too: without it, their symbols are absent)
ACTION = {
    'gact': ('CONFIG_NET_ACT_GACT', 'act_gact'), 'mirred': ('CONFIG_NET_ACT_MIRRED', 'act_mirred'),
    'police': ('CONFIG_NET_ACT_POLICE', 'act_police'), 'skbedit': ('CONFIG_NET_ACT_SKBEDIT', 'act_skbedit'),
    'vlan': ('CONFIG_NET_ACT_VLAN', 'act_vlan'),
}
#: device kinds (ip link add ... type KIND)
LINK = {
    'veth': ('CONFIG_VETH', 'veth'), 'vxlan': ('CONFIG_VXLAN', 'vxlan'), 'bridge': ('CONFIG_BRIDGE', 'bridge'),
    'macvlan': ('CONFIG_MACVLAN', 'macvlan'), 'ipvlan': ('CONFIG_IPVLAN', 'ipvlan'),
    'dummy': ('CONFIG_DUMMY', 'dummy'), 'vlan': ('CONFIG_VLAN_8021Q', '8021q'), 'bond': ('CONFIG_BONDING', 'bonding'),
    'team': ('CONFIG_NET_TEAM', 'team'), 'ifb': ('CONFIG_IFB', 'ifb'), 'vrf': ('CONFIG_NET_VRF', 'vrf'),
    'macsec': ('CONFIG_MACSEC', 'macsec'), 'geneve': ('CONFIG_GENEVE', 'geneve'),
    'gre': ('CONFIG_NET_IPGRE', 'ip_gre'), 'ipip': ('CONFIG_NET_IPIP', 'ipip'), 'sit': ('CONFIG_IPV6_SIT', 'sit'),
    'wireguard': ('CONFIG_WIREGUARD', 'wireguard'),
}
#: options of a kind that the kernel may not have, though it has the kind: without CONFIG_CLS_U32_MARK, u32 takes a
#: filter with a mark match and silently leaves the mark out (the filter then matches every mark)
FEATURE = {'u32 mark': ('CONFIG_CLS_U32_MARK', None)}
#: what: (table, the words after "the kernel lacks KIND")
WHAT = {'qdisc': (QDISC, 'qdiscs'), 'class': (QDISC, 'qdiscs'), 'filter': (CLASSIFIER, 'filters'),
        'action': (ACTION, 'actions'), 'link': (LINK, 'devices'), 'feature': (FEATURE, 'matching')}


def symbol(what, kind):
    """The kernel config symbol of ``kind`` (a ``what`` of :data:`WHAT`), or None."""
    return WHAT[what][0].get(kind, (None, None))[0]


def lacks_text(what, kind, reason=None):
    """The words of an error: ``the kernel lacks dummy devices (CONFIG_DUMMY is not set)``."""
    return 'the kernel lacks %s %s (%s)' % (kind, WHAT[what][1], reason or symbol(what, kind))


class Kconfig(object):
    """The evidence of one kernel. Every path can be given (tests); by default, the running kernel's."""

    def __init__(self, release=None, configs=None, modules_dir=None, proc_modules='/proc/modules',
                 sys_module='/sys/module'):
        self._release = release
        self._configs = configs
        self._modules_dir = modules_dir
        self.proc_modules = proc_modules
        self.sys_module = sys_module
        self._config = None  # (path, {symbol: value}) once read; (None, None): none readable
        self._loaded = None
        self._available = None  # module names in modules.dep; False: no module tree to read

    @property
    def release(self):
        if self._release is None:
            self._release = os.uname()[2]
        return self._release

    def config(self):
        """``(path, {symbol: value})`` of the first configuration readable, or ``(None, None)``."""
        if self._config is None:
            self._config = (None, None)
            paths = self._configs
            if paths is None:
                paths = ('/proc/config.gz', '/boot/config-%s' % self.release)
            for path in paths:
                text = _read(path)
                if text is not None:
                    self._config = (path, _Lookup(text))
                    break
        return self._config

    def lacks(self, sym, module=None):
        """Why the kernel certainly lacks ``sym`` (``CONFIG_X is not set``), or None (it has it, or unknown)."""
        path, config = self.config()
        if config is None:
            return None
        value = config.get(sym)
        if value == 'n':
            return '%s is not set' % sym
        if value is None:
            if config.get('CONFIG_NET') != 'y':
                return None  # (not the configuration of a kernel with networking: no evidence)
            return '%s is not in %s' % (sym, path)
        if value != 'm' or not module:
            return None
        if self._is_loaded(module):
            return None
        available = self._modules()
        if available is False or _modname(module) in available:
            return None
        return '%s=m, and module %s is neither loaded nor in %s' % (sym, module, self._tree())

    def _tree(self):
        return self._modules_dir or '/lib/modules/%s' % self.release

    def _is_loaded(self, module):
        name = _modname(module)
        if os.path.exists(os.path.join(self.sys_module, name)):
            return True
        if self._loaded is None:
            text = _read(self.proc_modules)
            self._loaded = set(_modname(line.split(None, 1)[0]) for line in (text or '').splitlines() if line.strip())
        return name in self._loaded

    def _modules(self):
        """The modules of modules.dep (and modules.builtin), as a :class:`_Tree`, or False when there is none to
        read."""
        if self._available is None:
            dep = _read(os.path.join(self._tree(), 'modules.dep'))
            if dep is None:
                self._available = False
            else:
                self._available = _Tree(dep + '\n' + (_read(os.path.join(self._tree(), 'modules.builtin')) or ''))
        return self._available


class _Lookup(object):
    """``parse(text).get(symbol)`` for the few symbols a task asks about, without parsing the rest: a
    distribution's configuration has ~11,000 lines, and a module process asks for one or two of them. A symbol's
    lines are found by searching for it where a line starts (``SYM=value``, ``# SYM is not set``: what the kernel's
    build writes); the last one wins, as in :func:`parse`."""

    def __init__(self, text):
        self.text = '\n' + text.replace('\r\n', '\n')
        self._known = {}

    def get(self, sym, default=None):
        if sym not in self._known:
            self._known[sym] = self._find(sym)
        value = self._known[sym]
        return default if value is None else value

    def _find(self, sym):
        text = self.text
        best, value = -1, None
        for needle, unset in (('\n' + sym, False), ('\n# ' + sym + ' is not set', True)):
            pos = text.find(needle)
            while pos >= 0:
                start = pos + len(needle)
                end = text.find('\n', start)
                end = len(text) if end < 0 else end
                rest = text[start:end]
                if unset:
                    found = 'n' if not rest.strip() else None
                else:
                    found = rest.split('=', 1)[1].strip() if rest.lstrip().startswith('=') else None
                if found is not None and pos > best:
                    best, value = pos, found
                pos = text.find(needle, start)
        return value


class _Tree(object):
    """``name in tree``: whether modules.dep (or modules.builtin) lists module ``name`` (``-`` and ``_`` alike,
    as modprobe takes them), found by searching for its file name instead of making a set of every module of the
    tree (a distribution's has ~6,000: 5 ms a process, for one or two names)."""

    def __init__(self, text):
        self.text = '\n' + text

    def __contains__(self, name):
        import itertools  # pylint: disable=import-outside-toplevel

        text = self.text
        parts = name.replace('-', '_').split('_')
        for seps in itertools.product('_-', repeat=len(parts) - 1):
            spelled = parts[0] + ''.join(sep + part for sep, part in zip(seps, parts[1:])) + '.ko'
            for lead in ('/', '\n'):
                pos = text.find(lead + spelled)
                while pos >= 0:
                    after = pos + 1 + len(spelled)
                    if after == len(text) or text[after] in '.: \t\n':
                        return True
                    pos = text.find(lead + spelled, after)
        return False


def parse(text):
    """``{symbol: value}`` of a kernel configuration: ``y``, ``m``, a string or number, or ``n`` for ``# CONFIG_X is
    not set``."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('CONFIG_') and '=' in line:
            k, v = line.split('=', 1)
            out[k.strip()] = v.strip()
        elif line.startswith('# CONFIG_') and line.endswith(' is not set'):
            out[line[2:-len(' is not set')].strip()] = 'n'
    return out


def _modname(name):
    return name.replace('-', '_')


def _read(path):
    """The text of ``path`` (gzip when it ends in .gz), or None when it cannot be read."""
    try:
        if path.endswith('.gz'):
            import gzip

            with gzip.open(path, 'rb') as f:
                data = f.read()
        else:
            with open(path, 'rb') as f:
                data = f.read()
    except (IOError, OSError, EOFError, ValueError):
        return None
    return data.decode('utf-8', 'replace')


_KERNEL = []  # the running kernel's Kconfig, made on first use (one per process)


def kernel():
    """The running kernel's :class:`Kconfig`. ``EDGENET_KCONFIG`` (for tests) names the configuration files to read
    instead, colon-separated; empty: none, so that every answer is "unknown" and the kernel answers for itself."""
    if not _KERNEL:
        configs = os.environ.get('EDGENET_KCONFIG')
        _KERNEL.append(Kconfig(configs=None if configs is None else tuple(p for p in configs.split(':') if p)))
    return _KERNEL[0]


def hz(kconfig=None):
    """The kernel's tick rate (``CONFIG_HZ``), or None when its configuration cannot be read."""
    _path, config = (kconfig or kernel()).config()
    try:
        return int(config.get('CONFIG_HZ')) if config is not None else None
    except (TypeError, ValueError):
        return None


def lacks(what, kind, kconfig=None):
    """Why the kernel certainly lacks ``kind`` (a ``what`` of :data:`WHAT`), or None (it has it, or unknown)."""
    sym, module = WHAT[what][0].get(kind, (None, None))
    if sym is None:
        return None
    return (kconfig or kernel()).lacks(sym, module)


def _kinds(what, obj):
    """``[(what, kind, field)]`` of an object: its kind, and a filter's actions."""
    kind = obj.get('kind')
    out = [(what, kind, 'kind')] if kind else []
    if what == 'filter':
        actions = obj.get('actions')
        if actions:
            out += [('action', a['kind'], 'actions[%d].kind' % i) for i, a in enumerate(actions)
                    if isinstance(a, dict) and a.get('kind')]
        if kind == 'u32' and 'mark' in (obj.get('match') or ()):
            out.append(('feature', 'u32 mark', 'match.mark'))
    return out


def refuse(plan, what, label, present=(), kconfig=None):
    """Before anything is sent: raise :class:`EdgenetError` for the first object that ``plan`` writes (an add, or
    a change that brings a filter action of a new kind) of a kind this kernel certainly lacks, naming the object
    and the field. ``present``: objects the host already has (a kind among them, or among the objects the plan
    changes or deletes, needs no check and reads nothing)."""
    have = set()
    for obj in list(present) + [op.before for op in plan if op.before]:
        have.update((w, k) for w, k, _f in _kinds(what, obj))
    for op in plan:
        if op.action == 'delete' or not op.after:
            continue
        for w, kind, field in _kinds(what, op.after):
            if (w, kind) in have:
                continue
            reason = lacks(w, kind, kconfig)
            if reason:
                raise EdgenetError(lacks_text(w, kind, reason), obj=label(op.after), field=field)
            have.add((w, kind))  # (asked once)
