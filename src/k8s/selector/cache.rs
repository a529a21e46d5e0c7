//! Parsed label selectors kept by their text, and a request's selector parsed
//! at most once.
//!
//! The HPA asks for the same few selectors every sync period, so the API
//! keeps them parsed ([`Cache`]). Within one request the selector is needed
//! by authorization (its requirements go into the SubjectAccessReview) and by
//! the metric handler; [`Lazy`] parses it on the first of those uses only, so
//! a request refused before either never has it parsed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::{Selector, SelectorError};

/// Most distinct label selectors kept parsed; the cache starts over when full.
const CACHE_SIZE: usize = 1024;

/// Parsed label selectors by their text, bounded.
#[derive(Debug, Default)]
pub struct Cache {
    parsed: Mutex<HashMap<String, Arc<Selector>>>,
    everything: Arc<Selector>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// The selector `raw` parses to; no selector at all selects everything.
    /// Errors are not kept.
    pub fn get(&self, raw: Option<&str>) -> Result<Arc<Selector>, SelectorError> {
        let Some(raw) = raw else {
            return Ok(self.everything.clone());
        };
        let mut cache = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = cache.get(raw) {
            return Ok(s.clone());
        }
        let parsed = Arc::new(Selector::parse(raw)?);
        if cache.len() >= CACHE_SIZE {
            cache.clear();
        }
        cache.insert(raw.to_string(), parsed.clone());
        Ok(parsed)
    }

    /// The `labelSelector` of a URL query (the first one, decoded), to be
    /// parsed on first use.
    pub fn lazy<'a>(&'a self, query: Option<&'a str>) -> Lazy<'a> {
        Lazy {
            cache: self,
            query,
            parsed: OnceLock::new(),
        }
    }
}

/// A request's `labelSelector` parameter, decoded and parsed (through a
/// [`Cache`]) on first use and kept for the next.
#[derive(Debug)]
pub struct Lazy<'a> {
    cache: &'a Cache,
    query: Option<&'a str>,
    parsed: OnceLock<Result<Arc<Selector>, (String, SelectorError)>>,
}

impl Lazy<'_> {
    /// The parsed selector (everything when the query has none), or the
    /// selector as written and why it does not parse.
    pub fn get(&self) -> Result<&Arc<Selector>, (&str, &SelectorError)> {
        self.parsed
            .get_or_init(|| {
                let raw = self.query.and_then(label_selector);
                self.cache
                    .get(raw.as_deref())
                    .map_err(|e| (raw.map(Cow::into_owned).unwrap_or_default(), e))
            })
            .as_ref()
            .map_err(|(raw, e)| (raw.as_str(), e))
    }
}

/// The first `labelSelector` query parameter, decoded.
fn label_selector(query: &str) -> Option<Cow<'_, str>> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "labelSelector")
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_once_and_shared() {
        let cache = Cache::new();
        let lazy = cache.lazy(Some(
            "watch=0&labelSelector=queue%20in%20(a)&labelSelector=x",
        ));
        let first = lazy.get().unwrap().clone();
        assert_eq!(first.to_string(), "queue in (a)");
        assert!(Arc::ptr_eq(&first, lazy.get().unwrap()));
        // The next request with the same selector gets the same parse.
        let again = cache.lazy(Some("labelSelector=queue+in+%28a%29"));
        assert!(Arc::ptr_eq(&first, again.get().unwrap()));
        assert!(cache.lazy(None).get().unwrap().is_empty());
        assert!(cache.lazy(Some("watch=1")).get().unwrap().is_empty());
        let bad = cache.lazy(Some("labelSelector=a%3D%3D%3D"));
        assert!(matches!(bad.get(), Err(("a===", _))));
    }

    #[test]
    fn bounded() {
        let cache = Cache::new();
        for i in 0..CACHE_SIZE + 1 {
            cache.get(Some(&format!("k={i}"))).unwrap();
        }
        assert!(cache.parsed.lock().unwrap().len() <= CACHE_SIZE);
    }
}
