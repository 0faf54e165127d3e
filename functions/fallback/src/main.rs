//! `$default`: 404 `itemNotFound` for unknown paths, 405 `badMethod` for wrong methods.
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    run(service_fn(|req: Request| async move {
        Ok::<_, Error>(shared::ops::fallback::handle(&req))
    }))
    .await
}
