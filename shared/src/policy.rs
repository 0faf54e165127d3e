//! Authorization rules A, S and L (contract §1), the password-login decision table (§4.2),
//! token revocation (§4.3) and the lockout rule (§3.4). Pure functions, unit-tested here.

use crate::domain::{EnforcementLevel, Role};

/// What the rules need to know about a user.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// User id.
    pub id: &'a str,
    /// Domain id, if any.
    pub domain: Option<&'a str>,
    /// Roles held.
    pub roles: &'a [Role],
}

impl Subject<'_> {
    fn has(&self, r: Role) -> bool {
        self.roles.contains(&r)
    }

    fn is_sub_user(&self) -> bool {
        self.has(Role::Default) || self.has(Role::UserManage) || self.has(Role::UserManageLimited)
    }

    fn same_domain(&self, other: &Subject<'_>) -> bool {
        matches!((self.domain, other.domain), (Some(a), Some(b)) if a == b)
    }
}

/// Rule A: may `caller` manage `target`?
pub fn can_manage(caller: &Subject<'_>, target: &Subject<'_>) -> bool {
    if caller.id == target.id {
        return true;
    }
    if caller.has(Role::ServiceAdmin)
        && (target.has(Role::Admin) || target.has(Role::UserAdmin) || target.is_sub_user())
    {
        return true;
    }
    if caller.has(Role::Admin)
        && !target.has(Role::ServiceAdmin)
        && !target.has(Role::Admin)
        && (target.has(Role::UserAdmin) || target.is_sub_user())
    {
        return true;
    }
    (caller.has(Role::UserAdmin) || caller.has(Role::UserManage))
        && caller.same_domain(target)
        && target.has(Role::Default)
        && !target.has(Role::UserAdmin)
}

/// Rule S: self only.
pub fn is_self(caller: &Subject<'_>, target: &Subject<'_>) -> bool {
    caller.id == target.id
}

/// Rule L: rule A, plus user-manage-limited over `identity:default` users of its domain.
pub fn can_manage_limited(caller: &Subject<'_>, target: &Subject<'_>) -> bool {
    can_manage(caller, target)
        || (caller.has(Role::UserManageLimited)
            && caller.same_domain(target)
            && target.has(Role::Default)
            && !target.has(Role::UserAdmin))
}

/// True for holders of an administrative role (user-admin, user-manage, admin, service-admin).
pub fn is_admin_kind(s: &Subject<'_>) -> bool {
    s.has(Role::UserAdmin)
        || s.has(Role::UserManage)
        || s.has(Role::Admin)
        || s.has(Role::ServiceAdmin)
}

/// True for Rackspace staff roles (admin, service-admin).
pub fn is_rackspace(s: &Subject<'_>) -> bool {
    s.has(Role::Admin) || s.has(Role::ServiceAdmin)
}

/// The role a new user gets from its creator (§2.17), or `None` when the caller may not create users.
pub fn created_role(caller: &Subject<'_>) -> Option<Role> {
    if caller.has(Role::ServiceAdmin) {
        Some(Role::Admin)
    } else if caller.has(Role::Admin) {
        Some(Role::UserAdmin)
    } else if caller.has(Role::UserAdmin) || caller.has(Role::UserManage) {
        Some(Role::Default)
    } else {
        None
    }
}

/// `effectiveRequired` of §4.1; `domain` is `None` for users without a domain (OPTIONAL).
pub fn effective_required(user: EnforcementLevel, domain: Option<EnforcementLevel>) -> bool {
    match user {
        EnforcementLevel::Required | EnforcementLevel::RackspaceMandated => true,
        EnforcementLevel::Optional => false,
        EnforcementLevel::Default => domain.is_some_and(EnforcementLevel::domain_requires),
    }
}

/// Outcome of the password step (§4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDecision {
    /// `200` with a full token, `["PASSWORD"]`.
    Token,
    /// `200` with a SETUP-MFA scoped token.
    ScopedToken,
    /// `401` OS-MF challenge.
    Challenge,
    /// `403` locked out of MFA.
    Locked,
    /// `403` "User must setup multi-factor".
    MustSetup,
    /// `400`: SETUP-MFA scope while MFA is on.
    ScopeNotAllowed,
}

/// The password-login decision table of §4.2 (after the password and disabled checks).
pub fn login_decision(
    mfa_enabled: bool,
    effective_required: bool,
    scoped: bool,
    locked: bool,
) -> LoginDecision {
    match (mfa_enabled, scoped) {
        (true, true) => LoginDecision::ScopeNotAllowed,
        (true, false) if locked => LoginDecision::Locked,
        (true, false) => LoginDecision::Challenge,
        (false, true) => LoginDecision::ScopedToken,
        (false, false) if effective_required => LoginDecision::MustSetup,
        (false, false) => LoginDecision::Token,
    }
}

/// Is the MFA login locked? `failures` consecutive failed passcodes, the last at `last_failure_ms`.
pub fn is_locked(
    failures: u64,
    last_failure_ms: u64,
    now_ms: u64,
    threshold: u64,
    lock_ms: u64,
    cap: u64,
) -> bool {
    failures >= threshold && (failures >= cap || now_ms < last_failure_ms.saturating_add(lock_ms))
}

/// Revocation markers a token is checked against (§4.3), all epoch ms; 0 = none.
#[derive(Debug, Clone, Copy, Default)]
pub struct RevocationMarkers {
    /// Every token of the user issued at or before this instant is revoked.
    pub user_all: u64,
    /// Non-MFA tokens of the user issued at or before this instant are revoked.
    pub user_non_mfa: u64,
    /// Non-MFA tokens of requiring users of the domain issued at or before this are revoked.
    pub domain_non_mfa: u64,
    /// When the user's enforcement level last changed.
    pub user_level_since: u64,
}

/// Is a token issued at `issued_ms` still valid for its user?
///
/// The domain marker applies to users whose level, at the moment the marker was set, made MFA
/// required. A later level change folds the domain marker into `user_non_mfa` first (see
/// [`fold_domain_marker`]), so here the current level is the level at marker time whenever
/// `user_level_since <= domain_non_mfa`.
pub fn token_valid(
    issued_ms: u64,
    mfa_token: bool,
    user_level: EnforcementLevel,
    m: &RevocationMarkers,
) -> bool {
    if issued_ms <= m.user_all {
        return false;
    }
    if mfa_token {
        return true;
    }
    if issued_ms <= m.user_non_mfa {
        return false;
    }
    let domain_applies = m.domain_non_mfa > 0
        && m.user_level_since <= m.domain_non_mfa
        && user_level != EnforcementLevel::Optional;
    !(domain_applies && issued_ms <= m.domain_non_mfa)
}

/// The `user_non_mfa` marker to store when a user's level changes away from `old_level`: the
/// domain marker is frozen into the user's own so that leaving the level does not revive tokens.
pub fn fold_domain_marker(old_level: EnforcementLevel, m: &RevocationMarkers) -> u64 {
    if m.domain_non_mfa > 0
        && m.user_level_since <= m.domain_non_mfa
        && old_level != EnforcementLevel::Optional
    {
        m.user_non_mfa.max(m.domain_non_mfa)
    } else {
        m.user_non_mfa
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnforcementLevel::*;

    fn s<'a>(id: &'a str, domain: Option<&'a str>, roles: &'a [Role]) -> Subject<'a> {
        Subject { id, domain, roles }
    }

    #[test]
    fn rule_a_follows_the_role_hierarchy() {
        let sa = s("sa", None, &[Role::ServiceAdmin]);
        let sa2 = s("sa2", None, &[Role::ServiceAdmin]);
        let ad = s("ad", None, &[Role::Admin]);
        let ad2 = s("ad2", None, &[Role::Admin]);
        let ua = s("ua", Some("d1"), &[Role::UserAdmin]);
        let ua2 = s("ua2", Some("d2"), &[Role::UserAdmin]);
        let um = s("um", Some("d1"), &[Role::UserManage, Role::Default]);
        let uml = s("uml", Some("d1"), &[Role::UserManageLimited, Role::Default]);
        let u1 = s("u1", Some("d1"), &[Role::Default]);
        let u2 = s("u2", Some("d1"), &[Role::Default]);
        let other = s("o", Some("d2"), &[Role::Default]);

        assert!(can_manage(&u1, &u1), "self");
        assert!(can_manage(&sa, &ad) && can_manage(&sa, &ua) && can_manage(&sa, &u1));
        assert!(!can_manage(&sa, &sa2));
        assert!(can_manage(&ad, &ua) && can_manage(&ad, &u1));
        assert!(!can_manage(&ad, &ad2) && !can_manage(&ad, &sa));
        assert!(can_manage(&ua, &u1) && can_manage(&ua, &um) && can_manage(&ua, &uml));
        assert!(!can_manage(&ua, &other) && !can_manage(&ua, &ua2) && !can_manage(&ua, &ad));
        assert!(can_manage(&um, &u1) && !can_manage(&um, &ua) && !can_manage(&um, &other));
        assert!(!can_manage(&u1, &u2) && !can_manage(&uml, &u1));
        assert!(!can_manage(&ua2, &u1));
    }

    #[test]
    fn rule_l_adds_user_manage_limited_over_sub_users() {
        let uml = s("uml", Some("d1"), &[Role::UserManageLimited, Role::Default]);
        let u1 = s("u1", Some("d1"), &[Role::Default]);
        let ua = s("ua", Some("d1"), &[Role::UserAdmin]);
        let other = s("o", Some("d2"), &[Role::Default]);
        assert!(can_manage_limited(&uml, &u1));
        assert!(!can_manage_limited(&uml, &ua));
        assert!(!can_manage_limited(&uml, &other));
        assert!(!can_manage(&uml, &u1));
    }

    #[test]
    fn rule_s_is_self_only() {
        let ad = s("ad", None, &[Role::Admin]);
        let u1 = s("u1", Some("d1"), &[Role::Default]);
        assert!(is_self(&u1, &u1));
        assert!(!is_self(&ad, &u1));
    }

    #[test]
    fn creators_give_the_next_role_down() {
        assert_eq!(
            created_role(&s("a", None, &[Role::ServiceAdmin])),
            Some(Role::Admin)
        );
        assert_eq!(
            created_role(&s("a", None, &[Role::Admin])),
            Some(Role::UserAdmin)
        );
        assert_eq!(
            created_role(&s("a", Some("d"), &[Role::UserAdmin])),
            Some(Role::Default)
        );
        assert_eq!(
            created_role(&s("a", Some("d"), &[Role::UserManage, Role::Default])),
            Some(Role::Default)
        );
        assert_eq!(created_role(&s("a", Some("d"), &[Role::Default])), None);
        assert_eq!(
            created_role(&s(
                "a",
                Some("d"),
                &[Role::UserManageLimited, Role::Default]
            )),
            None
        );
    }

    #[test]
    fn effective_required_truth_table() {
        let domains = [
            None,
            Some(Optional),
            Some(Required),
            Some(RackspaceMandated),
        ];
        for d in domains {
            assert!(effective_required(Required, d));
            assert!(!effective_required(Optional, d));
        }
        assert!(!effective_required(Default, None));
        assert!(!effective_required(Default, Some(Optional)));
        assert!(effective_required(Default, Some(Required)));
        assert!(effective_required(Default, Some(RackspaceMandated)));
    }

    #[test]
    fn login_decision_table_rows() {
        use LoginDecision::*;
        // Row 1: MFA on, no scope.
        for req in [true, false] {
            assert_eq!(login_decision(true, req, false, false), Challenge);
            assert_eq!(login_decision(true, req, false, true), Locked);
            // Row 2: MFA on with scope.
            assert_eq!(login_decision(true, req, true, false), ScopeNotAllowed);
            // Row 5: MFA off with scope.
            assert_eq!(login_decision(false, req, true, false), ScopedToken);
        }
        // Row 3 and 4.
        assert_eq!(login_decision(false, true, false, false), MustSetup);
        assert_eq!(login_decision(false, false, false, false), Token);
    }

    #[test]
    fn lock_expires_unless_capped() {
        let min10 = 600_000;
        assert!(!is_locked(2, 0, 1, 3, min10, 100));
        assert!(is_locked(3, 1_000, 1_000 + min10 - 1, 3, min10, 100));
        assert!(!is_locked(3, 1_000, 1_000 + min10, 3, min10, 100));
        assert!(is_locked(100, 1_000, 1_000 + 10 * min10, 3, min10, 100));
    }

    #[test]
    fn revocation_markers() {
        let m = RevocationMarkers {
            user_all: 100,
            ..RevocationMarkers::default()
        };
        assert!(!token_valid(100, true, Default, &m));
        assert!(token_valid(101, false, Default, &m));

        let m = RevocationMarkers {
            user_non_mfa: 200,
            ..RevocationMarkers::default()
        };
        assert!(!token_valid(150, false, Default, &m));
        assert!(token_valid(150, true, Default, &m));

        // Domain went REQUIRED at 300: DEFAULT and REQUIRED users lose non-MFA tokens, OPTIONAL keep them.
        let m = RevocationMarkers {
            domain_non_mfa: 300,
            user_level_since: 10,
            ..RevocationMarkers::default()
        };
        assert!(!token_valid(250, false, Default, &m));
        assert!(!token_valid(250, false, Required, &m));
        assert!(token_valid(250, false, Optional, &m));
        assert!(token_valid(250, true, Default, &m));
        assert!(token_valid(301, false, Default, &m));
    }

    #[test]
    fn leaving_a_level_keeps_revoked_tokens_revoked() {
        // DEFAULT user's token revoked by the domain at 300; at 400 the user is set OPTIONAL.
        let m = RevocationMarkers {
            domain_non_mfa: 300,
            user_level_since: 10,
            ..RevocationMarkers::default()
        };
        let folded = fold_domain_marker(Default, &m);
        let after = RevocationMarkers {
            user_non_mfa: folded,
            user_level_since: 400,
            ..m
        };
        assert!(!token_valid(250, false, Optional, &after));
        // An OPTIONAL user moved to DEFAULT after the marker keeps the old token.
        let folded = fold_domain_marker(Optional, &m);
        let after = RevocationMarkers {
            user_non_mfa: folded,
            user_level_since: 400,
            ..m
        };
        assert!(token_valid(250, false, Default, &after));
    }
}
