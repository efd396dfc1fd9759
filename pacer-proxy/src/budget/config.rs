//! A team budget's settings, checked.

use std::time::Duration;

/// A team budget's settings.
#[derive(Clone, Debug)]
pub struct BudgetConfig {
    /// `redis://HOST:PORT[/DB]`.
    pub redis: String,
    /// The team's requests per second.
    pub rate: f64,
    /// Requests tolerated early after a quiet spell.
    pub burst: u32,
    /// The budget's name; `None`: a hash of the API and each request's key.
    pub name: Option<String>,
    /// The longest a request is held before it is refused instead.
    pub max_wait: Duration,
}

impl BudgetConfig {
    /// Checks the numbers: a rate between 0.001 and 10 000 per second, a
    /// burst up to 1 000, a longest hold up to an hour, a plain name.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.rate.is_finite() && (0.001..=10_000.0).contains(&self.rate),
            "--budget-rate must be between 0.001 and 10000 requests per second"
        );
        anyhow::ensure!(self.burst <= 1_000, "--budget-burst must be at most 1000");
        anyhow::ensure!(
            self.max_wait <= Duration::from_secs(3600),
            "--budget-max-wait must be at most an hour"
        );
        if let Some(name) = &self.name {
            anyhow::ensure!(
                !name.is_empty()
                    && name.len() <= 100
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)),
                "--budget-name: 1 to 100 letters, digits or - _ . :"
            );
        }
        redis::Client::open(self.redis.as_str())
            .map_err(|e| anyhow::anyhow!("--budget {}: {e}", self.redis))?;
        Ok(())
    }

    pub(crate) fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate)
    }
}
