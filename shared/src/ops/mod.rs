//! The endpoints of the API (contract §7): one `async fn` per operation, each nothing but
//! request → rule checks → calls → response. They stand on [`crate::auth`] (who may call),
//! [`crate::services`] (tokens, SMS, secrets, lockout), [`crate::store`] (the only DynamoDB
//! speaker) and [`crate::wire`] (typed bodies). No endpoint imports another.

pub mod bypass;
pub mod console;
pub mod credentials;
pub mod directory;
pub mod domains;
pub mod fallback;
pub mod login;
pub mod otp;
pub mod phones;
pub mod settings;
pub mod tokens;
pub mod users;
