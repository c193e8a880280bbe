//! Token buckets: `rate` tokens per second refill up to `burst`.
//! Pure: the caller passes the time.

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub per_second: f64,
    pub burst: f64,
}

impl Limit {
    /// `100/s`, `6000/m`, with an optional burst: `100/s:200`.
    pub fn parse(s: &str) -> Result<Limit, String> {
        let (rate, burst) = match s.split_once(':') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        let (n, unit) = rate
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: write a rate like 100/s or 6000/m"))?;
        let n: f64 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{n}` is not a number"))?;
        let per_second = match unit.trim() {
            "s" => n,
            "m" => n / 60.0,
            "h" => n / 3600.0,
            u => return Err(format!("`{s}`: unit `{u}` is not s, m or h")),
        };
        let burst = match burst {
            Some(b) => b
                .trim()
                .parse()
                .map_err(|_| format!("`{s}`: burst `{b}` is not a number"))?,
            None => n.max(1.0),
        };
        // written so that NaN fails too (`NaN/s` would be no limit at all)
        let positive = per_second > 0.0 && burst >= 1.0;
        if !(positive && per_second.is_finite() && burst.is_finite()) {
            return Err(format!(
                "`{s}`: rate and burst must be positive, finite numbers"
            ));
        }
        Ok(Limit { per_second, burst })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    tokens: f64,
    last_ms: i64,
}

impl Bucket {
    pub fn new(limit: Limit, now_ms: i64) -> Bucket {
        Bucket {
            tokens: limit.burst,
            last_ms: now_ms,
        }
    }

    /// Takes one token; `Err(seconds until one is available)` when empty.
    pub fn take(&mut self, limit: Limit, now_ms: i64) -> Result<(), u64> {
        let elapsed = (now_ms - self.last_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * limit.per_second).min(limit.burst);
        self.last_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / limit.per_second).ceil().max(1.0) as u64)
        }
    }

    /// What `take` would answer, without taking.
    pub fn peek(&self, limit: Limit, now_ms: i64) -> Result<(), u64> {
        let mut copy = *self;
        copy.take(limit, now_ms)
    }

    /// Full again: nothing to remember.
    pub fn idle(&self, limit: Limit, now_ms: i64) -> bool {
        self.tokens + (now_ms - self.last_ms).max(0) as f64 / 1000.0 * limit.per_second
            >= limit.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates() {
        assert_eq!(
            Limit::parse("100/s").unwrap(),
            Limit {
                per_second: 100.0,
                burst: 100.0
            }
        );
        assert_eq!(
            Limit::parse("60/m:5").unwrap(),
            Limit {
                per_second: 1.0,
                burst: 5.0
            }
        );
        assert!(Limit::parse("fast").is_err());
        assert!(Limit::parse("0/s").is_err());
        assert!(Limit::parse("5/d").is_err());
    }

    #[test]
    fn burst_then_refill() {
        let l = Limit {
            per_second: 2.0,
            burst: 3.0,
        };
        let mut b = Bucket::new(l, 0);
        assert!(b.take(l, 0).is_ok());
        assert!(b.take(l, 0).is_ok());
        assert!(b.take(l, 0).is_ok());
        assert_eq!(b.take(l, 0), Err(1));
        assert!(b.take(l, 499).is_err());
        assert!(b.take(l, 500).is_ok());
        assert!(!b.idle(l, 500));
        assert!(b.idle(l, 2000));
    }
}
