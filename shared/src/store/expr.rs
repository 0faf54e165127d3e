//! A private builder for DynamoDB update and condition expressions: SET / REMOVE / ADD clauses
//! and AND-ed conditions, with a generated placeholder for every name and value (so reserved
//! words never bite and no value is ever spliced into an expression).

use super::item::{Item, n};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// An update (or, with no actions, a bare condition) under construction.
#[derive(Debug, Default, Clone)]
pub(super) struct Expr {
    sets: Vec<String>,
    removes: Vec<String>,
    adds: Vec<String>,
    conds: Vec<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl Expr {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Placeholder for an attribute name.
    pub(super) fn name(&mut self, attr: &str) -> String {
        let p = format!(
            "#{}",
            attr.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        self.names.insert(p.clone(), attr.to_string());
        p
    }

    /// Placeholder for a value.
    pub(super) fn val(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    /// `SET attr = v`.
    pub(super) fn set(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (nm, vl) = (self.name(attr), self.val(v));
        self.sets.push(format!("{nm} = {vl}"));
        self
    }

    /// `REMOVE` each of `attrs`.
    pub(super) fn remove(&mut self, attrs: &[&str]) -> &mut Self {
        for a in attrs {
            let nm = self.name(a);
            self.removes.push(nm);
        }
        self
    }

    /// `ADD attr delta` (atomic counter).
    pub(super) fn add(&mut self, attr: &str, delta: i64) -> &mut Self {
        let nm = self.name(attr);
        let vl = self.val(AttributeValue::N(delta.to_string()));
        self.adds.push(format!("{nm} {vl}"));
        self
    }

    /// Adds a condition (AND-ed), written with placeholders from [`Self::name`] / [`Self::val`].
    pub(super) fn cond(&mut self, expr: impl Into<String>) -> &mut Self {
        self.conds.push(format!("({})", expr.into()));
        self
    }

    /// Condition `attr = v`.
    pub(super) fn cond_eq(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (nm, vl) = (self.name(attr), self.val(v));
        self.cond(format!("{nm} = {vl}"))
    }

    /// Condition `attr < limit`, where a missing attribute counts as zero.
    pub(super) fn cond_below(&mut self, attr: &str, limit: u64) -> &mut Self {
        let (nm, vl) = (self.name(attr), self.val(n(limit)));
        self.cond(format!("attribute_not_exists({nm}) OR {nm} < {vl}"))
    }

    /// Condition: the attribute is absent.
    pub(super) fn cond_absent(&mut self, attr: &str) -> &mut Self {
        let nm = self.name(attr);
        self.cond(format!("attribute_not_exists({nm})"))
    }

    /// Condition: the item exists.
    pub(super) fn cond_exists(&mut self) -> &mut Self {
        let nm = self.name("pk");
        self.cond(format!("attribute_exists({nm})"))
    }

    /// The update expression (`None` for a bare condition).
    pub(super) fn update_expression(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.sets.is_empty() {
            parts.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.removes.is_empty() {
            parts.push(format!("REMOVE {}", self.removes.join(", ")));
        }
        if !self.adds.is_empty() {
            parts.push(format!("ADD {}", self.adds.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// The AND of all conditions, if any.
    pub(super) fn condition(&self) -> Option<String> {
        (!self.conds.is_empty()).then(|| self.conds.join(" AND "))
    }

    /// Names and values for the request (`None` when empty, as DynamoDB requires).
    pub(super) fn into_parts(self) -> (Option<HashMap<String, String>>, Option<Item>) {
        (
            (!self.names.is_empty()).then_some(self.names),
            (!self.values.is_empty()).then_some(self.values),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_value_is_a_placeholder() {
        let mut e = Expr::new();
        e.cond_exists()
            .cond_below("fails", 3)
            .set("name", AttributeValue::S("x".into()))
            .add("fails", 1)
            .remove(&["pin_id"]);
        assert_eq!(
            e.update_expression().as_deref(),
            Some("SET #name = :v1 REMOVE #pin_id ADD #fails :v2")
        );
        assert_eq!(
            e.condition().as_deref(),
            Some("(attribute_exists(#pk)) AND (attribute_not_exists(#fails) OR #fails < :v0)")
        );
        let (names, values) = e.into_parts();
        assert_eq!(names.map(|m| m.len()), Some(4));
        assert_eq!(values.map(|m| m.len()), Some(3));
    }

    #[test]
    fn a_bare_condition_has_no_update_expression() {
        let mut e = Expr::new();
        e.cond_eq("verified", AttributeValue::Bool(true));
        assert_eq!(e.update_expression(), None);
    }
}
