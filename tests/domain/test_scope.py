"""The scope of each role, and which regions, targets and departments it covers."""

from notifier.domain.scope import (
    DISTRICT,
    ScopeKind,
    community_scope,
    department_scope,
    scope_of,
    within,
)

PARK = "浙江省/宁波市/北仑区/大碶街道/灵峰工业社区"
STREET = "浙江省/宁波市/北仑区/大碶街道"


def test_each_role_gets_its_scope_and_staff_without_a_community_the_district():
    assert scope_of("admin") == DISTRICT
    assert scope_of("operator") == DISTRICT
    assert scope_of("staff") == DISTRICT  # the district office
    assert scope_of("staff", community=("灵峰", [PARK])).kind == ScopeKind.COMMUNITY
    assert scope_of("publisher", department="经信局") == department_scope("经信局")
    assert scope_of("approver").kind == ScopeKind.APPROVER
    assert scope_of("enterprise", enterprise_id=7).enterprise_id == 7
    assert not scope_of("nobody").sees_register


def test_a_community_covers_its_regions_by_whole_segments():
    lingfeng = community_scope("灵峰", [STREET])
    assert lingfeng.covers(PARK) and lingfeng.covers(STREET)
    assert not lingfeng.covers("浙江省/宁波市/北仑区/大碶街道外")
    assert not lingfeng.covers("浙江省/宁波市/北仑区")
    assert not community_scope("空", []).covers(PARK)
    assert within(PARK, STREET) and not within(STREET, PARK)


def test_outreach_and_policies_in_scope():
    lingfeng = community_scope("灵峰", [PARK])
    assert lingfeng.sees_targets([PARK]) and not lingfeng.sees_targets([])
    assert not lingfeng.sees_targets([STREET])
    assert DISTRICT.sees_targets([])
    assert not scope_of("enterprise", enterprise_id=1).sees_targets([])
    assert department_scope("经信局").sees_department("经信局")
    assert not department_scope("经信局").sees_department("商务局")
    assert department_scope(None).sees_department("商务局")
    assert lingfeng.sees_department("商务局")
