//! `DELETE /v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones/{phoneId}`, `DELETE /v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones`
use lambda_http::{Error, run, service_fn};
use shared::{App, app::Needs, ops};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::init("delete-phone", Needs::default()).await?;
    run(service_fn(|req| app.serve(req, ops::phones::delete))).await
}
