//! The audit trail: one structured event per security-relevant action, on the log target
//! `audit` (a CloudWatch subscription filter `{ $.target = "audit" }` ships exactly these).
//! Fields: `action`, `outcome`, `actor_id`, `target_id`, `domain_id`, `factor`, `request_id`,
//! `source_ip` — ids and names only, never a secret. Schema: `docs/operations.md`.

use crate::http::Ctx;
use crate::store::UserRec;

/// One audited action.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// What happened, e.g. `login`, `mfa.enable`, `phone.verify` (the list: `docs/operations.md`).
    pub action: &'static str,
    /// `success`, `failure`, `challenge` or `refused`.
    pub outcome: &'static str,
    /// The user who acted (the token's owner; for logins, the user logging in).
    pub actor: Option<&'a str>,
    /// The user acted upon.
    pub target: Option<&'a str>,
    /// The target's domain.
    pub domain: Option<&'a str>,
    /// The factor involved (`PASSWORD`, `APIKEY`, `PASSCODE`, `OTPPASSCODE`, `BYPASS`, `SMS`,
    /// `OTP`), when there is one.
    pub factor: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event of `action` with `outcome`, nothing else set.
    pub fn new(action: &'static str, outcome: &'static str) -> Self {
        Self {
            action,
            outcome,
            actor: None,
            target: None,
            domain: None,
            factor: None,
        }
    }

    /// Who acted on whom.
    pub fn by(mut self, actor: &'a str, target: &'a str, domain: Option<&'a str>) -> Self {
        self.actor = Some(actor);
        self.target = Some(target);
        self.domain = domain;
        self
    }

    /// The factor involved.
    pub fn factor(mut self, factor: &'a str) -> Self {
        self.factor = Some(factor);
        self
    }

    /// Writes the event, with the request's id and source address.
    pub fn emit(self, ctx: &Ctx) {
        self.emit_as(&ctx.request_id, &ctx.source_ip);
    }

    /// Writes the event outside an API request (the operator CLI: its own run id, no address).
    pub fn emit_as(self, request_id: &str, source_ip: &str) {
        tracing::info!(
            target: "audit",
            action = self.action,
            outcome = self.outcome,
            actor_id = self.actor.unwrap_or(""),
            target_id = self.target.unwrap_or(""),
            domain_id = self.domain.unwrap_or(""),
            factor = self.factor.unwrap_or(""),
            request_id,
            source_ip,
            "audit"
        );
    }
}

/// `actor` did `action` to `target`, successfully.
pub fn acted(ctx: &Ctx, action: &'static str, actor: &UserRec, target: &UserRec) {
    outcome(ctx, action, "success", actor, target);
}

/// `actor` tried `action` on `target`, with `outcome`.
pub fn outcome(
    ctx: &Ctx,
    action: &'static str,
    outcome: &'static str,
    actor: &UserRec,
    target: &UserRec,
) {
    Event::new(action, outcome)
        .by(&actor.id, &target.id, target.domain_id.as_deref())
        .emit(ctx);
}
