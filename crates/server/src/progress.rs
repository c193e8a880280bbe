//! Progress for long CLI work: a line with count, rate and ETA, redrawn on
//! a terminal at most five times a second; silent when stderr is not a
//! terminal (logs and CI stay clean).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    what: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    last_draw: Instant,
    tty: bool,
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Progress {
    pub fn new(what: &'static str, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            what,
            total,
            done: 0,
            started: now,
            last_draw: now - Duration::from_secs(1),
            tty: std::io::stderr().is_terminal(),
        }
    }

    pub fn add(&mut self, n: u64) {
        self.done += n;
        if self.tty && self.last_draw.elapsed() >= Duration::from_millis(200) {
            self.last_draw = Instant::now();
            let _ = write!(std::io::stderr(), "\r{}\x1b[K", self.line());
        }
    }

    /// `1,234 / 10,000 clicks  5,678/s  ETA 1m02s`
    pub fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        let rate = self.done as f64 / secs;
        let eta = if rate > 0.0 && self.total > self.done {
            human(Duration::from_secs_f64(
                (self.total - self.done) as f64 / rate,
            ))
        } else {
            "0s".into()
        };
        format!(
            "{} / {} {}  {}/s  ETA {eta}",
            group(self.done),
            group(self.total),
            self.what,
            group(rate as u64)
        )
    }

    pub fn finish(&self) {
        if self.tty {
            let _ = writeln!(std::io::stderr(), "\r{}\x1b[K", self.line());
        }
    }
}

/// `1234567` -> `1,234,567`
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(human(Duration::from_secs(62)), "1m02s");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 60)), "3h01m");
        let mut p = Progress::new("clicks", 100);
        p.add(50);
        assert!(p.line().starts_with("50 / 100 clicks"), "{}", p.line());
    }
}
