//! Conversion delays (click to conversion) as a histogram with fixed
//! classes, so rollups can carry them: a report then counts delayed
//! conversions and estimates the median delay without reading a single
//! conversion row. The class edges are the thresholds people ask about
//! (a minute, an hour, a day, a week...).

/// Class edges in seconds. Class 0 holds delays of at most 0 s; class `k`
/// (1..=15) holds delays in `(EDGES[k-1], EDGES[k]]`; class 16 everything
/// over 30 days.
pub const EDGES: [i64; 16] = [
    0, 60, 300, 900, 1_800, 3_600, 7_200, 14_400, 21_600, 43_200, 86_400, 172_800, 259_200,
    604_800, 1_209_600, 2_592_000,
];

/// How many classes a histogram has.
pub const CLASSES: usize = EDGES.len() + 1;

pub type Histogram = [i64; CLASSES];

/// The class of a delay in seconds.
pub fn class(seconds: i64) -> usize {
    EDGES.iter().take_while(|e| **e < seconds).count()
}

/// How many delays are over `after` seconds; `None` when `after` is not a
/// class edge (the histogram cannot answer it exactly).
pub fn over(h: &Histogram, after: i64) -> Option<i64> {
    let j = EDGES.iter().position(|e| *e == after)?;
    Some(h[j + 1..].iter().sum())
}

/// The median delay, estimated: the class that holds the middle delay is
/// known exactly, the place inside it is interpolated linearly (delays
/// over 30 days count as 30 days). `None` without delays.
pub fn median(h: &Histogram) -> Option<i64> {
    let n: i64 = h.iter().sum();
    if n <= 0 {
        return None;
    }
    // the middle position, 0-based, doubled so an even count's two middle
    // delays average without fractions
    let middle2 = n - 1;
    let mut before = 0;
    for (k, count) in h.iter().enumerate() {
        if *count > 0 && 2 * (before + count) > middle2 {
            let lower = if k == 0 { 0 } else { EDGES[k - 1] };
            let upper = EDGES.get(k).copied().unwrap_or(lower);
            // position inside the class, as a share of (count + 1) steps
            let inside2 = middle2 - 2 * before + 2;
            return Some(lower + (upper - lower) * inside2 / (2 * (count + 1)));
        }
        before += count;
    }
    None
}

/// The edges as people read them, for messages.
pub fn edges_text() -> String {
    EDGES
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(delays: &[i64]) -> Histogram {
        let mut h = [0; CLASSES];
        for d in delays {
            h[class(*d)] += 1;
        }
        h
    }

    #[test]
    fn classes_take_their_upper_edge() {
        assert_eq!(class(0), 0);
        assert_eq!(class(1), 1);
        assert_eq!(class(60), 1);
        assert_eq!(class(61), 2);
        assert_eq!(class(86_400), 10);
        assert_eq!(class(86_401), 11);
        assert_eq!(class(10_000_000), 16);
    }

    #[test]
    fn over_an_edge_is_exact_and_between_edges_is_refused() {
        let h = of(&[0, 30, 3_600, 3_601, 86_400, 86_401, 9_000_000]);
        assert_eq!(over(&h, 0), Some(6));
        assert_eq!(over(&h, 3_600), Some(4));
        assert_eq!(over(&h, 86_400), Some(2));
        assert_eq!(over(&h, 2_592_000), Some(1));
        assert_eq!(over(&h, 1_000), None);
    }

    #[test]
    fn the_median_lies_in_the_middle_delays_class() {
        assert_eq!(median(&[0; CLASSES]), None);
        // one delay: the middle of its class
        let m = median(&of(&[3_000])).unwrap();
        assert!((1_800..=3_600).contains(&m), "{m}");
        // the middle of five falls in (3600, 7200]
        let m = median(&of(&[10, 20, 5_000, 90_000, 100_000])).unwrap();
        assert!((3_600..=7_200).contains(&m), "{m}");
        // delays in one class spread over it in order
        let m = median(&of(&[100, 100, 100])).unwrap();
        assert_eq!(m, 60 + 240 * 2 / 4);
        // past 30 days counts as 30 days
        assert_eq!(median(&of(&[9_000_000])), Some(2_592_000));
        // an even count between two classes stays between them
        let m = median(&of(&[50, 5_000])).unwrap();
        assert!((0..=7_200).contains(&m), "{m}");
    }
}
