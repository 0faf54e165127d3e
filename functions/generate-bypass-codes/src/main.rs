//! `POST /v2.0/users/{userId}/RAX-AUTH/multi-factor/bypass-codes`
use lambda_http::{Error, run, service_fn};
use shared::{App, app::Needs, ops};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::init(
        "generate-bypass-codes",
        Needs {
            sms: false,
            seal: true,
        },
    )
    .await?;
    run(service_fn(|req| {
        app.serve(req, ops::bypass::generate_bypass_codes)
    }))
    .await
}
