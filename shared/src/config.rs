//! The typed configuration, read from the environment once at start. A
//! missing or invalid variable is one clear line naming it, then exit 2 —
//! never a backtrace, never at the first request.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

/// What every entry point needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub secret_key: SecretString,
    pub access_token_ttl: Duration,
    pub evolution_url: String,
    pub evolution_api_key: SecretString,
    pub public_url: String,
    pub webhook_secret: Option<SecretString>,
    /// A sync run with no progress for this long is finished (issue 9).
    pub sync_stale_after: Duration,
    /// Local mode: requests in flight before 503 (API.md, Limits).
    pub max_in_flight: usize,
}

impl Config {
    pub const MIN_SECRET_KEY_BYTES: usize = 32;

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup` so that tests need not touch the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let secret_key = env.required("SECRET_KEY")?;
        if secret_key.len() < Self::MIN_SECRET_KEY_BYTES {
            return Err(ConfigError {
                name: "SECRET_KEY",
                problem: format!("must be at least {} bytes", Self::MIN_SECRET_KEY_BYTES),
            });
        }
        let minutes: u64 = env.parsed("ACCESS_TOKEN_EXPIRE_MINUTES", 1440)?;
        if minutes == 0 {
            return Err(ConfigError {
                name: "ACCESS_TOKEN_EXPIRE_MINUTES",
                problem: "must be at least 1".into(),
            });
        }
        let stale_secs = env.at_least_one("SYNC_STALE_AFTER", 600)?;
        Ok(Self {
            secret_key: secret_key.into(),
            access_token_ttl: Duration::from_secs(minutes * 60),
            evolution_url: env.url("EVOLUTION_API_URL", "http://127.0.0.1:8080")?,
            evolution_api_key: env.optional("EVOLUTION_API_KEY").unwrap_or_default().into(),
            public_url: env.url("PUBLIC_URL", "http://127.0.0.1:8000")?,
            webhook_secret: env.optional("WEBHOOK_SECRET").map(SecretString::from),
            sync_stale_after: Duration::from_secs(stale_secs as u64),
            max_in_flight: env.at_least_one("MAX_IN_FLIGHT", 512)?,
        })
    }

    pub fn secret_key_bytes(&self) -> &[u8] {
        self.secret_key.expose_secret().as_bytes()
    }
}

/// Local mode: the server and its database.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub database_url: SecretString,
    pub port: u16,
}

impl LocalConfig {
    pub const DEFAULT_DATABASE_URL: &'static str = "postgres://postgres@127.0.0.1:5432/nolose";

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let database_url = env
            .optional("DATABASE_URL")
            .unwrap_or_else(|| Self::DEFAULT_DATABASE_URL.into());
        if !database_url.starts_with("postgres://") && !database_url.starts_with("postgresql://") {
            return Err(ConfigError {
                name: "DATABASE_URL",
                problem: "must be a postgres:// URL".into(),
            });
        }
        Ok(Self {
            database_url: database_url.into(),
            port: env.parsed("PORT", 8000)?,
        })
    }
}

/// Lambda mode: where the table and the job queue are.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    pub table_name: String,
    pub sync_queue_url: Option<String>,
}

impl LambdaConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let lookup = |name: &str| std::env::var(name).ok();
        let env = Env(&lookup);
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            sync_queue_url: env.optional("SYNC_QUEUE_URL"),
        })
    }
}

/// Prints the one line and exits: the shape of every entry point's start.
pub fn or_exit<T>(r: Result<T, ConfigError>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2)
    })
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError {
            name,
            problem: "is required but not set".into(),
        })
    }

    fn at_least_one(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        match self.parsed(name, default)? {
            0 => Err(ConfigError {
                name,
                problem: "must be at least 1".into(),
            }),
            n => Ok(n),
        }
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
                name,
                problem: format!("{raw:?} is not a valid value"),
            }),
        }
    }

    fn url(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        let raw = self.optional(name).unwrap_or_else(|| default.to_owned());
        let ok = (raw.starts_with("http://") || raw.starts_with("https://"))
            && raw.len() > "https://".len();
        if ok {
            Ok(raw.trim_end_matches('/').to_owned())
        } else {
            Err(ConfigError {
                name,
                problem: format!("{raw:?} is not an http(s) URL"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn missing_secret_key_names_the_variable() {
        let e = Config::from_lookup(with(&[])).expect_err("must fail");
        assert_eq!(e.to_string(), "SECRET_KEY: is required but not set");
    }

    #[test]
    fn short_secret_key_is_refused() {
        let e = Config::from_lookup(with(&[("SECRET_KEY", "short")])).expect_err("must fail");
        assert_eq!(e.name, "SECRET_KEY");
    }

    #[test]
    fn defaults_apply() {
        let c = Config::from_lookup(with(&[("SECRET_KEY", KEY)])).expect("valid");
        assert_eq!(c.access_token_ttl, Duration::from_secs(86_400));
        assert_eq!(c.evolution_url, "http://127.0.0.1:8080");
        assert!(c.webhook_secret.is_none());
        assert_eq!(c.max_in_flight, 512);
        let l = LocalConfig::from_lookup(with(&[])).expect("valid");
        assert_eq!(l.port, 8000);
    }

    #[test]
    fn invalid_values_name_their_variable() {
        let cases = [
            (
                ("ACCESS_TOKEN_EXPIRE_MINUTES", "soon"),
                "ACCESS_TOKEN_EXPIRE_MINUTES",
            ),
            (
                ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
                "ACCESS_TOKEN_EXPIRE_MINUTES",
            ),
            (("EVOLUTION_API_URL", "localhost:8080"), "EVOLUTION_API_URL"),
            (("PUBLIC_URL", "ftp://x"), "PUBLIC_URL"),
            (("MAX_IN_FLIGHT", "0"), "MAX_IN_FLIGHT"),
        ];
        for ((k, v), name) in cases {
            let e = Config::from_lookup(with(&[("SECRET_KEY", KEY), (k, v)])).expect_err(k);
            assert_eq!(e.name, name, "case {k}={v}");
        }
        let e = LocalConfig::from_lookup(with(&[("PORT", "eighty")])).expect_err("port");
        assert_eq!(e.name, "PORT");
        let e = LocalConfig::from_lookup(with(&[("DATABASE_URL", "mysql://x")])).expect_err("db");
        assert_eq!(e.name, "DATABASE_URL");
    }
}
