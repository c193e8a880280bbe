//! When a dashboard session ends: after a while unused (idle expiry) and,
//! however busy, some hours after login (absolute expiry). Pure: the caller
//! passes the session's times and the clock.

/// How long sessions last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Ends a session not used for this long.
    pub idle_ms: i64,
    /// Ends a session this long after login, used or not.
    pub absolute_ms: i64,
    /// A session's last use is written back at most this often, so reading
    /// pages does not write the store on every request.
    pub touch_every_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_ms: 2 * 3_600_000,
            absolute_ms: 12 * 3_600_000,
            touch_every_ms: 60_000,
        }
    }
}

/// What a session is at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// Usable; `touch` says its last use should be written back now.
    Live {
        touch: bool,
    },
    IdleExpired,
    AbsoluteExpired,
}

impl SessionPolicy {
    pub fn check(&self, created_ms: i64, last_seen_ms: i64, now_ms: i64) -> Liveness {
        if now_ms >= created_ms + self.absolute_ms {
            Liveness::AbsoluteExpired
        } else if now_ms >= last_seen_ms + self.idle_ms {
            Liveness::IdleExpired
        } else {
            Liveness::Live {
                touch: now_ms >= last_seen_ms + self.touch_every_ms,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SessionPolicy = SessionPolicy {
        idle_ms: 1_000,
        absolute_ms: 10_000,
        touch_every_ms: 100,
    };

    #[test]
    fn idle_expiry_counts_from_the_last_use() {
        assert_eq!(P.check(0, 0, 50), Liveness::Live { touch: false });
        assert_eq!(P.check(0, 0, 100), Liveness::Live { touch: true });
        assert_eq!(P.check(0, 0, 999), Liveness::Live { touch: true });
        assert_eq!(P.check(0, 0, 1_000), Liveness::IdleExpired);
        // used at 900: alive until 1900
        assert_eq!(P.check(0, 900, 1_899), Liveness::Live { touch: true });
        assert_eq!(P.check(0, 900, 1_900), Liveness::IdleExpired);
    }

    #[test]
    fn absolute_expiry_holds_however_busy() {
        assert_eq!(P.check(0, 9_950, 9_999), Liveness::Live { touch: false });
        assert_eq!(P.check(0, 9_999, 10_000), Liveness::AbsoluteExpired);
        assert_eq!(P.check(0, 0, 20_000), Liveness::AbsoluteExpired);
    }
}
