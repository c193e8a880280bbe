//! The journal on real files: what is appended survives a reopen, a torn
//! tail is cut, replay progress is durable, a drained journal starts over,
//! and one process at a time owns a directory.

use super::*;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cl-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn click(n: u64) -> Click {
    Click {
        id: ClickId::new(1_764_000_000_000 + n, n as u128),
        ts_ms: 1_764_000_000_000 + n as i64,
        link_id: "lnk_a".into(),
        offer_id: "off_a".into(),
        affiliate_id: "aff_a".into(),
        sub1: Some(format!("s{n}")),
        sub2: None,
        sub3: None,
        sub4: None,
        sub5: None,
        source: None,
        extra: [("gclid".to_string(), "x".to_string())].into(),
        params_cut: 0,
        ip: "203.0.113.9".into(),
        country: "DE".into(),
        user_agent: "Mozilla/5.0".into(),
        device: "desktop".into(),
        os: "linux".into(),
        browser: "firefox".into(),
        referer_host: String::new(),
        unique: true,
        bot: false,
        suspicious: false,
        test: false,
        blocked: false,
        rule: None,
        target: None,
        flow_offer: false,
    }
}

fn postback(n: i64) -> Entry {
    Entry::Postback(QueuedPostback {
        received_ms: 1_764_000_000_500 + n,
        ip: "198.51.100.7".parse().unwrap(),
        https: false,
        method: "GET".into(),
        query: Some(format!("click_id=x&txid=t{n}")),
        headers: vec![("content-type".into(), "text/plain".into())],
        body: String::new(),
        path_token: Some("tok".into()),
        channel: Default::default(),
    })
}

#[test]
fn appended_records_survive_a_reopen_with_their_counts_and_clicks() {
    let d = dir("reopen");
    {
        let j = Journal::open(&d).unwrap();
        assert!(j.store_up(), "an empty journal sends writes to the store");
        j.append(&[Entry::Click(click(1)), Entry::Click(click(2))])
            .unwrap();
        j.append(&[postback(1)]).unwrap();
        let s = j.status();
        assert_eq!((s.depth, s.clicks, s.postbacks), (3, 2, 1));
        assert_eq!(s.oldest_ms, Some(click(1).ts_ms));
    }
    let j = Journal::open(&d).unwrap();
    let s = j.status();
    assert_eq!((s.depth, s.clicks, s.postbacks), (3, 2, 1));
    assert!(
        !j.store_up(),
        "records to replay keep writes in the journal"
    );
    assert_eq!(*j.pending_click(click(2).id).unwrap(), click(2));
    let batch = j.next_batch(10).unwrap();
    let kinds: Vec<&str> = batch.iter().map(|(_, e)| e.kind()).collect();
    assert_eq!(kinds, ["click", "click", "postback"]);
    match &batch[0].1 {
        Entry::Click(c) => assert_eq!(*c, click(1), "a click reads back field for field"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_torn_tail_is_cut_and_what_was_whole_is_kept() {
    let d = dir("torn");
    {
        let j = Journal::open(&d).unwrap();
        j.append(&[Entry::Click(click(1))]).unwrap();
        j.append(&[Entry::Click(click(2))]).unwrap();
    }
    // a crash in the middle of the second append's write
    let seg = segment_path(&d, 1);
    let len = std::fs::metadata(&seg).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    let j = Journal::open(&d).unwrap();
    assert_eq!(j.status().clicks, 1);
    assert_eq!(j.unreadable.load(Relaxed), 1);
    assert!(j.pending_click(click(1).id).is_some());
    assert!(j.pending_click(click(2).id).is_none());
    // appends go on in a new segment; replay reads both
    j.append(&[Entry::Click(click(3))]).unwrap();
    let ids: Vec<ClickId> = j
        .next_batch(10)
        .unwrap()
        .into_iter()
        .map(|(_, e)| match e {
            Entry::Click(c) => c.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [click(1).id, click(3).id]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn replay_progress_is_durable_and_a_drained_journal_starts_over() {
    let d = dir("drain");
    let j = Journal::open(&d).unwrap();
    j.store_down("test");
    j.append(&[Entry::Click(click(1)), postback(1), postback(2)])
        .unwrap();
    let batch = j.next_batch(2).unwrap();
    assert_eq!(batch.len(), 2);
    let entries: Vec<&Entry> = batch.iter().map(|(_, e)| e).collect();
    j.committed(batch[1].0, &entries).unwrap();
    assert!(!j.finish_if_drained().unwrap(), "one record still waits");
    assert!(j.pending_click(click(1).id).is_none());
    drop(j);
    // a restart replays only what is past the cursor
    let j = Journal::open(&d).unwrap();
    assert_eq!(j.status().depth, 1);
    let rest = j.next_batch(10).unwrap();
    assert_eq!(rest.len(), 1);
    match &rest[0].1 {
        Entry::Postback(p) => assert_eq!(p.query.as_deref(), Some("click_id=x&txid=t2")),
        other => panic!("{other:?}"),
    }
    j.committed(rest[0].0, &[&rest[0].1]).unwrap();
    assert!(j.finish_if_drained().unwrap());
    assert!(j.store_up());
    assert_eq!(j.status().depth, 0);
    assert!(j.next_batch(10).unwrap().is_empty());
    let segs = segments(&d).unwrap();
    assert_eq!(segs.len(), 1, "only the fresh segment is left: {segs:?}");
    assert_eq!(
        std::fs::metadata(segment_path(&d, segs[0])).unwrap().len(),
        0
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn one_process_owns_a_journal_directory() {
    let d = dir("lock");
    let first = Journal::open(&d).unwrap();
    let second = Journal::open(&d).err().expect("a second owner is refused");
    assert!(
        second
            .to_string()
            .contains("in use by another clickledger process"),
        "{second}"
    );
    drop(first);
    Journal::open(&d).unwrap();
    std::fs::remove_dir_all(&d).unwrap();
}
