"""Dual control, split knowledge and approval passphrases, checked against naive reference rules."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core.component import Scheme
from ceremony.core.rules import (
    APPROVAL_POLICY,
    DUAL_CONTROL,
    ONE_PERSON_ONE_ROLE,
    ROLES,
    SPLIT_KNOWLEDGE,
    Assignment,
    Operation,
    Participant,
    PassphraseRecord,
    PlannedOperation,
    Role,
    Roster,
    RuleBreach,
    hash_passphrase,
    knowledge_limit,
    require_dual_control,
    require_dual_control_possible,
    require_may_perform,
    require_may_see_component,
    require_split_knowledge,
    verify_passphrase,
)
from ceremony.errors import RuleViolation


def p(pid: str, role: Role) -> Participant:
    return Participant(pid, f"Name {pid}", role, f"doc {pid}")


ROSTER = Roster(
    [
        p("so1", Role.SECURITY_OFFICER),
        p("so2", Role.SECURITY_OFFICER),
        p("wit", Role.WITNESS),
        p("aud", Role.AUDITOR),
        p("kc1", Role.KEY_CUSTODIAN),
        p("kc2", Role.KEY_CUSTODIAN),
        p("kc3", Role.KEY_CUSTODIAN),
        p("bc1", Role.BACKUP_CUSTODIAN),
    ]
)

# ---- dual control: attempts to break it ------------------------------------------------------


def test_same_person_approving_twice_is_refused() -> None:
    with pytest.raises(RuleBreach, match="approved twice") as caught:
        require_dual_control(Operation.ASSEMBLE_KEY, ["so1", "so1"], ROSTER)
    assert (caught.value.rule, caught.value.people) == (DUAL_CONTROL, ("so1",))


def test_custodian_approving_their_own_component_alone_is_refused() -> None:
    with pytest.raises(RuleBreach, match="needs 2 distinct approvers, has 1"):
        require_dual_control(Operation.SHOW_COMPONENT, ["kc1"], ROSTER, involved={"kc1"})


def test_custodian_and_their_backup_are_not_enough() -> None:
    with pytest.raises(RuleBreach, match="custodian involved"):
        require_dual_control(
            Operation.ENTER_COMPONENT, ["kc1", "bc1"], ROSTER, involved={"kc1", "bc1"}
        )


def test_custodian_with_an_officer_is_dual_control() -> None:
    require_dual_control(Operation.SHOW_COMPONENT, ["kc1", "so1"], ROSTER, involved={"kc1"})


def test_auditor_never_approves() -> None:
    with pytest.raises(RuleBreach, match="auditor and may not approve"):
        require_dual_control(Operation.ASSEMBLE_KEY, ["so1", "aud"], ROSTER)


def test_destruction_needs_a_security_officer() -> None:
    with pytest.raises(RuleBreach, match="no security officer"):
        require_dual_control(Operation.DESTROY, ["wit", "kc1"], ROSTER)
    require_dual_control(Operation.DESTROY, ["wit", "so2"], ROSTER)


def test_air_gap_override_needs_two_officers() -> None:
    with pytest.raises(RuleBreach):
        require_dual_control(Operation.AIRGAP_OVERRIDE, ["so1", "wit"], ROSTER)
    require_dual_control(Operation.AIRGAP_OVERRIDE, ["so1", "so2"], ROSTER)


def test_a_stranger_cannot_approve() -> None:
    with pytest.raises(RuleBreach, match="not a participant"):
        require_dual_control(Operation.CLEAR_EXPORT, ["so1", "mallory"], ROSTER)


def test_no_approver_at_all() -> None:
    with pytest.raises(RuleBreach, match="has 0"):
        require_dual_control(Operation.SOFTWARE_WRAP, [], ROSTER)


def _reference_dual_control(
    op: Operation, approvers: list[str], roster: Roster, involved: set[str]
) -> bool:
    """Naive: distinct, known, allowed roles, two or more, not all (or, if the policy says so,
    none) involved, required role."""
    policy = APPROVAL_POLICY[op]
    if len(set(approvers)) != len(approvers):
        return False
    if any(a not in roster for a in approvers):
        return False
    roles = [roster.get(a).role for a in approvers]
    if any(r not in policy.roles for r in roles):
        return False
    if len(approvers) < policy.minimum:
        return False
    if involved and all(a in involved for a in approvers):
        return False
    if not policy.involved_may_approve and any(a in involved for a in approvers):
        return False
    return policy.needs_role is None or policy.needs_role in roles


IDS = [pp.id for pp in ROSTER] + ["mallory"]


@settings(max_examples=400, deadline=None)
@given(
    op=st.sampled_from(list(Operation)),
    approvers=st.lists(st.sampled_from(IDS), max_size=4),
    involved=st.sets(st.sampled_from(IDS[:-1]), max_size=4),
)
def test_dual_control_matches_the_reference(
    op: Operation, approvers: list[str], involved: set[str]
) -> None:
    expected = _reference_dual_control(op, approvers, ROSTER, involved)
    try:
        require_dual_control(op, approvers, ROSTER, involved)
    except RuleBreach as ex:
        assert not expected, ex.message
        assert ex.rule in (DUAL_CONTROL, ROLES)
        assert set(ex.people) <= set(approvers)
    else:
        assert expected


def test_dual_control_is_possible_only_with_enough_outsiders() -> None:
    planned = PlannedOperation(Operation.ENTER_COMPONENT, "k", 1, "s", frozenset({"kc1"}))
    require_dual_control_possible(planned, ROSTER)
    tiny = Roster([p("so1", Role.SECURITY_OFFICER), p("kc1", Role.KEY_CUSTODIAN)])
    require_dual_control_possible(planned, tiny)  # the officer is an outsider
    only_custodians = Roster([p("kc1", Role.KEY_CUSTODIAN), p("kc2", Role.KEY_CUSTODIAN)])
    everyone = PlannedOperation(Operation.ASSEMBLE_KEY, "k", involved=frozenset({"kc1", "kc2"}))
    with pytest.raises(RuleBreach, match="custodian involved"):
        require_dual_control_possible(everyone, only_custodians)


# ---- roles ------------------------------------------------------------------------------------


def test_who_performs() -> None:
    require_may_perform(Operation.ENTER_COMPONENT, "bc1", ROSTER)
    require_may_perform(Operation.DESTROY, "so1", ROSTER)
    with pytest.raises(RuleBreach, match="witness and may not") as caught:
        require_may_perform(Operation.ENTER_COMPONENT, "wit", ROSTER)
    assert caught.value.rule == ROLES


def test_roster_refuses_one_person_twice() -> None:
    with pytest.raises(RuleBreach) as caught:
        Roster([p("a", Role.WITNESS), Participant("b", "name a", Role.KEY_CUSTODIAN, "x")])
    assert caught.value.rule == ONE_PERSON_ONE_ROLE
    assert caught.value.people == ("a", "b")
    with pytest.raises(RuleBreach, match="identity reference"):
        Roster([p("a", Role.WITNESS), Participant("b", "B", Role.WITNESS, "DOC  A")])


# ---- split knowledge --------------------------------------------------------------------------


def test_one_person_given_two_components_is_refused() -> None:
    with pytest.raises(RuleBreach, match="components 1 and 2") as caught:
        require_split_knowledge(
            "k", Scheme.XOR, 3, [Assignment(1, "kc1"), Assignment(2, "kc1"), Assignment(3, "kc2")]
        )
    assert (caught.value.people, caught.value.component) == (("kc1",), 2)


def test_registry_showing_earlier_knowledge_is_refused() -> None:
    plan = [Assignment(1, "kc1"), Assignment(2, "kc2")]
    with pytest.raises(RuleBreach, match="registry shows") as caught:
        require_split_knowledge("k", Scheme.XOR, 2, plan, history={"kc2": {1}})
    assert caught.value.people == ("kc2",)
    # Holding the same component again is not new knowledge.
    require_split_knowledge("k", Scheme.XOR, 2, plan, history={"kc2": {2}})


def test_a_component_of_another_set_of_the_key_counts() -> None:
    plan = [Assignment(1, "kc1"), Assignment(2, "kc2")]
    with pytest.raises(RuleBreach, match="from any split") as caught:
        require_split_knowledge("k", Scheme.XOR, 2, plan, other_sets={"kc2": {"old-set"}})
    assert caught.value.people == ("kc2",)
    # Entering the component one already holds of this set teaches nothing new.
    require_split_knowledge(
        "k", Scheme.XOR, 2, plan, history={"kc2": {2}}, other_sets={"kc2": {"old-set"}}
    )


def test_shamir_backup_included_cannot_reach_k() -> None:
    plan = [Assignment(1, "kc1", "bc1"), Assignment(2, "kc2", "bc1"), Assignment(3, "kc3")]
    require_split_knowledge("k", Scheme.SHAMIR, 3, plan, ROSTER)
    with pytest.raises(RuleBreach, match="may know one component"):
        require_split_knowledge("k", Scheme.SHAMIR, 2, plan, ROSTER)
    with pytest.raises(RuleBreach, match="registry shows"):
        require_split_knowledge("k", Scheme.SHAMIR, 3, plan, ROSTER, {"bc1": {3}})


def test_a_custodian_never_sees_another_component() -> None:
    a = Assignment(2, "kc2", "bc1")
    require_may_see_component("kc2", "k", a)
    require_may_see_component("bc1", "k", a)
    with pytest.raises(RuleBreach, match="may not see component 2") as caught:
        require_may_see_component("kc1", "k", a, ROSTER)
    assert caught.value.people == ("kc1",)


def test_roles_of_holders() -> None:
    with pytest.raises(RuleBreach, match=r"^roles \(key 'k'\).*not a key custodian"):
        require_split_knowledge(
            "k", Scheme.XOR, 2, [Assignment(1, "so1"), Assignment(2, "kc1")], ROSTER
        )
    require_split_knowledge(
        "k",
        Scheme.XOR,
        2,
        [Assignment(1, "bc1"), Assignment(2, "kc1")],
        ROSTER,
        custodian_roles=(Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN),
    )


PEOPLE = [f"p{i}" for i in range(6)]
HOLDER_ROLES = [Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN, Role.WITNESS]


@st.composite
def split_cases(
    draw: st.DrawFn,
) -> tuple[
    Scheme, int, list[Assignment], dict[str, Role], dict[str, set[int]], dict[str, set[str]]
]:
    scheme = draw(st.sampled_from([Scheme.XOR, Scheme.SHAMIR]))
    n = draw(st.integers(2, 5))
    k = n if scheme is Scheme.XOR else draw(st.integers(2, n))
    roles = {person: draw(st.sampled_from(HOLDER_ROLES)) for person in PEOPLE}
    assignments = [
        Assignment(
            i,
            draw(st.sampled_from(PEOPLE)),
            draw(st.none() | st.sampled_from(PEOPLE)),
        )
        for i in range(1, n + 1)
    ]
    history = draw(
        st.dictionaries(st.sampled_from(PEOPLE), st.sets(st.integers(1, n), max_size=2), max_size=3)
    )
    other = draw(
        st.dictionaries(
            st.sampled_from(PEOPLE), st.sets(st.sampled_from(["s1", "s2"]), max_size=2), max_size=2
        )
    )
    return scheme, k, assignments, roles, history, other


def _reference_split_knowledge(
    scheme: Scheme,
    k: int,
    assignments: list[Assignment],
    roles: dict[str, Role],
    history: dict[str, set[int]],
    other: dict[str, set[str]],
) -> bool:
    """Naive: distinct custodians, backup not own custodian, roles, per person (now and
    before) at most one XOR component or fewer than k Shamir shares of this set, and nobody
    who held a component of another set of the key learns a component of this one."""
    custodians = [a.custodian for a in assignments]
    if len(set(custodians)) != len(custodians):
        return False
    if any(a.backup == a.custodian for a in assignments):
        return False
    if any(roles[a.custodian] is not Role.KEY_CUSTODIAN for a in assignments):
        return False
    if any(
        a.backup is not None and roles[a.backup] not in (Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN)
        for a in assignments
    ):
        return False
    limit = 1 if scheme is Scheme.XOR else k - 1
    for person in PEOPLE:
        now = {a.index for a in assignments if person in (a.custodian, a.backup)}
        if now and len(now | history.get(person, set())) > limit:
            return False
        if now - history.get(person, set()) and other.get(person):
            return False
    return True


@settings(max_examples=500, deadline=None)
@given(split_cases())
def test_split_knowledge_matches_the_reference(
    case: tuple[
        Scheme, int, list[Assignment], dict[str, Role], dict[str, set[int]], dict[str, set[str]]
    ],
) -> None:
    scheme, k, assignments, roles, history, other = case
    roster = Roster(Participant(x, f"N {x}", roles[x], f"D {x}") for x in PEOPLE)
    expected = _reference_split_knowledge(scheme, k, assignments, roles, history, other)
    try:
        require_split_knowledge("key", scheme, k, assignments, roster, history, other_sets=other)
    except RuleBreach as ex:
        assert not expected, ex.message
        assert ex.rule in (SPLIT_KNOWLEDGE, ROLES)
        assert ex.people and set(ex.people) <= set(PEOPLE)
        assert ex.component is not None
    else:
        assert expected


def test_knowledge_limit() -> None:
    assert knowledge_limit(Scheme.XOR, 5) == 1
    assert knowledge_limit(Scheme.SHAMIR, 3) == 2


# ---- approval passphrases ---------------------------------------------------------------------


def test_passphrase_hash_and_verify() -> None:
    record = hash_passphrase("correct horse battery")
    verify_passphrase(record, "correct horse battery", "Alice")
    with pytest.raises(RuleBreach, match="passphrase of Alice does not match"):
        verify_passphrase(record, "correct horse battery!", "Alice")
    # Two records of one passphrase differ by salt.
    assert hash_passphrase("correct horse battery").digest != record.digest


def test_passphrase_record_never_holds_the_passphrase() -> None:
    secret = "Tr0ub4dor&3 zebra"
    record = hash_passphrase(secret)
    fields = record.journal_fields()
    text = repr(fields) + repr(record)
    for form in (secret, secret.encode().hex(), hashlib.sha256(secret.encode()).hexdigest()):
        assert form not in text
    assert PassphraseRecord.from_journal_fields(fields) == record
    assert fields["kdf"] == "scrypt" and fields["n"] >= 2**14


def test_passphrase_unicode_is_normalised() -> None:
    record = hash_passphrase("caf\u00e9 au lait")
    verify_passphrase(record, "cafe\u0301 au lait")


@pytest.mark.parametrize("weak", ["short", "        ", "aaaaaaaaaaaa", "abababababab"])
def test_weak_passphrases_are_refused(weak: str) -> None:
    with pytest.raises(RuleViolation):
        hash_passphrase(weak)


def test_cheap_or_malformed_records_are_refused() -> None:
    good = hash_passphrase("correct horse battery").journal_fields()
    with pytest.raises(RuleViolation):
        PassphraseRecord.from_journal_fields({**good, "n": 1024})
    with pytest.raises(RuleViolation):
        PassphraseRecord.from_journal_fields({**good, "salt": "zz"})
    with pytest.raises(RuleViolation):
        PassphraseRecord.from_journal_fields({**good, "extra": 1})
    with pytest.raises(RuleViolation):
        PassphraseRecord.from_journal_fields({**good, "n": True})
