//! The scrapers' HTTP client: content negotiation as Prometheus does it, a
//! timeout per scrape, and a body-size limit enforced while reading.

use std::time::Duration;

use super::{Error, exposition};

/// A fetched body and its format, or why there is none.
pub type Fetched = Result<(String, exposition::Format), Error>;

/// The HTTP client of the scrapers: timeout and body limit.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    timeout: Duration,
    limit: usize,
}

impl Http {
    /// A client with the given per-scrape timeout and body limit.
    pub fn new(timeout: Duration, limit: usize) -> Http {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(2)
            .user_agent(concat!("queue-metrics-adapter/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Http {
            client,
            timeout,
            limit,
        }
    }

    /// GETs a target, asking for OpenMetrics or the text format like Prometheus does.
    pub async fn fetch(&self, url: &str) -> Fetched {
        let fetch = |detail: String| Error::Fetch {
            url: url.to_string(),
            detail,
        };
        let work = async {
            let mut resp = self
                .client
                .get(url)
                .header(
                    "accept",
                    "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                )
                .send()
                .await
                .map_err(|e| fetch(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(Error::Status {
                    url: url.to_string(),
                    status: resp.status().as_u16(),
                });
            }
            let format = exposition::format_for(
                resp.headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
            );
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| fetch(e.to_string()))? {
                if body.len() + chunk.len() > self.limit {
                    return Err(Error::TooLarge {
                        url: url.to_string(),
                        limit: self.limit,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(body).map_err(|_| fetch("body is not UTF-8".into()))?;
            Ok((text, format))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    url: url.to_string(),
                })
            })
    }
}
