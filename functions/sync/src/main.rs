//! The `sync` Lambda: [`nolose_sync::router`] served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    nolose_shared::lambda::serve(nolose_sync::router).await
}
