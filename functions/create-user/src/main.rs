//! `POST /v2.0/users`
use lambda_http::{Error, run, service_fn};
use shared::{App, app::Needs, ops};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::init(
        "create-user",
        Needs {
            sms: false,
            seal: true,
        },
    )
    .await?;
    run(service_fn(|req| app.serve(req, ops::users::create_user))).await
}
