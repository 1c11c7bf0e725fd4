# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_kconfig: "does this kernel certainly lack X?" from sample configurations and module trees (no kernel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import os

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _kconfig
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError

CONFIG = """#
# Automatically generated file; DO NOT EDIT.
CONFIG_NET=y
CONFIG_NET_SCHED=y
CONFIG_NET_SCH_HTB=y
# CONFIG_NET_SCH_FQ_CODEL is not set
CONFIG_NET_SCH_HFSC=m
CONFIG_NET_SCH_NETEM=m
CONFIG_NET_SCH_CAKE=m
CONFIG_DUMMY=m
CONFIG_LOCALVERSION="-x"
"""


def kc(tmp_path, text=CONFIG, gz=True, tree=None, loaded='', sys_module=()):
    path = str(tmp_path / ('config.gz' if gz else 'config'))
    if gz:
        with gzip.open(path, 'wt') as f:
            f.write(text)
    elif text is not None:
        with open(path, 'w') as f:
            f.write(text)
    mods = tmp_path / 'lib-modules'
    if tree is not None:
        mods.mkdir(exist_ok=True)
        (mods / 'modules.dep').write_text(''.join('%s:\n' % p for p in tree))
    (tmp_path / 'proc-modules').write_text(''.join('%s 16384 0 - Live 0x0\n' % m for m in loaded.split()))
    sysmod = tmp_path / 'sys-module'
    sysmod.mkdir(exist_ok=True)
    for m in sys_module:
        (sysmod / m).mkdir()
    return _kconfig.Kconfig(release='6.1.0-test', configs=(str(tmp_path / 'nope.gz'), path), modules_dir=str(mods),
                            proc_modules=str(tmp_path / 'proc-modules'), sys_module=str(sysmod))


def test_parse():
    c = _kconfig.parse(CONFIG)
    assert c['CONFIG_NET_SCH_HTB'] == 'y' and c['CONFIG_NET_SCH_FQ_CODEL'] == 'n' and c['CONFIG_DUMMY'] == 'm'
    assert c['CONFIG_LOCALVERSION'] == '"-x"' and 'CONFIG_NET_SCH_PRIO' not in c


@pytest.mark.parametrize('gz', [True, False])
def test_not_set_and_absent_are_certain(tmp_path, gz):
    k = kc(tmp_path, gz=gz)
    assert _kconfig.lacks('qdisc', 'fq_codel', k) == 'CONFIG_NET_SCH_FQ_CODEL is not set'
    assert _kconfig.lacks('qdisc', 'prio', k).startswith('CONFIG_NET_SCH_PRIO is not in ')
    assert _kconfig.lacks('qdisc', 'htb', k) is None  # built in
    assert _kconfig.lacks('qdisc', 'nosuchkind', k) is None  # not in the map: nothing known
    assert _kconfig.lacks_text('qdisc', 'fq_codel', 'CONFIG_NET_SCH_FQ_CODEL is not set') == \
        'the kernel lacks fq_codel qdiscs (CONFIG_NET_SCH_FQ_CODEL is not set)'


def test_no_config_is_unknown(tmp_path):
    k = _kconfig.Kconfig(release='x', configs=(str(tmp_path / 'a.gz'), str(tmp_path / 'b')))
    assert k.config() == (None, None)
    assert _kconfig.lacks('qdisc', 'fq_codel', k) is None and _kconfig.lacks('link', 'dummy', k) is None


def test_a_file_without_networking_proves_no_absence(tmp_path):
    k = kc(tmp_path, text='CONFIG_FOO=y\n# CONFIG_DUMMY is not set\n')
    assert _kconfig.lacks('qdisc', 'prio', k) is None  # absent, but not from a networking kernel's config
    assert _kconfig.lacks('link', 'dummy', k) == 'CONFIG_DUMMY is not set'


def test_module_without_a_module_tree_is_unknown(tmp_path):
    """=m and no modules.dep to read (UML, a container): the kernel's modprobe may still find it."""
    k = kc(tmp_path, tree=None)
    assert _kconfig.lacks('qdisc', 'hfsc', k) is None and _kconfig.lacks('link', 'dummy', k) is None


def test_module_in_the_tree_or_loaded(tmp_path):
    k = kc(tmp_path, tree=['kernel/net/sched/sch_hfsc.ko.zst', 'kernel/drivers/net/dummy.ko'],
           loaded='sch_netem', sys_module=['sch_cake'])
    assert _kconfig.lacks('qdisc', 'hfsc', k) is None  # in modules.dep
    assert _kconfig.lacks('link', 'dummy', k) is None
    assert _kconfig.lacks('qdisc', 'netem', k) is None  # loaded (/proc/modules)
    assert _kconfig.lacks('qdisc', 'cake', k) is None  # loaded (/sys/module)


def test_module_neither_loaded_nor_in_the_tree(tmp_path):
    k = kc(tmp_path, tree=['kernel/net/sched/sch_hfsc.ko'])
    tree = os.path.join(str(tmp_path), 'lib-modules')
    assert _kconfig.lacks('qdisc', 'netem', k) == \
        'CONFIG_NET_SCH_NETEM=m, and module sch_netem is neither loaded nor in %s' % tree


def test_read_once(tmp_path):
    k = kc(tmp_path)
    assert _kconfig.lacks('qdisc', 'fq_codel', k)
    os.remove(k._configs[1])
    assert _kconfig.lacks('qdisc', 'fq_codel', k)  # (cached: read once)


class Never(object):
    """A Kconfig that must not be asked."""

    def lacks(self, sym, module=None):
        raise AssertionError('read the kernel config for %s' % sym)


def label(obj):
    return 'thing %s' % obj.get('kind')


def test_refuse_names_object_and_field(tmp_path):
    k = kc(tmp_path)
    plan = [Op('add', None, {'kind': 'htb'}), Op('add', None, {'kind': 'fq_codel'})]
    with pytest.raises(EdgenetError) as e:
        _kconfig.refuse(plan, 'qdisc', label, kconfig=k)
    assert str(e.value) == "thing fq_codel: field 'kind': the kernel lacks fq_codel qdiscs " \
        "(CONFIG_NET_SCH_FQ_CODEL is not set)"
    flt = {'kind': 'u32', 'actions': [{'kind': 'mirred'}, {'kind': 'gact'}]}
    k = kc(tmp_path, text='CONFIG_NET=y\nCONFIG_NET_CLS_U32=y\nCONFIG_NET_ACT_MIRRED=y\n')
    with pytest.raises(EdgenetError) as e:
        _kconfig.refuse([Op('add', None, flt)], 'filter', label, kconfig=k)
    assert e.value.field == 'actions[1].kind' and e.value.msg.startswith('the kernel lacks gact actions (')


def test_refuse_reads_nothing_for_kinds_the_host_has():
    """Deletes, changes, and adds of a kind the host already shows never read the configuration."""
    have = {'kind': 'fq_codel'}
    plan = [Op('delete', {'kind': 'netem'}), Op('change', {'kind': 'cake'}, {'kind': 'cake'}),
            Op('add', None, {'kind': 'fq_codel'}), Op('add', None, {'kind': 'cake'}), Op('add', None, {})]
    _kconfig.refuse(plan, 'qdisc', label, present=[have], kconfig=Never())
    before = {'kind': 'u32', 'actions': [{'kind': 'gact'}]}
    _kconfig.refuse([Op('change', before, dict(before))], 'filter', label, kconfig=Never())
    with pytest.raises(AssertionError):  # (a change that brings an action of a new kind is checked)
        _kconfig.refuse([Op('change', before, {'kind': 'u32', 'actions': [{'kind': 'police'}]})], 'filter', label,
                        kconfig=Never())


def test_refuse_a_u32_mark_match_without_cls_u32_mark(tmp_path):
    """u32 without CONFIG_CLS_U32_MARK drops a mark match silently: a filter with one is refused by its field."""
    flt = {'kind': 'u32', 'match': {'mark': '0x10/0xff'}}
    k = kc(tmp_path, text='CONFIG_NET=y\nCONFIG_NET_CLS_U32=y\n# CONFIG_CLS_U32_MARK is not set\n')
    with pytest.raises(EdgenetError) as e:
        _kconfig.refuse([Op('add', None, flt)], 'filter', label, kconfig=k)
    assert e.value.field == 'match.mark' and e.value.msg == \
        'the kernel lacks u32 mark matching (CONFIG_CLS_U32_MARK is not set)'
    k = kc(tmp_path, text='CONFIG_NET=y\nCONFIG_NET_CLS_U32=y\nCONFIG_CLS_U32_MARK=y\n')
    _kconfig.refuse([Op('add', None, flt)], 'filter', label, kconfig=k)
    _kconfig.refuse([Op('add', None, {'kind': 'u32', 'match': {'dst': '198.18.0.1/32'}})], 'filter', label,
                    kconfig=kc(tmp_path, text='CONFIG_NET=y\nCONFIG_NET_CLS_U32=y\n'))


def test_lookup_answers_as_parse_does():
    """Kconfig reads only the symbols it is asked about (_Lookup), with parse()'s answers: a symbol that is a prefix
    of others, set twice (the last wins), not set, absent, a string value, CRLF line ends."""
    text = CONFIG + 'CONFIG_NET_SCH_HFSC=y\n# CONFIG_NET_SCH_NETEM is not set\nCONFIG_NETFILTER=y\n'
    for t in (text, text.replace('\n', '\r\n')):
        lookup, parsed = _kconfig._Lookup(t), _kconfig.parse(t)  # pylint: disable=protected-access
        for sym in ('CONFIG_NET', 'CONFIG_NET_SCHED', 'CONFIG_NET_SCH_HTB', 'CONFIG_NET_SCH_FQ_CODEL', 'CONFIG_NET_SCH_HFSC',
                    'CONFIG_NET_SCH_NETEM', 'CONFIG_DUMMY', 'CONFIG_LOCALVERSION', 'CONFIG_NET_SCH_PRIO', 'CONFIG_NETFILTER',
                    'CONFIG_NETF', 'CONFIG_NET_SCH'):
            assert lookup.get(sym) == parsed.get(sym), sym
    assert _kconfig._Lookup(text).get('CONFIG_NET_SCH_HFSC') == 'y'  # pylint: disable=protected-access


def test_module_tree_lookup():
    tree = _kconfig._Tree(  # pylint: disable=protected-access
        'kernel/net/sched/sch_htb.ko.xz: kernel/net/sched/sch_x.ko\nkernel/drivers/net/dummy.ko:\n'
        'kernel/net/8021q/8021q.ko.zst:\nkernel/drivers/net/nf-thing.ko:\nkernel/net/sched/sch_fifo.ko\n')
    assert 'sch_htb' in tree and 'dummy' in tree and '8021q' in tree and 'sch_x' in tree and 'sch_fifo' in tree
    assert 'nf_thing' in tree and 'nf-thing' in tree  # modprobe takes - and _ alike
    assert 'sch_ht' not in tree and 'ch_htb' not in tree and 'htb' not in tree and 'dumm' not in tree
