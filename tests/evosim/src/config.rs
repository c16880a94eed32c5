//! Simulator settings. `Default` mirrors a stock Evolution API 2.3.6 (the env
//! defaults quoted in EVOLUTION.md); [`SimConfig::fast`] shrinks every wait to
//! milliseconds so tests exercise the same code paths without slowing down.

use std::time::Duration;

/// Evolution's webhook retry policy (EVOLUTION.md §5.2, `WEBHOOK_RETRY_*`).
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Total attempts including the first (`WEBHOOK_RETRY_MAX_ATTEMPTS`, 10).
    pub max_attempts: u32,
    /// First wait (`WEBHOOK_RETRY_INITIAL_DELAY_SECONDS`, 5 s); also the floor after jitter.
    pub initial_delay: Duration,
    /// `delay = min(initial · 2^(n−1), max)` when true, else always `initial_delay`.
    pub exponential: bool,
    /// Cap (`WEBHOOK_RETRY_MAX_DELAY_SECONDS`, 300 s).
    pub max_delay: Duration,
    /// ±fraction of random jitter (`WEBHOOK_RETRY_JITTER_FACTOR`, 0.2).
    pub jitter: f64,
    /// Statuses that stop retrying at once (`400,401,403,404,422`).
    pub non_retryable: Vec<u16>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_delay: Duration::from_secs(5),
            exponential: true,
            max_delay: Duration::from_secs(300),
            jitter: 0.2,
            non_retryable: vec![400, 401, 403, 404, 422],
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failures`-th failed attempt (1-based), computed the way
    /// `WH.retryWebhookRequest` does it, jitter included.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let initial = self.initial_delay.as_secs_f64();
        if !self.exponential {
            return self.initial_delay;
        }
        let exp = 2f64.powi(i32::try_from(failures.saturating_sub(1)).unwrap_or(i32::MAX));
        let base = (initial * exp).min(self.max_delay.as_secs_f64());
        let jitter = base * self.jitter * (rand::random::<f64>() * 2.0 - 1.0);
        Duration::from_secs_f64((base + jitter).max(initial))
    }

    /// Whether Evolution gives up immediately on this HTTP status.
    pub fn is_non_retryable(&self, status: u16) -> bool {
        self.non_retryable.contains(&status)
    }
}

/// The global webhook (`WEBHOOK_GLOBAL_*`), which fires independently of the
/// per-instance one and never carries custom headers.
#[derive(Clone, Debug)]
pub struct GlobalWebhook {
    pub url: String,
    pub by_events: bool,
    /// UPPER_SNAKE names enabled by `WEBHOOK_EVENTS_*`.
    pub events: Vec<String>,
}

/// Everything that shapes one simulator run.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// `AUTHENTICATION_API_KEY`; Evolution's fallback default is `BQYHJGJHJ`.
    pub api_key: String,
    /// Address to bind; tests keep `127.0.0.1`.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// `SERVER_URL`, echoed as `server_url` in webhooks; `None` = our own base URL.
    pub server_url: Option<String>,
    /// `AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES`: puts the instance token in the envelope `apikey`.
    pub expose_token: bool,
    /// How long `POST /instance/create` with `qrcode: true` blocks (5 s in Evolution).
    pub create_wait: Duration,
    /// How long `GET /instance/connect` blocks after starting a socket (2 s).
    pub connect_wait: Duration,
    /// Delay between starting a socket and its first QR; `None` = QRs only come
    /// from the control API (so `connect` answers `{"count":0}` until then).
    pub qr_delay: Option<Duration>,
    /// Interval between QR refreshes while unscanned (45 s); `None` = no refresh.
    pub qr_refresh: Option<Duration>,
    /// `QRCODE_LIMIT` (30): the QR after this many ends in `refused` and a logout.
    pub qr_limit: u32,
    pub retry: RetryPolicy,
    /// `WEBHOOK_REQUEST_TIMEOUT_MS` (30 s) per attempt.
    pub webhook_timeout: Duration,
    /// Extra latency added to every Evolution API call (not the control API).
    pub latency: Duration,
    pub global_webhook: Option<GlobalWebhook>,
    /// Send `SERVER_ACK` then `DELIVERY_ACK` `messages.update` after each API send,
    /// as a real phone would; off by default so tests decide when statuses move.
    pub auto_receipts: bool,
    /// `messageTimestamp` of the oldest seeded message.
    pub seed_base_timestamp: i64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_key: "BQYHJGJHJ".to_owned(),
            host: "127.0.0.1".to_owned(),
            port: 0,
            server_url: None,
            expose_token: false,
            create_wait: Duration::from_secs(5),
            connect_wait: Duration::from_secs(2),
            qr_delay: Some(Duration::from_secs(1)),
            qr_refresh: Some(Duration::from_secs(45)),
            qr_limit: 30,
            retry: RetryPolicy::default(),
            webhook_timeout: Duration::from_secs(30),
            latency: Duration::ZERO,
            global_webhook: None,
            auto_receipts: false,
            seed_base_timestamp: 1_760_000_000,
        }
    }
}

impl SimConfig {
    /// Evolution's behaviour with every wait shrunk for tests: no blocking on
    /// create/connect, the first QR appears synchronously, no QR refresh, and
    /// webhook retries 1 ms apart (capped at 20 ms, no jitter).
    pub fn fast() -> Self {
        Self {
            create_wait: Duration::ZERO,
            connect_wait: Duration::ZERO,
            qr_delay: Some(Duration::ZERO),
            qr_refresh: None,
            retry: RetryPolicy {
                initial_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(20),
                jitter: 0.0,
                ..RetryPolicy::default()
            },
            webhook_timeout: Duration::from_secs(5),
            ..Self::default()
        }
    }

    /// Replaces the global API key (builder style, for tests).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }
}
